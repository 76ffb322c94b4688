"""ztauth_cli.gates: the signature gate of eval/test and the release gates of version bump."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
from ztauth_cli.gates import release_gates, unverified_reason
from ztauth_cli.ledger import load

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def _require_signatures(root: Path) -> None:
    manifest = root / "ztauth.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(
        text.replace("require_signatures: 0", "require_signatures: 1"), encoding="utf-8"
    )


def test_no_signature_required_is_trusted(sample_copy: Path) -> None:
    assert unverified_reason(load(sample_copy), now=NOW) is None


def test_required_but_unsigned_is_the_reason(sample_copy: Path) -> None:
    _require_signatures(sample_copy)
    assert unverified_reason(load(sample_copy), now=NOW) == (
        "not verified: the ledger is unsigned (no .signatures.json)"
    )


def test_release_gates_pass_on_the_sample_and_name_the_signature_gap(
    ledger_repo: LedgerRepo,
) -> None:
    shutil.copytree(SAMPLE_LEDGER, ledger_repo.root, dirs_exist_ok=True)
    head = ledger_repo.commit("sample ledger")
    gates = release_gates(now=lambda: NOW)
    assert [gate(ledger_repo.root, head) for gate in gates] == [None, None, None]

    _require_signatures(ledger_repo.root)
    signed_head = ledger_repo.commit("require a signature")
    lint, tests, signatures = (
        gate(ledger_repo.root, signed_head) for gate in release_gates(now=lambda: NOW)
    )
    assert lint is None
    # Every case of a ledger that does not verify is deny ledger_unverified: the suites fail.
    assert tests is not None
    assert tests.startswith("tests: ")
    assert "case(s) fail at HEAD" in tests
    assert signatures == "signatures: not verified: the ledger is unsigned (no .signatures.json)"
