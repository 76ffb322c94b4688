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
    # At the unknown key itself (the document it belongs to starts at 6:1).
    assert str(info.value.span) == "trust/t.yaml:11:1"


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


def _problems(root: Path) -> list[str]:
    return [str(p) for p in load(root, tolerant=True).problems]


def test_symlink_outside_the_ledger_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("x: 1\n")
    ledger = tmp_path / "ledger"
    write_files(ledger, {"ztauth.yaml": MANIFEST})
    (ledger / "trust").mkdir()
    (ledger / "trust" / "evil.yaml").symlink_to(outside)
    assert _problems(ledger) == [
        "trust/evil.yaml:1:1: symlink points outside the ledger; refusing to read it"
    ]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/big.yaml": "#" * (1024 * 1024 + 1)})
    assert _problems(tmp_path) == [
        "trust/big.yaml:1:1: file is 1048577 bytes; the limit for a ledger file is 1048576 bytes"
    ]


def test_invalid_utf8_names_line_and_column(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": b"a: 1\nb: \xff\n"})
    assert _problems(tmp_path) == ["trust/t.yaml:2:4: invalid UTF-8 (byte 0xff)"]


def test_reference_escaping_the_ledger_is_refused(tmp_path: Path) -> None:
    issuer = (
        "apiVersion: ztauth/v1\nkind: Issuer\nname: https://idp\njwks: ../../etc/keys.json\n"
        "algorithms: [EdDSA]\nissues: [txn]\n"
    )
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/i.yaml": issuer})
    assert _problems(tmp_path) == [
        "trust/i.yaml:4:7: file reference '../../etc/keys.json' must stay inside the ledger "
        "(no '/' prefix or '..')"
    ]


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"ztauth.yaml": MANIFEST, "trust/a.yaml": TRUST, "trust/b.yaml": TRUST},
    )
    assert _problems(tmp_path) == [
        # At the name: keys, not the documents' first lines.
        "trust/b.yaml:3:1: duplicate trust level 'attested' (first defined at trust/a.yaml:3:1)",
        "trust/b.yaml:8:1: duplicate security group 'workers' (first defined at trust/a.yaml:8:1)",
    ]


def test_bad_ztid_in_manifest(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST.replace("acme.internal", "Acme.internal")})
    problems = _problems(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("ztauth.yaml:4:9: ZTID 'ztauth://Acme.internal/")


def test_ledger_in_a_subfolder_of_a_repository(ledger_repo: LedgerRepo) -> None:
    ledger_repo.write({"policy/ztauth.yaml": MANIFEST, "policy/trust/t.yaml": TRUST})
    ledger_repo.write({"src/app.py": "print('hi')\n"})
    sha = ledger_repo.commit("ledger lives in policy/")
    ledger = load(ledger_repo.root / "policy", rev="HEAD")
    assert ledger.revision == sha
    assert sorted(f.path for f in ledger.files) == ["trust/t.yaml", "ztauth.yaml"]


def test_unknown_revision_is_a_git_error(ledger_repo: LedgerRepo) -> None:
    from ztauth_cli.errors import GitError

    ledger_repo.write({"ztauth.yaml": MANIFEST})
    ledger_repo.commit()
    with pytest.raises(GitError, match=r"unknown revision 'v9\.9\.9'"):
        load(ledger_repo.root, rev="v9.9.9")


def test_control_character_is_a_document_error_with_position(tmp_path: Path) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": "a: 1\nb: \x00\n"})
    assert _problems(tmp_path) == [
        "trust/t.yaml:2:4: invalid YAML: control character #x0000 is not allowed"
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tests/deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("entities/deep.json", "[" * 100_000 + "]" * 100_000),
    ],
    ids=["yaml", "json"],
)
def test_absurd_nesting_is_a_document_error(tmp_path: Path, name: str, text: str) -> None:
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, name: text})
    problems = _problems(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}:1:")
    assert "nesting" in problems[0]


def test_documents_carry_the_span_of_each_field(tmp_path: Path) -> None:
    group = TRUST.replace(
        'members: ["spiffe://acme.internal/w/*"]', "members:\n  - a\n  - b\n  - c"
    )
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": group})
    ledger = load(tmp_path)
    [workers] = ledger.groups
    assert str(workers.span) == "trust/t.yaml:6:1"
    assert str(workers.fields["trust_level"]) == "trust/t.yaml:9:1"  # the key's line
    assert str(workers.fields["members"]) == "trust/t.yaml:10:1"
    assert str(workers.fields["members.2"]) == "trust/t.yaml:13:5"  # a sequence item
    assert "members.3" not in workers.fields
    # Positions are not part of the value: the same group elsewhere is equal.
    moved = type(workers)(
        span=workers.span,
        name=workers.name,
        trust_level=workers.trust_level,
        members=workers.members,
        revoked=workers.revoked,
    )
    assert moved == workers
    assert hash(moved) == hash(workers)


def test_unknown_fields_point_at_the_first_unknown_key_missing_ones_at_the_mapping(
    tmp_path: Path,
) -> None:
    extra = TRUST.replace("rank: 2\n", "zeta: 1\nrank: 2\nalpha: 2\n")
    write_files(tmp_path, {"ztauth.yaml": MANIFEST, "trust/t.yaml": extra})
    [unknown] = _problems(tmp_path)
    # 'alpha' sorts first in the message, but 'zeta' comes first in the file.
    assert unknown.startswith("trust/t.yaml:4:1: TrustLevel: unknown fields 'alpha', 'zeta'")
    missing = TRUST.replace("rank: 2\n", "")
    write_files(tmp_path, {"trust/t.yaml": missing})
    [required] = _problems(tmp_path)
    assert required.startswith("trust/t.yaml:1:1: TrustLevel: 'rank' is a required property")


def test_load_without_suites_parses_no_suite_and_keeps_the_evaluated_set() -> None:
    sample = Path(__file__).resolve().parents[2] / "sample-ledger"
    full = load(sample)
    lean = load(sample, suites=False)
    assert full.suites
    assert lean.suites == ()
    # What eval reads, and what signatures cover, is the same either way.
    assert lean.evaluated_paths == full.evaluated_paths
    assert lean.policy_files == full.policy_files
