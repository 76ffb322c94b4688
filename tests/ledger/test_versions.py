"""Version tags: semver parsing and order, describe, dirty detection, tagging and bump gates."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from dulwich.objects import Commit
from hypothesis import given
from hypothesis import strategies as st

from tests.support.repo import AUTHOR, FIXED_TIME, LedgerRepo
from tests.support.signing import manifest, minimal_ledger
from ztauth_cli.errors import GitError
from ztauth_cli.ledger.versions import (
    BumpPart,
    SemVer,
    bump_version,
    create_version_tag,
    current_version,
    describe_version,
    is_dirty,
    parse_version_tag,
    version_tags,
)

WHEN = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _clock() -> datetime:
    return WHEN


@pytest.fixture
def repo(ledger_repo: LedgerRepo) -> LedgerRepo:
    ledger_repo.write(minimal_ledger())
    ledger_repo.commit("initial ledger")
    return ledger_repo


def _side_commit(repo: LedgerRepo) -> str:
    """A commit that is not reachable from HEAD (as on another branch)."""
    head = repo.repo[repo.repo.head()]
    commit = Commit()
    commit.tree = head.tree
    commit.parents = [head.id]
    commit.author = commit.committer = AUTHOR
    commit.author_time = commit.commit_time = FIXED_TIME + 10_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"on a side branch\n"
    repo.repo.object_store.add_object(commit)
    return commit.id.decode()


# ----------------------------------------------------------------------------- semver


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v1.2.3", SemVer(major=1, minor=2, patch=3)),
        ("v0.0.0", SemVer(major=0, minor=0, patch=0)),
        ("v1.0.0-rc.1", SemVer(major=1, minor=0, patch=0, pre=("rc", "1"))),
        ("v1.0.0+build.7", SemVer(major=1, minor=0, patch=0, build=("build", "7"))),
        ("1.2.3", None),
        ("v1.2", None),
        ("v01.2.3", None),
        ("v1.2.3-", None),
        ("v1.2.3-01", None),
        ("release-1", None),
    ],
    ids=lambda v: str(v),
)
def test_parse_version_tag(name: str, expected: SemVer | None) -> None:
    assert parse_version_tag(name) == expected
    if expected is not None:
        assert str(parse_version_tag(name)) == name


def test_semver_precedence_follows_the_spec() -> None:
    # Semantic Versioning 2.0.0, rule 11's own example, plus numeric (not text) ordering.
    ordered = [
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.9.0",
        "v1.10.0",
        "v2.0.0",
    ]
    parsed = [parse_version_tag(n) for n in reversed(ordered)]
    assert [str(v) for v in sorted(v for v in parsed if v is not None)] == ordered


@pytest.mark.parametrize(
    ("start", "part", "expected"),
    [
        ("v1.4.2", "major", "v2.0.0"),
        ("v1.4.2", "minor", "v1.5.0"),
        ("v1.4.2", "patch", "v1.4.3"),
        ("v2.0.0-rc.1", "major", "v2.0.0"),
        ("v1.5.0-rc.1", "minor", "v1.5.0"),
        ("v1.5.0-rc.1", "major", "v2.0.0"),
        ("v1.4.3-rc.1", "patch", "v1.4.3"),
    ],
)
def test_bump_arithmetic(start: str, part: str, expected: str) -> None:
    version = parse_version_tag(start)
    assert version is not None
    assert str(version.bump(BumpPart(part))) == expected


# ----------------------------------------------------------------------------- describe


def test_describe_before_any_tag(repo: LedgerRepo) -> None:
    head = repo.repo.head().decode()
    assert describe_version(repo.root) == f"v0.0.0+1.g{head[:7]}"


def test_describe_at_and_past_a_tag(repo: LedgerRepo) -> None:
    repo.tag("v1.4.0")
    assert describe_version(repo.root) == "v1.4.0"
    repo.write({"policies/more.cedar": '@id("more")\nforbid(principal, action, resource);\n'})
    repo.commit("more")
    repo.write({"policies/more.cedar": '@id("more")\nforbid(principal, action, resource)\n;'})
    sha = repo.commit("even more")
    assert describe_version(repo.root) == f"v1.4.0+2.g{sha[:7]}"
    current = current_version(repo.root)
    assert current is not None
    assert (current.tag, current.distance, current.commit, current.dirty) == (
        "v1.4.0",
        2,
        sha,
        False,
    )


def test_describe_dirty(repo: LedgerRepo) -> None:
    repo.tag("v1.0.0")
    (repo.root / "policies/read.cedar").write_text("// edited\n")
    assert describe_version(repo.root) == "v1.0.0+dirty"
    repo.commit("edit")
    (repo.root / "tests/reading.yaml").unlink()
    sha = repo.repo.head().decode()
    assert describe_version(repo.root) == f"v1.0.0+1.g{sha[:7]}.dirty"


def test_files_outside_the_ledger_never_make_it_dirty(ledger_repo: LedgerRepo) -> None:
    ledger_repo.write({f"ledgers/mini/{k}": v for k, v in minimal_ledger().items()})
    ledger_repo.write({"README.md": "repo readme\n", "ledgers/mini/NOTES.md": "notes\n"})
    ledger_repo.commit("ledger in a subfolder")
    ledger_repo.tag("v0.1.0")
    root = ledger_repo.root / "ledgers/mini"
    (ledger_repo.root / "README.md").write_text("changed\n")
    (root / "NOTES.md").write_text("changed, but not a ledger file\n")
    (ledger_repo.root / "other.txt").write_text("new\n")
    assert not is_dirty(root)
    assert describe_version(root) == "v0.1.0"
    (root / "entities").mkdir()
    (root / "entities/users.json").write_text("[]\n")
    assert is_dirty(root)


def test_highest_reachable_tag_wins(repo: LedgerRepo) -> None:
    repo.tag("v1.0.0")
    repo.tag("v0.9.0")  # an older line tagged later at the same commit
    side = _side_commit(repo)
    repo.repo.refs[b"refs/tags/v9.0.0"] = side.encode()  # not reachable from HEAD
    assert describe_version(repo.root) == "v1.0.0"


def test_describe_outside_git_is_none(tmp_path: Path) -> None:
    (tmp_path / "ztauth.yaml").write_text(manifest())
    assert describe_version(tmp_path) is None


# ----------------------------------------------------------------------------- tags


def test_version_tags_sorted_by_semver_with_dates(repo: LedgerRepo) -> None:
    repo.tag("v1.10.0")
    repo.tag("v1.9.0")
    repo.tag("latest")  # not a version
    head = repo.repo.head()
    repo.repo.refs[b"refs/tags/v0.1.0"] = head  # lightweight
    tags = version_tags(repo.root)
    assert [t.name for t in tags] == ["v0.1.0", "v1.9.0", "v1.10.0"]
    assert [t.annotated for t in tags] == [False, True, True]
    assert {t.commit for t in tags} == {head.decode()}
    assert tags[1].date == "2026-05-28T20:27:40Z"
    assert tags[1].tagger == AUTHOR.decode()


def test_create_version_tag_uses_the_repository_identity(repo: LedgerRepo) -> None:
    tag = create_version_tag(repo.root, "v1.0.0", message="first", now=_clock)
    assert (tag.name, tag.annotated, tag.date) == ("v1.0.0", True, "2026-06-01T12:00:00Z")
    assert tag.tagger == AUTHOR.decode()  # HEAD's committer: no user.* in the repo config
    assert tag.message == "first\n"
    config = repo.repo.get_config()
    config.set((b"user",), b"name", b"Release Bot")
    config.set((b"user",), b"email", b"release@example.test")
    config.write_to_path()
    second = create_version_tag(repo.root, "v1.0.1", now=_clock)
    assert second.tagger == "Release Bot <release@example.test>"
    assert second.message == "ledger v1.0.1\n"


def test_a_released_tag_never_moves(repo: LedgerRepo) -> None:
    create_version_tag(repo.root, "v1.0.0", now=_clock)
    repo.write({"policies/read.cedar": "// changed\n"})
    repo.commit("change")
    with pytest.raises(GitError, match=r"tag v1\.0\.0 already exists; a released version is never"):
        create_version_tag(repo.root, "v1.0.0", now=_clock)
    with pytest.raises(GitError, match="'release' is not a version tag"):
        create_version_tag(repo.root, "release", now=_clock)


# ----------------------------------------------------------------------------- bump


def test_bump_creates_the_next_tag(repo: LedgerRepo) -> None:
    first = bump_version(repo.root, "minor", now=_clock)
    assert (first.previous, first.version, first.refused) == (None, "v0.1.0", ())
    assert first.tag is not None
    assert first.tag.commit == repo.repo.head().decode()
    repo.write({"policies/read.cedar": "// changed\n"})
    repo.commit("change")
    second = bump_version(repo.root, BumpPart.PATCH, message="fix", now=_clock)
    assert (second.previous, second.version) == ("v0.1.0", "v0.1.1")
    assert [t.name for t in version_tags(repo.root)] == ["v0.1.0", "v0.1.1"]


def test_bump_refusals_are_all_reported(repo: LedgerRepo) -> None:
    repo.tag("v1.0.0")
    side = _side_commit(repo)
    repo.repo.refs[b"refs/tags/v2.0.0"] = side.encode()
    (repo.root / "policies/read.cedar").write_text("// uncommitted\n")
    calls: list[tuple[Path, str]] = []

    def gate(root: Path, head: str) -> str | None:
        calls.append((root, head))
        return "lint: 1 problem(s) at HEAD"

    result = bump_version(repo.root, "major", gates=(gate,), now=_clock)
    head = repo.repo.head().decode()
    assert result.tag is None
    assert result.refused == (
        "the ledger has uncommitted changes; a version names a commit, so commit first",
        f"HEAD ({head[:7]}) is already released as v1.0.0",
        "tag v2.0.0 already exists; a released version is never moved",
        "lint: 1 problem(s) at HEAD",
    )
    assert calls == [(repo.root, head)]
    assert [t.name for t in version_tags(repo.root)] == ["v1.0.0", "v2.0.0"]


def test_bump_with_a_derived_part(repo: LedgerRepo) -> None:
    repo.tag("v1.2.3")
    repo.write({"policies/read.cedar": "// changed\n"})
    head = repo.commit("change")
    seen: list[tuple[SemVer | None, str]] = []

    def derive(root: Path, base: SemVer | None, at: str) -> str:
        seen.append((base, at))
        return "major"

    result = bump_version(repo.root, None, derive=derive, now=_clock)
    assert result.version == "v2.0.0"
    assert seen == [(SemVer(major=1, minor=2, patch=3), head)]


_IDENT = st.one_of(
    st.integers(min_value=0, max_value=50).map(str),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=5),
)
_VERSIONS = st.builds(
    SemVer,
    major=st.integers(min_value=0, max_value=20),
    minor=st.integers(min_value=0, max_value=20),
    patch=st.integers(min_value=0, max_value=20),
    pre=st.lists(_IDENT, max_size=3).map(tuple),
)


@given(_VERSIONS)
def test_every_version_round_trips_through_its_tag_name(version: SemVer) -> None:
    assert parse_version_tag(str(version)) == version
    assert str(parse_version_tag(str(version))) == str(version)


@given(_VERSIONS, st.sampled_from(list(BumpPart)))
def test_a_bump_always_moves_forward(version: SemVer, part: BumpPart) -> None:
    bumped = version.bump(part)
    assert bumped > version
    assert bumped.pre == ()


def test_describe_a_revision(repo: LedgerRepo) -> None:
    first = repo.repo.head().decode()
    repo.tag("v1.4.0")
    repo.write({"policies/more.cedar": '@id("more")\nforbid(principal, action, resource);\n'})
    second = repo.commit("more")
    repo.write({"policies/more.cedar": "// third\n"})
    repo.commit("third")
    (repo.root / "policies/read.cedar").write_text("// edited\n")
    at_tag = current_version(repo.root, rev="v1.4.0")
    assert at_tag is not None
    assert (at_tag.version, at_tag.commit, at_tag.dirty) == ("v1.4.0", first, False)
    back = current_version(repo.root, rev="HEAD^")
    assert back is not None
    assert (back.version, back.distance, back.dirty) == (f"v1.4.0+1.g{second[:7]}", 1, False)
    head = current_version(repo.root)
    assert head is not None
    assert head.dirty
    with pytest.raises(GitError, match="unknown revision"):
        current_version(repo.root, rev="nope")
