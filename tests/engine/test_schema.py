"""Cedar schema at evaluation time: with a schema, Cedar validates every request (types of
principal and resource for the action, the context's shape) and the entities; a mismatch is
``invalid_request`` with Cedar's message. context.ztauth reaches Cedar only in the shape the
schema declares for the action.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.engine.ledger import (
    BILLING,
    ENTITIES,
    NOW,
    SCHEMA,
    ZTAUTH_TYPE,
    Keys,
    attestation,
    req,
    write_ledger,
)
from ztauth_cli.engine import Evaluator
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger, ReasonCode


def _decision(evaluator: Evaluator, request: dict[str, Any]) -> tuple[ReasonCode, str]:
    decision = evaluator.evaluate(request, now=NOW)
    return decision.code, decision.message


@pytest.mark.parametrize(
    ("change", "cedar_says"),
    [
        ({"action": {"name": "raed"}}, 'action `Action::"raed"` does not exist'),
        ({"resource": {"type": "Invoice", "id": "inv-1"}}, "resource type `Invoice` is not valid"),
        ({"subject": {"type": "Workload", "id": "w"}}, "principal type `Workload` is not valid"),
        ({"context": {"chanel": "web"}}, "record attribute `chanel` should not exist"),
        ({"context": {"channel": 5}}, "is not valid for"),
    ],
)
def test_requests_the_schema_refuses_are_invalid_request(
    evaluator: Evaluator, change: dict[str, Any], cedar_says: str
) -> None:
    code, message = _decision(evaluator, {**req(), **change})
    assert code is ReasonCode.INVALID_REQUEST
    assert message.startswith("Cedar rejected the request: ")
    assert cedar_says in message


def test_properties_of_the_wrong_type_are_invalid_request(evaluator: Evaluator) -> None:
    request = req(resource=("Document", "unknown-to-the-ledger"))
    request["resource"]["properties"] = {
        "owner": {"type": "User", "id": "alice"},
        "classification": 3,
    }
    code, message = _decision(evaluator, request)
    assert code is ReasonCode.INVALID_REQUEST
    assert "Cedar rejected the request's entities" in message


def test_the_same_request_without_the_schema_is_not_validated(ledger: Ledger) -> None:
    bare = Evaluator.from_ledger(dataclasses.replace(ledger, schema_text=None, schema_path=None))
    request = {**req(), "context": {"chanel": "web"}}
    assert _decision(bare, request)[0] is ReasonCode.ALLOWED


def test_ledger_entities_that_do_not_conform_are_a_document_error(ledger: Ledger) -> None:
    broken = [{**ENTITIES[0], "attrs": {"department": 7}}, *ENTITIES[1:]]
    files = [dataclasses.replace(ledger.entity_files[0], entities=tuple(broken))]
    with pytest.raises(DocumentError, match="validated against the schema"):
        Evaluator.from_ledger(dataclasses.replace(ledger, entity_files=tuple(files)))


POLICY = (
    '@id("delegated-reads")\npermit (principal, action == Action::"read", resource)\n'
    "when { context.ztauth.delegated == false };\n"
)


def _ledger(root: Path, keys: Keys, schema: str) -> Evaluator:
    write_ledger(root, keys)
    (root / "schema.cedarschema").write_text(schema, encoding="utf-8")
    (root / "policies/main.cedar").write_text(POLICY, encoding="utf-8")
    return Evaluator.from_ledger(load(root))


def test_ztauth_is_sent_when_the_schema_declares_it(tmp_path: Path, keys: Keys) -> None:
    declared = SCHEMA.replace("channel?: String,", f"channel?: String, ztauth: {ZTAUTH_TYPE},")
    evaluator = _ledger(tmp_path / "declared", keys, declared)
    assert _decision(evaluator, req())[0] is ReasonCode.ALLOWED
    # The caller cannot supply it: the engine's own facts replace it.
    spoofed = req(context={"ztauth": {"delegated": True}})
    assert _decision(evaluator, spoofed)[0] is ReasonCode.ALLOWED


def test_ztauth_is_not_sent_when_the_schema_does_not_declare_it(tmp_path: Path, keys: Keys) -> None:
    evaluator = _ledger(tmp_path / "undeclared", keys, SCHEMA)
    code, message = _decision(evaluator, req())
    # The policy reads an attribute the context does not have: it errors and permits nothing
    # (lint reports the policy against the schema).
    assert code is ReasonCode.POLICY_DENIED
    assert "ztauth" in message
    spoofed = req(context={"ztauth": {"delegated": False}})
    # The engine owns context.ztauth: a caller's value is dropped, never trusted.
    assert _decision(evaluator, spoofed)[0] is ReasonCode.POLICY_DENIED


def test_ztauth_declared_for_one_action_only(tmp_path: Path, keys: Keys) -> None:
    schema = SCHEMA.replace(
        "action read, summarize, share, archive appliesTo {",
        f"type WithFacts = {{ ztauth: {ZTAUTH_TYPE} }};\n"
        "action read appliesTo { principal: [User], resource: [Document], context: WithFacts };\n"
        "action summarize, share, archive appliesTo {",
    )
    evaluator = _ledger(tmp_path / "one-action", keys, schema)
    assert _decision(evaluator, req())[0] is ReasonCode.ALLOWED
    # summarize's context has no ztauth: sending it would be refused by Cedar.
    code, message = _decision(evaluator, req(action="summarize"))
    assert code is ReasonCode.POLICY_DENIED, message
    # Learnt once per action and reused: a second request takes the plain fast path.
    assert _decision(evaluator, req())[0] is ReasonCode.ALLOWED


def test_action_groups_come_from_the_schema(tmp_path: Path, keys: Keys) -> None:
    root = write_ledger(tmp_path / "groups", keys)
    schema = SCHEMA.replace(
        "action read, summarize, share, archive appliesTo {",
        "action reads;\naction read, summarize in [reads] appliesTo {"
        " principal: [User], resource: [Document], context: Context };\n"
        "action share, archive appliesTo {",
    )
    (root / "schema.cedarschema").write_text(schema, encoding="utf-8")
    (root / "policies/main.cedar").write_text(
        '@id("readers")\npermit (principal, action in Action::"reads", resource);\n',
        encoding="utf-8",
    )
    ledger = load(root)
    evaluator = Evaluator.from_ledger(ledger)
    assert _decision(evaluator, req(action="summarize"))[0] is ReasonCode.ALLOWED
    assert _decision(evaluator, req(action="share"))[0] is ReasonCode.POLICY_DENIED
    # The ledger's entities hold no action entity: without the schema there is no group.
    bare = Evaluator.from_ledger(dataclasses.replace(ledger, schema_text=None, schema_path=None))
    assert _decision(bare, req(action="summarize"))[0] is ReasonCode.POLICY_DENIED


def test_a_bad_context_is_reported_even_when_ztauth_is_declared(tmp_path: Path, keys: Keys) -> None:
    declared = SCHEMA.replace("channel?: String,", f"channel?: String, ztauth: {ZTAUTH_TYPE},")
    evaluator = _ledger(tmp_path / "declared", keys, declared)
    code, message = _decision(evaluator, {**req(), "context": {"chanel": "web"}})
    assert code is ReasonCode.INVALID_REQUEST
    assert "`chanel` should not exist" in message


def test_elevation_conditions_see_ztauth_whatever_the_schema(tmp_path: Path, keys: Keys) -> None:
    root = write_ledger(tmp_path / "cond", keys)
    trust = (root / "trust/trust.yaml").read_text(encoding="utf-8")
    (root / "trust/trust.yaml").write_text(
        trust.replace(
            """condition: 'context.channel == "orders-queue"'""",
            """condition: 'context.ztauth.trust_level == "attested"'""",
        ),
        encoding="utf-8",
    )
    evaluator = Evaluator.from_ledger(load(root))  # the schema does not declare ztauth
    request = req(
        action="charge",
        resource=("Invoice", "inv-1"),
        actor=BILLING,
        tokens={"attestation": attestation(keys, BILLING)},
    )
    decision = evaluator.evaluate(request, now=NOW)
    assert decision.code is ReasonCode.ALLOWED, decision.message
    assert decision.via == "elevation/billing-for-customer"
