"""The ZTAuth* (``zone_id``, ``ledger_id``, ``tx_token``) and Permguard (``zone_id``,
``policy_store``, ``principal``, ``entities: {schema, items}``) request forms, mapped onto
ztauth's ``authorization_model`` and judged by the same rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.ledger import NOW, Keys, mint, req
from ztauth_cli.engine import Evaluator
from ztauth_cli.model import ReasonCode

ZONE = 273165098782


def _with_model(model: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    body = req(**kwargs)
    body["authorization_model"] = {**body.get("authorization_model", {}), **model}
    return body


@pytest.mark.parametrize(
    "model",
    [
        {"zone_id": ZONE, "ledger_id": "engine"},
        {"zone_id": str(ZONE), "ledger_id": "ztauth://acme.test/273165098782/ledgers/engine"},
        {"zone_id": ZONE, "policy_store": {"kind": "ledger", "id": "engine"}},
        {"zone_id": ZONE, "entities": {"schema": "cedar", "items": []}},
    ],
    ids=["ztauth-form", "full-ztid", "permguard-form", "permguard-entities"],
)
def test_forms_naming_this_ledger_decide_as_usual(
    evaluator: Evaluator, model: dict[str, Any]
) -> None:
    decision = evaluator.evaluate(_with_model(model), now=NOW)
    assert decision.code is ReasonCode.ALLOWED, decision.message
    assert decision.policies == ("owner-can-read",)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            {"zone_id": 999999999999},
            "authorization_model.zone_id 999999999999 is not the zone of this ledger "
            "(ztauth://acme.test/273165098782/ledgers/engine)",
        ),
        (
            {"zone_id": "0273165098782"},
            "authorization_model.zone_id 0273165098782 is not the zone of this ledger "
            "(ztauth://acme.test/273165098782/ledgers/engine)",
        ),
        ({"zone_id": True}, "authorization_model.zone_id must be an integer zone id"),
        (
            {"ledger_id": "payments"},
            "authorization_model.ledger_id 'payments' does not name this ledger "
            "(ztauth://acme.test/273165098782/ledgers/engine)",
        ),
        (
            {"policy_store": {"kind": "bundle", "id": "engine"}},
            "authorization_model.policy_store.kind must be 'ledger', found 'bundle'",
        ),
        (
            {"policy_store": {"id": "other"}},
            "authorization_model.policy_store.id 'other' does not name this ledger "
            "(ztauth://acme.test/273165098782/ledgers/engine)",
        ),
        (
            {"entities": {"schema": "json", "items": []}},
            "authorization_model.entities.schema must be 'cedar', found 'json'",
        ),
        (
            {"entities": {"items": [], "extra": 1}},
            "authorization_model.entities: unknown field(s) 'extra' (allowed: items, schema)",
        ),
        (
            {"tx_token": "a.b.c", "tokens": {"txn": "d.e.f"}},
            "authorization_model.tx_token and authorization_model.tokens.txn disagree",
        ),
    ],
    ids=[
        "other-zone",
        "zone-not-normalised",
        "zone-boolean",
        "other-ledger",
        "other-store-kind",
        "other-store",
        "other-entity-schema",
        "unknown-entities-field",
        "two-txn-tokens",
    ],
)
def test_forms_that_do_not_match_are_invalid_requests(
    evaluator: Evaluator, model: dict[str, Any], message: str
) -> None:
    decision = evaluator.evaluate(_with_model(model), now=NOW)
    assert (decision.allowed, decision.code, decision.message) == (
        False,
        ReasonCode.INVALID_REQUEST,
        message,
    )


def test_tx_token_is_the_transaction_token(evaluator: Evaluator, keys: Keys) -> None:
    good = mint(keys.idp, {"sub": "alice", "act": "alice", "scope": "read"})
    assert evaluator.evaluate(_with_model({"tx_token": good}), now=NOW).allowed
    forged = mint(keys.impostor, {"sub": "alice", "act": "alice", "scope": "read"})
    decision = evaluator.evaluate(_with_model({"tx_token": forged}), now=NOW)
    assert decision.code is ReasonCode.INVALID_TOKEN


def test_permguard_entity_items_take_the_same_path_as_entities(evaluator: Evaluator) -> None:
    # An action entity is refused in Permguard's wrapper exactly as in ztauth's list.
    action = {"uid": {"type": "Action", "id": "delete"}, "attrs": {}, "parents": []}
    wrapped = evaluator.evaluate(
        _with_model({"entities": {"schema": "cedar", "items": [action]}}), now=NOW
    )
    plain = evaluator.evaluate(_with_model({"entities": [action]}), now=NOW)
    assert wrapped.code is plain.code is ReasonCode.INVALID_REQUEST
    assert wrapped.message == plain.message


def test_a_permguard_request_is_evaluated_whole(evaluator: Evaluator) -> None:
    body = {
        "authorization_model": {
            "zone_id": ZONE,
            "policy_store": {"kind": "ledger", "id": "engine"},
            "principal": {"type": "User", "id": "alice", "source": "keycloak"},
            "entities": {"schema": "cedar", "items": []},
        },
        "request_id": "abc1",
        "subject": {"type": "User", "id": "alice", "source": "keycloak"},
        "resource": {"type": "Document", "id": "q3"},
        "action": {"name": "read"},
        "context": {},
    }
    decision = evaluator.evaluate(body, now=NOW)
    assert decision.code is ReasonCode.ALLOWED, decision.message
