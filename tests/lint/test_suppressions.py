"""Inline suppressions: a reason is mandatory, they are counted, stale ones are reported."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tests.support.repo import write_files
from ztauth_cli.ledger import load
from ztauth_cli.lint import lint_ledger
from ztauth_cli.lint.init import render_template

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
ZTID = "ztauth://example.internal/100000000000/ledgers/demo"


def _lint(tmp_path: Path, changes: dict[str, tuple[str, str]]) -> list[tuple[str, str, str | None]]:
    files = render_template("delegation", name="demo", ztid=ZTID)
    for path, (old, new) in changes.items():
        assert old in files[path]
        files[path] = files[path].replace(old, new)
    write_files(tmp_path, dict(files))
    report = lint_ledger(load(tmp_path, tolerant=True), now=NOW).report
    return [(f.rule_id, str(f.span), f.suppressed) for f in report.findings]


def test_yaml_suppression_on_the_offending_line(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        {
            "trust/delegations.yaml": (
                "consent: {required: true, issuer: https://idp.example.internal}",
                "consent: {required: false}  # ztauth: ignore ZT301 -- batch job, no user",
            )
        },
    )
    assert found == [("ZT301", "trust/delegations.yaml:10:11", "batch job, no user")]


def test_cedar_suppression_on_the_line_above(tmp_path: Path) -> None:
    policy = '// ztauth: ignore ZT307 -- a sandbox ledger\n@id("everything")\npermit (principal, action, resource);\n'  # noqa: E501
    files_change = {
        "policies/documents.cedar": (
            '@id("owner-can-read-and-write")',
            policy + '\n@id("owner-can-read-and-write")',
        )
    }
    found = _lint(tmp_path, files_change)
    assert found == [("ZT307", "policies/documents.cedar:3:1", "a sandbox ledger")]


def test_suppression_without_reason_is_a_finding_and_suppresses_nothing(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        {
            "trust/delegations.yaml": (
                "consent: {required: true, issuer: https://idp.example.internal}",
                "consent: {required: false}  # ztauth: ignore ZT301",
            )
        },
    )
    assert sorted(found) == [
        ("ZT002", "trust/delegations.yaml:10:29", None),
        ("ZT301", "trust/delegations.yaml:10:11", None),
    ]


def test_stale_and_unknown_suppressions_are_reported(tmp_path: Path) -> None:
    found = _lint(
        tmp_path,
        {
            "trust/levels.yaml": (
                "rank: 1",
                "rank: 1  # ztauth: ignore ZT105 -- not needed\n# ztauth: ignore ZT999 -- typo",
            )
        },
    )
    assert sorted(found) == [
        ("ZT003", "trust/levels.yaml:5:10", None),
        ("ZT003", "trust/levels.yaml:6:1", None),
    ]


def test_yaml_suppression_above_the_document_covers_a_finding_at_its_field(
    tmp_path: Path,
) -> None:
    # ZT301 points at consent.required (10:11 without the comment); a suppression written for
    # the whole document, before it starts, keeps applying.
    files = dict(render_template("delegation", name="demo", ztid=ZTID))
    text = files["trust/delegations.yaml"].replace(
        "consent: {required: true, issuer: https://idp.example.internal}",
        "consent: {required: false}",
    )
    files["trust/delegations.yaml"] = text.replace(
        "apiVersion: ztauth/v1",
        "# ztauth: ignore ZT301 -- batch job, no user\napiVersion: ztauth/v1",
    )
    write_files(tmp_path, files)
    report = lint_ledger(load(tmp_path, tolerant=True), now=NOW).report
    found = [(f.rule_id, str(f.span), f.suppressed) for f in report.findings]
    assert found == [("ZT301", "trust/delegations.yaml:11:11", "batch job, no user")]
