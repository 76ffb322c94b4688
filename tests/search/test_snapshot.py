"""Access snapshots through the CLI: the sample ledger's holds, any access granted or lost
fails `ztauth test` with a readable diff, and `--update-snapshots` / `search snapshot` write
them; lint knows the kind.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ztauth_cli.cli.main import app
from ztauth_cli.ledger import load

AT = "2026-06-01T12:00:00Z"
SNAPSHOT = "tests/access.snapshot.yaml"
NEW_DELEGATION = """apiVersion: ztauth/v1
kind: Delegation
id: dave-export-reads
delegator: {type: User, id: dave}
delegate: {workload: "spiffe://acme.internal/reporting/export"}
scope: {actions: [read], resources: {type: Document}}
consent: {required: true, issuer: https://idp.acme.internal}
max_depth: 0
"""
PARTNER = "spiffe://partner.example/summarizer"


def _test(runner: CliRunner, ledger: Path, *args: str) -> object:
    return runner.invoke(app, ["test", str(ledger), *args])


def test_the_sample_ledger_matches_its_snapshot(runner: CliRunner, sample_copy: Path) -> None:
    result = _test(runner, sample_copy)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "61 passed, 0 failed"
    assert (
        f"access snapshot acme-access ({SNAPSHOT}): unchanged (38 access, 44 acting)"
        in result.stderr
    )


def test_a_new_delegation_fails_the_suites_with_the_access_it_adds(
    runner: CliRunner, sample_copy: Path
) -> None:
    (sample_copy / "trust" / "dave.yaml").write_text(NEW_DELEGATION, encoding="utf-8")
    result = _test(runner, sample_copy)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "61 passed, 0 failed"
    assert result.stderr.splitlines() == [
        f"access snapshot acme-access ({SNAPSHOT}): 1 granted but not listed, "
        "0 listed but no longer granted",
        '  + spiffe://acme.internal/reporting/export acts for User::"dave": read '
        'Document::"handbook" via delegation/dave-export-reads',
        "hint: review the change; if intended, run 'ztauth test --update-snapshots' and commit "
        "the snapshot",
    ]


def test_a_new_group_member_fails_the_suites(runner: CliRunner, sample_copy: Path) -> None:
    groups = sample_copy / "trust" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    groups.write_text(
        text.replace(
            'members: ["spiffe://acme.internal/assistant/*"]',
            f'members: ["spiffe://acme.internal/assistant/*", "{PARTNER}"]',
        ),
        encoding="utf-8",
    )
    result = _test(runner, sample_copy)
    assert result.exit_code == 1
    added = [line for line in result.stderr.splitlines() if line.startswith("  + ")]
    assert added
    assert all(line.startswith(f"  + {PARTNER} acts for User::") for line in added)
    assert (
        f'  + {PARTNER} acts for User::"alice": read Document::"q3-report" '
        "via delegation/user-assistant-read"
    ) in added


def test_lost_access_is_listed_with_a_minus(runner: CliRunner, sample_copy: Path) -> None:
    groups = sample_copy / "trust" / "groups.yaml"
    text = groups.read_text(encoding="utf-8")
    groups.write_text(
        text.replace(
            'revoked: ["spiffe://acme.internal/assistant/legacy"]',
            'revoked: ["spiffe://acme.internal/assistant/legacy", "spiffe://acme.internal/gateway/edge"]',
        ),
        encoding="utf-8",
    )
    result = _test(runner, sample_copy, "-k", "nothing-matches-this")
    assert result.exit_code == 2  # -k selects no case: snapshots are not checked under -k
    result = _test(runner, sample_copy)
    assert result.exit_code == 1
    removed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert removed
    assert all("spiffe://acme.internal/gateway/edge acts for" in line for line in removed)


def test_update_snapshots_rewrites_and_the_run_passes_again(
    runner: CliRunner, sample_copy: Path
) -> None:
    (sample_copy / "trust" / "dave.yaml").write_text(NEW_DELEGATION, encoding="utf-8")
    update = _test(runner, sample_copy, "--update-snapshots")
    assert update.exit_code == 0, update.output
    assert update.stderr == f"wrote {SNAPSHOT}: 38 access, 45 acting (563 evaluations)\n"
    (snapshot,) = load(sample_copy).snapshots
    assert (
        'spiffe://acme.internal/reporting/export acts for User::"dave": read '
        'Document::"handbook" via delegation/dave-export-reads'
    ) in snapshot.acting
    assert snapshot.context == {"channel": "orders-queue"}
    again = _test(runner, sample_copy)
    assert again.exit_code == 0, again.output
    refused = _test(runner, sample_copy, "--update-snapshots", "--rev", "HEAD")
    assert refused.exit_code == 2
    assert "cannot be combined with --rev" in refused.stderr


def test_search_snapshot_writes_a_snapshot_lint_accepts(
    runner: CliRunner, sample_copy: Path
) -> None:
    target = sample_copy / "tests" / "billing.snapshot.yaml"
    result = runner.invoke(
        app,
        [
            "search",
            "snapshot",
            str(target),
            "--ledger",
            str(sample_copy),
            "--subject-type",
            "User",
            "--resource-type",
            "Invoice",
            "--action",
            "charge",
            "--action",
            "refund",
            "--context",
            '{"channel": "orders-queue"}',
            "--at",
            AT,
        ],
    )
    assert result.exit_code == 0, result.output
    text = target.read_text(encoding="utf-8")
    assert "kind: AccessSnapshot\nname: 'billing'\nat: 2026-06-01T12:00:00Z\n" in text
    assert '  - \'User::"alice" charge Invoice::"inv-1001"\'\n' in text
    lint = runner.invoke(app, ["policy", "lint", "--ledger", str(sample_copy)])
    assert lint.exit_code == 0, lint.output
    refreshed = runner.invoke(
        app, ["search", "snapshot", str(target), "--ledger", str(sample_copy)]
    )
    assert refreshed.exit_code == 0, refreshed.output
    assert target.read_text(encoding="utf-8") == text
    passing = _test(runner, sample_copy)
    assert passing.exit_code == 0, passing.output
    assert "access snapshot billing (tests/billing.snapshot.yaml): unchanged" in passing.stderr


def test_a_snapshot_needs_a_scope(runner: CliRunner, sample_copy: Path) -> None:
    result = runner.invoke(
        app,
        [
            "search",
            "snapshot",
            str(sample_copy / "tests" / "new.yaml"),
            "--ledger",
            str(sample_copy),
        ],
    )
    assert result.exit_code == 2
    assert "no access snapshot to refresh; give its scope" in result.stderr


def test_lint_reports_an_unknown_field_of_a_snapshot(runner: CliRunner, sample_copy: Path) -> None:
    path = sample_copy / SNAPSHOT
    path.write_text(
        path.read_text(encoding="utf-8").replace("subjects:", "subjetcs: [User]\nsubjects:"),
        encoding="utf-8",
    )
    lint = runner.invoke(app, ["policy", "lint", "--ledger", str(sample_copy)])
    assert lint.exit_code == 1
    assert f"{SNAPSHOT}:" in lint.stdout
    assert "subjetcs" in lint.stdout


def test_a_snapshot_is_not_signed_so_updating_it_keeps_signatures_valid() -> None:
    from tests.conftest import SAMPLE_LEDGER
    from ztauth_cli.ledger.signing.hash import signed_paths

    signed = signed_paths(load(SAMPLE_LEDGER))
    assert SNAPSHOT not in signed
    assert "trust/delegations.yaml" in signed
