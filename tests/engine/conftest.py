"""Engine fixtures: one test ledger and one set of issuer keys per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.ledger import Keys, write_ledger
from ztauth_cli.engine import Evaluator
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.generate()


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    return write_ledger(tmp_path_factory.mktemp("engine") / "ledger", keys)


@pytest.fixture(scope="module")
def ledger(ledger_dir: Path) -> Ledger:
    return load(ledger_dir)


@pytest.fixture(scope="module")
def evaluator(ledger: Ledger) -> Evaluator:
    return Evaluator.from_ledger(ledger)
