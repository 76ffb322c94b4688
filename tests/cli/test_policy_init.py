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
        "tests/elevation.yaml",
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


def test_init_in_a_subfolder_writes_hooks_for_the_repository_root(
    runner: CliRunner, ledger_repo: LedgerRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    import yaml

    monkeypatch.chdir(ledger_repo.root)
    result = runner.invoke(app, ["policy", "init", "auth/ledger", "--name", "x"])
    assert result.exit_code == 0, result.stderr
    assert "wrote .pre-commit-config.yaml (pre-commit reads it at the repository root)" in (
        result.stdout
    )
    assert not (ledger_repo.root / "auth" / "ledger" / ".pre-commit-config.yaml").exists()
    config = yaml.safe_load((ledger_repo.root / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert hooks["ztauth-lint"]["entry"] == "ztauth policy lint --ledger auth/ledger"
    assert hooks["ztauth-lint"]["pass_filenames"] is False
    assert hooks["ztauth-test"]["entry"] == "ztauth test --ledger auth/ledger"
    # files: patterns are matched against repository-root paths.
    assert re.search(hooks["ztauth-lint"]["files"], "auth/ledger/policies/documents.cedar")
    assert not re.search(hooks["ztauth-lint"]["files"], "policies/documents.cedar")
    assert re.search(hooks["ztauth-fmt"]["files"], "auth/ledger/policies/documents.cedar")


def test_init_leaves_an_existing_pre_commit_config_alone(
    runner: CliRunner, ledger_repo: LedgerRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ledger_repo.root)
    mine = "repos: []\n"
    (ledger_repo.root / ".pre-commit-config.yaml").write_text(mine)
    result = runner.invoke(app, ["policy", "init", "ledger", "--name", "x"])
    assert result.exit_code == 0, result.stderr
    assert (ledger_repo.root / ".pre-commit-config.yaml").read_text() == mine
    assert ".pre-commit-config.yaml already exists and was left alone; add these hooks" in (
        result.stdout
    )
    assert "entry: 'ztauth policy lint --ledger ledger'" in result.stdout


@pytest.mark.parametrize("template", ["minimal", "delegation"])
@pytest.mark.parametrize("where", ["here", "sub folder", "elsewhere"])
def test_next_hint_runs_as_printed_and_covers_everything(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: str,
    where: str,
) -> None:
    import shlex

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    target = {"here": ".", "sub folder": "sub folder/ledger", "elsewhere": str(tmp_path / "l")}
    args = ["policy", "init", target[where], "--name", "x", "--template", template]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    hint = result.stderr.split("next: ", 1)[1].strip()
    for command in hint.split(" && "):
        argv = shlex.split(command)
        assert argv[0] == "ztauth"
        ran = runner.invoke(app, argv[1:])
        assert ran.exit_code == 0, (command, ran.stdout, ran.stderr)
    # The last command is the test run: the template's own suites exercise all of it.
    assert "coverage 100%" in ran.stdout


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
