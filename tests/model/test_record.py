"""``@record`` makes the classes ``@dataclass`` makes: each shape below is written twice, once
under each decorator, and the two are held to the same behaviour."""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, ClassVar

import pytest

from ztauth_cli.model.record import record

# --- the shapes, twice -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DcKw:
    """Frozen, keyword-only, slotted, with defaults and factories."""

    name: str
    size: int = 3
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    secret: str = field(default="hidden", repr=False)


@record(frozen=True, slots=True, kw_only=True)
class RecKw:
    """Frozen, keyword-only, slotted, with defaults and factories."""

    name: str
    size: int = 3
    tags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    secret: str = field(default="hidden", repr=False)


@dataclass(frozen=True, slots=True)
class DcPos:
    kind: str
    offset: int
    text: str = ""


@record(frozen=True, slots=True)
class RecPos:
    kind: str
    offset: int
    text: str = ""


@dataclass(slots=True)
class DcMutable:
    """Mutable and slotted (not hashable, as dataclasses makes it)."""

    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    count: int = 0


@record(slots=True)
class RecMutable:
    """Mutable and slotted (not hashable, as dataclasses makes it)."""

    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DcOwnInit:
    """An __init__ of the class body (model.decision's TraceStep and Decision) stays."""

    step: str
    passed: bool
    children: tuple[Any, ...] = ()

    def __init__(self, *, step: str, passed: bool, children: tuple[Any, ...] = ()) -> None:
        if not step:
            raise ValueError("a step has a name")
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "passed", passed)
        object.__setattr__(self, "children", children)


@record(frozen=True, slots=True, kw_only=True)
class RecOwnInit:
    """An __init__ of the class body (model.decision's TraceStep and Decision) stays."""

    step: str
    passed: bool
    children: tuple[Any, ...] = ()

    def __init__(self, *, step: str, passed: bool, children: tuple[Any, ...] = ()) -> None:
        if not step:
            raise ValueError("a step has a name")
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "passed", passed)
        object.__setattr__(self, "children", children)


@functools.total_ordering
@dataclass(frozen=True, slots=True, kw_only=True)
class DcOwnEq:
    """__eq__ and __hash__ of the class body stay (ledger.versions' SemVer)."""

    major: int
    label: str = ""

    def __lt__(self, other: DcOwnEq) -> bool:
        return self.major < other.major

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DcOwnEq) and self.major == other.major

    def __hash__(self) -> int:
        return hash(self.major)


@functools.total_ordering
@record(frozen=True, slots=True, kw_only=True)
class RecOwnEq:
    """__eq__ and __hash__ of the class body stay (ledger.versions' SemVer)."""

    major: int
    label: str = ""

    def __lt__(self, other: RecOwnEq) -> bool:
        return self.major < other.major

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecOwnEq) and self.major == other.major

    def __hash__(self) -> int:
        return hash(self.major)


@dataclass(frozen=True, slots=True)
class DcEmpty:
    pass


@record(frozen=True, slots=True)
class RecEmpty:
    pass


@dataclass(frozen=True, slots=True)
class DcOne:
    value: int


@record(frozen=True, slots=True)
class RecOne:
    value: int


# Each pair, with calls that make an instance and calls that must fail.
GOOD: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "Kw": [
        ((), {"name": "a"}),
        ((), {"name": "a", "size": 5, "tags": ("x",), "notes": ["n"], "cache": {"k": 1}}),
        ((), {"secret": "s", "name": "b"}),
    ],
    "Pos": [(("k", 1), {}), (("k",), {"offset": 2}), ((), {"kind": "k", "offset": 3, "text": "t"})],
    "Mutable": [((), {}), (({"a": b"x"},), {"count": 2}), (({}, ["p"], 4), {})],
    "OwnInit": [((), {"step": "s", "passed": True}), ((), {"step": "s", "passed": False})],
    "OwnEq": [((), {"major": 1}), ((), {"major": 2, "label": "rc"})],
    "Empty": [((), {})],
    "One": [((7,), {}), ((), {"value": 8})],
}
BAD: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "Kw": [
        ((), {}),
        (("a",), {}),
        ((), {"name": "a", "colour": "red"}),
        ((), {"size": 1}),
        ((), {"colour": "red"}),
    ],
    "Pos": [
        ((), {}),
        (("k",), {}),
        (("k", 1, "t", "extra"), {}),
        (("k", 1), {"kind": "again"}),
        (("k", 1), {"other": 1}),
    ],
    "Mutable": [(({}, [], 1, 2), {}), (({},), {"files": {}}), ((), {"unknown": 1})],
    "OwnInit": [((), {"passed": True}), ((), {"step": "", "passed": True})],
    "OwnEq": [((), {}), ((1,), {})],
    "Empty": [((1,), {}), ((), {"x": 1})],
    "One": [((), {}), ((1, 2), {}), ((1,), {"value": 1})],
}
PAIRS = {name: (globals()[f"Dc{name}"], globals()[f"Rec{name}"]) for name in GOOD}
FROZEN = [name for name in PAIRS if name != "Mutable"]


def _same_text(text: str, cls: type) -> str:
    """Text about ``cls`` with its name neutral (the twins differ in name only)."""
    return text.replace(cls.__name__, "<cls>")


def _pairs(name: str) -> list[tuple[Any, Any]]:
    dc, rec = PAIRS[name]
    return [(dc(*args, **kwargs), rec(*args, **kwargs)) for args, kwargs in GOOD[name]]


pairs = pytest.mark.parametrize("name", list(PAIRS))
frozen_pairs = pytest.mark.parametrize("name", FROZEN)


# --- the class --------------------------------------------------------------------------


@pairs
def test_signature_doc_match_args_and_annotations(name: str) -> None:
    dc, rec = PAIRS[name]
    assert inspect.signature(rec) == inspect.signature(dc)
    assert inspect.signature(rec.__init__) == inspect.signature(dc.__init__)
    assert str(inspect.signature(rec)) == str(inspect.signature(dc))
    assert _same_text(rec.__doc__ or "", rec) == _same_text(dc.__doc__ or "", dc)
    assert rec.__match_args__ == dc.__match_args__
    assert rec.__init__.__annotations__ == dc.__init__.__annotations__
    assert _same_text(rec.__init__.__qualname__, rec) == _same_text(dc.__init__.__qualname__, dc)
    assert rec.__slots__ == dc.__slots__
    assert sorted(set(vars(rec)) - {"__doc__"}) == sorted(set(vars(dc)) - {"__doc__"})


@pairs
def test_is_a_dataclass_to_dataclasses(name: str) -> None:
    dc, rec = PAIRS[name]
    assert dataclasses.is_dataclass(rec)
    attributes = ("name", "type", "default", "default_factory", "init", "repr", "hash")
    attributes += ("compare", "metadata", "kw_only", "_field_type")
    assert [[getattr(f, a) for a in attributes] for f in dataclasses.fields(rec)] == [
        [getattr(f, a) for a in attributes] for f in dataclasses.fields(dc)
    ]
    assert repr(rec.__dataclass_params__) == repr(dc.__dataclass_params__)  # type: ignore[attr-defined]
    for dc_value, rec_value in _pairs(name):
        assert dataclasses.is_dataclass(rec_value)
        assert dataclasses.asdict(rec_value) == dataclasses.asdict(dc_value)
        assert dataclasses.astuple(rec_value) == dataclasses.astuple(dc_value)
        assert [f.name for f in dataclasses.fields(rec_value)] == list(rec.__slots__)


# --- __init__ ---------------------------------------------------------------------------


@pairs
def test_init_sets_the_same_fields(name: str) -> None:
    dc, rec = PAIRS[name]
    for dc_value, rec_value in _pairs(name):
        assert [getattr(rec_value, n) for n in rec.__slots__] == [
            getattr(dc_value, n) for n in dc.__slots__
        ]


def test_default_factories_are_called_per_instance() -> None:
    first, second = RecKw(name="a"), RecKw(name="b")
    assert first.notes == []
    assert first.notes is not second.notes
    assert first.cache is not second.cache
    given: list[str] = ["kept"]
    assert RecKw(name="a", notes=given).notes is given
    assert RecMutable().files is not RecMutable().files


@pairs
def test_init_refuses_what_dataclass_refuses_with_the_same_message(name: str) -> None:
    dc, rec = PAIRS[name]
    for args, kwargs in BAD[name]:
        with pytest.raises((TypeError, ValueError)) as expected:
            dc(*args, **kwargs)
        with pytest.raises(expected.type) as got:
            rec(*args, **kwargs)
        assert _same_text(str(got.value), rec) == _same_text(str(expected.value), dc), (
            args,
            kwargs,
        )


def test_post_init_is_called() -> None:
    @record(frozen=True, slots=True, kw_only=True)
    class Checked:
        low: int
        high: int

        def __post_init__(self) -> None:
            if self.low > self.high:
                raise ValueError("low above high")

    assert Checked(low=1, high=2).high == 2
    with pytest.raises(ValueError, match="low above high"):
        Checked(low=3, high=2)


def test_a_mutable_records_init_assigns_through_setattr() -> None:
    seen: list[str] = []

    @record(slots=True)
    class Watched:
        value: int = 0

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append(name)
            object.__setattr__(self, name, value)

    assert Watched(3).value == 3
    assert seen == ["value"]


# --- repr, eq, hash ---------------------------------------------------------------------


@pairs
def test_repr_text(name: str) -> None:
    dc, rec = PAIRS[name]
    for dc_value, rec_value in _pairs(name):
        assert repr(rec_value).startswith(f"{rec.__qualname__}(")
        assert _same_text(repr(rec_value), rec) == _same_text(repr(dc_value), dc)


def test_repr_leaves_out_repr_false_and_reads_as_dataclass() -> None:
    assert repr(RecKw(name="a", cache={"k": 1})) == ("RecKw(name='a', size=3, tags=(), notes=[])")
    assert repr(RecPos("k", 1)) == "RecPos(kind='k', offset=1, text='')"
    assert repr(RecEmpty()) == "RecEmpty()"


def test_repr_of_a_recursive_value() -> None:
    value = RecMutable()
    value.problems.append(value)  # type: ignore[arg-type]
    twin = DcMutable()
    twin.problems.append(twin)  # type: ignore[arg-type]
    assert _same_text(repr(value), RecMutable) == _same_text(repr(twin), DcMutable)


@pairs
def test_eq_ne_and_hash(name: str) -> None:
    dc, rec = PAIRS[name]
    made = _pairs(name)
    for i, (dc_a, rec_a) in enumerate(made):
        for j, (dc_b, rec_b) in enumerate(made):
            assert (rec_a == rec_b) == (dc_a == dc_b), (i, j)
            assert (rec_a != rec_b) == (dc_a != dc_b), (i, j)
        # Equal to an equal instance of its own class, never to the twin or anything else.
        assert rec_a == copy.copy(rec_a)
        assert rec_a != dc_a
        assert dc_a != rec_a
        assert rec_a.__eq__(object()) is dc_a.__eq__(object())
        if dc.__hash__ is None:
            assert rec.__hash__ is None
        try:
            expected: object = hash(dc_a)
        except TypeError as error:  # unhashable: None, or a list field
            expected = type(error)
        try:
            got: object = hash(rec_a)
        except TypeError as error:
            got = type(error)
        assert got == expected


def test_compare_false_fields_are_left_out_of_eq_and_hash() -> None:
    a = RecKw(name="a", notes=None, cache={"x": 1})  # type: ignore[arg-type]
    b = RecKw(name="a", notes=None, cache={"y": 2})  # type: ignore[arg-type]
    assert a == b
    assert hash(a) == hash(b)
    assert RecKw(name="a", secret="1") != RecKw(name="a", secret="2")


def test_own_eq_hash_and_total_ordering_stay() -> None:
    assert RecOwnEq(major=1, label="a") == RecOwnEq(major=1, label="b")
    assert hash(RecOwnEq(major=1)) == hash(1)
    assert RecOwnEq(major=1) < RecOwnEq(major=2) <= RecOwnEq(major=2)
    assert sorted([RecOwnEq(major=3), RecOwnEq(major=1)]) == [
        RecOwnEq(major=1),
        RecOwnEq(major=3),
    ]


# --- frozen, slots ------------------------------------------------------------------------


@frozen_pairs
def test_frozen_refuses_set_and_del_with_dataclass_messages(name: str) -> None:
    _dc, rec = PAIRS[name]
    for dc_value, rec_value in _pairs(name):
        for field_name in rec.__slots__:
            for change in (
                lambda value, n=field_name: setattr(value, n, 1),
                lambda value, n=field_name: delattr(value, n),
            ):
                with pytest.raises(FrozenInstanceError) as expected:
                    change(dc_value)
                with pytest.raises(FrozenInstanceError) as got:
                    change(rec_value)
                assert str(got.value) == str(expected.value)


def test_mutable_allows_set_and_del() -> None:
    value = RecMutable()
    value.count = 5
    assert value.count == 5
    del value.count
    with pytest.raises(AttributeError):
        _ = value.count


@pairs
def test_slots_and_no_dict(name: str) -> None:
    _dc, rec = PAIRS[name]
    assert "__slots__" in vars(rec)
    assert "__dict__" not in vars(rec)
    assert "__weakref__" not in vars(rec)
    for dc_value, rec_value in _pairs(name):
        assert not hasattr(rec_value, "__dict__")
        assert not hasattr(dc_value, "__dict__")
        with pytest.raises((AttributeError, TypeError)):
            rec_value.undeclared = 1


# --- replace, copy, pickle, match -------------------------------------------------------


REPLACED = {
    "Kw": ("name", "z"),
    "Pos": ("kind", "z"),
    "Mutable": ("count", 9),
    "OwnInit": ("step", "z"),
    "OwnEq": ("major", 9),
    "One": ("value", 9),
}


@pairs
def test_replace(name: str) -> None:
    dc, rec = PAIRS[name]
    for dc_value, rec_value in _pairs(name):
        assert dataclasses.replace(rec_value) == rec_value
        assert dataclasses.replace(rec_value) is not rec_value
        if name in REPLACED:
            changes = dict([REPLACED[name]])
            replaced = dataclasses.replace(rec_value, **changes)
            twin = dataclasses.replace(dc_value, **changes)
            assert type(replaced) is rec
            assert _same_text(repr(replaced), rec) == _same_text(repr(twin), dc)
    with pytest.raises(TypeError):
        dataclasses.replace(RecKw(name="a"), colour="red")


@pairs
def test_copy_deepcopy_and_pickle(name: str) -> None:
    dc, rec = PAIRS[name]
    for dc_value, rec_value in _pairs(name):
        for clone in (
            copy.copy(rec_value),
            copy.deepcopy(rec_value),
            pickle.loads(pickle.dumps(rec_value)),  # noqa: S301 - our own bytes
            pickle.loads(pickle.dumps(rec_value, protocol=2)),  # noqa: S301
        ):
            assert type(clone) is rec
            assert clone == rec_value
            assert repr(clone) == repr(rec_value)
        if hasattr(dc, "__getstate__") and "__getstate__" in vars(dc):
            assert rec_value.__getstate__() == dc_value.__getstate__()
    assert set(vars(rec)) >= ({"__getstate__", "__setstate__"} & set(vars(dc)))


def test_deepcopy_copies_the_fields() -> None:
    value = RecKw(name="a", notes=["n"])
    clone = copy.deepcopy(value)
    assert clone.notes == ["n"]
    assert clone.notes is not value.notes


def _describe(value: object) -> str:
    match value:
        case RecPos("k", offset, text=""):
            return f"pos {offset}"
        case RecKw(name="a", size=size):
            return f"kw {size}"
        case RecOne(value):
            return f"one {value}"
        case RecMutable(files, problems, count):
            return f"mutable {len(files)} {len(problems)} {count}"
        case _:
            return "other"


def test_match_statement() -> None:
    assert _describe(RecPos("k", 4)) == "pos 4"
    assert _describe(RecPos("k", 4, "t")) == "other"
    assert _describe(RecKw(name="a", size=9)) == "kw 9"
    assert _describe(RecKw(name="b")) == "other"
    assert _describe(RecOne(2)) == "one 2"
    assert _describe(RecMutable({}, ["p"], 1)) == "mutable 0 1 1"
    # A keyword-only record has no positional sub-patterns (__match_args__ is empty).
    with pytest.raises(TypeError, match="accepts 0 positional sub-patterns"):
        _positional_pattern(RecKw(name="a"))


def _positional_pattern(value: object) -> bool:
    match value:
        case RecKw("a"):
            return True
    return False


# --- what record refuses ------------------------------------------------------------------


def test_class_definition_errors_are_dataclass_errors() -> None:
    for decorator in (dataclass, record):
        with pytest.raises(ValueError, match="mutable default"):

            @decorator(frozen=True, slots=True)
            class MutableDefault:
                items: list[int] = []  # noqa: RUF012

        with pytest.raises(TypeError, match="non-default argument 'b' follows default"):

            @decorator(frozen=True, slots=True)
            class Order:
                a: int = 0
                b: int

        with pytest.raises(TypeError, match="already specifies __slots__"):

            @decorator(frozen=True, slots=True)
            class Slotted:
                __slots__ = ("a",)
                a: int


def test_unsupported_features_are_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="ClassVar"):

        @record(frozen=True, slots=True)
        class WithClassVar:
            limit: ClassVar[int] = 3

    with pytest.raises(TypeError, match="InitVar"):

        @record(frozen=True, slots=True)
        class WithInitVar:
            seed: dataclasses.InitVar[int]

    with pytest.raises(TypeError, match="init=False"):

        @record(frozen=True, slots=True)
        class WithInitFalse:
            derived: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="dataclass bases"):

        @record(frozen=True, slots=True)
        class Derived(RecPos):
            extra: int = 0


# --- the project's classes ------------------------------------------------------------------


def test_the_models_keep_their_own_init() -> None:
    from ztauth_cli.model.decision import Decision, ReasonCode, Step, TraceStep

    step = TraceStep(step=Step.POLICY, passed=True, detail="ok")
    assert repr(step) == (
        "TraceStep(step=<Step.POLICY: 'policy'>, passed=True, detail='ok', children=())"
    )
    with pytest.raises(ValueError, match="if and only if"):
        Decision(
            allowed=True,
            code=ReasonCode.POLICY_DENIED,
            message="m",
            user_message="u",
            via=None,
            policies=(),
            trace=(step,),
        )
    assert pickle.loads(pickle.dumps(step)) == step  # noqa: S301 - our own bytes
    assert dataclasses.replace(step, passed=False).passed is False
