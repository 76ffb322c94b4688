"""Ledger history: commits that touched the ledger, tags, signature state, shallow clones."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
from tests.support.signing import NOW, manifest, minimal_ledger, sign
from ztauth_cli import jose
from ztauth_cli.errors import GitError
from ztauth_cli.ledger.history import ledger_log, revision_signature_state, version_rows
from ztauth_cli.ledger.signing.hash import digest

PREFIX = "ledgers/mini/"


@pytest.fixture(scope="module")
def key() -> jose.KeyPair:
    return jose.generate_key("EdDSA", kid="release")


@pytest.fixture
def history(ledger_repo: LedgerRepo, key: jose.KeyPair) -> dict[str, str]:
    """A repository whose ledger lives in ledgers/mini, with commits inside and outside it."""
    r = ledger_repo
    shas = {}
    r.write({"README.md": "a repository with more than a ledger\n"})
    shas["readme"] = r.commit("repository readme")
    r.write({PREFIX + k: v for k, v in minimal_ledger([key]).items()})
    shas["add"] = r.commit("add the ledger\n\nwith a body that is not the subject")
    sign(r.root / "ledgers/mini", key, now=NOW)
    shas["sign"] = r.commit("sign the ledger")
    r.tag("v1.0.0")
    r.write({"docs/guide.md": "outside the ledger\n"})
    shas["docs"] = r.commit("docs only")
    r.write({PREFIX + "policies/read.cedar": "// changed without re-signing\n"})
    shas["edit"] = r.commit("edit a policy")
    r.tag("v1.1.0")
    return shas


def test_log_lists_only_commits_that_changed_the_ledger(
    ledger_repo: LedgerRepo, history: dict[str, str]
) -> None:
    entries = ledger_log(ledger_repo.root / "ledgers/mini", now=NOW)
    assert [e.sha for e in entries] == [history["edit"], history["sign"], history["add"]]
    assert [e.subject for e in entries] == ["edit a policy", "sign the ledger", "add the ledger"]
    assert [e.tags for e in entries] == [("v1.1.0",), ("v1.0.0",), ()]
    assert [e.signature for e in entries] == ["invalid", "verified", "unsigned"]
    edited = digest(b"// changed without re-signing\n")
    assert entries[0].signature_reason is not None
    assert entries[0].signature_reason.startswith(
        "signature 1 (kid release): policies/read.cedar: changed since signing (expected "
    )
    assert entries[0].signature_reason.endswith(f", actual {edited})")
    assert entries[0].author == "Test Author <author@example.test>"
    assert entries[0].date == "2026-05-28T20:31:40Z"


def test_log_limit(ledger_repo: LedgerRepo, history: dict[str, str]) -> None:
    entries = ledger_log(ledger_repo.root / "ledgers/mini", limit=1, now=NOW)
    assert [e.sha for e in entries] == [history["edit"]]


def test_a_ledger_at_the_repository_root_sees_every_commit(
    ledger_repo: LedgerRepo, history: dict[str, str]
) -> None:
    # At the root, the "ledger folder" is the whole tree; the readme commit has no manifest.
    (ledger_repo.root / "ztauth.yaml").write_text(manifest())
    entries = ledger_log(ledger_repo.root, now=NOW)
    assert [e.sha for e in entries] == [
        history["edit"],
        history["docs"],
        history["sign"],
        history["add"],
        history["readme"],
    ]
    assert (entries[-1].signature, entries[-1].signature_reason) == (
        "unsigned",
        "no ledger (ztauth.yaml) at this revision",
    )


def test_shallow_clone_boundary_is_a_root(ledger_repo: LedgerRepo, history: dict[str, str]) -> None:
    # What a `git clone --depth 2` leaves: a shallow file naming the boundary commit, and the
    # boundary's parents absent.
    (ledger_repo.root / ".git" / "shallow").write_text(history["docs"] + "\n")
    entries = ledger_log(ledger_repo.root / "ledgers/mini", now=NOW)
    assert [e.sha for e in entries] == [history["edit"], history["docs"]]


def test_missing_parent_object_is_treated_as_a_root(
    ledger_repo: LedgerRepo, history: dict[str, str]
) -> None:
    sha = history["readme"]
    os.remove(ledger_repo.root / ".git" / "objects" / sha[:2] / sha[2:])
    entries = ledger_log(ledger_repo.root / "ledgers/mini", now=NOW)
    assert [e.sha for e in entries] == [history["edit"], history["sign"], history["add"]]


def test_a_commit_that_deletes_the_ledger_is_listed(
    ledger_repo: LedgerRepo, history: dict[str, str]
) -> None:
    ledger_repo.remove("ledgers")
    gone = ledger_repo.commit("retire the ledger")
    ledger_repo.write({PREFIX + k: v for k, v in minimal_ledger().items()})
    entries = ledger_log(ledger_repo.root / "ledgers/mini", limit=2, now=NOW)
    assert entries[0].sha == gone
    assert (entries[0].signature, entries[0].signature_reason) == (
        "unsigned",
        "no ledger (ztauth.yaml) at this revision",
    )


def test_version_rows(ledger_repo: LedgerRepo, history: dict[str, str]) -> None:
    rows = version_rows(ledger_repo.root / "ledgers/mini", now=NOW)
    assert [(r.tag.name, r.tag.commit, r.signature) for r in rows] == [
        ("v1.0.0", history["sign"], "verified"),
        ("v1.1.0", history["edit"], "invalid"),
    ]
    assert rows[0].signature_reason is None


def test_a_clone_reads_the_same_history(
    ledger_repo: LedgerRepo, history: dict[str, str], tmp_path: Path
) -> None:
    # A clone has packed objects and a remote; nothing may depend on either.
    from dulwich import porcelain

    target = tmp_path / "clone"
    porcelain.clone(
        str(ledger_repo.root), str(target), checkout=True, errstream=io.BytesIO()
    ).close()
    entries = ledger_log(target / "ledgers/mini", now=NOW)
    assert [e.sha for e in entries] == [history["edit"], history["sign"], history["add"]]
    assert [e.signature for e in entries] == ["invalid", "verified", "unsigned"]
    rows = version_rows(target / "ledgers/mini", now=NOW)
    assert [(r.tag.name, r.signature) for r in rows] == [
        ("v1.0.0", "verified"),
        ("v1.1.0", "invalid"),
    ]


def test_log_from_a_revision(ledger_repo: LedgerRepo, history: dict[str, str]) -> None:
    root = ledger_repo.root / "ledgers/mini"
    at_release = ledger_log(root, rev="v1.0.0", now=NOW)
    assert [e.sha for e in at_release] == [history["sign"], history["add"]]
    # A commit outside the ledger starts the walk but is not listed.
    from_docs = ledger_log(root, rev=history["docs"][:10], now=NOW)
    assert [e.sha for e in from_docs] == [history["sign"], history["add"]]
    assert [e.sha for e in ledger_log(root, rev="HEAD", now=NOW)] == [
        history["edit"],
        history["sign"],
        history["add"],
    ]
    assert ledger_log(root, rev="HEAD~4", now=NOW) == ()


def test_log_from_an_unknown_revision(ledger_repo: LedgerRepo, history: dict[str, str]) -> None:
    with pytest.raises(GitError, match=r"unknown revision 'v7\.0\.0'"):
        ledger_log(ledger_repo.root / "ledgers/mini", rev="v7.0.0", now=NOW)


def test_each_logged_state_is_that_of_the_whole_revision_loaded(
    ledger_repo: LedgerRepo, history: dict[str, str]
) -> None:
    """The log verifies each revision from its files alone; the verdict and reason must be
    those of the revision loaded in full, broken documents included."""
    ledger_repo.write({PREFIX + "trust/broken.yaml": "kind: [unclosed\n"})
    ledger_repo.commit("a broken trust document")
    root = ledger_repo.root / "ledgers/mini"
    entries = ledger_log(root, now=NOW)
    assert len(entries) == 4
    assert [(e.signature, e.signature_reason) for e in entries] == [
        revision_signature_state(root, e.sha, now=NOW) for e in entries
    ]
    rows = version_rows(root, now=NOW)
    assert [(r.signature, r.signature_reason) for r in rows] == [
        revision_signature_state(root, r.tag.commit, now=NOW) for r in rows
    ]


def test_a_revision_built_without_documents_signs_the_same_files_as_a_full_load(
    tmp_path: Path,
) -> None:
    """policy log / version list verify revisions built with documents=False: the signed set
    must be the full load's, or their verification would skip a file (a schema under tests/
    included)."""
    from ztauth_cli.ledger.load import build_ledger

    files = {
        p.relative_to(SAMPLE_LEDGER).as_posix(): p.read_bytes()
        for p in SAMPLE_LEDGER.rglob("*")
        if p.is_file()
    }
    manifest = files["ztauth.yaml"].decode()
    files["tests/extra.cedarschema"] = files.get("schema.cedarschema", b"")
    variants = [
        files,
        {
            **files,
            "ztauth.yaml": manifest.replace(
                "schema: schema.cedarschema", "schema: tests/extra.cedarschema"
            ).encode(),
        },
    ]
    for variant in variants:
        full = build_ledger(variant, root=".", revision=None)
        bare = build_ledger(variant, root=".", revision=None, documents=False)
        assert bare.evaluated_paths == full.evaluated_paths
