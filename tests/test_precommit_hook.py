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
from ztauth_cli.cli.main import app  # noqa: F401  (the CLI under test is importable)

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
    return subprocess.run(
        [PRE_COMMIT, "run", "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=_env(repo),
        timeout=900,
        check=False,
    )


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
