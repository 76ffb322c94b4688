"""`ztauth policy init`: a ledger that lints clean, a Git repository, no overwriting."""

from __future__ import annotations

from pathlib import Path

import pytest
from dulwich.repo import Repo
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo
from ztauth_cli.cli.main import app


@pytest.mark.parametrize("template", ["minimal", "delegation"])
def test_init_creates_a_lint_clean_ledger_and_a_repo(
    runner: CliRunner, tmp_path: Path, template: str
) -> None:
    target = tmp_path / "Payments Ledger"
    result = runner.invoke(app, ["policy", "init", str(target), "--template", template])
    assert result.exit_code == 0, result.stderr
    assert "created ledger 'payments-ledger'" in result.stdout
    for rel in (
        "ztauth.yaml",
        "schema.cedarschema",
        "policies/documents.cedar",
        "trust/levels.yaml",
        "keys/README.md",
        "tests/documents.yaml",
        ".pre-commit-config.yaml",
    ):
        assert (target / rel).is_file(), rel
    with Repo(str(target)) as repo:
        head = repo[repo.head()]
        assert head.message.startswith(b"Create ledger payments-ledger")
    lint = runner.invoke(app, ["policy", "lint", "--ledger", str(target), "--strict"])
    assert lint.exit_code == 0, lint.stdout
    assert lint.stdout == ""
    fmt = runner.invoke(app, ["policy", "fmt", "--check", "--ledger", str(target)])
    assert fmt.exit_code == 0, fmt.stdout


def test_delegation_template_ships_only_a_public_key(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "init", str(tmp_path / "l"), "--template", "delegation"])
    assert result.exit_code == 0
    text = (tmp_path / "l" / "keys" / "idp.jwks.json").read_text()
    assert '"d"' not in text
    assert '"x"' in text


def test_init_inside_a_repository_does_not_commit(
    runner: CliRunner, ledger_repo: LedgerRepo
) -> None:
    result = runner.invoke(app, ["policy", "init", str(ledger_repo.root / "ledger"), "--name", "x"])
    assert result.exit_code == 0, result.stderr
    assert "initialised a Git repository" not in result.stdout
    assert not (ledger_repo.root / "ledger" / ".git").exists()


def test_init_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["policy", "init", str(tmp_path)]).exit_code == 0
    manifest = (tmp_path / "ztauth.yaml").read_text()
    again = runner.invoke(app, ["policy", "init", str(tmp_path)])
    assert again.exit_code == 2
    assert "refusing to overwrite a ledger" in again.stderr
    assert (tmp_path / "ztauth.yaml").read_text() == manifest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Bad_Name"], "must be lower-case kebab-case"),
        (["--ledger", "ztauth://ACME/1/x"], "--ledger: ZTID"),
        (["--template", "nope"], "unknown template 'nope'"),
    ],
    ids=["name", "ztid", "template"],
)
def test_init_rejects_bad_options(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["policy", "init", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "x" / "ztauth.yaml").exists()
