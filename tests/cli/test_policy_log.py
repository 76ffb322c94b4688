"""`ztauth policy log` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo
from tests.support.schemas import assert_valid, report_body
from tests.support.signing import minimal_ledger, sign
from ztauth_cli import jose
from ztauth_cli.cli.main import app


@pytest.fixture(scope="module")
def key() -> jose.KeyPair:
    return jose.generate_key("EdDSA", kid="release")


@pytest.fixture
def shas(ledger_repo: LedgerRepo, key: jose.KeyPair) -> list[str]:
    r = ledger_repo
    r.write({f"ledger/{k}": v for k, v in minimal_ledger([key]).items()})
    first = r.commit("add the ledger")
    r.write({"ci.yaml": "outside the ledger\n"})
    r.commit("ci only")
    sign(r.root / "ledger", key)
    second = r.commit("sign the ledger")
    r.tag("v1.0.0")
    return [second, first]


def test_log_text(runner: CliRunner, ledger_repo: LedgerRepo, shas: list[str]) -> None:
    result = runner.invoke(app, ["policy", "log", "--ledger", str(ledger_repo.root / "ledger")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{shas[0][:7]} (v1.0.0) sign the ledger",
        "    2026-05-28T20:29:40Z  Test Author <author@example.test>  signatures verified",
        f"{shas[1][:7]} add the ledger",
        "    2026-05-28T20:27:40Z  Test Author <author@example.test>  signatures unsigned",
    ]


def test_log_json_and_limit(runner: CliRunner, ledger_repo: LedgerRepo, shas: list[str]) -> None:
    result = runner.invoke(
        app,
        ["policy", "log", "-n", "1", "-f", "json", "--ledger", str(ledger_repo.root / "ledger")],
    )
    assert result.exit_code == 0
    assert_valid(json.loads(result.stdout), "log-report")
    assert report_body(json.loads(result.stdout), "ztauth policy log") == {
        "commits": [
            {
                "sha": shas[0],
                "author": "Test Author <author@example.test>",
                "date": "2026-05-28T20:29:40Z",
                "subject": "sign the ledger",
                "tags": ["v1.0.0"],
                "signatures": "verified",
                "signatures_reason": None,
            }
        ]
    }


def test_log_of_a_shallow_clone(
    runner: CliRunner, ledger_repo: LedgerRepo, shas: list[str]
) -> None:
    (ledger_repo.root / ".git" / "shallow").write_text(shas[0] + "\n")
    result = runner.invoke(
        app, ["policy", "log", "-f", "json", "--ledger", str(ledger_repo.root / "ledger")]
    )
    assert result.exit_code == 0
    assert [c["sha"] for c in json.loads(result.stdout)["commits"]] == [shas[0]]


def test_log_outside_git_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "ztauth.yaml").write_text(str(minimal_ledger()["ztauth.yaml"]))
    result = runner.invoke(app, ["policy", "log", "--ledger", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not inside a Git repository" in result.stderr


def test_log_from_a_revision(runner: CliRunner, ledger_repo: LedgerRepo, shas: list[str]) -> None:
    ledger = str(ledger_repo.root / "ledger")
    ledger_repo.write({"ledger/policies/late.cedar": "// after the release\n"})
    late = ledger_repo.commit("after the release")
    result = runner.invoke(app, ["policy", "log", "--ledger", ledger, "-f", "json"])
    assert [c["sha"] for c in json.loads(result.stdout)["commits"]] == [late, *shas]
    # From the tag: the release and what led to it, not the later commit.
    result = runner.invoke(app, ["policy", "log", "--ledger", ledger, "--rev", "v1.0.0"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{shas[0][:7]} (v1.0.0) sign the ledger"
    assert len(result.stdout.splitlines()) == 4
    # HEAD~2 is the 'ci only' commit: only the first ledger commit is reachable and touched it.
    result = runner.invoke(
        app, ["policy", "log", "--ledger", ledger, "--rev", "HEAD~2", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert [c["sha"] for c in json.loads(result.stdout)["commits"]] == [shas[1]]


def test_log_from_an_unknown_revision_exits_2(
    runner: CliRunner, ledger_repo: LedgerRepo, shas: list[str]
) -> None:
    ledger = str(ledger_repo.root / "ledger")
    result = runner.invoke(app, ["policy", "log", "--ledger", ledger, "--rev", "v9.9.9"])
    assert result.exit_code == 2
    assert "unknown revision 'v9.9.9'" in result.stderr
