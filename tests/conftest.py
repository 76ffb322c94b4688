"""Shared fixtures: the sample ledger, real Git repositories, the CLI runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo

# Property tests never fail on timing (a loaded CI machine is slow, not wrong), and in CI they
# draw the same examples every run, so a red build is reproducible.
settings.register_profile("ztauth", deadline=None, print_blob=True)
settings.register_profile("ztauth-ci", parent=settings.get_profile("ztauth"), derandomize=True)
settings.load_profile("ztauth-ci" if os.environ.get("CI") else "ztauth")

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LEDGER = REPO_ROOT / "sample-ledger"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of sample-ledger/ (not a Git repository)."""
    target = tmp_path / "ledger"
    shutil.copytree(SAMPLE_LEDGER, target)
    return target


@pytest.fixture
def ledger_repo(tmp_path: Path) -> Iterator[LedgerRepo]:
    """An empty real Git repository (dulwich) to build ledger histories in."""
    repo = LedgerRepo(tmp_path / "repo")
    yield repo
    repo.close()


@pytest.fixture
def sample_repo(tmp_path: Path) -> Iterator[LedgerRepo]:
    """sample-ledger/ committed as the first commit of a real Git repository."""
    repo = LedgerRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_LEDGER, repo.root, dirs_exist_ok=True)
    repo.commit("initial ledger")
    yield repo
    repo.close()
