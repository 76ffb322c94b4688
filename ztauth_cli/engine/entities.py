"""How request data becomes Cedar data: values, and the entities a request may describe.

DESIGN.md "Request data and the ledger": the PEP says who the subject is and what is asked; it
never changes the ledger's facts. So:

* An entity the ledger defines (or merely references, as a parent or an attribute value) is
  the ledger's alone: a request's attributes, parents or tags for it are ignored, with a trace
  note, never an error, so an AuthZEN client that sends them still gets the ledger's answer.
* An entity the ledger does not know may be described by the request within
  ``settings.request_entities``: attributes (AuthZEN ``properties``) by default, parents (role
  and group membership) only where the manifest opts in for that entity type.
* Every request value is plain JSON. Cedar's escapes (``__entity``, ``__extn``, ``__expr``)
  are syntax, not data: an object holding one is left out wherever it appears, so a request
  never picks a Cedar type. A value becomes an entity or an extension value only where the
  ledger's schema declares that type (Cedar's schema-directed parsing), or as the one
  conversion the engine makes itself: a fractional number becomes a Cedar ``decimal``.
* A value Cedar cannot hold (``null``, an integer outside 64 bits, a number with more than
  4 decimal places, anything that is not JSON) is left out with a trace note: the attribute
  is absent, so a policy that reads it errors and fails closed, and nothing else is sunk. An
  array holding such a value is itself such a value (leaving out one element could change
  what a policy concludes from the rest); a record only loses the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ztauth_cli.engine.request import Entity, Request, action_uid, is_action_type, uid_text
from ztauth_cli.model.documents import DEFAULT_REQUEST_ENTITIES, RequestEntityRule

__all__ = [
    "ESCAPES",
    "EntityRules",
    "cedar_record",
    "describe_entities",
    "referenced_uids",
]

# Cedar's JSON escapes (entity references, extension values, and the deprecated expression).
ESCAPES = frozenset({"__entity", "__extn", "__expr"})
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_STEP = Decimal("0.0001")  # a Cedar decimal has at most 4 decimal places...
_DECIMAL_MIN = Decimal(_I64_MIN) * _STEP  # ...and is a 64-bit integer of ten-thousandths
_DECIMAL_MAX = Decimal(_I64_MAX) * _STEP

Key = tuple[str, str]


class _NotHeld(Exception):
    """A value Cedar cannot hold, at ``path``, and why."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(why)
        self.path = path
        self.why = why


def _text_ok(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")  # an unpaired surrogate (JSON "\ud800") is not text Cedar holds
    except UnicodeEncodeError:
        return False
    return True


def _number(value: float, path: str) -> Any:
    if math.isnan(value) or math.isinf(value):
        raise _NotHeld(path, f"{value!r} is not a number Cedar holds")
    if value.is_integer():
        return _integer(int(value), path)
    exact = Decimal(repr(value))  # the shortest text of the number, as the JSON wrote it
    if exact != exact.quantize(_STEP):
        raise _NotHeld(
            path, f"{value!r} has more than 4 decimal places, more than a Cedar decimal holds"
        )
    if not _DECIMAL_MIN <= exact <= _DECIMAL_MAX:
        raise _NotHeld(path, f"{value!r} is outside the range of a Cedar decimal")
    # The engine's own conversion (documented): a fractional JSON number is a Cedar decimal.
    return {"__extn": {"fn": "decimal", "arg": format(exact.quantize(_STEP), "f")}}


def _integer(value: int, path: str) -> int:
    if not _I64_MIN <= value <= _I64_MAX:
        raise _NotHeld(path, f"{value} is outside Cedar's 64-bit integer range")
    return value


def _value(value: Any, path: str, notes: list[str]) -> Any:
    """``value`` as Cedar JSON, or :class:`_NotHeld`."""
    kind = type(value)
    if kind is str:
        if _text_ok(value):
            return value
        raise _NotHeld(path, "a string with an unpaired surrogate is not text Cedar holds")
    if kind is bool:
        return value
    if kind is int:
        return _integer(value, path)
    if kind is float:
        return _number(value, path)
    if value is None:
        raise _NotHeld(path, "null is not a Cedar value")
    if kind is list:
        return [
            item
            if type(item) is str and item.isascii()
            else _value(item, f"{path}[{index}]", notes)
            for index, item in enumerate(value)
        ]
    if kind is dict or isinstance(value, Mapping):
        escapes = sorted(k for k in value if k in ESCAPES)
        if escapes:
            raise _NotHeld(
                path,
                f"a JSON object with the key {escapes[0]} is Cedar escape syntax, not plain data",
            )
        return _record(value, path, notes)
    if isinstance(value, (list, tuple)):
        return [_value(item, f"{path}[{index}]", notes) for index, item in enumerate(value)]
    raise _NotHeld(path, f"a {kind.__name__} is not a JSON value")


def _record(data: Mapping[str, Any], where: str, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if type(key) is not str or not _text_ok(key):
            notes.append(f"{where}: a field name Cedar cannot hold is left out")
            continue
        kind = type(value)
        if (kind is str and value.isascii()) or kind is bool:
            out[key] = value  # the common case, without building a path
            continue
        path = f"{where}.{key}"
        try:
            out[key] = _value(value, path, notes)
        except _NotHeld as exc:
            whole = "" if exc.path == path else f" ({path} is left out as a whole)"
            notes.append(f"{exc.path}: {exc.why}; left out{whole}")
    return out


def cedar_record(data: Mapping[str, Any], where: str, notes: list[str]) -> dict[str, Any]:
    """A request's JSON object (``context``, ``properties``, ``attrs``) as a Cedar record.

    Each field Cedar cannot hold, or that is Cedar escape syntax, is left out and a note
    saying why is appended to ``notes``. Never raises.
    """
    for key, value in data.items():
        # The common case, checked without building anything: short text and flags.
        kind = type(value)
        if not (
            type(key) is str
            and key.isascii()
            and key not in ESCAPES
            and ((kind is str and value.isascii()) or kind is bool)
        ):
            break
    else:
        return dict(data)
    return _record(
        {k: v for k, v in data.items() if not _escape_key(k, where, notes)}, where, notes
    )


def _escape_key(key: Any, where: str, notes: list[str]) -> bool:
    if key in ESCAPES:
        notes.append(f"{where}.{key}: the key {key} is Cedar escape syntax, not data; left out")
        return True
    return False


_SCALARS = (str, int, float, type(None))


def referenced_uids(entities: Iterable[Mapping[str, Any]]) -> frozenset[Key]:
    """Every uid the ledger's entities name: the entities, their parents, the entity values of
    their attributes and tags (escaped, or a ``{type, id}`` record a schema would read as one).
    """
    found: set[Key] = set()

    def walk(value: Any) -> None:
        if isinstance(value, _SCALARS):
            return  # most values are; checked first, as Mapping is an ABC (slow to ask)
        if isinstance(value, Mapping):
            ref = value.get("__entity", value)
            key = _uid_key(ref) if isinstance(ref, Mapping) else None
            if key is not None:
                found.add(key)
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for entity in entities:
        walk(entity)
    return frozenset(found)


def _uid_key(uid: Mapping[str, Any]) -> Key | None:
    type_, id_ = uid.get("type"), uid.get("id")
    return (type_, id_) if type(type_) is str and type(id_) is str else None


class EntityRules:
    """``settings.request_entities``: what a request may say about unknown entities of a type.

    Exact types first, then ``*``; a type no rule names may be given nothing. Actions never
    get parents (a request could otherwise put ``delete`` in the ``read`` group).
    """

    def __init__(self, rules: Sequence[RequestEntityRule] = DEFAULT_REQUEST_ENTITIES) -> None:
        self._by_type = {rule.type: rule for rule in rules}
        self._any = self._by_type.get("*")

    def _rule(self, type_: str) -> RequestEntityRule | None:
        return self._by_type.get(type_, self._any)

    def attributes(self, type_: str) -> bool:
        """Whether a request may give unknown ``type_`` entities attributes (and tags)."""
        rule = self._rule(type_)
        return rule is not None and rule.attributes

    def parents(self, type_: str) -> bool:
        """Whether a request may give unknown ``type_`` entities parents."""
        rule = self._rule(type_)
        return rule is not None and rule.parents and not is_action_type(type_)


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _uids(uids: Iterable[Mapping[str, Any]]) -> str:
    return _names(uid_text(str(u["type"]), str(u["id"])) for u in uids)


class _Builder:
    def __init__(self, defined: Callable[[Key], bool], rules: EntityRules) -> None:
        self.defined = defined
        self.rules = rules
        self.notes: list[str] = []
        self.entities: dict[Key, dict[str, Any]] = {}

    def _entity(self, key: Key) -> dict[str, Any]:
        entity = self.entities.get(key)
        if entity is None:
            entity = {"uid": {"type": key[0], "id": key[1]}, "attrs": {}, "parents": []}
            self.entities[key] = entity
        return entity

    def describe(
        self,
        key: Key,
        where: str,
        *,
        attrs: Mapping[str, Any],
        parents: Sequence[Mapping[str, Any]] = (),
        tags: Mapping[str, Any] | None = None,
        attrs_where: str,
    ) -> None:
        if not (attrs or parents or tags):
            if not self.defined(key):
                self._entity(key)
            return
        uid = uid_text(*key)
        if self.defined(key):
            parts = []
            if attrs:
                parts.append(f"attributes ({_names(attrs)})")
            if parents:
                parts.append(f"parents ({_uids(parents)})")
            if tags:
                parts.append(f"tags ({_names(tags)})")
            self.notes.append(
                f"{where}: {uid} is defined by the ledger; the request's "
                f"{' and '.join(parts)} are ignored"
            )
            return
        entity = self._entity(key)
        if attrs or tags:
            if self.rules.attributes(key[0]):
                entity["attrs"].update(cedar_record(attrs, attrs_where, self.notes))
                if tags:
                    entity.setdefault("tags", {}).update(
                        cedar_record(tags, f"{where}.tags", self.notes)
                    )
            else:
                named = _names([*attrs, *(tags or {})])
                self.notes.append(
                    f"{where}: attributes of {uid} ({named}) are ignored: "
                    f"settings.request_entities does not let a request describe {key[0]} "
                    "entities"
                )
        if parents:
            if self.rules.parents(key[0]):
                for parent in parents:
                    ref = {"type": parent["type"], "id": parent["id"]}
                    if ref not in entity["parents"]:
                        entity["parents"].append(ref)
            else:
                self.notes.append(
                    f"{where}: parents of {uid} ({_uids(parents)}) are ignored: "
                    f"settings.request_entities does not let a request give {key[0]} "
                    "entities parents"
                )


def describe_entities(
    request: Request,
    *,
    defined: Callable[[Key], bool],
    rules: EntityRules,
) -> tuple[dict[Key, dict[str, Any]], list[str]]:
    """The entities a request describes that the ledger does not define (Cedar JSON, keyed
    by uid), and the trace notes saying what was ignored or left out and why.

    ``defined(uid)`` says whether the ledger defines (or references) an entity. Every route
    by which request data could reach Cedar's entities is here: ``authorization_model
    .entities``, the ``properties`` of the subject, resource and principal, and
    ``action.properties`` (the request's action entity). Chain hops are never described to
    Cedar. Never raises for a request that :func:`parse_request` accepted.
    """
    builder = _Builder(defined, rules)
    for index, item in enumerate(request.entities):
        where = f"authorization_model.entities[{index}]"
        uid = item["uid"]
        builder.describe(
            (uid["type"], uid["id"]),
            where,
            attrs=item.get("attrs") or {},
            parents=item.get("parents") or (),
            tags=item.get("tags") or None,
            attrs_where=f"{where}.attrs",
        )
    described: Sequence[tuple[str, Entity | None]] = (
        ("subject", request.subject),
        ("resource", request.resource),
        ("principal", request.principal),
    )
    for where, entity in described:
        if entity is not None and entity.properties:
            builder.describe(
                entity.key,
                f"{where}.properties",
                attrs=entity.properties,
                attrs_where=f"{where}.properties",
            )
    if request.action_properties:
        action = action_uid(request.action)
        builder.describe(
            (action["type"], action["id"]),
            "action.properties",
            attrs=request.action_properties,
            attrs_where="action.properties",
        )
    for hop in request.chain:
        if hop.principal.properties:
            builder.notes.append(
                f"authorization_model.chain[{hop.index}].principal.properties "
                f"({_names(hop.principal.properties)}) are ignored: a chain hop is checked "
                "against the trust model, never described to Cedar"
            )
    return builder.entities, builder.notes
