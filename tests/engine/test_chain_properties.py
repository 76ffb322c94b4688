"""Property tests of delegation chains (docs/readme/30-eval.md, "What binds each hop").

Hypothesis builds chains hop by hop, each hop with a link token that is right, missing, signed
by the wrong party, naming the wrong prior actor, or copied from the hop before, with random
scopes and attestations. An oracle written from the documented rule, not from the engine,
says whether the chain is bound: adding hops never turns a deny into an allow unless a
verified token grants each hop, and scopes only narrow along an allowed chain.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.engine.ledger import (
    ASSISTANT,
    BILLING,
    EXPORT,
    GATEWAY,
    HELPER,
    LEGACY,
    NOW,
    Keys,
    attestation,
    consent,
    link,
    mint,
    req,
)
from ztauth_cli.engine import Evaluator
from ztauth_cli.model import Decision, Step

SUMMARIZER = "spiffe://acme.test/assistant/summarizer"
# Trusted workloads most of the time; the revoked one and the actor itself (a loop) sometimes.
WORKLOADS = (GATEWAY, HELPER, SUMMARIZER, EXPORT, BILLING) * 2 + (LEGACY, ASSISTANT)
ACTIONS = ("read", "summarize", "charge")
NOWHERE = "spiffe://elsewhere.test/relay"  # a prior actor that is on no path

# Link choices at a hop; the right ones are listed more often so that many chains are bound.
HOP_LINKS = ("consent", "txn") * 10 + (
    "none",
    "consent-wrong-sub",
    "txn-wrong-prior",
    "txn-no-prior",
    "copy",
)
ACTOR_LINKS = ("txn",) * 8 + ("none", "txn-wrong-prior", "txn-no-prior")
# Mostly scopes that narrow (everything, then read and summarize, then read); sometimes one
# without the action, or empty.
SCOPES = st.sampled_from(
    [frozenset(ACTIONS)] * 4
    + [frozenset({"read", "summarize"}), frozenset({"read"})] * 2
    + [frozenset({"summarize", "charge"}), frozenset()]
)


@dataclass(frozen=True)
class Position:
    """One party after the subject: its workload, link choice, link scope, claim, attestation."""

    workload: str
    link: str
    scope: frozenset[str]
    claimed: frozenset[str] | None
    attestation: str  # own | none | other


HOPS = st.lists(
    st.builds(
        Position,
        workload=st.sampled_from(WORKLOADS),
        link=st.sampled_from(HOP_LINKS),
        scope=SCOPES,
        claimed=st.none() | SCOPES,
        attestation=st.sampled_from(("own",) * 10 + ("none", "other")),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda position: position.workload,  # loops still occur through the actor
)
ACTOR = st.builds(
    Position,
    workload=st.just(ASSISTANT),
    link=st.sampled_from(ACTOR_LINKS),
    scope=SCOPES,
    claimed=st.none(),
    attestation=st.just("own"),
)


class Minter:
    """Tokens minted once per distinct claims (signing is the slow part of an example)."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.cache: dict[tuple[Any, ...], str] = {}

    def attestation(self, workload: str) -> str:
        key = ("attestation", workload)
        if key not in self.cache:
            self.cache[key] = attestation(self.keys, workload)
        return self.cache[key]

    def consent(self, delegator: str, delegate: str, scope: frozenset[str]) -> str:
        key = ("consent", delegator, delegate, scope)
        if key not in self.cache:
            self.cache[key] = mint(
                self.keys.idp,
                {"sub": delegator, "act": delegate, "scope": " ".join(sorted(scope))},
            )
        return self.cache[key]

    def txn(self, actors: tuple[str, ...], scope: frozenset[str]) -> str:
        key = ("txn", actors, scope)
        if key not in self.cache:
            self.cache[key] = link(self.keys, *actors, scope=" ".join(sorted(scope)))
        return self.cache[key]


@pytest.fixture(scope="module")
def minter(keys: Keys) -> Minter:
    return Minter(keys)


def _link_token(
    minter: Minter, parties: list[str], i: int, position: Position, previous: dict[str, str]
) -> tuple[str, str] | None:
    """(kind, token) party ``i`` presents as its link, as ``position.link`` says."""
    party, before = parties[i], parties[i - 1]
    choice = position.link
    if choice == "consent":
        return "consent", minter.consent(before, party, position.scope)
    if choice == "consent-wrong-sub":
        return "consent", minter.consent("mallory", party, position.scope)
    if choice == "txn":
        actors = (party,) if i == 1 else (party, before)
        return "txn", minter.txn(actors, position.scope)
    if choice == "txn-wrong-prior":
        return "txn", minter.txn((party, NOWHERE), position.scope)
    if choice == "txn-no-prior":
        return "txn", minter.txn((party,), position.scope)
    if choice == "copy" and previous:
        kind, token = next(iter(previous.items()))
        return kind, token
    return None


def _build(
    minter: Minter, base: dict[str, Any], hops: list[Position], actor: Position
) -> dict[str, Any]:
    """``base`` with ``hops`` as its chain and the actor's link added to its tokens."""
    parties = ["alice", *(h.workload for h in hops), actor.workload]
    chain: list[dict[str, Any]] = []
    previous: dict[str, str] = {}
    for i, hop in enumerate(hops, start=1):
        tokens: dict[str, str] = {}
        if hop.attestation == "own":
            tokens["attestation"] = minter.attestation(hop.workload)
        elif hop.attestation == "other":
            other = HELPER if hop.workload != HELPER else GATEWAY
            tokens["attestation"] = minter.attestation(other)
        found = _link_token(minter, parties, i, hop, previous)
        links: dict[str, str] = {}
        if found is not None:
            links[found[0]] = found[1]
        tokens.update(links)
        entry: dict[str, Any] = {"principal": {"type": "Workload", "id": hop.workload}}
        entry["tokens"] = tokens
        if hop.claimed is not None:
            entry["scope"] = sorted(hop.claimed)
        chain.append(entry)
        previous = links
    request = dict(base)
    model = dict(request["authorization_model"])
    top = dict(model.get("tokens", {}))
    found = _link_token(minter, parties, len(parties) - 1, actor, previous)
    if found is not None and found[0] == "txn":
        top["txn"] = found[1]
    model["tokens"] = top
    model["chain"] = chain
    request["authorization_model"] = model
    return request


def _bound(hops: list[Position], actor: Position, action: str) -> tuple[bool, list[Any]]:
    """The documented rule, on what the generator chose: is every party linked, trusted by
    its own tokens, inside the scope passed on to it? Also the scopes each party holds.
    """
    positions = [*hops, actor]
    parties = ["alice", *(p.workload for p in positions)]
    if len(positions) > 4 or len(set(parties)) != len(parties):
        return False, []  # depth over max_chain_depth, or a loop
    scopes: list[frozenset[str]] = []
    for i, position in enumerate(positions, start=1):
        linked = position.link in ("consent", "txn") or (position.link == "txn-no-prior" and i == 1)
        if position.workload == LEGACY or not linked:
            return False, []
        if position.attestation != "own" and not (
            position.attestation == "none" and position.workload == EXPORT
        ):
            return False, []
        held = position.scope
        if position.claimed is not None:
            if not position.claimed <= position.scope:
                return False, []
            held = position.claimed
        if scopes and not held <= scopes[-1]:
            return False, []
        scopes.append(held)
    return action in scopes[-1], scopes


def _own_grant(keys: Keys) -> dict[str, Any]:
    """The assistant reads alice's report with her consent: allowed without any chain."""
    return req(
        actor=ASSISTANT,
        tokens={"attestation": attestation(keys, ASSISTANT), "consent": consent(keys)},
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hops=HOPS, actor=ACTOR)
@example(
    hops=[Position(GATEWAY, "consent", frozenset(ACTIONS), None, "own")],
    actor=Position(ASSISTANT, "txn", frozenset({"read"}), None, "own"),
)
@example(
    hops=[Position(GATEWAY, "consent", frozenset(ACTIONS), frozenset({"charge"}), "own")],
    actor=Position(ASSISTANT, "none", frozenset(), None, "own"),
)
def test_a_chain_on_an_allowed_request_is_allowed_exactly_when_every_hop_is_bound(
    evaluator: Evaluator, keys: Keys, minter: Minter, hops: list[Position], actor: Position
) -> None:
    decision = evaluator.evaluate(_build(minter, _own_grant(keys), hops, actor), now=NOW)
    bound, scopes = _bound(hops, actor, "read")
    event("bound" if bound else f"not bound: {decision.code.value}")
    assert decision.allowed is bound, (decision.code, decision.message)
    if decision.allowed:
        # The scopes the engine says each party holds are the ones the rule gives, and they
        # only narrow along the chain, every one holding the action.
        held = _held_scopes(decision)
        assert held == scopes
        assert all(later <= earlier for earlier, later in itertools.pairwise(held))
        assert all("read" in scope for scope in held)


def _held_scopes(decision: Decision) -> list[frozenset[str]]:
    """The scope of each party as step 5's trace reports it ("…, scope read, summarize")."""
    chain = next(step for step in decision.trace if step.step is Step.CHAIN)
    scopes = []
    for child in chain.children:
        text = child.detail.rpartition(", scope ")[2]
        scopes.append(frozenset() if text == "empty" else frozenset(text.split(", ")))
    return scopes


def _denied_bases(keys: Keys) -> list[tuple[str, dict[str, Any]]]:
    return [
        # No consent to the assistant (consent_required).
        ("read", req(actor=ASSISTANT, tokens={"attestation": attestation(keys, ASSISTANT)})),
        # The billing worker's elevation needs the orders queue (unauthorized_actor).
        (
            "charge",
            req(
                action="charge",
                resource=("Invoice", "inv-1"),
                actor=BILLING,
                tokens={"attestation": attestation(keys, BILLING)},
                context={"channel": "web"},
            ),
        ),
        # The basic export job is below the elevation's level (untrusted_actor).
        ("read", req(actor=EXPORT)),
    ]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.integers(0, 2), hops=HOPS, actor=ACTOR)
def test_adding_hops_never_turns_a_deny_into_an_allow_unless_each_hop_is_granted(
    evaluator: Evaluator,
    keys: Keys,
    minter: Minter,
    base: int,
    hops: list[Position],
    actor: Position,
) -> None:
    action, request = _denied_bases(keys)[base]
    assert not evaluator.evaluate(request, now=NOW).allowed
    workload = request["authorization_model"]["principal"]["id"]
    actor = Position(workload, actor.link, actor.scope, None, "own")
    decision = evaluator.evaluate(_build(minter, request, hops, actor), now=NOW)
    event("allowed" if decision.allowed else f"denied: {decision.code.value}")
    if decision.allowed:
        # Only the origin's grant, re-delegated along a bound chain, can make it an allow.
        bound, _scopes = _bound(hops, actor, action)
        assert bound, decision.message
        held = _held_scopes(decision)
        assert all(later <= earlier for earlier, later in itertools.pairwise(held))
        assert action in held[-1]
