"""Property tests: the engine fails closed whatever it is given, taking trust away never
grants more, and nothing a request says about entities or values grants more either.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.ledger import ASSISTANT, GATEWAY, NOW, Keys, req
from tests.engine.test_pipeline import CASES
from tests.support.ledgers import manifest, write_ledger
from ztauth_cli.engine import Evaluator, authzen_response
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger, ReasonCode, RequestEntityRule

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


# ----------------------------------------------------------------------------- request entities

# Uids the test ledger defines, and some it does not (tests/engine/ledger.py ENTITIES).
LEDGER_UIDS = [
    ("User", "alice"),
    ("User", "bob"),
    ("Document", "q3"),
    ("Document", "secret"),
    ("Invoice", "inv-1"),
]
UNKNOWN_UIDS = [("User", "mallory"), ("Role", "admin"), ("Document", "new"), ("Team", "x")]
INVOICE = ("Invoice", "inv-1")
UID = st.sampled_from(LEDGER_UIDS + UNKNOWN_UIDS).map(lambda u: {"type": u[0], "id": u[1]})
# Cedar's escape syntax, which a request value must never turn into.
ESCAPE = (
    UID.map(lambda u: {"__entity": u})
    | st.fixed_dictionaries(
        {"fn": st.sampled_from(["ip", "decimal"]), "arg": st.sampled_from(["10.0.0.1", "0.1"])}
    ).map(lambda e: {"__extn": e})
    | st.just({"__expr": 'User::"alice"'})
)
# What an attacker would send: the values the policies compare against, most of the time.
TELLING = st.sampled_from(
    [
        {"type": "User", "id": "alice"},
        {"type": "User", "id": "bob"},
        {"__entity": {"type": "User", "id": "alice"}},
        {"__entity": {"type": "User", "id": "bob"}},
        {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
        "internal",
        "public",
        False,
    ]
)
GENERIC = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | ESCAPE | UID,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
VALUE = st.one_of(TELLING, TELLING, TELLING, GENERIC)  # three times in four: a telling value
ATTRS = st.dictionaries(
    st.sampled_from(["owner", "classification", "customer", "team", "approver", "src", "x"]),
    VALUE,
    max_size=2,
)
MODEL_ENTITY = st.fixed_dictionaries(
    {"uid": UID},
    optional={"attrs": ATTRS, "parents": st.lists(UID, max_size=3), "tags": ATTRS},
)
ADDITIONS = st.fixed_dictionaries(
    {},
    optional={
        "entities": st.lists(MODEL_ENTITY, max_size=4),
        "subject": ATTRS,
        "resource": ATTRS,
        "action": ATTRS,
        "principal": ATTRS,
        "context": ATTRS,
    },
)


def _with_additions(request: dict[str, Any], additions: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    for part in ("subject", "resource", "action"):
        if part in additions and isinstance(changed.get(part), dict):
            changed[part]["properties"] = additions[part]
    model = changed.setdefault("authorization_model", {})
    if "principal" in additions and isinstance(model.get("principal"), dict):
        model["principal"]["properties"] = additions["principal"]
    if "entities" in additions:
        model["entities"] = additions["entities"]
    if "context" in additions:
        changed["context"] = {**changed.get("context", {}), **additions["context"]}
    return changed


@pytest.fixture(scope="module")
def opted_in(ledger: Ledger) -> Evaluator:
    """The same ledger with every opt-in: requests may give any unknown entity parents."""
    assert ledger.manifest is not None
    everything = (RequestEntityRule(type="*", attributes=True, parents=True),)
    settings_ = dataclasses.replace(ledger.manifest.settings, request_entities=everything)
    manifest = dataclasses.replace(ledger.manifest, settings=settings_)
    return Evaluator.from_ledger(dataclasses.replace(ledger, manifest=manifest))


def _ledger_only(request: dict[str, Any]) -> bool:
    """Whether the request's subject and resource are entities the ledger defines."""
    parts = [request.get("subject"), request.get("resource")]
    return all(isinstance(p, dict) and (p.get("type"), p.get("id")) in LEDGER_UIDS for p in parts)


@pytest.fixture(scope="module")
def decided_by_policy(
    evaluator: Evaluator, requests_: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, dict[str, Any]]]:
    """The scenarios about ledger entities that reach the Cedar policies: where facts matter."""
    reached = {ReasonCode.ALLOWED, ReasonCode.POLICY_DENIED}
    attacks = [
        ("bob reads alice's q3", req(subject="bob")),
        ("alice reads the restricted secret", req(resource=("Document", "secret"))),
        ("bob pays alice's invoice", req(subject="bob", action="charge", resource=INVOICE)),
    ]
    return [
        (name, request)
        for name, request in [*requests_, *attacks]
        if _ledger_only(request) and evaluator.evaluate(request, now=NOW).code in reached
    ]


def test_the_attackable_scenarios_include_policy_denies(
    evaluator: Evaluator, decided_by_policy: list[tuple[str, dict[str, Any]]]
) -> None:
    denied = [n for n, r in decided_by_policy if not evaluator.evaluate(r, now=NOW).allowed]
    assert len(denied) >= 5, denied


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.integers(0, 99), additions=ADDITIONS, opt_in=st.booleans())
def test_request_entities_and_properties_never_turn_a_deny_into_an_allow(
    evaluator: Evaluator,
    opted_in: Evaluator,
    decided_by_policy: list[tuple[str, dict[str, Any]]],
    case: int,
    additions: dict[str, Any],
    opt_in: bool,
) -> None:
    # Whatever a request adds about the ledger's entities (or unknown ones nothing refers
    # to), escapes included, no permit appears: an allow stays the same allow (or becomes a
    # deny, e.g. an invalid_request the schema objects to), a deny stays a deny.
    name, request = decided_by_policy[case % len(decided_by_policy)]
    engine = opted_in if opt_in else evaluator
    before = engine.evaluate(request, now=NOW)
    after = engine.evaluate(_with_additions(request, additions), now=NOW)
    if after.allowed:
        assert before.allowed, f"{name}: {additions} turned {before.code.value} into an allow"
        assert after.policies == before.policies, name


ESCAPE_POLICIES = """@id("owner-reads")
permit (principal, action == Action::"read", resource) when { resource.owner == principal };

@id("member-reads")
permit (principal, action == Action::"read", resource) when { principal in resource.team };

@id("approver-approves")
permit (principal, action == Action::"approve", resource) when { context.approver == principal };

@id("office-network")
permit (principal, action == Action::"connect", resource)
when { context.src.isInRange(ip("10.0.0.0/8")) };
"""


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Evaluator:
    """A ledger without a Cedar schema, whose permits hold only for entity or ip values."""
    root = write_ledger(
        tmp_path_factory.mktemp("bare") / "ledger",
        manifest=manifest("ztauth://acme.test/273165098782/ledgers/bare", name="bare"),
        policies={"main": ESCAPE_POLICIES},
        entities={"people": [{"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": []}]},
    )
    return Evaluator.from_ledger(load(root))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    action=st.sampled_from(["read", "approve", "connect"]),
    resource=ATTRS,
    context=ATTRS | st.dictionaries(st.sampled_from(["approver", "src"]), VALUE, max_size=2),
    entities=st.lists(MODEL_ENTITY, max_size=3),
)
def test_escapes_never_become_entities_or_extension_values(
    bare: Evaluator,
    action: str,
    resource: dict[str, Any],
    context: dict[str, Any],
    entities: list[dict[str, Any]],
) -> None:
    # Without a schema only Cedar's escapes could turn JSON into an entity or an ip address,
    # and every permit of this ledger needs one: nothing a request sends may allow.
    request = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": action},
        "resource": {"type": "Document", "id": "new", "properties": resource},
        "context": context,
        "authorization_model": {"entities": entities},
    }
    decision = bare.evaluate(request, now=NOW)
    assert not decision.allowed, (request, decision.policies)
