"""The other request forms of ``authorization_model``, mapped onto ztauth's own (step 1).

Two producers send AuthZEN requests whose ``authorization_model`` names the ledger and carries
the ZTAuth* facts differently from ztauth's form (``ledger``, ``principal``, ``tokens``,
``chain``, ``entities``):

* the ZTAuth* protocol's example form: ``{zone_id, ledger_id, tx_token}``;
* Permguard's PEP SDKs: ``{zone_id, policy_store: {kind: "ledger", id}, principal,
  entities: {schema: "cedar", items: [...]}}``.

:func:`normalize_model` turns either into ztauth's form *before* the request is parsed, so
everything after it (the entity rules of ``parse_request`` included) is the one path every
request takes: nothing here loosens a check. The ledger those forms name must be the ledger
being evaluated: ``zone_id`` is compared with the zone of its ZTID, ``ledger_id`` and
``policy_store.id`` with the ZTID's last path segment (or the whole ZTID); a mismatch is
``invalid_request``, like a wrong ``ledger``. The fields are then dropped: they only name the
ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ztauth_cli.engine.request import RequestProblem
from ztauth_cli.model.ids import parse_ztid

__all__ = ["FORM_KEYS", "normalize_model"]

# The fields of the other forms that this module consumes.
FORM_KEYS = frozenset({"zone_id", "ledger_id", "tx_token", "policy_store"})
_WHERE = "authorization_model"


def _names_ledger(value: str, ztid: str | None) -> bool:
    if ztid is None:
        return False
    if value == ztid:
        return True
    try:
        path = parse_ztid(ztid).path
    except ValueError:
        return False
    return bool(path) and value == path[-1]


def _zone_of(ztid: str | None) -> int | None:
    if ztid is None:
        return None
    try:
        return parse_ztid(ztid).zone
    except ValueError:
        return None


def _check_zone(raw: Any, ztid: str | None) -> None:
    # A zone is an integer (Permguard sends a JSON number); its decimal text is accepted too.
    # Never normalised: "0273165098782" is not the zone 273165098782.
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise RequestProblem(f"{_WHERE}.zone_id must be an integer zone id")
    text = str(raw)
    zone = _zone_of(ztid)
    if zone is None or text != str(zone):
        raise RequestProblem(
            f"{_WHERE}.zone_id {text} is not the zone of this ledger ({ztid or 'no ZTID'})"
        )


def _check_ledger(value: Any, where: str, ztid: str | None) -> None:
    if not isinstance(value, str) or not value:
        raise RequestProblem(f"{where} must be a non-empty string")
    if not _names_ledger(value, ztid):
        raise RequestProblem(f"{where} {value!r} does not name this ledger ({ztid or 'no ZTID'})")


def _policy_store(raw: Any, ztid: str | None) -> None:
    where = f"{_WHERE}.policy_store"
    if not isinstance(raw, Mapping):
        raise RequestProblem(f"{where} must be an object {{kind, id}}")
    kind = raw.get("kind", "ledger")
    if kind != "ledger":
        raise RequestProblem(f"{where}.kind must be 'ledger', found {kind!r}")
    _check_ledger(raw.get("id"), f"{where}.id", ztid)


def _entities(raw: Any) -> Any:
    # Permguard wraps the entity list: {schema: "cedar", items: [...]}. The list itself is
    # checked by parse_request, exactly as a list given in ztauth's form.
    if not isinstance(raw, Mapping):
        return raw
    schema = raw.get("schema", "cedar")
    if schema != "cedar":
        raise RequestProblem(f"{_WHERE}.entities.schema must be 'cedar', found {schema!r}")
    unknown = sorted(set(raw) - {"schema", "items"})
    if unknown:
        raise RequestProblem(
            f"{_WHERE}.entities: unknown field(s) {', '.join(map(repr, unknown))} "
            "(allowed: items, schema)"
        )
    return raw.get("items", [])


def normalize_model(raw: Any, *, ztid: str | None) -> Any:
    """``raw`` with its ``authorization_model`` in ztauth's form (``raw`` itself when there is
    nothing to map). ``ztid`` is the ZTID of the ledger evaluating the request.

    Raises:
        RequestProblem: a field of the other forms is malformed, names another ledger or
            zone, or contradicts ztauth's own field (``tx_token`` vs ``tokens.txn``).
    """
    if not isinstance(raw, Mapping):
        return raw
    model = raw.get("authorization_model")
    if not isinstance(model, Mapping):
        return raw
    entities = model.get("entities")
    if not (FORM_KEYS & model.keys()) and not isinstance(entities, Mapping):
        return raw
    mapped = {k: v for k, v in model.items() if k not in FORM_KEYS}
    if "zone_id" in model:
        _check_zone(model["zone_id"], ztid)
    if "ledger_id" in model:
        _check_ledger(model["ledger_id"], f"{_WHERE}.ledger_id", ztid)
    if "policy_store" in model:
        _policy_store(model["policy_store"], ztid)
    if "tx_token" in model:
        token = model["tx_token"]
        tokens = model.get("tokens", {})
        if not isinstance(tokens, Mapping):
            raise RequestProblem(f"{_WHERE}.tokens must be an object")
        if "txn" in tokens and tokens["txn"] != token:
            raise RequestProblem(f"{_WHERE}.tx_token and {_WHERE}.tokens.txn disagree")
        # tokens.txn is checked (a compact JWT string) by parse_request.
        mapped["tokens"] = {**tokens, "txn": token}
    if entities is not None:
        mapped["entities"] = _entities(entities)
    return {**raw, "authorization_model": mapped}
