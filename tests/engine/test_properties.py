"""Property tests: the engine fails closed whatever it is given, and taking trust away never
grants more.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.ledger import ASSISTANT, GATEWAY, NOW, Keys
from tests.engine.test_pipeline import CASES
from ztauth_cli.engine import Evaluator, authzen_response
from ztauth_cli.model import Ledger, ReasonCode

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
NAMES = st.sampled_from(["alice", "bob", "q3", "secret", "inv-1", ASSISTANT, GATEWAY, "", "x"])
TYPES = st.sampled_from(["User", "Document", "Invoice", "Workload", "", "Us er"])
ENTITY = st.fixed_dictionaries(
    {"type": TYPES, "id": NAMES},
    optional={"properties": st.dictionaries(st.text(max_size=5), JSON)},
)
ACTIONS = st.sampled_from(
    ["read", "summarize", "share", "archive", "charge", 'Action::"read"', "::"]
)
NEAR_REQUEST = st.fixed_dictionaries(
    {"subject": ENTITY | JSON, "action": st.fixed_dictionaries({"name": ACTIONS}) | JSON},
    optional={
        "resource": ENTITY | JSON,
        "context": st.dictionaries(st.text(max_size=6), JSON, max_size=3) | JSON,
        "principal": ENTITY,
        "authorization_model": st.fixed_dictionaries(
            {},
            optional={
                "principal": ENTITY | JSON,
                "tokens": st.dictionaries(
                    st.sampled_from(["txn", "consent", "attestation", "subject", "other"]),
                    st.text(max_size=40) | JSON,
                    max_size=3,
                ),
                "chain": st.lists(
                    st.fixed_dictionaries(
                        {"principal": ENTITY},
                        optional={"scope": st.lists(ACTIONS, max_size=3) | JSON},
                    ),
                    max_size=5,
                )
                | JSON,
                "ledger": st.text(max_size=10),
                "entities": JSON,
            },
        )
        | JSON,
        "evaluations": st.lists(st.dictionaries(st.sampled_from(["action", "subject"]), JSON)),
        "options": JSON,
    },
)


def _permitting(evaluator: Evaluator, policies: tuple[str, ...]) -> bool:
    return bool(policies) and all(evaluator.cedar.effects.get(p) == "permit" for p in policies)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=JSON | NEAR_REQUEST)
def test_no_request_allows_without_a_permitting_policy_and_none_raises(
    evaluator: Evaluator, raw: Any
) -> None:
    decisions, batch = evaluator.evaluate_batch(raw, now=NOW)
    assert decisions
    for decision in decisions:
        if decision.allowed:
            assert decision.code is ReasonCode.ALLOWED
            assert _permitting(evaluator, decision.policies), decision
    response = authzen_response(decisions, batch=batch)
    assert isinstance(response, dict)


def _removals(ledger: Ledger) -> list[tuple[str, Ledger]]:
    variants: list[tuple[str, Ledger]] = []
    for attr in ("trust_levels", "groups", "elevations", "delegations", "issuers"):
        docs = getattr(ledger, attr)
        for index, doc in enumerate(docs):
            name = getattr(doc, "name", None) or getattr(doc, "id", "?")
            rest = docs[:index] + docs[index + 1 :]
            variants.append((f"without {attr}/{name}", dataclasses.replace(ledger, **{attr: rest})))
    for g_index, group in enumerate(ledger.groups):
        for m_index, _member in enumerate(group.members):
            members = group.members[:m_index] + group.members[m_index + 1 :]
            groups = list(ledger.groups)
            groups[g_index] = dataclasses.replace(group, members=members)
            variants.append(
                (
                    f"without member {m_index} of {group.name}",
                    dataclasses.replace(ledger, groups=tuple(groups)),
                )
            )
    return variants


@pytest.fixture(scope="module")
def weakened(ledger: Ledger) -> list[tuple[str, Evaluator]]:
    return [(name, Evaluator.from_ledger(variant)) for name, variant in _removals(ledger)]


@pytest.fixture(scope="module")
def requests_(keys: Keys) -> list[tuple[str, dict[str, Any]]]:
    return [(case.name, case.build(keys)) for case in CASES]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, len(CASES) - 1), removal=st.integers(0, 17))
def test_removing_trust_never_turns_a_deny_into_an_allow(
    evaluator: Evaluator,
    weakened: list[tuple[str, Evaluator]],
    requests_: list[tuple[str, dict[str, Any]]],
    case: int,
    removal: int,
) -> None:
    name, request = requests_[case]
    what, variant = weakened[removal]
    before = evaluator.evaluate(request, now=NOW)
    after = variant.evaluate(request, now=NOW)
    if not before.allowed:
        assert not after.allowed, f"{name}: {what} turned {before.code.value} into an allow"


def test_every_removal_is_exercised(weakened: list[tuple[str, Evaluator]]) -> None:
    # 3 levels + 4 groups + 2 elevations + 3 delegations + 2 issuers + 4 members.
    assert len(weakened) == 18


def test_removing_trust_exhaustively(
    evaluator: Evaluator,
    weakened: list[tuple[str, Evaluator]],
    requests_: list[tuple[str, dict[str, Any]]],
) -> None:
    # Every (request, removal) pair once: e.g. removing the TrustLevel an elevation requires
    # must not make the requirement vanish.
    widened = []
    for name, request in requests_:
        if evaluator.evaluate(request, now=NOW).allowed:
            continue
        for what, variant in weakened:
            if variant.evaluate(request, now=NOW).allowed:
                widened.append(f"{name}: {what}")
    assert widened == []
