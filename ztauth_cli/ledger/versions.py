"""Ledger versions: annotated Git tags ``v<semver>`` (DESIGN.md, "Signing and versions").

A released tag never moves. ``describe_version`` names the working state of a ledger the way
``git describe`` would, in semver form: ``v1.4.0``, ``v1.4.0+3.g1a2b3c4`` (3 commits past the
newest version tag reachable from HEAD), ``+dirty`` / ``.dirty`` when the ledger's files in the
working tree differ from HEAD, and ``v0.0.0+N.g<sha>`` before the first release.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from enum import Enum, unique
from functools import total_ordering
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import GitError, UsageError, ZtauthError
from ztauth_cli.ledger import git
from ztauth_cli.ledger.load import find_ledger_root, read_revision_files, read_worktree_files
from ztauth_cli.model.record import record

if TYPE_CHECKING:
    from ztauth_cli.model import Ledger

__all__ = [
    "BumpPart",
    "BumpResult",
    "CurrentVersion",
    "Gate",
    "SemVer",
    "VersionTag",
    "bump_version",
    "create_version_tag",
    "current_version",
    "describe_version",
    "evaluated_version",
    "is_dirty",
    "parse_version_tag",
    "previous_version_tag",
    "rfc3339",
    "to_version_tags",
    "version_tags",
]

# Semantic Versioning 2.0.0, section 9-10 (the regex the spec itself recommends), behind "v".
_SEMVER = re.compile(
    r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


@unique
class BumpPart(str, Enum):
    """Which part of the version a bump increments."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"


@total_ordering
@record(frozen=True, slots=True, kw_only=True)
class SemVer:
    """A semantic version; ordering is semver precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(self.pre)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def _key(self) -> tuple[Any, ...]:
        # A pre-release sorts before its release; numeric identifiers sort numerically and
        # before alphanumeric ones (semver 2.0.0, rule 11).
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, part: BumpPart | str) -> SemVer:
        """The next release: a pre-release is released first (``v2.0.0-rc.1`` + major ->
        ``v2.0.0``), as npm and Cargo do; otherwise the part is incremented and lower parts reset.
        """
        part = BumpPart(part)
        if part is BumpPart.MAJOR:
            if self.pre and self.minor == 0 and self.patch == 0:
                return SemVer(major=self.major, minor=0, patch=0)
            return SemVer(major=self.major + 1, minor=0, patch=0)
        if part is BumpPart.MINOR:
            if self.pre and self.patch == 0:
                return SemVer(major=self.major, minor=self.minor, patch=0)
            return SemVer(major=self.major, minor=self.minor + 1, patch=0)
        if self.pre:
            return SemVer(major=self.major, minor=self.minor, patch=self.patch)
        return SemVer(major=self.major, minor=self.minor, patch=self.patch + 1)


def parse_version_tag(name: str) -> SemVer | None:
    """The version of a tag called ``v<semver>``, or ``None`` for any other tag name."""
    match = _SEMVER.fullmatch(name)
    if match is None:
        return None
    return SemVer(
        major=int(match["major"]),
        minor=int(match["minor"]),
        patch=int(match["patch"]),
        pre=tuple(match["pre"].split(".")) if match["pre"] else (),
        build=tuple(match["build"].split(".")) if match["build"] else (),
    )


@record(frozen=True, slots=True, kw_only=True)
class VersionTag:
    """A version tag: its semver, the commit it names and when it was made."""

    name: str
    version: SemVer
    commit: str
    annotated: bool
    date: str  # RFC 3339, in the tagger's (or, for a lightweight tag, committer's) offset
    tagger: str | None
    message: str | None


def rfc3339(timestamp: int, offset_seconds: int = 0) -> str:
    """``timestamp`` (Unix seconds) as RFC 3339 in the given UTC offset (``Z`` for UTC)."""
    tz = timezone(timedelta(seconds=offset_seconds))
    text = datetime.fromtimestamp(timestamp, tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _repo_for(root: Path) -> tuple[Path, str]:
    repo_root = git.find_repo_root(root)
    if repo_root is None:
        raise GitError(
            f"{root} is not inside a Git repository; versions are Git tags",
            hint="run 'git init' and commit the ledger first",
        )
    return repo_root, git.relpath_in_repo(repo_root, root)


def version_tags(root: Path) -> tuple[VersionTag, ...]:
    """Every ``v<semver>`` tag of the repository holding ``root``, sorted by semver.

    Raises:
        GitError: when ``root`` is not inside a readable repository.
    """
    repo_root, _ = _repo_for(root)
    repo = git.open_repo(repo_root)
    try:
        tags = git.list_tags(repo)
    finally:
        repo.close()
    return to_version_tags(tags)


def to_version_tags(tags: tuple[git.TagInfo, ...]) -> tuple[VersionTag, ...]:
    """The ``v<semver>`` tags among ``tags``, sorted by semver (other tags are dropped)."""
    result = []
    for tag in tags:
        version = parse_version_tag(tag.name)
        if version is None:
            continue
        result.append(
            VersionTag(
                name=tag.name,
                version=version,
                commit=tag.commit,
                annotated=tag.annotated,
                date=rfc3339(tag.time, tag.tz),
                tagger=tag.tagger,
                message=tag.message,
            )
        )
    return tuple(sorted(result, key=lambda v: (v.version, v.name)))


def previous_version_tag(root: Path, commit: str) -> str | None:
    """The newest version tag (by semver) reachable from ``commit`` and not naming it; None
    when there is none. ``policy verify --rev`` compares the signature gate with it.

    Raises:
        GitError: when ``root`` is not inside a readable repository.
    """
    repo_root, _ = _repo_for(root)
    repo = git.open_repo(repo_root)
    try:
        history = git.ancestors(repo, commit)
        tags = to_version_tags(git.list_tags(repo))
    finally:
        repo.close()
    earlier = [t for t in tags if t.commit in history and t.commit != commit]
    return max(earlier, key=lambda t: t.version).name if earlier else None


def is_dirty(root: Path) -> bool:
    """True when the ledger's files in the working tree differ from HEAD, byte for byte.

    Only ledger files count (``is_ledger_file``): other files of the repository, inside the
    ledger folder or not, never make a version dirty. A repository without commits is dirty.

    Raises:
        GitError: when ``root`` is not inside a readable repository.
    """
    _repo_for(root)
    worktree, _problems = read_worktree_files(root)
    try:
        head, _rev_problems, _sha = read_revision_files(root, "HEAD")
    except GitError:
        return True
    return worktree != head


@record(frozen=True, slots=True, kw_only=True)
class CurrentVersion:
    """What ``describe_version`` computed, as parts (for JSON output)."""

    version: str
    tag: str | None
    distance: int
    commit: str | None
    dirty: bool


def current_version(root: Path, *, rev: str | None = None) -> CurrentVersion | None:
    """Describe the ledger at ``root`` as of ``rev`` (default: HEAD and the working tree);
    ``None`` when the repository has no commit yet. A revision is never dirty: only the
    working tree can differ from what was committed.

    Raises:
        GitError: when ``root`` is not inside a readable repository, or an unknown revision.
    """
    repo_root, _ = _repo_for(root)
    repo = git.open_repo(repo_root)
    try:
        head = (
            git.resolve_revision(repo, rev).decode("ascii")
            if rev is not None
            else git.head_commit(repo)
        )
        if head is None:
            return None
        history = git.ancestors(repo, head)
        reachable = [t for t in to_version_tags(git.list_tags(repo)) if t.commit in history]
        best = max(reachable, key=lambda t: (t.version, t.name), default=None)
        distance = len(history) if best is None else len(history - git.ancestors(repo, best.commit))
    finally:
        repo.close()
    dirty = is_dirty(root) if rev is None else False
    base = best.name if best is not None else "v0.0.0"
    build: list[str] = []
    if distance:
        build += [str(distance), f"g{head[:7]}"]
    if dirty:
        build.append("dirty")
    # Build metadata keeps the result a valid semver: "+3.g1a2b3c4.dirty" or "+dirty".
    version = base + ("+" + ".".join(build) if build else "")
    return CurrentVersion(
        version=version,
        tag=best.name if best is not None else None,
        distance=distance,
        commit=head,
        dirty=dirty,
    )


def describe_version(root: Path) -> str | None:
    """The version string of the ledger at ``root`` (see the module docstring), or ``None``
    when it is not in a Git repository or the repository has no commit yet. Never raises.
    """
    try:
        current = current_version(find_ledger_root(root))
    except (ZtauthError, OSError, KeyError, ValueError):
        # A version is decoration in responses: never fail an evaluation for it.
        return None
    return current.version if current is not None else None


def evaluated_version(ledger: Ledger, *, rev: str | None) -> str | None:
    """The version a response names for ``ledger`` read at ``rev``: :func:`describe_version`
    for the working tree (``rev`` None), else the newest version tag naming the revision (None
    when there is none). A version is decoration: never raises.
    """
    root = Path(ledger.root)
    if rev is None:
        return describe_version(root)
    try:
        names = [t.name for t in version_tags(root) if t.commit == ledger.revision]
    except ZtauthError:
        return None
    return names[-1] if names else None


def create_version_tag(
    root: Path,
    version: SemVer | str,
    *,
    commit: str | None = None,
    message: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> VersionTag:
    """Create the annotated tag ``version`` at ``commit`` (default HEAD) and return it.

    The tagger is the repository's ``user.name``/``user.email``, else HEAD's committer. This
    function does not gate: callers (``bump_version``, the diff engineer's ``bump auto``) check
    cleanliness, lint, tests and signatures first.

    Raises:
        GitError: when the name is not ``v<semver>``, or the tag already exists (a released
        version never moves).
    """
    name = str(version)
    parsed = parse_version_tag(name)
    if parsed is None:
        raise GitError(f"{name!r} is not a version tag; expected v<major>.<minor>.<patch>")
    repo_root, _ = _repo_for(root)
    repo = git.open_repo(repo_root)
    try:
        target = commit or git.head_commit(repo)
        if target is None:
            raise GitError("the repository has no commit to tag")
        moment = (now or (lambda: datetime.now(timezone.utc)))()
        offset = moment.utcoffset() or timedelta(0)
        git.create_annotated_tag(
            repo,
            name,
            commit=target,
            message=message or f"ledger {name}",
            tagger=git.identity(repo),
            when=int(moment.timestamp()),
            tz=int(offset.total_seconds()),
        )
        tags = to_version_tags(git.list_tags(repo))
    finally:
        repo.close()
    return next(t for t in tags if t.name == name)


# A release gate: (ledger root, HEAD sha) -> why the release must not happen, or None.
Gate = Callable[[Path, str], "str | None"]


@record(frozen=True, slots=True, kw_only=True)
class BumpResult:
    """The outcome of a bump: the new tag, or the reasons it was refused."""

    tag: VersionTag | None
    previous: str | None  # the version the bump started from (None before the first release)
    version: str | None  # the version that was (or would have been) created
    refused: tuple[str, ...]


def bump_version(
    root: Path,
    part: BumpPart | str | None,
    *,
    message: str | None = None,
    derive: Callable[[Path, SemVer | None, str], BumpPart | str] | None = None,
    gates: Sequence[Gate] = (),
    now: Callable[[], datetime] | None = None,
) -> BumpResult:
    """Release HEAD as the next version: ``part`` (major/minor/patch), or ``derive(root,
    base, head)`` choosing the part (``bump auto``: the diff engineer's semantic diff).

    Refused (nothing written, reasons returned) when the ledger's working tree differs from
    HEAD, HEAD is already released, the new tag exists (released versions never move), or any
    gate objects. Gates run in order and all run, so every reason is reported at once.

    Raises:
        GitError: not a repository, or no commit.
        UsageError: neither ``part`` nor ``derive``.
    """
    refused: list[str] = []
    if is_dirty(root):
        refused.append(
            "the ledger has uncommitted changes; a version names a commit, so commit first"
        )
    repo_root, _ = _repo_for(root)
    repo = git.open_repo(repo_root)
    try:
        head = git.head_commit(repo)
        if head is None:
            raise GitError("the repository has no commit to tag")
        history = git.ancestors(repo, head)
        tags = to_version_tags(git.list_tags(repo))
    finally:
        repo.close()
    at_head = sorted(t.name for t in tags if t.commit == head)
    if at_head:
        refused.append(f"HEAD ({head[:7]}) is already released as {', '.join(at_head)}")
    reachable = [t.version for t in tags if t.commit in history]
    base = max(reachable, default=None)
    if part is not None:
        chosen = part
    elif derive is not None:
        chosen = derive(root, base, head)
    else:
        raise UsageError("say which part to bump: major, minor or patch")
    new = (base or SemVer(major=0, minor=0, patch=0)).bump(chosen)
    if any(t.name == str(new) for t in tags):
        refused.append(f"tag {new} already exists; a released version is never moved")
    for gate in gates:
        reason = gate(root, head)
        if reason is not None:
            refused.append(reason)
    previous = str(base) if base is not None else None
    if refused:
        return BumpResult(tag=None, previous=previous, version=str(new), refused=tuple(refused))
    try:
        tag = create_version_tag(root, new, commit=head, message=message, now=now)
    except GitError as exc:
        return BumpResult(tag=None, previous=previous, version=str(new), refused=(exc.message,))
    return BumpResult(tag=tag, previous=previous, version=str(new), refused=())
