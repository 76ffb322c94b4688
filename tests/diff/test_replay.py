"""Decision replay and derive_bump against real ledgers, real tokens and real Cedar."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.diff.conftest import History
from tests.diff.ledgers import CHAT, IDP, base_files
from tests.support.ledgers import public_jwks
from tests.support.repo import LedgerRepo, write_files
from ztauth_cli.diff import derive_bump, diff_ledgers, load_requests
from ztauth_cli.diff.model import DecisionFlip, Impact
from ztauth_cli.errors import RequestError
from ztauth_cli.ledger import load

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _flip_rows(flips: tuple[DecisionFlip, ...]) -> list[tuple[str, str, str, str, str | None]]:
    return [(f.name, f.impact.value, f.base.code, f.target.code, f.target.via) for f in flips]


def test_test_cases_of_both_revisions_are_replayed(history: History) -> None:
    report = diff_ledgers(
        load(history.root, "v1.0.0"), load(history.root, "HEAD"), now=NOW, base_label="v1.0.0"
    )
    assert report.evaluated == 6
    assert _flip_rows(report.flips) == [
        (
            "docs/assistant reads without consent",
            "widening",
            "consent_required",
            "allowed",
            "delegation/user-assistant-read",
        ),
        (
            "docs/mail assistant reads",
            "widening",
            "untrusted_actor",
            "allowed",
            "delegation/user-assistant-read",
        ),
        (
            "docs/billing worker refunds alice",
            "narrowing",
            "allowed",
            "insufficient_scope",
            None,
        ),
        ("docs/bob reads the roadmap", "narrowing", "allowed", "policy_denied", None),
    ]
    refund = report.flips[2]
    assert refund.base.policies == ("customer-pays",)
    assert refund.base.via == "elevation/billing-acts-for-customer"
    assert refund.target.message == (
        "elevation/billing-acts-for-customer allows charge, not 'refund'"
    )
    assert refund.request == (
        'User::"alice" refund Invoice::"inv-1" as Workload::"spiffe://acme.internal/billing/worker-1"'
    )
    assert str(refund.span) == "tests/docs.yaml:36:5"
    assert report.widening
    assert (report.count(Impact.WIDENING), report.count(Impact.NARROWING)) == (4, 4)


def test_no_change_means_no_flip(history: History) -> None:
    ledger = load(history.root, "HEAD")
    report = diff_ledgers(ledger, ledger, now=NOW)
    assert (report.flips, report.policies, report.changes, report.widening) == ((), (), (), False)
    assert report.evaluated == 6


def test_requests_file_and_audit_lines(history: History, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    bob = {
        "subject": {"type": "User", "id": "bob"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "roadmap"},
    }
    batch = {
        **bob,
        "evaluations": [{"action": {"name": "read"}}, {"action": {"name": "summarize"}}],
    }
    alice = {**bob, "subject": {"type": "User", "id": "alice"}}
    path.write_text(
        "# replayed from production\n"
        + json.dumps(bob)
        + "\n\n"
        + json.dumps({"time": "2026-06-01T12:00:00Z", "request": alice, "decision": True})
        + "\n"
        + json.dumps(batch)
        + "\n",
        encoding="utf-8",
    )
    items = load_requests(path)
    assert [(i.name.rsplit("/", 1)[-1], i.at) for i in items] == [
        ("requests.jsonl:2", None),
        ("requests.jsonl:4", NOW),
        ("requests.jsonl:5", None),
    ]
    report = diff_ledgers(
        load(history.root, "v1.0.0"), load(history.root, "HEAD"), now=NOW, requests=items
    )
    flips = [(f.source, f.name.rsplit("/", 1)[-1], f.impact.value) for f in report.flips]
    assert [f for f in flips if f[0] == "request"] == [
        ("request", "requests.jsonl:2", "narrowing"),
        ("request", "requests.jsonl:5#0", "narrowing"),
    ]
    # 6 test cases + 2 single requests + a batch of 2
    assert report.evaluated == 10


@pytest.mark.parametrize(
    ("content", "where", "message"),
    [
        ('{"subject": {"type": "User", "id": "a"}}\n{"subject": ', ":2:", "invalid JSON"),
        ("[1, 2]\n", ":1:1", "expected a JSON object"),
        ('{"request": {"action": {}}}\n', ":1:1", "expected an AuthZEN request"),
        ('{"time": "yesterday", "request": {"subject": {}}}\n', ":1:1", "'time'"),
    ],
    ids=["truncated", "not-an-object", "no-subject", "bad-time"],
)
def test_bad_requests_file_names_the_line(
    tmp_path: Path, content: str, where: str, message: str
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RequestError, match=message) as info:
        load_requests(path)
    assert where in str(info.value.span)


# ------------------------------------------------------------------------------- bump


@pytest.fixture(scope="module")
def jwks() -> str:
    return public_jwks()


def _two(tmp_path: Path, jwks: str, edits: dict[str, tuple[str, str]]) -> tuple[Path, Path]:
    files = base_files(jwks)
    a, b = tmp_path / "a", tmp_path / "b"
    write_files(a, files)
    changed = dict(files)
    for path, (old, new) in edits.items():
        assert old in str(changed[path])
        changed[path] = str(changed[path]).replace(old, new)
    write_files(b, changed)
    return a, b


def test_bump_major_when_a_caller_loses_access(history: History) -> None:
    decision = derive_bump(load(history.root, "v1.0.0"), load(history.root, "HEAD"), now=NOW)
    assert decision.part == "major"
    assert [r.split(" (")[0] for r in decision.reasons] == [
        "allow -> deny: docs/billing worker refunds alice",
        "allow -> deny: docs/bob reads the roadmap",
    ]


def test_bump_minor_on_deny_to_allow(tmp_path: Path, jwks: str) -> None:
    a, b = _two(tmp_path, jwks, {"trust/delegations.yaml": ("required: true", "required: false")})
    decision = derive_bump(load(a), load(b), now=NOW)
    assert decision.part == "minor"
    assert decision.reasons == (
        "deny -> allow: docs/assistant reads without consent "
        f'(User::"alice" read Document::"q3-report" as Workload::"{CHAT}")',
        "delegation/user-assistant-read: consent no longer required",
    )


def test_bump_minor_on_new_permission_without_flip(tmp_path: Path, jwks: str) -> None:
    added = '@id("carol-reads")\npermit (principal == User::"carol", action, resource);\n'
    a, b = _two(
        tmp_path,
        jwks,
        {"policies/docs.cedar": ('\n@id("customer-pays")', f'\n{added}\n@id("customer-pays")')},
    )
    decision = derive_bump(load(a), load(b), now=NOW)
    assert decision.part == "minor"
    assert decision.reasons == (
        'policy/carol-reads: added: permit(principal == User::"carol", action, resource)',
    )


def test_bump_patch_when_nothing_changes_a_decision(tmp_path: Path, jwks: str) -> None:
    a, b = _two(
        tmp_path, jwks, {"trust/issuers.yaml": (f"name: {IDP}", f"name: {IDP}\ndescription: docs")}
    )
    decision = derive_bump(load(a), load(b), now=NOW)
    assert decision == type(decision)(
        part="patch", reasons=("no decision changed (6 test decisions replayed)",)
    )


def test_ledger_in_a_subfolder_of_a_larger_repository(tmp_path: Path, jwks: str) -> None:
    repo = LedgerRepo(tmp_path / "mono")
    try:
        repo.write(
            {
                "README.md": "monorepo\n",
                **{f"infra/authz/{k}": v for k, v in base_files(jwks).items()},
            }
        )
        repo.commit("ledger lives in infra/authz")
        repo.write(
            {
                "infra/authz/trust/delegations.yaml": str(
                    base_files(jwks)["trust/delegations.yaml"]
                ).replace("required: true", "required: false")
            }
        )
        repo.commit("consent dropped")
        root = repo.root / "infra" / "authz"
        report = diff_ledgers(load(root, "HEAD~1"), load(root, "HEAD"), now=NOW)
    finally:
        repo.close()
    assert [(c.subject, c.impact.value) for c in report.changes] == [
        ("delegation/user-assistant-read", "widening")
    ]
    assert [f.name for f in report.flips] == ["docs/assistant reads without consent"]


def test_a_case_whose_token_does_not_resolve_is_skipped_not_fatal(
    tmp_path: Path, jwks: str
) -> None:
    a, b = _two(
        tmp_path,
        jwks,
        {"tests/docs.yaml": ("{$token: alice-consent}", "{$token: nobody-minted-this}")},
    )
    report = diff_ledgers(load(a), load(b), now=NOW)
    assert report.evaluated == 5
    (reason,) = report.skipped
    assert reason.startswith("docs/assistant reads with consent: tests/docs.yaml:")
    assert "unknown token 'nobody-minted-this'" in reason
