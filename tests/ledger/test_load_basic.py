from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.repo import LedgerRepo, write_files
from ztauth_cli.errors import DocumentError, LedgerNotFound
from ztauth_cli.ledger import load

MANIFEST = """\
apiVersion: ztauth/v1
kind: Ledger
metadata: {name: demo}
ledger: ztauth://acme.internal/273165098782/ledgers/demo
"""

TRUST = """\
apiVersion: ztauth/v1
kind: TrustLevel
name: attested
rank: 2
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: workers
trust_level: attested
members: ["spiffe://acme.internal/w/*"]
"""


def test_loads_documents_with_spans(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": TRUST})
    ledger = load(tmp_path)
    assert ledger.manifest is not None
    assert ledger.manifest.name == "demo"
    assert [g.name for g in ledger.groups] == ["workers"]
    assert str(ledger.groups[0].span) == "trust/t.yaml:6:1"


def test_unknown_field_is_reported_with_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": TRUST + "colour: blue\n"})
    with pytest.raises(
        DocumentError, match=r"SecurityGroup: unknown field 'colour' \(allowed: "
    ) as info:
        load(tmp_path)
    assert str(info.value.span) == "trust/t.yaml:6:1"


def test_alias_is_refused(tmp_path: Path) -> None:
    bomb = "apiVersion: ztauth/v1\nkind: TrustLevel\nname: &n x\nrank: 1\ndescription: *n\n"
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": bomb})
    with pytest.raises(DocumentError, match="aliases"):
        load(tmp_path)


def test_no_ledger_found(tmp_path: Path) -> None:
    with pytest.raises(LedgerNotFound):
        load(tmp_path)


def test_reads_a_revision_without_touching_the_worktree(ledger_repo: LedgerRepo) -> None:
    ledger_repo.write({"ztauth.yaml": MANIFEST, "trust/t.yaml": TRUST})
    first = ledger_repo.commit("first")
    ledger_repo.write({"trust/t.yaml": TRUST.replace("workers", "builders")})
    ledger_repo.commit("rename group")
    ledger_repo.write({"trust/t.yaml": "broken: [\n"})
    old = load(ledger_repo.root, rev=first)
    assert [g.name for g in old.groups] == ["workers"]
    assert old.revision == first
    assert [g.name for g in load(ledger_repo.root, rev="HEAD").groups] == ["builders"]
    assert (ledger_repo.root / "trust/t.yaml").read_text() == "broken: [\n"
