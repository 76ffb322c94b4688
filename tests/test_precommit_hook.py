"""The pre-commit hooks of this repository, run by the real pre-commit on a scratch repository.

pre-commit installs ztauth from the committed HEAD of this checkout into its own venv (with
dependencies from the package index): this takes about a minute, once per test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from ztauth_cli.cli.main import app

PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
GIT = shutil.which("git")

pytestmark = pytest.mark.skipif(
    GIT is None or not Path(PRE_COMMIT).exists(), reason="pre-commit or git is not installed"
)

BROKEN_POLICY = """\
@id("owner-can-read")
permit (principal, action == Action::"read", resource)
when { resource.owner == principal
"""
FIXED_POLICY = """\
@id("owner-can-read")
permit (
  principal,
  action == Action::"read",
  resource is Document
)
when { resource.owner == principal };
"""


def _head_sha() -> str:
    from dulwich.repo import Repo

    with Repo(str(REPO_ROOT)) as repo:
        return bytes(repo.head()).decode()


def _git(cwd: Path, *args: str) -> None:
    assert GIT is not None
    subprocess.run([GIT, *args], cwd=cwd, check=True, capture_output=True, env=_env(cwd))


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PRE_COMMIT_HOME"] = str(home.parent / "pre-commit-home")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["HOME"] = str(home.parent)
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "Test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@example.test"
    return env


def _run_hooks(repo: Path) -> subprocess.CompletedProcess[str]:
    return _pre_commit(repo, "run", "--all-files", env=_env(repo))


def test_hooks_fail_on_a_broken_policy_then_pass_once_fixed(tmp_path: Path) -> None:
    repo = tmp_path / "work"
    from ztauth_cli.lint.init import render_template

    files = render_template(
        "minimal", name="hooked", ztid="ztauth://example.internal/100000000000/ledgers/hooked"
    )
    for rel, text in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO_ROOT.as_posix()}\n    rev: {_head_sha()}\n"
        "    hooks:\n      - id: ztauth-lint\n      - id: ztauth-fmt\n",
        encoding="utf-8",
    )
    (repo / "policies" / "broken.cedar").write_text(BROKEN_POLICY, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")

    failed = _run_hooks(repo)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "policies/broken.cedar" in failed.stdout
    assert "ZT201" in failed.stdout

    (repo / "policies" / "broken.cedar").write_text(FIXED_POLICY, encoding="utf-8")
    _git(repo, "add", "-A")
    passed = _run_hooks(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "ztauth policy lint" in passed.stdout


# The ledger of the next tests has two lint errors: a Cedar syntax error (ZT201) in a policy,
# and a second broken policy file; a hook that reports "Passed" on it lies.
SECOND_BROKEN_POLICY = '@id("Not Kebab")\npermit (principal, action, resource)\n'


def _init_env(home: Path) -> dict[str, str]:
    """The hooks ``policy init`` writes are ``language: system``: the ztauth under test is
    found on PATH, as a user's installed one would be."""
    env = _env(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _pre_commit(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, *args, "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env if env is not None else _init_env(repo),
        timeout=900,
        check=False,
    )


@pytest.mark.parametrize("ledger_dir", [".", "ledger", "infra/auth ledger"])
def test_init_config_lints_the_ledger_wherever_it_sits(tmp_path: Path, ledger_dir: str) -> None:
    from typer.testing import CliRunner

    repo = tmp_path / "work"
    repo.mkdir()
    _git(repo, "init", "-q")
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        result = runner.invoke(app, ["policy", "init", ledger_dir, "--name", "hooked"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    ledger = repo / ledger_dir
    # pre-commit reads only the repository root's configuration; none is left in a subfolder.
    assert (repo / ".pre-commit-config.yaml").is_file()
    if ledger_dir != ".":
        assert not (ledger / ".pre-commit-config.yaml").exists()
    _git(repo, "add", "-A")
    clean = _pre_commit(repo, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ztauth policy lint" in clean.stdout
    assert "Skipped" not in clean.stdout  # every hook ran on the ledger

    (ledger / "policies" / "broken.cedar").write_text(BROKEN_POLICY, encoding="utf-8")
    (ledger / "policies" / "second.cedar").write_text(SECOND_BROKEN_POLICY, encoding="utf-8")
    _git(repo, "add", "-A")
    failed = _pre_commit(repo, "run", "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    lint_block = failed.stdout.split("ztauth policy lint", 1)[1].split("ztauth policy fmt", 1)[0]
    assert "Failed" in lint_block
    assert "broken.cedar" in lint_block
    assert "second.cedar" in lint_block

    # A commit that touches one unrelated ledger file still lints the whole ledger.
    (ledger / "policies" / "broken.cedar").write_text(FIXED_POLICY, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "two files")
    entities = ledger / "entities" / "people.json"
    entities.write_text(entities.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _git(repo, "add", "-A")
    staged = _pre_commit(repo, "run", "--hook-stage", "pre-commit")
    assert staged.returncode == 1, staged.stdout + staged.stderr
    assert "second.cedar" in staged.stdout
