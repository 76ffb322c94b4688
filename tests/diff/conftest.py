"""A real Git history for the diff tests: v1.0.0 = base ledger, HEAD = the four changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.diff.ledgers import base_files, changed_files
from tests.support.ledgers import public_jwks
from tests.support.repo import LedgerRepo


@dataclass(frozen=True)
class History:
    root: Path
    base_sha: str
    head_sha: str


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    repo = LedgerRepo(tmp_path_factory.mktemp("diff") / "repo")
    repo.write(base_files(public_jwks()))
    base = repo.commit("base ledger")
    repo.tag("v1.0.0")
    repo.write(changed_files())
    head = repo.commit("four changes")
    yield History(root=repo.root, base_sha=base, head_sha=head)
    repo.close()
