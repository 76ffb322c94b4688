"""Adversarial review of the pipeline: every way a request could be allowed when it should
not, each proved closed with real tokens, real Cedar and a real ledger.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.ledger import (
    ASSISTANT,
    BILLING,
    GATEWAY,
    HELPER,
    LEGACY,
    NOW,
    POLICIES,
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
from tests.engine.test_pipeline import CASES
from ztauth_cli.engine import Evaluator
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger, ReasonCode
from ztauth_cli.model.globs import glob_covers, glob_match, revoked_by

SUMMARIZER = "spiffe://acme.test/assistant/summarizer"
EXTRA = "spiffe://acme.test/assistant/extra"


def _as(keys: Keys, workload: str, **kw: Any) -> dict[str, Any]:
    """``workload`` reads alice's q3 with a fresh attestation and alice's consent for it."""
    tokens = {
        "attestation": attestation(keys, workload),
        "consent": consent(keys, delegate=workload),
        **kw.pop("tokens", {}),
    }
    return req(actor=workload, tokens=tokens, **kw)


def _hop(
    keys: Keys, workload: str, scope: list[str] | None = None, **tokens: str
) -> dict[str, Any]:
    hop: dict[str, Any] = {
        "principal": {"type": "Workload", "id": workload},
        "tokens": {"attestation": attestation(keys, workload), **tokens},
    }
    if scope is not None:
        hop["scope"] = scope
    return hop


def _code(evaluator: Evaluator, request: dict[str, Any], **kw: Any) -> ReasonCode:
    return evaluator.evaluate(request, now=kw.get("now", NOW)).code


# ----------------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("spiffe://acme.test/assistant/chat", "spiffe://acme.test/assistant/*", True),
        ("spiffe://acme.test/assistant/a/b", "spiffe://acme.test/assistant/*", False),
        (
            "spiffe://acme.test/assistant/x/../../billing/worker-1",
            "spiffe://acme.test/assistant/*",
            False,
        ),
        (
            "spiffe://acme.test/assistant/x/../../billing/worker-1",
            "spiffe://acme.test/assistant/**",
            False,
        ),
        ("spiffe://acme.test/assistant/./chat", "spiffe://acme.test/assistant/**", False),
        ("spiffe://acme.test/assistant//chat", "spiffe://acme.test/assistant/**", False),
        ("spiffe://acme.test/assistant/", "spiffe://acme.test/assistant/*", False),
        ("spiffe://acme.test/assistant/a/b", "spiffe://acme.test/assistant/**", True),
        ("spiffe://acme.test/Assistant/chat", "spiffe://acme.test/assistant/*", False),
        ("spiffe://acme.test/assistant/\u217cegacy", "spiffe://acme.test/assistant/*", False),
        (
            "spiffe://acme.test/assistant/\u217cegacy",
            "spiffe://acme.test/assistant/\u217cegacy",
            True,
        ),
        ("spiffe://acme.test/billing/worker-1", "spiffe://acme.test/billing/worker-?", True),
        ("spiffe://acme.test/billing/worker-1", "spiffe://acme.test/billing/worker-[0-9]", True),
        ("spiffe://acme.test/billing/worker-x", "spiffe://acme.test/billing/worker-[!x]", False),
        ("spiffe://acme.test/a/b", "spiffe://acme.test/a?b", False),
        ("a.b", "a?b", True),
        ("axb", "a.b", False),  # regex metacharacters are literal
        ("alice", "*", True),
        ("team/alice", "*", False),
    ],
)
def test_glob_semantics(value: str, pattern: str, expected: bool) -> None:
    assert glob_match(value, pattern) is expected


def test_revocation_folds_look_alikes_but_membership_never_does() -> None:
    look_alike = "spiffe://acme.test/assistant/\u217cegacy"
    assert revoked_by(look_alike, [LEGACY])
    assert not glob_match(look_alike, "spiffe://acme.test/assistant/*")


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("a/*", "a/b-*", True),
        ("a/*", "a/**", False),
        ("a/**", "a/b/*", True),
        ("a/b-*", "a/*", False),
        ("a/*", "a/b", True),
        ("a/*", "a/b/c", False),
    ],
)
def test_glob_covers_is_conservative(outer: str, inner: str, expected: bool) -> None:
    assert glob_covers(outer, inner) is expected


@pytest.mark.parametrize(
    "workload",
    [
        "spiffe://acme.test/assistant/x/../../billing/worker-1",
        "spiffe://acme.test/assistant/a/b",
        "spiffe://acme.test/Assistant/chat",
        "spiffe://acme.test/assistant/\u217cegacy",
    ],
)
def test_ids_a_glob_must_not_reach_are_untrusted(
    evaluator: Evaluator, keys: Keys, workload: str
) -> None:
    # Even with an attestation about exactly that id and the subject's consent for it.
    assert _code(evaluator, _as(keys, workload)) is ReasonCode.UNTRUSTED_ACTOR


def test_a_well_formed_id_of_the_group_is_trusted(evaluator: Evaluator, keys: Keys) -> None:
    assert _code(evaluator, _as(keys, SUMMARIZER)) is ReasonCode.ALLOWED


# ----------------------------------------------------------------------------- tokens


def _forged(keys: Keys, claims: dict[str, Any]) -> str:
    return mint(keys.impostor, claims)


def _billing(keys: Keys, **tokens: str) -> dict[str, Any]:
    return req(
        action="charge",
        resource=("Invoice", "inv-1"),
        actor=BILLING,
        tokens={"attestation": attestation(keys, BILLING), **tokens},
        context={"channel": "orders-queue"},
    )


def test_the_billing_elevation_allows_without_extra_tokens(
    evaluator: Evaluator, keys: Keys
) -> None:
    assert _code(evaluator, _billing(keys)) is ReasonCode.ALLOWED


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("consent", ReasonCode.INVALID_CONSENT),
        ("txn", ReasonCode.INVALID_TOKEN),
        ("subject", ReasonCode.INVALID_TOKEN),
    ],
)
def test_a_forged_token_no_step_needs_still_denies(
    evaluator: Evaluator, keys: Keys, kind: str, code: ReasonCode
) -> None:
    claims = {"sub": "alice", "act": BILLING, "scope": "charge"}
    assert _code(evaluator, _billing(keys, **{kind: _forged(keys, claims)})) is code


def test_a_forged_attestation_is_invalid_token(evaluator: Evaluator, keys: Keys) -> None:
    forged = mint(keys.idp, {"sub": BILLING}, expires_in=None)  # idp may not attest
    request = _billing(keys)
    request["authorization_model"]["tokens"]["attestation"] = forged
    decision = evaluator.evaluate(request, now=NOW)
    assert decision.code is ReasonCode.INVALID_TOKEN
    assert "may not issue attestation tokens" in decision.message


def test_an_expired_unneeded_consent_denies(evaluator: Evaluator, keys: Keys) -> None:
    stale = consent(keys, delegate=BILLING, scope="charge", expires_in=timedelta(hours=-2))
    decision = evaluator.evaluate(_billing(keys, consent=stale), now=NOW)
    assert decision.code is ReasonCode.INVALID_CONSENT
    assert "expired" in decision.message


def test_a_valid_consent_by_another_user_denies(evaluator: Evaluator, keys: Keys) -> None:
    bobs = consent(keys, subject="bob", delegate=BILLING, scope="charge")
    assert _code(evaluator, _billing(keys, consent=bobs)) is ReasonCode.INVALID_CONSENT


def test_forged_tokens_in_chain_hops_deny(evaluator: Evaluator, keys: Keys) -> None:
    forged = _forged(keys, {"sub": "alice", "act": GATEWAY, "scope": "read"})
    for kind, code in (
        ("consent", ReasonCode.INVALID_CONSENT),
        ("txn", ReasonCode.INVALID_TOKEN),
        ("subject", ReasonCode.INVALID_TOKEN),
    ):
        hop = _hop(keys, GATEWAY, ["read", "summarize"])
        hop["tokens"][kind] = forged
        decision = evaluator.evaluate(_as(keys, ASSISTANT, chain=[hop]), now=NOW)
        assert (kind, decision.code) == (kind, code)
        assert decision.message.startswith(f"chain[0] {kind} token")


def test_a_plain_request_with_a_forged_token_denies(evaluator: Evaluator, keys: Keys) -> None:
    request = req(tokens={"consent": _forged(keys, {"sub": "alice", "scope": "read"})})
    assert _code(evaluator, request) is ReasonCode.INVALID_CONSENT
    assert _code(evaluator, req()) is ReasonCode.ALLOWED


@pytest.mark.parametrize("where", ["top", "hop"])
def test_unknown_token_kinds_are_invalid_request(
    evaluator: Evaluator, keys: Keys, where: str
) -> None:
    request = _as(keys, ASSISTANT, chain=[_hop(keys, GATEWAY, ["read"])])
    model = request["authorization_model"]
    tokens = model["tokens"] if where == "top" else model["chain"][0]["tokens"]
    tokens["id_token"] = consent(keys)
    assert _code(evaluator, request) is ReasonCode.INVALID_REQUEST


# ----------------------------------------------------------------------------- JSON types


def test_type_confusion_never_allows(evaluator: Evaluator, keys: Keys) -> None:
    numeric_id = req()
    numeric_id["subject"]["id"] = 7
    assert _code(evaluator, numeric_id) is ReasonCode.INVALID_REQUEST
    list_action = req()
    list_action["action"] = {"name": ["read"]}
    assert _code(evaluator, list_action) is ReasonCode.INVALID_REQUEST
    string_exp = mint(keys.idp, {"sub": "alice", "act": ASSISTANT, "exp": "9999999999"})
    decision = evaluator.evaluate(_as(keys, ASSISTANT, tokens={"txn": string_exp}), now=NOW)
    assert decision.code is ReasonCode.INVALID_TOKEN
    assert "'exp' is not a number" in decision.message
    numeric_sub = mint(keys.idp, {"sub": 1, "act": ASSISTANT, "scope": "read"})
    assert _code(evaluator, _as(keys, ASSISTANT, tokens={"txn": numeric_sub})) is (
        ReasonCode.INVALID_TOKEN
    )
    act_without_sub = mint(keys.idp, {"sub": "alice", "act": {"id": ASSISTANT}, "scope": "read"})
    assert _code(evaluator, _as(keys, ASSISTANT, tokens={"txn": act_without_sub})) is (
        ReasonCode.INVALID_TOKEN
    )
    # A scope claim of the wrong type grants nothing.
    odd_scope = mint(keys.idp, {"sub": "alice", "act": ASSISTANT, "scope": {"read": True}})
    assert _code(evaluator, _as(keys, ASSISTANT, tokens={"txn": odd_scope})) is (
        ReasonCode.INSUFFICIENT_SCOPE
    )
    list_scope = mint(keys.idp, {"sub": "alice", "act": ASSISTANT, "scope": ["read"]})
    assert _code(evaluator, _as(keys, ASSISTANT, tokens={"txn": list_scope})) is (
        ReasonCode.ALLOWED
    )


def test_a_namespaced_action_is_not_covered_by_a_plain_scope(
    evaluator: Evaluator, keys: Keys
) -> None:
    request = _as(keys, ASSISTANT, action='Evil::Action::"read"')
    decision = evaluator.evaluate(request, now=NOW)
    assert decision.code is ReasonCode.INSUFFICIENT_SCOPE
    assert _code(evaluator, _as(keys, ASSISTANT, action='Action::"read"')) is ReasonCode.ALLOWED


# ----------------------------------------------------------------------------- chains


def test_chain_loops_break_the_chain(evaluator: Evaluator, keys: Keys) -> None:
    twice = _as(keys, ASSISTANT, chain=[_hop(keys, GATEWAY, ["read"]), _hop(keys, GATEWAY)])
    decision = evaluator.evaluate(twice, now=NOW)
    assert decision.code is ReasonCode.CHAIN_BROKEN
    assert "may not loop" in decision.message
    itself = _as(keys, ASSISTANT, chain=[_hop(keys, ASSISTANT, ["read"])])
    assert _code(evaluator, itself) is ReasonCode.CHAIN_BROKEN


def test_chain_depth_boundary_is_inclusive(evaluator: Evaluator, keys: Keys) -> None:
    hops = [
        _hop(keys, GATEWAY, ["read"], consent=consent(keys, delegate=GATEWAY, scope="read")),
        _hop(keys, HELPER, txn=link(keys, HELPER, GATEWAY, scope="read")),
        _hop(keys, SUMMARIZER, txn=link(keys, SUMMARIZER, HELPER, scope="read")),
    ]
    to_actor = {"txn": link(keys, ASSISTANT, SUMMARIZER, scope="read")}
    depth_4 = _as(keys, ASSISTANT, tokens=to_actor, chain=hops)
    assert _code(evaluator, depth_4) is ReasonCode.ALLOWED
    deeper = _as(keys, ASSISTANT, tokens=to_actor, chain=[*hops, _hop(keys, EXTRA)])
    decision = evaluator.evaluate(deeper, now=NOW)
    assert decision.code is ReasonCode.CHAIN_BROKEN
    assert "chain depth 5 exceeds settings.max_chain_depth 4" in decision.message


# ----------------------------------------------------------------------------- grants


def test_delegation_window_is_from_inclusive_until_exclusive(
    evaluator: Evaluator, keys: Keys
) -> None:
    start = NOW.replace(year=2026, month=1, day=1, hour=0)
    end = start.replace(year=2027)
    second = timedelta(seconds=1)

    def at(moment: Any) -> ReasonCode:
        tokens = {
            "attestation": mint(
                keys.attest,
                {"sub": ASSISTANT},
                issuer="https://attest.acme.test",
                issued=moment - timedelta(minutes=1),
                expires_in=None,
            ),
            "consent": consent(keys, issued=moment - second),
        }
        return evaluator.evaluate(req(actor=ASSISTANT, tokens=tokens), now=moment).code

    assert at(start - second) is ReasonCode.UNAUTHORIZED_ACTOR
    assert at(start) is ReasonCode.ALLOWED
    assert at(end - second) is ReasonCode.ALLOWED
    assert at(end) is ReasonCode.UNAUTHORIZED_ACTOR


def test_consent_for_an_action_the_delegation_does_not_grant(
    evaluator: Evaluator, keys: Keys
) -> None:
    wide = consent(keys, scope="read share")
    share = _as(keys, ASSISTANT, action="share", tokens={"consent": wide})
    assert _code(evaluator, share) is ReasonCode.INSUFFICIENT_SCOPE
    read = _as(keys, ASSISTANT, tokens={"consent": wide})
    decision = evaluator.evaluate(read, now=NOW)
    assert decision.code is ReasonCode.INVALID_CONSENT  # wider than the grant: refused whole
    assert "wider than the grant" in decision.message


def test_elevation_condition_on_a_missing_attribute_denies(
    evaluator: Evaluator, keys: Keys
) -> None:
    request = _billing(keys)
    request["context"] = {}
    decision = evaluator.evaluate(request, now=NOW)
    assert decision.code is ReasonCode.UNAUTHORIZED_ACTOR
    assert "could not be evaluated" in decision.message


@pytest.fixture(scope="module")
def unless_evaluator(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Evaluator:
    root = write_ledger(tmp_path_factory.mktemp("unless") / "ledger", keys)
    (root / "policies/main.cedar").write_text(
        POLICIES
        + '\n@id("share-needs-ticket")\nforbid (principal, action == Action::"share", resource)\n'
        "unless { context.ticket.approved };\n",
        encoding="utf-8",
    )
    return Evaluator.from_ledger(load(root))


def test_a_forbid_whose_unless_errors_denies(unless_evaluator: Evaluator) -> None:
    decision = unless_evaluator.evaluate(req(action="share"), now=NOW)
    assert decision.code is ReasonCode.EVALUATION_ERROR
    assert "share-needs-ticket" in decision.message
    approved = req(action="share", context={"ticket": {"approved": True}})
    assert unless_evaluator.evaluate(approved, now=NOW).code is ReasonCode.ALLOWED


# ----------------------------------------------------------------------------- property


def _bad_tokens(keys: Keys) -> list[str]:
    claims = {"sub": "alice", "act": ASSISTANT, "scope": "read summarize"}
    return [
        mint(keys.impostor, claims),  # same kid, another key: the signature fails
        mint(keys.idp, claims, expires_in=timedelta(hours=-1)),  # expired
        mint(keys.idp, claims, audience="ztauth://elsewhere.test/273165098782/ledgers/x"),
        mint(keys.idp, claims, issuer="https://evil.test"),  # not an issuer of the ledger
        mint(keys.idp, {**claims, "nbf": int((NOW + timedelta(hours=1)).timestamp())}),
        unsigned_token({"iss": "https://idp.acme.test", **claims}),
        hmac_with_public_key(keys.idp, {"iss": "https://idp.acme.test", **claims}),
        "not-a-jwt",
    ]


@pytest.fixture(scope="module")
def bad_tokens(keys: Keys) -> list[str]:
    return _bad_tokens(keys)


@pytest.fixture(scope="module")
def case_requests(keys: Keys) -> list[dict[str, Any]]:
    return [case.build(keys) for case in CASES]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.integers(0, len(CASES) - 1),
    bad=st.integers(0, 7),
    kind=st.sampled_from(["txn", "consent", "attestation", "subject"]),
    where=st.integers(-1, 5),
)
def test_adding_a_token_that_does_not_verify_always_denies(
    evaluator: Evaluator,
    case_requests: list[dict[str, Any]],
    bad_tokens: list[str],
    case: int,
    bad: int,
    kind: str,
    where: int,
) -> None:
    request = copy.deepcopy(case_requests[case])
    if not isinstance(request.get("subject"), dict):
        return
    model = request.setdefault("authorization_model", {})
    chain = model.get("chain") or []
    if 0 <= where < len(chain):
        chain[where].setdefault("tokens", {})[kind] = bad_tokens[bad]
    else:
        model.setdefault("tokens", {})[kind] = bad_tokens[bad]
    decision = evaluator.evaluate(request, now=NOW)
    assert not decision.allowed, (CASES[case].name, kind, where)
    before = evaluator.evaluate(case_requests[case], now=NOW)
    if before.code in (ReasonCode.INVALID_REQUEST, ReasonCode.LEDGER_UNVERIFIED):
        return
    # The token step decides, with the code of the token's owner (or of a token the request
    # already failed on, verified before it).
    expected = ReasonCode.INVALID_CONSENT if kind == "consent" else ReasonCode.INVALID_TOKEN
    assert decision.code in (expected, before.code), (CASES[case].name, kind, where)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_token_time_that_is_not_a_number_never_verifies(
    evaluator: Evaluator, keys: Keys, value: float
) -> None:
    # NaN compares false with every clock: such an exp would never expire.
    token = mint(keys.idp, {"sub": "alice", "act": ASSISTANT, "scope": "read", "exp": value})
    decision = evaluator.evaluate(_as(keys, ASSISTANT, tokens={"txn": token}), now=NOW)
    assert decision.code is ReasonCode.INVALID_TOKEN
    assert "'exp'" in decision.message


def test_hop_tokens_must_speak_for_the_same_subject(evaluator: Evaluator, keys: Keys) -> None:
    for kind, claims in (
        ("txn", {"sub": "bob", "act": GATEWAY, "scope": "read"}),
        ("subject", {"sub": "bob"}),
        ("txn", {"sub": "alice", "act": HELPER, "scope": "read"}),
    ):
        hop = _hop(keys, GATEWAY, ["read", "summarize"])
        hop["tokens"][kind] = mint(keys.idp, claims)
        decision = evaluator.evaluate(_as(keys, ASSISTANT, chain=[hop]), now=NOW)
        assert (kind, decision.code) == (kind, ReasonCode.INVALID_TOKEN), decision.message
        assert decision.message.startswith(f"chain[0] {kind} token")
    # alice's txn token for the gateway links it to her (a chain's first hop); the assistant's
    # txn token names the gateway as its prior actor.
    hop = _hop(keys, GATEWAY, ["read"])
    hop["tokens"]["txn"] = mint(keys.idp, {"sub": "alice", "act": GATEWAY, "scope": "read"})
    linked = _as(keys, ASSISTANT, tokens={"txn": link(keys, ASSISTANT, GATEWAY, scope="read")})
    linked["authorization_model"]["chain"] = [hop]
    assert _code(evaluator, linked) is ReasonCode.ALLOWED


def test_a_request_cannot_define_action_entities(ledger: Ledger) -> None:
    # Without a schema nothing else would stop Action::"delete" joining Action::"read".
    bare = Evaluator.from_ledger(dataclasses.replace(ledger, schema_text=None, schema_path=None))
    assert bare.evaluate(req(action="delete"), now=NOW).code is ReasonCode.POLICY_DENIED
    injected = req(action="delete")
    injected["authorization_model"] = {
        "entities": [
            {
                "uid": {"type": "Action", "id": "delete"},
                "attrs": {},
                "parents": [{"type": "Action", "id": "read"}],
            }
        ]
    }
    decision = bare.evaluate(injected, now=NOW)
    assert decision.code is ReasonCode.INVALID_REQUEST
    assert "may not define action entities" in decision.message
    namespaced = copy.deepcopy(injected)
    namespaced["authorization_model"]["entities"][0]["uid"]["type"] = "Ns::Action"
    assert bare.evaluate(namespaced, now=NOW).code is ReasonCode.INVALID_REQUEST
    as_resource = req()
    as_resource["resource"] = {"type": "Action", "id": "read", "properties": {"x": 1}}
    assert bare.evaluate(as_resource, now=NOW).code is ReasonCode.INVALID_REQUEST
