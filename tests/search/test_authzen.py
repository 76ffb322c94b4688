"""AuthZEN 1.0 search over the engine: the public interop scenario, pagination, the request
rules, and agreement with evaluating every candidate (property test over generated ledgers).
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT, SAMPLE_LEDGER
from tests.support.ledgers import write_ledger
from ztauth_cli.engine import Evaluator
from ztauth_cli.errors import RequestError
from ztauth_cli.ledger import load
from ztauth_cli.search import Candidates, search, search_subjects
from ztauth_cli.search.authzen import schema_actions

INTEROP = REPO_ROOT / "tests" / "fixtures" / "authzen-search"
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def _engine(root: Path) -> tuple[Evaluator, Candidates]:
    ledger = load(root)
    return Evaluator.from_ledger(ledger), Candidates.from_ledger(ledger)


@pytest.fixture(scope="module")
def interop() -> tuple[Evaluator, Candidates]:
    return _engine(INTEROP)


@pytest.fixture(scope="module")
def sample() -> tuple[Evaluator, Candidates]:
    return _engine(SAMPLE_LEDGER)


def _cases(kind: str) -> list[dict[str, Any]]:
    document = json.loads((INTEROP / "expected" / f"{kind}.json").read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = document["evaluation"]
    return cases


def _key(entity: dict[str, str]) -> str:
    return json.dumps(entity, sort_keys=True)


@pytest.mark.parametrize(("kind", "count"), [("subject", 60), ("resource", 18), ("action", 120)])
def test_every_expected_answer_of_the_authzen_search_interop_scenario(
    interop: tuple[Evaluator, Candidates], kind: str, count: int
) -> None:
    evaluator, candidates = interop
    cases = _cases(kind)
    assert len(cases) == count
    wrong = []
    for case in cases:
        result = search(evaluator, case["request"], kind=kind, candidates=candidates, now=NOW)
        got = sorted(_key(dict(r)) for r in result.results)
        expected = sorted(_key(r) for r in case["expected"]["results"])
        if got != expected:
            wrong.append((case["request"], got, expected))
    assert wrong == []


def test_results_are_sorted_and_the_page_says_how_many(
    interop: tuple[Evaluator, Candidates],
) -> None:
    evaluator, candidates = interop
    request = {
        "subject": {"type": "user"},
        "action": {"name": "view"},
        "resource": {"type": "record", "id": "101"},
    }
    assert search_subjects(evaluator, request, candidates=candidates, now=NOW).to_json() == {
        "page": {"next_token": "", "count": 4, "total": 4},
        "results": [
            {"type": "user", "id": "alice"},
            {"type": "user", "id": "bob"},
            {"type": "user", "id": "carol"},
            {"type": "user", "id": "dan"},
        ],
    }


def test_pages_of_limit_two_walk_the_whole_result_set_in_order(
    interop: tuple[Evaluator, Candidates],
) -> None:
    evaluator, candidates = interop
    base = {
        "subject": {"type": "user", "id": "alice"},
        "action": {"name": "view"},
        "resource": {"type": "record"},
    }
    full = search(evaluator, base, kind="resource", candidates=candidates, now=NOW)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page: dict[str, Any] = {"limit": 2, **({"token": token} if token else {})}
        result = search(
            evaluator, {**base, "page": page}, kind="resource", candidates=candidates, now=NOW
        )
        pages += 1
        assert result.page.count == len(result.results) <= 2
        assert result.page.total == 20  # alice is a manager: every record
        seen += [r["id"] for r in result.results]
        token = result.page.next_token
        if not token:
            break
    assert pages == 10
    assert seen == [r["id"] for r in full.results]


def test_a_token_replayed_with_a_changed_request_is_refused(
    interop: tuple[Evaluator, Candidates],
) -> None:
    evaluator, candidates = interop
    base = {
        "subject": {"type": "user", "id": "alice"},
        "action": {"name": "view"},
        "resource": {"type": "record"},
        "page": {"limit": 5},
    }
    first = search(evaluator, base, kind="resource", candidates=candidates, now=NOW)
    changed = {
        **base,
        "action": {"name": "edit"},
        "page": {"limit": 5, "token": first.page.next_token},
    }
    with pytest.raises(RequestError, match=r"page\.token belongs to a different resource search"):
        search(evaluator, changed, kind="resource", candidates=candidates, now=NOW)
    with pytest.raises(RequestError, match=r"page\.token is not a token this PDP issued"):
        search(
            evaluator,
            {**base, "page": {"token": "not-a-token"}},
            kind="resource",
            candidates=candidates,
            now=NOW,
        )


def test_an_id_given_for_the_searched_entity_is_ignored(
    interop: tuple[Evaluator, Candidates],
) -> None:
    evaluator, candidates = interop
    request = {
        "subject": {"type": "user", "id": "felix"},
        "action": {"name": "edit"},
        "resource": {"type": "record", "id": "101"},
    }
    result = search(evaluator, request, kind="subject", candidates=candidates, now=NOW)
    assert [r["id"] for r in result.results] == ["alice"]


@pytest.mark.parametrize(
    ("kind", "request_body"),
    [
        (
            "resource",
            {
                "subject": {"type": "user", "id": "mallory"},
                "action": {"name": "view"},
                "resource": {"type": "record"},
            },
        ),
        (
            "subject",
            {
                "subject": {"type": "user"},
                "action": {"name": "view"},
                "resource": {"type": "record", "id": "999"},
            },
        ),
        (
            "subject",
            {
                "subject": {"type": "user"},
                "action": {"name": "approve"},
                "resource": {"type": "record", "id": "101"},
            },
        ),
        (
            "action",
            {
                "subject": {"type": "user", "id": "mallory"},
                "resource": {"type": "record", "id": "101"},
            },
        ),
    ],
    ids=["unknown-subject", "unknown-resource", "unknown-action", "unknown-subject-actions"],
)
def test_an_unknown_input_entity_gives_no_results(
    interop: tuple[Evaluator, Candidates], kind: str, request_body: dict[str, Any]
) -> None:
    evaluator, candidates = interop
    result = search(evaluator, request_body, kind=kind, candidates=candidates, now=NOW)
    assert result.to_json() == {"page": {"next_token": "", "count": 0, "total": 0}, "results": []}
    assert result.evaluations == 0


@pytest.mark.parametrize(
    ("kind", "request_body", "message"),
    [
        (
            "action",
            {
                "subject": {"type": "user", "id": "a"},
                "action": {"name": "view"},
                "resource": {"type": "record", "id": "1"},
            },
            "has no 'action'",
        ),
        ("subject", {"subjects": {"type": "user"}}, "unknown field.*subjects"),
        (
            "subject",
            {"subject": {"id": "x"}, "action": {"name": "v"}, "resource": {"type": "r", "id": "1"}},
            "subject.type must be",
        ),
        (
            "resource",
            {"subject": {"type": "user"}, "action": {"name": "v"}, "resource": {"type": "r"}},
            "subject.id must be",
        ),
        (
            "resource",
            {
                "subject": {"type": "user", "id": "a"},
                "action": {"name": "v"},
                "resource": {"type": "r"},
                "page": {"limit": 0},
            },
            "page.limit must be",
        ),
        ("subject", [], "must be a JSON object"),
    ],
    ids=["action-in-action-search", "typo", "no-type", "no-fixed-id", "limit-0", "not-object"],
)
def test_malformed_search_requests_are_refused(
    interop: tuple[Evaluator, Candidates], kind: str, request_body: Any, message: str
) -> None:
    evaluator, candidates = interop
    with pytest.raises(RequestError, match=message):
        search(evaluator, request_body, kind=kind, candidates=candidates, now=NOW)


def test_candidate_actions_come_from_the_schema_the_policies_and_the_grants(
    sample: tuple[Evaluator, Candidates],
) -> None:
    _, candidates = sample
    assert candidates.actions == (
        "charge",
        "delete",
        "export",
        "read",
        "refund",
        "share",
        "summarize",
        "write",
    )
    assert schema_actions('action "view", edit appliesTo {};\n// action ignored;\n') == (
        "edit",
        "view",
    )
    assert schema_actions('{"": {"entityTypes": {}, "actions": {"b": {}, "a": {}}}}') == ("a", "b")


# ----------------------------------------------------------------------------- property

_POLICY_POOL = (
    '@id("owner-{a}")\npermit (principal, action == Action::"{a}", resource is Doc)\n'
    "when {{ resource.owner == principal }};",
    '@id("dept-{a}")\npermit (principal is User, action == Action::"{a}", resource is Doc)\n'
    "when {{ resource.dept == principal.dept }};",
    '@id("admin-{a}")\npermit (principal in Role::"admin", action == Action::"{a}", resource);',
    '@id("no-secret-{a}")\nforbid (principal, action == Action::"{a}", resource is Doc)\n'
    "when {{ resource.secret }} unless {{ resource.owner == principal }};",
)
_DEPTS = ("eng", "ops", "fin")

LEDGERS = st.fixed_dictionaries(
    {
        "users": st.lists(
            st.tuples(st.sampled_from(_DEPTS), st.booleans()), min_size=1, max_size=6
        ),
        "docs": st.lists(
            st.tuples(st.integers(0, 5), st.sampled_from(_DEPTS), st.booleans()),
            min_size=1,
            max_size=6,
        ),
        "policies": st.lists(
            st.tuples(st.integers(0, len(_POLICY_POOL) - 1), st.sampled_from(("read", "edit"))),
            min_size=1,
            max_size=6,
            unique=True,
        ),
    }
)


def _write_generated(root: Path, spec: dict[str, Any]) -> None:
    users = [
        {
            "uid": {"type": "User", "id": f"u{i}"},
            "attrs": {"dept": dept},
            "parents": [{"type": "Role", "id": "admin"}] if admin else [],
        }
        for i, (dept, admin) in enumerate(spec["users"])
    ]
    docs = [
        {
            "uid": {"type": "Doc", "id": f"d{i}"},
            "attrs": {
                "owner": {"__entity": {"type": "User", "id": f"u{owner % len(users)}"}},
                "dept": dept,
                "secret": secret,
            },
            "parents": [],
        }
        for i, (owner, dept, secret) in enumerate(spec["docs"])
    ]
    role = [{"uid": {"type": "Role", "id": "admin"}, "attrs": {}, "parents": []}]
    policies = "\n\n".join(_POLICY_POOL[i].format(a=a) for i, a in spec["policies"])
    write_ledger(
        root,
        manifest=(
            "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: generated}\n"
            "ledger: ztauth://gen.example/100000000000/ledgers/generated\n"
            'runtime: {language: cedar, version: "4"}\n'
        ),
        policies={"generated": policies},
        entities={"people": users + role, "docs": docs},
    )


@settings(max_examples=30)
@given(spec=LEDGERS)
def test_search_answers_agree_with_evaluating_every_candidate(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="ztauth-search-") as folder:
        root = Path(folder)
        _write_generated(root, spec)
        evaluator, candidates = _engine(root)
    users = candidates.entities["User"]
    docs = candidates.entities["Doc"]

    def allowed(user: str, action: str, doc: str) -> bool:
        request = {
            "subject": {"type": "User", "id": user},
            "action": {"name": action},
            "resource": {"type": "Doc", "id": doc},
        }
        return evaluator.evaluate(request, now=NOW).allowed

    for action in candidates.actions:
        for doc in docs:
            found = search(
                evaluator,
                {
                    "subject": {"type": "User"},
                    "action": {"name": action},
                    "resource": {"type": "Doc", "id": doc},
                },
                kind="subject",
                candidates=candidates,
                now=NOW,
            )
            assert [r["id"] for r in found.results] == [u for u in users if allowed(u, action, doc)]
        for user in users:
            found = search(
                evaluator,
                {
                    "subject": {"type": "User", "id": user},
                    "action": {"name": action},
                    "resource": {"type": "Doc"},
                },
                kind="resource",
                candidates=candidates,
                now=NOW,
            )
            assert [r["id"] for r in found.results] == [d for d in docs if allowed(user, action, d)]
    for user in users:
        for doc in docs:
            found = search(
                evaluator,
                {"subject": {"type": "User", "id": user}, "resource": {"type": "Doc", "id": doc}},
                kind="action",
                candidates=candidates,
                now=NOW,
            )
            assert [r["name"] for r in found.results] == [
                a for a in candidates.actions if allowed(user, a, doc)
            ]
