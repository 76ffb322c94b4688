"""``@record``: ``@dataclass(frozen=..., slots=..., kw_only=...)`` without ``exec``.

``dataclasses.dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` and ``__delattr__`` out as source text and ``exec``s it, then
builds the class a second time for ``slots=True``: about a millisecond a class, a quarter of a
one-off ``ztauth eval``. ``record`` makes the same classes from generic functions (closures over
one tuple of field names, defaults and factories per class) and builds the slotted class once.

What it makes is a dataclass to every reader: ``__dataclass_fields__`` holds real
:class:`dataclasses.Field` objects and ``__dataclass_params__`` is set, so
``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work; the ``__init__``
signature (``inspect.signature``), the errors for missing, unknown or repeated arguments, the
``repr`` text, equality and hashing, ``FrozenInstanceError``, ``__match_args__``, ``__slots__``
and pickling/copying of frozen slotted instances are those of ``@dataclass``. Methods written
in the class body (``__init__``, ``__eq__``, ``__hash__``...) are kept, as dataclasses keeps
them.

Supported: plain annotated fields, ``field(default=..., default_factory=..., repr=...,
compare=..., hash=..., kw_only=..., metadata=...)``, ``__post_init__`` (without InitVars).
Not supported (a ``TypeError`` at class creation; use ``@dataclass``): ``ClassVar``,
``InitVar``, ``KW_ONLY``, ``field(init=False)``, dataclass base classes.

On Python 3.10 (no ``typing.dataclass_transform``), or if this Python's ``dataclasses`` lacks
the internals used here, ``record`` is ``dataclasses.dataclass`` itself.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import re
import reprlib
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any, TypeVar, overload

__all__ = ["record"]

_T = TypeVar("_T")

_MISSING: Any = dataclasses.MISSING
_Field = dataclasses.Field
_FrozenInstanceError = dataclasses.FrozenInstanceError
# Private to dataclasses, stable from 3.10 to 3.14; without any of them, record is dataclass.
_FIELD: Any = getattr(dataclasses, "_FIELD", None)
_HAS_DEFAULT_FACTORY: Any = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", None)
_DataclassParams: Any = getattr(dataclasses, "_DataclassParams", None)
_object_setattr: Any = object.__setattr__
_EMPTY = inspect.Parameter.empty
_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD = inspect.Parameter.KEYWORD_ONLY
# dataclasses' own test for a string annotation naming ClassVar, InitVar or KW_ONLY.
_ANNOTATION_NAME = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")
_PSEUDO_FIELDS = frozenset({"ClassVar", "InitVar", "KW_ONLY"})


def _params_arguments() -> tuple[str, ...] | None:
    """The parameters of ``dataclasses._DataclassParams`` (they differ between versions), or
    None if this module does not know them all."""
    init = getattr(_DataclassParams, "__init__", None)
    code = getattr(init, "__code__", None)
    if code is None:
        return None
    names: tuple[str, ...] = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]
    known = {
        "init",
        "repr",
        "eq",
        "order",
        "unsafe_hash",
        "frozen",
        "match_args",
        "kw_only",
        "slots",
        "weakref_slot",
    }
    return names if set(names) <= known else None


_PARAMS_ARGUMENTS = _params_arguments()
_SUPPORTED = (
    _FIELD is not None and _HAS_DEFAULT_FACTORY is not None and _PARAMS_ARGUMENTS is not None
)


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the tuple of the named attributes (attrgetter's, always a tuple)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        (name,) = names

        def get_one(obj: Any) -> tuple[Any, ...]:
            return (getattr(obj, name),)

        return get_one

    def get_none(obj: Any) -> tuple[Any, ...]:
        return ()

    return get_none


def _listing(names: Iterable[str]) -> str:
    """CPython's listing of argument names: 'a', 'a' and 'b', 'a', 'b', and 'c'."""
    quoted = [repr(name) for name in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def _missing(
    where: str,
    kwargs: Mapping[str, Any],
    names: frozenset[str],
    positional: tuple[str, ...],
    keyword: tuple[str, ...],
    required: frozenset[str],
) -> TypeError:
    """The TypeError a Python function raises for these arguments: an unexpected keyword
    first, then missing positional arguments, then missing keyword-only ones."""
    for name in kwargs:
        if name not in names:
            return TypeError(f"{where} got an unexpected keyword argument {name!r}")
    for kind, group in (("positional", positional), ("keyword-only", keyword)):
        absent = [name for name in group if name in required and name not in kwargs]
        if absent:
            plural = "s" if len(absent) > 1 else ""
            return TypeError(
                f"{where} missing {len(absent)} required {kind} argument{plural}: "
                f"{_listing(absent)}"
            )
    raise AssertionError("no argument is missing")  # pragma: no cover


def _too_many(where: str, positional: tuple[str, ...], minimum: int, given: int) -> TypeError:
    """The TypeError for too many positional arguments (``self`` counted, as CPython does)."""
    most = len(positional) + 1
    least = minimum + 1
    if least == most:
        takes = f"{most} positional argument{'s' if most > 1 else ''}"
    else:
        takes = f"from {least} to {most} positional arguments"
    were = "was" if given + 1 == 1 else "were"
    return TypeError(f"{where} takes {takes} but {given + 1} {were} given")


def _check_annotation(cls: type, name: str, annotation: object) -> None:
    """Refuse ClassVar, InitVar and KW_ONLY (record makes plain fields only)."""
    if isinstance(annotation, str):
        match = _ANNOTATION_NAME.match(annotation)
        pseudo = match is not None and match.group(2) in _PSEUDO_FIELDS
    else:
        pseudo = (
            annotation is typing.ClassVar
            or typing.get_origin(annotation) is typing.ClassVar
            or annotation is dataclasses.InitVar
            or isinstance(annotation, dataclasses.InitVar)
            or annotation is dataclasses.KW_ONLY
        )
    if pseudo:
        raise TypeError(
            f"{cls.__qualname__}.{name}: @record does not support ClassVar, InitVar or KW_ONLY; "
            "use @dataclass"
        )


def _fields(cls: type, kw_only: bool) -> dict[str, dataclasses.Field[Any]]:
    """The Field of every annotation of ``cls``, as dataclasses' _get_field makes them."""
    for base in cls.__mro__[1:]:
        if hasattr(base, "__dataclass_fields__"):
            raise TypeError(
                f"{cls.__qualname__}: @record does not support dataclass bases; use @dataclass"
            )
    annotations: dict[str, Any] = inspect.get_annotations(cls)
    fields: dict[str, dataclasses.Field[Any]] = {}
    for name, annotation in annotations.items():
        _check_annotation(cls, name, annotation)
        default = getattr(cls, name, _MISSING)
        if isinstance(default, _Field):
            spec: dataclasses.Field[Any] = default
        else:
            if isinstance(default, types.MemberDescriptorType):
                default = _MISSING  # a slot of a base class: no default
            spec = dataclasses.field(default=default)
        if not spec.init:
            raise TypeError(
                f"{cls.__qualname__}.{name}: @record does not support init=False; use @dataclass"
            )
        spec.name = name
        spec.type = annotation
        spec._field_type = _FIELD  # type: ignore[attr-defined]
        if spec.kw_only is _MISSING:
            spec.kw_only = kw_only
        if spec.default is not _MISSING and spec.default.__class__.__hash__ is None:
            raise ValueError(
                f"mutable default {type(spec.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        fields[name] = spec
    for name, value in cls.__dict__.items():
        if isinstance(value, _Field) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    return fields


def _attribute_setter(name: str) -> Callable[[Any, Any], None]:
    """A setter of attribute ``name`` that bypasses any __setattr__ (as a frozen init does)."""

    def set_attribute(obj: Any, value: Any) -> None:
        _object_setattr(obj, name, value)

    return set_attribute


def _has_default(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is not _MISSING or spec.default_factory is not _MISSING


def _signature(
    self_name: str, positional: list[dataclasses.Field[Any]], keyword: list[dataclasses.Field[Any]]
) -> inspect.Signature:
    """The signature of the __init__ dataclasses would write."""
    parameters = [inspect.Parameter(self_name, _POSITIONAL)]
    for kind, group in ((_POSITIONAL, positional), (_KEYWORD, keyword)):
        for spec in group:
            if spec.default_factory is not _MISSING:
                default = _HAS_DEFAULT_FACTORY
            elif spec.default is not _MISSING:
                default = spec.default
            else:
                default = _EMPTY
            parameters.append(
                inspect.Parameter(spec.name, kind, default=default, annotation=spec.type)
            )
    return inspect.Signature(parameters, return_annotation=None, __validate_parameters__=False)


def _build(cls: type, frozen: bool, slots: bool, kw_only: bool) -> type:
    """The class ``@dataclass(frozen=frozen, slots=slots, kw_only=kw_only)`` makes of ``cls``."""
    own = cls.__dict__
    if slots and "__slots__" in own:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    fields = _fields(cls, kw_only)
    specs = list(fields.values())
    names = tuple(fields)
    positional = [spec for spec in specs if not spec.kw_only]
    keyword = [spec for spec in specs if spec.kw_only]
    seen_default = False
    for spec in positional:
        if _has_default(spec):
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {spec.name!r} follows default argument")
    positional_names = tuple(spec.name for spec in positional)
    keyword_names = tuple(spec.name for spec in keyword)
    name_set = frozenset(names)
    required = frozenset(spec.name for spec in specs if not _has_default(spec))
    minimum = sum(1 for spec in positional if not _has_default(spec))
    # What kwargs.pop(name, ...) falls back to: a plain default, or the marker of a factory.
    pop_defaults = tuple(
        _HAS_DEFAULT_FACTORY if spec.default_factory is not _MISSING else spec.default
        for spec in specs
    )
    factories: tuple[tuple[int, Callable[[], Any]], ...] = tuple(
        (index, spec.default_factory)  # type: ignore[misc]
        for index, spec in enumerate(specs)
        if spec.default_factory is not _MISSING
    )
    qualname = cls.__qualname__
    where = f"{qualname}.__init__()"
    post_init = hasattr(cls, "__post_init__")
    # Filled in once the class exists: the final class and its fields' setters.
    final: Any = cls
    setters: tuple[Callable[[Any, Any], None], ...] = ()

    def __init__(self: Any, /, *args: Any, **kwargs: Any) -> None:
        if args:
            if len(args) > len(positional_names):
                raise _too_many(where, positional_names, minimum, len(args))
            given = positional_names[: len(args)]
            if not kwargs.keys().isdisjoint(given):
                repeated = next(name for name in given if name in kwargs)
                raise TypeError(f"{where} got multiple values for argument {repeated!r}")
            kwargs.update(zip(given, args, strict=True))
        if not kwargs.keys() >= required:
            raise _missing(where, kwargs, name_set, positional_names, keyword_names, required)
        values = list(map(kwargs.pop, names, pop_defaults))
        if kwargs:
            raise _missing(where, kwargs, name_set, positional_names, keyword_names, required)
        for index, factory in factories:
            if values[index] is _HAS_DEFAULT_FACTORY:
                values[index] = factory()
        if frozen or type(self).__setattr__ is _object_setattr:
            # zip without strict=: same lengths, and strict= costs a tenth of an __init__.
            for setter, value in zip(setters, values):  # noqa: B905
                setter(self, value)
        else:
            # A mutable dataclass's __init__ assigns (self.name = value): through __setattr__.
            for name, value in zip(names, values):  # noqa: B905
                setattr(self, name, value)
        if post_init:
            self.__post_init__()

    repr_names = tuple(spec.name for spec in specs if spec.repr)
    get_repr = _tuple_getter(repr_names)

    def __repr__(self: Any) -> str:
        text = ", ".join(
            [f"{name}={value!r}" for name, value in zip(repr_names, get_repr(self), strict=True)]
        )
        return f"{self.__class__.__qualname__}({text})"

    get_compared = _tuple_getter(tuple(spec.name for spec in specs if spec.compare))

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return get_compared(self) == get_compared(other)
        return NotImplemented

    get_hashed = _tuple_getter(
        tuple(spec.name for spec in specs if (spec.compare if spec.hash is None else spec.hash))
    )

    def __hash__(self: Any) -> int:
        return hash(get_hashed(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is final or name in name_set:
            raise _FrozenInstanceError(f"cannot assign to field {name!r}")
        super(final, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is final or name in name_set:
            raise _FrozenInstanceError(f"cannot delete field {name!r}")
        super(final, self).__delattr__(name)

    def __getstate__(self: Any) -> list[Any]:
        return [getattr(self, name) for name in names]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=False):
            _object_setattr(self, name, value)

    methods: dict[str, Any] = {}
    self_name = "__dataclass_self__" if "self" in fields else "self"
    signature = _signature(self_name, positional, keyword)
    if "__init__" not in own:
        __init__.__signature__ = signature  # type: ignore[attr-defined]
        __init__.__annotations__ = {spec.name: spec.type for spec in specs} | {"return": None}
        methods["__init__"] = __init__
    if "__repr__" not in own:
        methods["__repr__"] = reprlib.recursive_repr()(__repr__)
    if "__eq__" not in own:
        methods["__eq__"] = __eq__
    if frozen:
        for method in (__setattr__, __delattr__):
            if method.__name__ in own:
                raise TypeError(
                    f"Cannot overwrite attribute {method.__name__} in class {cls.__name__}"
                )
            methods[method.__name__] = method
    # dataclasses' hash action for eq=True, unsafe_hash=False: a __hash__ of the class body
    # stays (one Python sets to None for an __eq__ of the class body is not one).
    class_hash = own.get("__hash__", _MISSING)
    if class_hash is _MISSING or (class_hash is None and "__eq__" in own):
        methods["__hash__"] = __hash__ if frozen else None
    if "__match_args__" not in own:
        methods["__match_args__"] = positional_names
    if slots and frozen:
        # Pickling frozen classes with slots, as dataclasses does.
        if "__getstate__" not in own:
            methods["__getstate__"] = __getstate__
        if "__setstate__" not in own:
            methods["__setstate__"] = __setstate__
    for method in methods.values():
        if callable(method):
            method.__qualname__ = f"{qualname}.{method.__name__}"
            method.__module__ = cls.__module__
    if not cls.__doc__:
        text = str(signature.replace(parameters=list(signature.parameters.values())[1:]))
        methods["__doc__"] = cls.__name__ + text.replace(" -> None", "")
    arguments = {
        "init": True,
        "repr": True,
        "eq": True,
        "order": False,
        "unsafe_hash": False,
        "frozen": frozen,
        "match_args": True,
        "kw_only": kw_only,
        "slots": slots,
        "weakref_slot": False,
    }
    assert _PARAMS_ARGUMENTS is not None  # noqa: S101 - checked by _SUPPORTED
    methods["__dataclass_params__"] = _DataclassParams(
        **{name: arguments[name] for name in _PARAMS_ARGUMENTS}
    )
    methods["__dataclass_fields__"] = fields

    if slots:
        namespace = dict(own)
        for name in names:
            namespace.pop(name, None)
        namespace.pop("__dict__", None)
        namespace.pop("__weakref__", None)
        namespace.update(methods)
        namespace["__slots__"] = names
        final = type(cls)(cls.__name__, cls.__bases__, namespace)
        final.__qualname__ = qualname
        setters = tuple(final.__dict__[name].__set__ for name in names)
    else:
        for name, spec in fields.items():
            if isinstance(own.get(name), _Field):
                if spec.default is _MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, spec.default)
        for name, value in methods.items():
            setattr(cls, name, value)
        final = cls
        setters = tuple(_attribute_setter(name) for name in names)
    built: type = abc.update_abstractmethods(final)
    return built


if sys.version_info >= (3, 11):
    from typing import dataclass_transform

    @overload
    def record(cls: type[_T], /) -> type[_T]: ...

    @overload
    def record(
        *, frozen: bool = False, slots: bool = False, kw_only: bool = False
    ) -> Callable[[type[_T]], type[_T]]: ...

    @dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
    def record(
        cls: type[_T] | None = None,
        /,
        *,
        frozen: bool = False,
        slots: bool = False,
        kw_only: bool = False,
    ) -> type[_T] | Callable[[type[_T]], type[_T]]:
        """``@dataclass(frozen=frozen, slots=slots, kw_only=kw_only)``, made without ``exec``."""

        def wrap(cls: type[_T]) -> type[_T]:
            if not _SUPPORTED:  # pragma: no cover - a Python whose dataclasses differ
                return dataclasses.dataclass(frozen=frozen, slots=slots, kw_only=kw_only)(cls)
            built: type[_T] = _build(cls, frozen, slots, kw_only)
            return built

        return wrap if cls is None else wrap(cls)

else:  # pragma: no cover - Python 3.10: no typing.dataclass_transform
    from dataclasses import dataclass as record
