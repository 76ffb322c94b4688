"""Step 1 of the pipeline: turn a raw AuthZEN request into a typed :class:`Request`.

Hand-written checks that mirror ``schemas/request.schema.json``: they run for every request,
so they must be cheap (a jsonschema validator costs more than the Cedar call). The engine never
imports the ledger package, so the schema file is not read here; the CLI validates a request
file against it when it reads one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ztauth_cli.model.record import record

__all__ = [
    "TOKEN_KINDS",
    "Entity",
    "Hop",
    "Request",
    "RequestProblem",
    "action_id",
    "action_uid",
    "cedar_uid",
    "expand_evaluations",
    "is_action_type",
    "parse_request",
    "uid_text",
]

# The token kinds a request may carry (DESIGN.md "The request context"); an Issuer lists the
# kinds it may sign in ``issues``.
TOKEN_KINDS = ("txn", "consent", "attestation", "subject")
_MODEL_KEYS = frozenset({"ledger", "principal", "tokens", "chain", "entities"})
_HOP_KEYS = frozenset({"principal", "scope", "tokens"})


class RequestProblem(ValueError):
    """Why a request is not a well-formed AuthZEN request (``invalid_request``)."""


@record(frozen=True, slots=True, kw_only=True)
class Entity:
    """A request entity (subject, resource or principal): Cedar type, id and properties."""

    type: str
    id: str
    # AuthZEN ``properties``: raw JSON values, handed to Cedar as entity attributes.
    properties: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """``(type, id)``, the entity's Cedar uid as a tuple."""
        return (self.type, self.id)

    def __str__(self) -> str:
        return uid_text(self.type, self.id)


@record(frozen=True, slots=True, kw_only=True)
class Hop:
    """An earlier hop of a delegation chain: its workload, scope and tokens.

    Everything here is the caller's claim. The hop carries authority only through its own
    tokens: its link from the party before it, whose scope must contain ``scope`` (step 5,
    ``Evaluator._chain``). Its identity on the path is ``principal.id`` alone.
    """

    index: int
    principal: Entity
    # The actions the hop claims to pass on; None: whatever its link token grants.
    scope: tuple[str, ...] | None
    tokens: Mapping[str, str]


@record(frozen=True, slots=True, kw_only=True)
class Request:
    """One well-formed AuthZEN evaluation with its ZTAuth* ``authorization_model``."""

    subject: Entity
    action: str
    action_properties: Mapping[str, Any]
    resource: Entity
    context: Mapping[str, Any]
    ledger: str | None
    principal: Entity | None
    tokens: Mapping[str, str]
    chain: tuple[Hop, ...]
    # Extra Cedar entities given with the request (``authorization_model.entities``).
    entities: tuple[Mapping[str, Any], ...]

    @property
    def actor(self) -> Entity:
        """The workload executing the request; the subject itself when none is named."""
        return self.principal if self.principal is not None else self.subject

    @property
    def delegated(self) -> bool:
        """True when an actor other than the subject executes the request."""
        return self.principal is not None and self.principal.key != self.subject.key


def uid_text(type_: str, id_: str) -> str:
    """An entity uid in Cedar's syntax, ``User::"alice"`` (the id JSON-escaped if needed)."""
    plain = '"' not in id_ and "\\" not in id_ and id_.isprintable()
    return f'{type_}::"{id_}"' if plain else f"{type_}::{json.dumps(id_)}"


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if type(value) is dict:  # the common case, without the slower ABC check
        return value
    if not isinstance(value, Mapping):
        raise RequestProblem(f"{where} must be an object, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise RequestProblem(f"{where} must be a non-empty string, found {_kind(value)}")
    return value


def _entity(raw: Any, where: str) -> Entity:
    data = _object(raw, where)
    properties = data.get("properties", {})
    return Entity(
        type=_string(data.get("type"), f"{where}.type"),
        id=_string(data.get("id"), f"{where}.id"),
        properties=_object(properties, f"{where}.properties"),
    )


def _tokens(raw: Any, where: str) -> dict[str, str]:
    data = _object(raw, where)
    tokens: dict[str, str] = {}
    for name, value in data.items():
        if name not in TOKEN_KINDS:
            raise RequestProblem(
                f"{where}: unknown token kind {name!r} (allowed: {', '.join(sorted(TOKEN_KINDS))})"
            )
        if not isinstance(value, str):
            raise RequestProblem(
                f"{where}.{name} must be a compact JWT string, found {_kind(value)}"
            )
        tokens[name] = value
    return tokens


def _scope(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise RequestProblem(f"{where} must be an array of action names")
    return tuple(raw)


def _chain(raw: Any) -> tuple[Hop, ...]:
    if not isinstance(raw, list):
        raise RequestProblem(f"authorization_model.chain must be an array, found {_kind(raw)}")
    hops = []
    for index, item in enumerate(raw):
        where = f"authorization_model.chain[{index}]"
        data = _object(item, where)
        unknown = sorted(set(data) - _HOP_KEYS)
        if unknown:
            raise RequestProblem(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
        hops.append(
            Hop(
                index=index,
                principal=_entity(data.get("principal"), f"{where}.principal"),
                scope=_scope(data["scope"], f"{where}.scope") if "scope" in data else None,
                tokens=_tokens(data.get("tokens", {}), f"{where}.tokens"),
            )
        )
    return tuple(hops)


def is_action_type(type_: str) -> bool:
    """Whether ``type_`` is an action type (``Action`` or ``Namespace::Action``)."""
    return type_ == "Action" or type_.endswith("::Action")


def _uid(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("id"), str)
    )


def _model_entities(raw: Any) -> tuple[Mapping[str, Any], ...]:
    where = "authorization_model.entities"
    if isinstance(raw, Mapping):
        # Permguard's shape: {"schema": "cedar", "items": [...]}.
        unknown = sorted(set(raw) - {"schema", "items"})
        if unknown or raw.get("schema", "cedar") != "cedar":
            raise RequestProblem(
                f"{where} must be an array of Cedar entities or {{schema: cedar, items: [...]}}"
            )
        raw, where = raw.get("items", []), f"{where}.items"
    if not isinstance(raw, list):
        raise RequestProblem(f"{where} must be an array of Cedar entities")
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        uid = item.get("uid") if isinstance(item, Mapping) else None
        if not _uid(uid):
            raise RequestProblem(f"{at} must be a Cedar entity with uid: {{type, id}}")
        assert isinstance(uid, Mapping)  # noqa: S101 - checked by _uid, for the type checker
        if is_action_type(uid["type"]):
            # Actions and their groups belong to the ledger (schema, entities): a request
            # that could make Action::"delete" a member of Action::"read" would widen policies.
            raise RequestProblem(
                f"{at}: a request may not define action entities "
                f"({uid['type']}::{json.dumps(uid['id'])})"
            )
        for name in ("attrs", "tags"):
            if item.get(name) is not None:
                _object(item[name], f"{at}.{name}")
        parents = item.get("parents")
        if parents is not None and not (
            isinstance(parents, list) and all(_uid(p) for p in parents)
        ):
            raise RequestProblem(f"{at}.parents must be an array of uids {{type, id}}")
    return tuple(raw)


def parse_request(raw: Any) -> Request:
    """Check and type one evaluation (``evaluations`` already expanded).

    Raises:
        RequestProblem: saying which field is wrong and what was expected.
    """
    data = _object(raw, "the request")
    subject = _entity(data.get("subject"), "subject")
    action_data = _object(data.get("action"), "action")
    action = _string(action_data.get("name"), "action.name")
    action_properties = _object(action_data.get("properties", {}), "action.properties")
    resource = _entity(data.get("resource"), "resource")
    context = _object(data.get("context", {}), "context")

    model = _object(data.get("authorization_model", {}), "authorization_model")
    unknown = sorted(set(model) - _MODEL_KEYS)
    if unknown:
        raise RequestProblem(
            f"authorization_model: unknown field(s) {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(sorted(_MODEL_KEYS))})"
        )
    ledger = model.get("ledger")
    if ledger is not None:
        ledger = _string(ledger, "authorization_model.ledger")
    principal = (
        _entity(model["principal"], "authorization_model.principal")
        if "principal" in model
        else None
    )
    # Permguard puts the executing workload in a top-level ``principal``; accept it too.
    if "principal" in data:
        top = _entity(data["principal"], "principal")
        if principal is not None and principal.key != top.key:
            raise RequestProblem(
                f"principal {top} and authorization_model.principal {principal} disagree"
            )
        principal = principal or top
    tokens = _tokens(model.get("tokens", {}), "authorization_model.tokens")
    chain = _chain(model.get("chain", []))
    if chain and principal is None:
        raise RequestProblem(
            "authorization_model.chain needs authorization_model.principal (the current hop)"
        )
    entities = _model_entities(model.get("entities", []))
    for where, item in (("subject", subject), ("resource", resource), ("principal", principal)):
        if item is not None and item.properties and is_action_type(item.type):
            raise RequestProblem(f"{where}.properties: a request may not change an action entity")
    return Request(
        subject=subject,
        action=action,
        action_properties=action_properties,
        resource=resource,
        context=context,
        ledger=ledger,
        principal=principal,
        tokens=tokens,
        chain=chain,
        entities=entities,
    )


def cedar_uid(type_: str, id_: str) -> dict[str, str]:
    """A Cedar entity uid in JSON form."""
    return {"type": type_, "id": id_}


def action_uid(name: str) -> dict[str, str]:
    """The Cedar uid of an AuthZEN action name (a name holding ``::`` is a full Cedar uid).

    Raises:
        RequestProblem: for a ``::`` name that is not ``Namespace::Action::"id"``.
    """
    if "::" not in name:
        return cedar_uid("Action", name)
    type_, sep, quoted = name.rpartition("::")
    if not (sep and type_ and len(quoted) >= 2 and quoted[0] == quoted[-1] == '"'):
        raise RequestProblem(f'action.name {name!r} must be a name or a Cedar uid Type::"id"')
    return cedar_uid(type_, quoted[1:-1])


def action_id(name: str) -> str:
    """The name scopes and grants know an action by: ``read`` for both ``read`` and
    ``Action::"read"``; a namespaced uid (``Ns::Action::"read"``) keeps its full text, so a
    grant of ``read`` never covers an action of another namespace.
    """
    if "::" not in name:
        return name
    uid = action_uid(name)
    return uid["id"] if uid["type"] == "Action" else name


_SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")


def expand_evaluations(raw: Any) -> tuple[list[Any], str, bool]:
    """Split an AuthZEN request into its evaluations: ``(items, semantic, batch)``.

    Items inherit every top-level field they do not set (AuthZEN 1.0 "Access Evaluations
    API"). Without an ``evaluations`` array the request is its own single item.

    Raises:
        RequestProblem: malformed ``evaluations`` or ``options``.
    """
    data = _object(raw, "the request")
    options = _object(data.get("options", {}), "options")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in _SEMANTICS:
        raise RequestProblem(
            f"options.evaluations_semantic must be one of {', '.join(_SEMANTICS)}, "
            f"found {semantic!r}"
        )
    if "evaluations" not in data:
        return [data], semantic, False
    items = data["evaluations"]
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise RequestProblem(f"evaluations must be an array, found {_kind(items)}")
    base = {k: v for k, v in data.items() if k not in {"evaluations", "options"}}
    expanded: list[Any] = []
    for item in items:
        if isinstance(item, Mapping):
            expanded.append({**base, **item})
        else:
            # Keep the malformed item: it becomes an invalid_request decision of its own.
            expanded.append(item)
    if not expanded:
        # AuthZEN: an empty evaluations array behaves like a single request.
        return [base], semantic, False
    return expanded, semantic, True
