"""End-to-end checks of sample-ledger/: it loads, its keys are public, its policies validate,
and (through the CLI) it lints clean, its requests evaluate as documented and its suites pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
from ztauth_cli.cli.main import app
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger

ZTID = "ztauth://acme.internal/273165098782/ledgers/acme-documents"
AT = "2026-06-01T12:00:00Z"
REASON_CODES = {
    "allowed",
    "invalid_request",
    "invalid_token",
    "untrusted_actor",
    "unauthorized_actor",
    "consent_required",
    "invalid_consent",
    "insufficient_scope",
    "chain_broken",
    "policy_denied",
    "ledger_unverified",
    "evaluation_error",
}


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return load(SAMPLE_LEDGER, tolerant=True)


def test_loads_without_problems(ledger: Ledger) -> None:
    assert ledger.problems == ()
    assert ledger.manifest is not None
    assert ledger.manifest.ledger == ZTID
    assert ledger.manifest.settings.require_signatures == 0
    assert sorted(g.name for g in ledger.groups) == [
        "ai-assistants",
        "billing-workers",
        "edge-gateways",
        "reporting-exporters",
    ]
    assert [(t.name, t.rank) for t in sorted(ledger.trust_levels, key=lambda t: t.rank)] == [
        ("basic", 1),
        ("attested", 2),
        ("trusted", 3),
    ]


def test_every_issuer_points_at_a_loaded_jwks(ledger: Ledger) -> None:
    for issuer in ledger.issuers:
        key_set = ledger.key_set(issuer.jwks)
        assert key_set is not None, issuer.name
        assert key_set.keys, issuer.name
        assert issuer.audience == ZTID


def test_keys_are_public_only(ledger: Ledger) -> None:
    from ztauth_cli import jose

    assert ledger.key_sets
    for key_set in ledger.key_sets:
        for jwk in key_set.keys:
            assert not jose.is_private_jwk(jwk), key_set.span.path
            assert jose.validate_public_jwk(jwk) is None, key_set.span.path
            assert jwk["kid"] == jose.jwk_thumbprint(jwk)


def test_no_private_key_file_is_committed() -> None:
    for path in SAMPLE_LEDGER.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_policies_parse_with_ids_and_validate_against_the_schema(ledger: Ledger) -> None:
    from ztauth_cli.engine.cedar import parse_policy_files, validate_against_schema

    policies, errors = parse_policy_files(ledger.policy_files)
    assert errors == ()
    ids = [p.id for p in policies]
    assert None not in ids
    assert len(set(ids)) == len(ids) >= 8
    assert {p.effect for p in policies} == {"permit", "forbid"}
    assert ledger.schema_text is not None
    assert (
        validate_against_schema(policies, ledger.schema_text, schema_path="schema.cedarschema")
        == ()
    )


def test_requests_are_valid_json() -> None:
    requests = sorted((SAMPLE_LEDGER / "requests").iterdir())
    assert [p.name for p in requests] == [
        "alice-reads-q3-report.json",
        "bob-document-batch.json",
        "stream.jsonl",
    ]
    for path in requests:
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in lines:
            assert isinstance(json.loads(line)["subject"], dict)


def test_suites_load(ledger: Ledger) -> None:
    names = sorted(s.name for s in ledger.suites)
    assert "assistant-delegation" in names
    assert all(s.at is not None for s in ledger.suites)


def test_suites_expect_every_reason_code_but_ledger_unverified(ledger: Ledger) -> None:
    # ledger_unverified needs require_signatures > 0: see test_signed_copy_... below.
    expected = {case.expect.code for suite in ledger.suites for case in suite.cases}
    assert expected - {None} == REASON_CODES - {"ledger_unverified"}


# ----------------------------------------------------------------------------- through the CLI


@pytest.fixture(scope="module")
def ledger_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy of the sample ledger for the CLI checks of this module."""
    target = tmp_path_factory.mktemp("sample") / "ledger"
    shutil.copytree(SAMPLE_LEDGER, target)
    return target


def test_lint_is_clean(ledger_copy: Path) -> None:
    result = CliRunner().invoke(app, ["policy", "lint", "--ledger", str(ledger_copy), "-f", "json"])
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["summary"]["errors"] == report["summary"]["warnings"] == 0
    assert report["summary"]["notes"] == report["summary"]["suppressed"] == 0


def test_policies_are_cedar_formatted(ledger_copy: Path) -> None:
    result = CliRunner().invoke(app, ["policy", "fmt", "--check", "--ledger", str(ledger_copy)])
    assert result.exit_code == 0, result.stdout + result.stderr


def _eval(ledger: Path, request: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["eval", "--ledger", str(ledger), "--at", AT, str(request), "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    if request.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def _summary(response: dict[str, Any]) -> tuple[bool, str, list[str]]:
    context = response["context"]
    return (response["decision"], context["reason_admin"]["code"], context["ztauth"]["policies"])


REQUESTS = {
    "alice-reads-q3-report.json": [
        (True, "allowed", ["department-reads-internal", "owner-can-read"]),
    ],
    "bob-document-batch.json": [
        (True, "allowed", ["department-reads-internal"]),
        (True, "allowed", ["department-reads-internal"]),
        (False, "policy_denied", []),
        (False, "policy_denied", ["no-delete-archived"]),
        (True, "allowed", ["owner-can-read"]),
    ],
    "stream.jsonl": [
        (True, "allowed", ["department-reads-internal", "owner-can-read"]),
        (False, "policy_denied", ["restricted-owner-only"]),
        (True, "allowed", ["customer-pays-own-invoice"]),
        (False, "policy_denied", ["no-payments-from-chat"]),
        (True, "allowed", ["finance-admin-refunds"]),
    ],
}


@pytest.mark.parametrize(("name", "expected"), REQUESTS.items(), ids=list(REQUESTS))
def test_requests_evaluate_as_documented(
    ledger_copy: Path, name: str, expected: list[tuple[bool, str, list[str]]]
) -> None:
    responses = _eval(ledger_copy, ledger_copy / "requests" / name)
    if name == "bob-document-batch.json":
        (batch,) = responses
        responses = batch["evaluations"]
    assert [_summary(r) for r in responses] == expected
    for response in responses:
        assert response["context"]["ztauth"]["ledger"] == ZTID


def test_every_request_file_is_covered() -> None:
    assert sorted(p.name for p in (SAMPLE_LEDGER / "requests").iterdir()) == sorted(REQUESTS)


def test_suites_pass_with_full_coverage(ledger_copy: Path) -> None:
    result = CliRunner().invoke(app, ["test", str(ledger_copy), "--threshold", "100", "-f", "json"])
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert report["ledger"] == ZTID
    total = report["summary"]["total"]
    assert report["summary"] == {"total": total, "passed": total, "failed": 0, "deselected": 0}
    assert total >= 50
    assert sorted(s["name"] for s in report["suites"]) == [
        "assistant-delegation",
        "billing-elevation",
        "direct-access",
        "gateway-chain",
        "reporting-export",
        "transaction-tokens",
    ]
    coverage = report["coverage"]
    assert (coverage["percent"], coverage["passed"]) == (100.0, True)
    assert all(c["missed"] == [] for c in coverage["categories"].values())
    actual = {c["actual"]["code"] for s in report["suites"] for c in s["cases"]}
    assert actual == REASON_CODES - {"ledger_unverified"}


def test_signed_copy_verifies_then_fails_closed_when_tampered(tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "ledger"
    shutil.copytree(SAMPLE_LEDGER, ledger)
    manifest = ledger / "ztauth.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("require_signatures: 0", "require_signatures: 1"), "utf-8")
    key = tmp_path / "signer.pem"  # outside the ledger; generated now, never committed
    signers = str(ledger / "keys" / "signers.jwks.json")
    generated = runner.invoke(app, ["keys", "generate", "--out", str(key), "--jwks", signers])
    assert generated.exit_code == 0, generated.stderr

    unsigned = runner.invoke(app, ["test", str(ledger), "-f", "json"])
    assert unsigned.exit_code == 1
    # One cause, said once, before any case: not one ledger_unverified failure per case.
    assert unsigned.stdout == ""
    assert unsigned.stderr.count("ledger_unverified") == 1
    assert "the ledger is unsigned (no .signatures.json)" in unsigned.stderr

    signed = runner.invoke(app, ["policy", "sign", "--key", str(key), "--ledger", str(ledger)])
    assert signed.exit_code == 0, signed.stderr
    assert runner.invoke(app, ["test", str(ledger)]).exit_code == 0

    policy = ledger / "policies" / "guardrails.cedar"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace('"restricted"', '"secret"'), "utf-8"
    )
    (response,) = _eval(ledger, ledger / "requests" / "alice-reads-q3-report.json")
    reason = response["context"]["reason_admin"]
    assert (response["decision"], reason["code"]) == (False, "ledger_unverified")
    assert "policies/guardrails.cedar: changed since signing" in reason["message"]


def test_a_change_dropping_a_forbid_is_caught_by_diff_and_by_the_suites(
    sample_repo: LedgerRepo,
) -> None:
    runner = CliRunner()
    root = sample_repo.root
    sample_repo.tag("v1.0.0")
    guardrails = root / "policies" / "guardrails.cedar"
    text = guardrails.read_text(encoding="utf-8")
    start, end = text.index("// Restricted material"), text.index("// Archived documents")
    guardrails.write_text(text[:start] + text[end:], encoding="utf-8")

    diff = runner.invoke(
        app,
        ["policy", "diff", "v1.0.0", "--ledger", str(root), "--fail-on-widening", "-f", "json"],
    )
    assert diff.exit_code == 1, diff.stderr
    report = json.loads(diff.stdout)
    assert report["summary"]["widening"] is True
    assert [(c["id"], c["kind"], c["impact"]) for c in report["policy_changes"]] == [
        ("restricted-owner-only", "removed", "widening")
    ]
    flips = [
        (f["request"], f["base"]["code"], f["target"]["code"]) for f in report["decision_flips"]
    ]
    assert flips == [('User::"carol" read Document::"roadmap"', "policy_denied", "allowed")]

    worktree = runner.invoke(app, ["test", str(root), "-k", "roadmap", "-f", "json"])
    assert worktree.exit_code == 1
    cases = [c for s in json.loads(worktree.stdout)["suites"] for c in s["cases"]]
    # Both roadmap cases name restricted-owner-only as the determining policy.
    assert [c["id"] for c in cases if not c["passed"]] == [
        "assistant-delegation/the delegation does not bypass bob's restriction on his roadmap",
        "direct-access/a forbid beats a permit - even a finance admin cannot read bob's "
        "restricted roadmap",
    ]
    released = runner.invoke(app, ["test", str(root), "--rev", "v1.0.0", "--threshold", "100"])
    assert released.exit_code == 0, released.stdout
