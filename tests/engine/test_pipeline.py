"""The decision pipeline: an allow and a deny case for every reason code, with real tokens
(keys generated per module), real Cedar and a real ledger loaded from disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.engine.ledger import (
    ASSISTANT,
    ATTEST,
    BILLING,
    EXPORT,
    GATEWAY,
    HELPER,
    LEGACY,
    MANIFEST,
    NOW,
    SCHEMA,
    STRANGER,
    ZTAUTH_TYPE,
    ZTID,
    Keys,
    attestation,
    consent,
    hmac_with_public_key,
    link,
    mint,
    req,
    unsigned_token,
    write_ledger,
)
from ztauth_cli.engine import Evaluator, authzen_response
from ztauth_cli.ledger import load
from ztauth_cli.model import ReasonCode, Step


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Keys], dict[str, Any]]
    code: ReasonCode
    via: str | None = None
    message: str | None = None
    policies: tuple[str, ...] | None = None


def _assistant(keys: Keys, **overrides: Any) -> dict[str, Any]:
    tokens = {
        "attestation": attestation(keys, ASSISTANT),
        "consent": consent(keys),
        **overrides.pop("tokens", {}),
    }
    tokens = {k: v for k, v in tokens.items() if v is not None}
    return req(actor=ASSISTANT, tokens=tokens, **overrides)


def _txn(keys: Keys, **claims: Any) -> str:
    base = {"sub": "alice", "act": ASSISTANT, "scope": "read summarize"}
    base.update(claims)
    return mint(keys.idp, base)


def _billing(keys: Keys, channel: str = "orders-queue", **kw: Any) -> dict[str, Any]:
    return req(
        action="charge",
        resource=("Invoice", "inv-1"),
        actor=BILLING,
        tokens={"attestation": attestation(keys, BILLING), **kw},
        context={"channel": channel},
    )


def _hop(keys: Keys, workload: str, scope: list[str] | None, **tokens: str) -> dict[str, Any]:
    hop: dict[str, Any] = {
        "principal": {"type": "Workload", "id": workload},
        "tokens": {"attestation": attestation(keys, workload), **tokens},
    }
    if scope is not None:
        hop["scope"] = scope
    return hop


def _to_gateway(keys: Keys, scope: str = "read summarize") -> str:
    """alice's consent to the gateway: the signed link of a chain's first hop."""
    return consent(keys, delegate=GATEWAY, scope=scope)


CASES = [
    # --- allowed
    Case(
        "plain AuthZEN request", lambda k: req(), ReasonCode.ALLOWED, policies=("owner-can-read",)
    ),
    Case(
        "assistant with consent",
        _assistant,
        ReasonCode.ALLOWED,
        via="delegation/user-assistant-read",
        policies=("owner-can-read",),
    ),
    Case(
        "consent with RFC 8693 act object and a matching txn token",
        lambda k: _assistant(
            k,
            tokens={"consent": consent(k, act_object=True), "txn": _txn(k, act={"sub": ASSISTANT})},
        ),
        ReasonCode.ALLOWED,
        via="delegation/user-assistant-read",
    ),
    Case(
        "billing worker elevation from the orders queue",
        _billing,
        ReasonCode.ALLOWED,
        via="elevation/billing-for-customer",
        policies=("customer-pays",),
    ),
    Case(
        "three-hop chain gateway -> helper -> assistant",
        lambda k: _assistant(
            k,
            tokens={"txn": link(k, ASSISTANT, HELPER, scope="read")},
            chain=[
                _hop(k, GATEWAY, ["read", "summarize"], consent=_to_gateway(k)),
                _hop(k, HELPER, ["read"], txn=link(k, HELPER, GATEWAY, scope="read")),
            ],
        ),
        ReasonCode.ALLOWED,
        via="delegation/user-assistant-read",
    ),
    Case(
        "chain re-delegates the gateway's grant",
        lambda k: _assistant(
            k,
            tokens={"consent": None, "txn": link(k, ASSISTANT, GATEWAY, scope="read")},
            chain=[
                _hop(
                    k,
                    GATEWAY,
                    ["read"],
                    consent=consent(k, delegate=GATEWAY, scope="read summarize"),
                )
            ],
        ),
        ReasonCode.ALLOWED,
        via="delegation/user-gateway-session",
    ),
    # --- invalid_request
    Case(
        "no action",
        lambda k: {
            "subject": {"type": "User", "id": "alice"},
            "resource": {"type": "D", "id": "x"},
        },
        ReasonCode.INVALID_REQUEST,
        message="action must be an object, found null",
    ),
    Case(
        "another ledger's ZTID",
        lambda k: {
            **req(),
            "authorization_model": {"ledger": "ztauth://acme.test/273165098782/ledgers/other"},
        },
        ReasonCode.INVALID_REQUEST,
        message="the request is for ledger ztauth://acme.test/273165098782/ledgers/other",
    ),
    Case(
        "unresolved token reference",
        lambda k: req(actor=ASSISTANT, tokens={"consent": {"$token": "x"}}),  # type: ignore[dict-item]
        ReasonCode.INVALID_REQUEST,
        message="authorization_model.tokens.consent must be a compact JWT string",
    ),
    Case(
        "a context the schema refuses",
        lambda k: req(context={"channel": 5}),
        ReasonCode.INVALID_REQUEST,
        message="Cedar rejected the request",
    ),
    Case(
        "properties of an unknown resource the schema refuses",
        lambda k: {
            **req(),
            "resource": {"type": "Document", "id": "new", "properties": {"owner": "alice"}},
        },
        ReasonCode.INVALID_REQUEST,
        message="Cedar rejected the request's entities",
    ),
    # --- invalid_token
    Case(
        "expired txn token",
        lambda k: _assistant(
            k,
            tokens={
                "txn": mint(
                    k.idp, {"sub": "alice", "act": ASSISTANT}, expires_in=-timedelta(hours=1)
                )
            },
        ),
        ReasonCode.INVALID_TOKEN,
        message="txn token is not valid: token expired at 2026-06-01T11:00:00Z",
    ),
    Case(
        "txn token not valid yet",
        lambda k: _assistant(k, tokens={"txn": _txn(k, nbf=int(NOW.timestamp()) + 3600)}),
        ReasonCode.INVALID_TOKEN,
        message="token not valid before 2026-06-01T13:00:00Z",
    ),
    Case(
        "wrongly signed txn token (same kid, other key)",
        lambda k: _assistant(
            k, tokens={"txn": mint(k.impostor, {"sub": "alice", "act": ASSISTANT})}
        ),
        ReasonCode.INVALID_TOKEN,
        message="signature does not verify",
    ),
    Case(
        "txn token for another audience",
        lambda k: _assistant(
            k,
            tokens={
                "txn": mint(
                    k.idp,
                    {"sub": "alice", "act": ASSISTANT},
                    audience="ztauth://x.test/273165098782/l",
                )
            },
        ),
        ReasonCode.INVALID_TOKEN,
        message="wrong audience",
    ),
    Case(
        "alg none",
        lambda k: _assistant(
            k,
            tokens={
                "txn": unsigned_token(
                    {"iss": "https://idp.acme.test", "sub": "alice", "aud": ZTID, "exp": 1}
                )
            },
        ),
        ReasonCode.INVALID_TOKEN,
        message="'none'",
    ),
    Case(
        "HS256 signed with the public key (key confusion)",
        lambda k: _assistant(
            k,
            tokens={
                "txn": hmac_with_public_key(
                    k.idp,
                    {
                        "iss": "https://idp.acme.test",
                        "sub": "alice",
                        "act": ASSISTANT,
                        "aud": ZTID,
                        "exp": int(NOW.timestamp()) + 60,
                    },
                )
            },
        ),
        ReasonCode.INVALID_TOKEN,
        message="HS256",
    ),
    Case(
        "txn token for another subject",
        lambda k: _assistant(k, tokens={"txn": _txn(k, sub="bob")}),
        ReasonCode.INVALID_TOKEN,
        message="txn token is for subject 'bob', not 'alice'",
    ),
    Case(
        "txn token for another actor",
        lambda k: _assistant(k, tokens={"txn": _txn(k, act=HELPER)}),
        ReasonCode.INVALID_TOKEN,
        message=f"txn token names actor '{HELPER}'",
    ),
    Case(
        "attestation signed by the wrong kind of issuer",
        lambda k: _assistant(
            k, tokens={"attestation": mint(k.idp, {"sub": ASSISTANT}, expires_in=None)}
        ),
        ReasonCode.INVALID_TOKEN,
        message="may not issue attestation tokens",
    ),
    # --- untrusted_actor
    Case(
        "revoked legacy assistant",
        lambda k: req(actor=LEGACY, tokens={"attestation": attestation(k, LEGACY)}),
        ReasonCode.UNTRUSTED_ACTOR,
        message=f"{LEGACY} is revoked in security group ai-assistants",
    ),
    Case(
        "unknown workload",
        lambda k: req(actor=STRANGER),
        ReasonCode.UNTRUSTED_ACTOR,
        message="is not a member of any security group",
    ),
    Case(
        "attestation older than the trust level allows",
        lambda k: _assistant(
            k, tokens={"attestation": attestation(k, ASSISTANT, age=timedelta(minutes=11))}
        ),
        ReasonCode.UNTRUSTED_ACTOR,
        message="allows at most 600s",
    ),
    Case(
        "no attestation",
        lambda k: _assistant(k, tokens={"attestation": None}),
        ReasonCode.UNTRUSTED_ACTOR,
        message=f"needs an attestation token from {ATTEST}",
    ),
    Case(
        "attestation about another workload",
        lambda k: _assistant(k, tokens={"attestation": attestation(k, HELPER)}),
        ReasonCode.UNTRUSTED_ACTOR,
        message=f"the attestation is about '{HELPER}'",
    ),
    Case(
        "basic exporter below the elevation's trust level",
        lambda k: req(actor=EXPORT),
        ReasonCode.UNTRUSTED_ACTOR,
        message="needs trust level 'attested'; spiffe://acme.test/export holds 'basic'",
    ),
    # --- unauthorized_actor
    Case(
        "assistant on an invoice (no grant covers it)",
        lambda k: _assistant(k, resource=("Invoice", "inv-1")),
        ReasonCode.UNAUTHORIZED_ACTOR,
        message='does not cover Invoice::"inv-1"',
    ),
    Case(
        "expired delegation",
        lambda k: req(subject="bob", action="summarize", actor=EXPORT, resource=("Report", "r")),
        ReasonCode.UNAUTHORIZED_ACTOR,
        message="delegation/bob-old-export expired at 2026-02-01T00:00:00Z",
    ),
    Case(
        "elevation condition is false",
        lambda k: _billing(k, channel="web"),
        ReasonCode.UNAUTHORIZED_ACTOR,
        message='condition `context.channel == "orders-queue"` is false',
    ),
    # --- consent_required / invalid_consent
    Case(
        "delegation without consent",
        lambda k: _assistant(k, tokens={"consent": None}),
        ReasonCode.CONSENT_REQUIRED,
        message="no consent token from alice",
    ),
    Case(
        "consent for a different delegate",
        lambda k: _assistant(k, tokens={"consent": consent(k, delegate=HELPER)}),
        ReasonCode.INVALID_CONSENT,
        message=f"consent was given to '{HELPER}', not to '{ASSISTANT}'",
    ),
    Case(
        "consent wider than the delegation",
        lambda k: _assistant(k, tokens={"consent": consent(k, scope="read summarize share")}),
        ReasonCode.INVALID_CONSENT,
        message="consent scope is wider than the grant: share",
    ),
    Case(
        "consent that does not reach the action",
        lambda k: _assistant(k, tokens={"consent": consent(k, scope="summarize")}),
        ReasonCode.INSUFFICIENT_SCOPE,
        message="does not include 'read'",
    ),
    Case(
        "expired consent",
        lambda k: _assistant(k, tokens={"consent": consent(k, expires_in=-timedelta(minutes=5))}),
        ReasonCode.INVALID_CONSENT,
        message="token expired",
    ),
    Case(
        "consent with a bad signature",
        lambda k: _assistant(
            k,
            tokens={
                "consent": mint(k.impostor, {"sub": "alice", "act": ASSISTANT, "scope": "read"})
            },
        ),
        ReasonCode.INVALID_CONSENT,
        message="signature does not verify",
    ),
    Case(
        "consent given by someone else",
        lambda k: _assistant(k, tokens={"consent": consent(k, subject="bob")}),
        ReasonCode.INVALID_CONSENT,
        message="consent was given by 'bob', not by 'alice'",
    ),
    # --- insufficient_scope
    Case(
        "action outside the delegation",
        lambda k: _assistant(k, action="share"),
        ReasonCode.INSUFFICIENT_SCOPE,
        message="grants read, summarize, not 'share'",
    ),
    Case(
        "action outside the txn token's scope",
        lambda k: _assistant(k, tokens={"txn": _txn(k, scope="summarize")}),
        ReasonCode.INSUFFICIENT_SCOPE,
        message="'read' is outside the txn token's scope (summarize)",
    ),
    Case(
        "self request outside its txn token's scope",
        lambda k: req(tokens={"txn": mint(k.idp, {"sub": "alice", "scope": "summarize"})}),
        ReasonCode.INSUFFICIENT_SCOPE,
    ),
    Case(
        "action outside the previous hop's scope",
        lambda k: _assistant(k, chain=[_hop(k, GATEWAY, ["summarize"])]),
        ReasonCode.INSUFFICIENT_SCOPE,
        message="outside the scope the previous hop",
    ),
    # --- chain_broken
    Case(
        "revoked middle hop of a three-hop chain",
        lambda k: _assistant(
            k,
            chain=[
                _hop(k, GATEWAY, ["read", "summarize"], consent=_to_gateway(k)),
                _hop(k, LEGACY, ["read"], txn=link(k, LEGACY, GATEWAY, scope="read")),
            ],
        ),
        ReasonCode.CHAIN_BROKEN,
        message=f"hop 2 ({LEGACY}) is no longer trusted: {LEGACY} is revoked",
    ),
    Case(
        "scope widening at a hop",
        lambda k: _assistant(
            k,
            chain=[
                _hop(k, GATEWAY, ["read"], consent=_to_gateway(k)),
                _hop(
                    k,
                    HELPER,
                    ["read", "summarize"],
                    txn=link(k, HELPER, GATEWAY, scope="read summarize"),
                ),
            ],
        ),
        ReasonCode.CHAIN_BROKEN,
        message=f"hop 2 ({HELPER}) widens the scope it received with summarize",
    ),
    Case(
        "hop whose attestation is too old for its level",
        lambda k: _assistant(
            k,
            chain=[
                {
                    "principal": {"type": "Workload", "id": GATEWAY},
                    "tokens": {"attestation": attestation(k, GATEWAY, age=timedelta(minutes=6))},
                }
            ],
        ),
        ReasonCode.CHAIN_BROKEN,
        message="allows at most 300s",
    ),
    Case(
        "chain deeper than max_chain_depth",
        lambda k: _assistant(k, chain=[_hop(k, HELPER, None) for _ in range(4)]),
        ReasonCode.CHAIN_BROKEN,
        message="chain depth 5 exceeds settings.max_chain_depth 4",
    ),
    Case(
        "re-delegation beyond the origin grant's max_depth",
        lambda k: _assistant(
            k,
            tokens={"consent": None, "txn": link(k, ASSISTANT, GATEWAY, HELPER, scope="read")},
            chain=[
                _hop(k, HELPER, ["read"], consent=consent(k, delegate=HELPER, scope="read")),
                _hop(k, GATEWAY, None, txn=link(k, GATEWAY, HELPER, scope="read")),
            ],
        ),
        ReasonCode.CHAIN_BROKEN,
        message="delegation/user-assistant-read allows 1 further hop(s) after its delegate; "
        "this chain has 2",
    ),
    # --- policy_denied
    Case(
        "forbid beats permit",
        lambda k: req(resource=("Document", "secret")),
        ReasonCode.POLICY_DENIED,
        message="forbidden by no-restricted",
        policies=("no-restricted",),
    ),
    Case(
        "no permit",
        lambda k: req(subject="bob"),
        ReasonCode.POLICY_DENIED,
        message="no policy permits this request",
        policies=(),
    ),
    # --- evaluation_error
    Case(
        "a forbid whose condition errors must deny",
        lambda k: req(action="archive"),
        ReasonCode.EVALUATION_ERROR,
        message="forbid policy archive-needs-approval failed to evaluate",
    ),
    Case(
        "the same forbid, evaluable, lets the permit through",
        lambda k: req(action="archive", context={"ticket": {"approved": True}}),
        ReasonCode.ALLOWED,
        policies=("anyone-archives",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reason_codes(case: Case, evaluator: Evaluator, keys: Keys) -> None:
    decision = evaluator.evaluate(case.build(keys), now=NOW)
    assert (decision.code, decision.message) == (case.code, decision.message)
    assert decision.allowed is (case.code is ReasonCode.ALLOWED)
    if case.message is not None:
        assert case.message in decision.message
    if case.via is not None:
        assert decision.via == case.via
    if case.policies is not None:
        assert decision.policies == case.policies
    assert decision.ledger == ZTID
    # The last trace step is the one that decided.
    assert decision.trace[-1].passed is decision.allowed
    assert decision.user_message


def test_every_reason_code_is_covered_but_ledger_unverified() -> None:
    covered = {c.code for c in CASES}
    assert set(ReasonCode) - covered == {ReasonCode.LEDGER_UNVERIFIED}


def test_unverified_ledger_denies_everything(ledger: Any) -> None:
    evaluator = Evaluator.from_ledger(
        ledger, unverified_reason="1 valid signature required, 0 found"
    )
    decision = evaluator.evaluate(req(), now=NOW)
    assert (decision.allowed, decision.code) == (False, ReasonCode.LEDGER_UNVERIFIED)
    assert decision.message == "1 valid signature required, 0 found"
    assert [s.step for s in decision.trace] == [Step.LEDGER]


def test_require_txn_token(tmp_path: Path, keys: Keys) -> None:
    root = write_ledger(
        tmp_path / "strict",
        keys,
        manifest=MANIFEST.replace("require_txn_token: false", "require_txn_token: true"),
    )
    evaluator = Evaluator.from_ledger(load(root))
    missing = evaluator.evaluate(req(), now=NOW)
    assert (missing.code, missing.message) == (
        ReasonCode.INVALID_TOKEN,
        "this ledger requires a transaction token (settings.require_txn_token)",
    )
    ok = evaluator.evaluate(
        req(tokens={"txn": mint(keys.idp, {"sub": "alice", "scope": "read"})}), now=NOW
    )
    assert ok.code is ReasonCode.ALLOWED


def test_issuer_keys_override_and_extra_keys(ledger: Any, keys: Keys) -> None:
    fresh = Keys.generate()
    token = mint(fresh.idp, {"sub": "alice", "scope": "read"})
    plain = Evaluator.from_ledger(ledger)
    assert plain.evaluate(req(tokens={"txn": token}), now=NOW).code is ReasonCode.INVALID_TOKEN
    override = Evaluator.from_ledger(
        ledger, issuer_keys={"https://idp.acme.test": [fresh.idp.public_jwk]}
    )
    assert override.evaluate(req(tokens={"txn": token}), now=NOW).code is ReasonCode.ALLOWED
    # The override replaces the ledger's keys: the ledger's own key no longer verifies.
    old = mint(keys.idp, {"sub": "alice", "scope": "read"})
    assert override.evaluate(req(tokens={"txn": old}), now=NOW).code is ReasonCode.INVALID_TOKEN
    extra = Evaluator.from_ledger(ledger, extra_keys=[fresh.idp.public_jwk])
    assert extra.evaluate(req(tokens={"txn": token}), now=NOW).code is ReasonCode.ALLOWED


def test_touched_and_trace_of_a_delegated_allow(evaluator: Evaluator, keys: Keys) -> None:
    decision = evaluator.evaluate(
        _assistant(
            keys,
            tokens={"txn": link(keys, ASSISTANT, GATEWAY, scope="read")},
            chain=[_hop(keys, GATEWAY, ["read", "summarize"], consent=_to_gateway(keys))],
        ),
        now=NOW,
    )
    assert decision.allowed
    assert decision.touched == (
        "delegation/user-assistant-read",
        "group/ai-assistants",
        "group/gateways",
        "policy/owner-can-read",
        "trust_level/attested",
        "trust_level/trusted",
    )
    assert [(s.step, s.passed) for s in decision.trace] == [
        (Step.REQUEST, True),
        (Step.TOKENS, True),
        (Step.ACTOR_TRUST, True),
        (Step.ON_BEHALF_OF, True),
        (Step.CHAIN, True),
        (Step.POLICY, True),
    ]
    # The actor's attestation, consent and txn link; the hop's attestation and consent link.
    assert len(decision.trace[1].children) == 5
    # Step 5: one line per party after the subject, each naming the token that links it.
    assert [c.detail for c in decision.trace[4].children] == [
        f"hop 1 ({GATEWAY}): trusted at 'trusted', linked from the subject (alice) by consent, "
        "scope read, summarize",
        f"the actor ({ASSISTANT}): linked from hop 1 ({GATEWAY}) by txn, scope read",
    ]


def test_properties_describe_unknown_entities_never_the_ledgers(evaluator: Evaluator) -> None:
    # The ledger defines q3 (internal, alice's): its facts win, quietly, with a trace note.
    body = req(resource=("Document", "q3"))
    body["resource"]["properties"] = {"classification": "restricted"}
    decision = evaluator.evaluate(body, now=NOW)
    assert (decision.code, decision.policies) == (ReasonCode.ALLOWED, ("owner-can-read",))
    assert [c.detail for c in decision.trace[0].children] == [
        'resource.properties: Document::"q3" is defined by the ledger; the request\'s '
        "attributes (classification) are ignored"
    ]
    # A resource the ledger does not know, described entirely by the request: the schema
    # declares owner a User, so Cedar reads the plain {type, id} object as one.
    body = req(resource=("Document", "new"))
    body["resource"]["properties"] = {
        "owner": {"type": "User", "id": "alice"},
        "classification": "internal",
    }
    assert evaluator.evaluate(body, now=NOW).allowed
    # Cedar's own escape syntax is not plain data: left out (owner is then missing).
    body["resource"]["properties"]["owner"] = {"__entity": {"type": "User", "id": "alice"}}
    assert evaluator.evaluate(body, now=NOW).code is ReasonCode.INVALID_REQUEST


def test_context_ztauth_is_set_by_the_engine_not_the_caller(tmp_path: Path, keys: Keys) -> None:
    root = write_ledger(tmp_path / "ctx", keys)
    # With a schema, context.ztauth reaches Cedar only when the schema declares it.
    (root / "schema.cedarschema").write_text(
        SCHEMA.replace("channel?: String,", f"channel?: String, ztauth?: {ZTAUTH_TYPE},"),
        encoding="utf-8",
    )
    (root / "policies/main.cedar").write_text(
        '@id("assistants-only")\npermit (principal, action, resource)\n'
        'when { context.ztauth.delegated && context.ztauth.trust_level == "attested" && '
        'context.ztauth.via == "delegation/user-assistant-read" && '
        'context.ztauth.groups.contains("ai-assistants") && context.ztauth.depth == 1 };\n',
        encoding="utf-8",
    )
    evaluator = Evaluator.from_ledger(load(root))
    assert evaluator.evaluate(_assistant(keys), now=NOW).allowed
    spoofed = req(context={"ztauth": {"delegated": True, "trust_level": "attested"}})
    assert evaluator.evaluate(spoofed, now=NOW).code is ReasonCode.POLICY_DENIED


def test_permguard_top_level_principal(evaluator: Evaluator, keys: Keys) -> None:
    body = _assistant(keys)
    body["principal"] = body["authorization_model"].pop("principal")
    assert evaluator.evaluate(body, now=NOW).via == "delegation/user-assistant-read"
    body["authorization_model"]["principal"] = {"type": "Workload", "id": HELPER}
    decision = evaluator.evaluate(body, now=NOW)
    assert decision.code is ReasonCode.INVALID_REQUEST
    assert "disagree" in decision.message


def test_cedar_uid_action_names(evaluator: Evaluator) -> None:
    assert evaluator.evaluate(req(action='Action::"read"'), now=NOW).allowed
    bad = evaluator.evaluate(req(action="Action::read"), now=NOW)
    assert bad.code is ReasonCode.INVALID_REQUEST


def test_batch_semantics(evaluator: Evaluator) -> None:
    body = {
        **req(),
        "evaluations": [
            {"action": {"name": "read"}},
            {"action": {"name": "share"}, "resource": {"type": "Document", "id": "secret"}},
            {"action": {"name": "summarize"}},
        ],
    }
    decisions = evaluator.evaluate_all(body, now=NOW)
    assert [d.code for d in decisions] == [
        ReasonCode.ALLOWED,
        ReasonCode.POLICY_DENIED,
        ReasonCode.ALLOWED,
    ]
    body["options"] = {"evaluations_semantic": "deny_on_first_deny"}
    assert [d.allowed for d in evaluator.evaluate_all(body, now=NOW)] == [True, False]
    body["options"] = {"evaluations_semantic": "permit_on_first_permit"}
    assert [d.allowed for d in evaluator.evaluate_all(body, now=NOW)] == [True]
    body["options"] = {"evaluations_semantic": "whatever"}
    [bad] = evaluator.evaluate_all(body, now=NOW)
    assert bad.code is ReasonCode.INVALID_REQUEST
    # No evaluations array: one decision, and evaluate() ignores the array.
    assert len(evaluator.evaluate_all(req(), now=NOW)) == 1
    assert evaluator.evaluate(body, now=NOW).allowed


def test_authzen_response_shapes(evaluator: Evaluator) -> None:
    decision = evaluator.evaluate(req(subject="bob"), now=NOW)
    assert authzen_response([decision], batch=False) == {
        "decision": False,
        "context": {
            "reason_admin": {"code": "policy_denied", "message": "no policy permits this request"},
            "reason_user": {"code": "policy_denied", "message": "Access denied by policy."},
            "ztauth": {
                "ledger": ZTID,
                "revision": None,
                "version": None,
                "policies": [],
                "via": None,
                "trace": [
                    {
                        "step": "request",
                        "passed": True,
                        "detail": 'User::"bob": read on Document::"q3"',
                    },
                    {"step": "tokens", "passed": True, "detail": "no tokens in the request"},
                    {
                        "step": "actor_trust",
                        "passed": True,
                        "detail": 'User::"bob" acts for itself',
                    },
                    {
                        "step": "on_behalf_of",
                        "passed": True,
                        "detail": 'User::"bob" acts for itself; no grant needed',
                    },
                    {"step": "policy", "passed": False, "detail": "no policy permits this request"},
                ],
            },
        },
    }
    batch = authzen_response([decision, decision], batch=True)
    assert [e["decision"] for e in batch["evaluations"]] == [False, False]
    with pytest.raises(ValueError, match="needs one decision"):
        authzen_response([decision, decision], batch=False)


@pytest.mark.parametrize(
    "body",
    [
        req(),
        req(subject="bob"),
        req(action="archive"),
        req(resource=("Document", "secret"), context={"channel": "web"}),
        {**req(), "context": {"channel": None}},
        {**req(), "subject": {"type": "User", "id": ""}},
        {**req(), "action": {"name": 'Action::"read"'}},
    ],
    ids=["allow", "no-permit", "erroring-forbid", "forbid", "null-context", "empty-id", "uid"],
)
def test_plain_fast_path_matches_the_general_path(
    evaluator: Evaluator, body: dict[str, Any]
) -> None:
    # An empty authorization_model sends the same request down the general path.
    fast = evaluator.evaluate(body, now=NOW)
    general = evaluator.evaluate({**body, "authorization_model": {}}, now=NOW)
    assert fast == general


def test_evaluate_many_batches_across_chunks(evaluator: Evaluator) -> None:
    bodies = [req(subject=("alice", "bob")[i % 2]) for i in range(600)]
    decisions = evaluator.evaluate_many(iter(bodies), now=NOW)
    assert [d.allowed for d in decisions] == [i % 2 == 0 for i in range(600)]


def test_batched_and_one_at_a_time_decisions_agree(ledger: Any, keys: Keys) -> None:
    # Every reason-code case, plain requests of each Cedar outcome, and input that never is
    # a request, mixed and repeated: the batched path (Cedar calls shared across requests,
    # answers and subjects remembered) decides each exactly as a request evaluated alone by
    # a fresh engine does: same decision, code, message, policies, trace.
    bodies: list[Any] = [case.build(keys) for case in CASES]
    bodies += [
        req(subject="bob"),
        req(action="archive"),
        req(resource=("Document", "secret"), context={"channel": "web"}),
        {**req(), "context": {"channel": None, "ztauth": {"delegated": True}}},
        {**req(), "resource": {"type": "Document", "id": "q3", "properties": {"owner": "bob"}}},
        {**req(), "subject": {"type": "User", "id": 'quo"te'}},
        {**req(), "action": {"name": 'Action::"read"'}},
        {**req(), "subject": {"type": "User", "id": ""}},
        {"subject": "alice"},
        {},
        None,
        42,
        "read",
        [req()],
    ]
    mixed = [body for pair in zip(bodies, reversed(bodies), strict=True) for body in pair] * 2
    alone = [Evaluator.from_ledger(ledger).evaluate(body, now=NOW) for body in bodies]
    expected = [alone[bodies.index(body)] for body in mixed]
    batched = Evaluator.from_ledger(ledger).evaluate_many(mixed, now=NOW)
    assert batched == expected
    assert {d.code for d in batched} >= {c.code for c in CASES}
