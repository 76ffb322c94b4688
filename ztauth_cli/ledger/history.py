"""Ledger history: the commits that touched the ledger, and the released versions, each with
the state of its signatures at that point (verified / unsigned / invalid).

Works on a ledger that is a subfolder of a larger repository (only commits that change the
ledger's subtree are listed), on shallow clones (a commit whose parent was not fetched is a
root) and on clones from any Git host (no remote is ever consulted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ztauth_cli.errors import GitError, LedgerNotFound, ZtauthError
from ztauth_cli.ledger import git
from ztauth_cli.ledger.load import MANIFEST, build_ledger, load, read_commit_files
from ztauth_cli.ledger.signing.verify import State, signature_state
from ztauth_cli.ledger.versions import VersionTag, rfc3339, to_version_tags

__all__ = ["LogEntry", "VersionRow", "ledger_log", "revision_signature_state", "version_rows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    """One commit that changed the ledger."""

    sha: str
    author: str
    date: str  # author date, RFC 3339 in the author's offset
    subject: str
    tags: tuple[str, ...]  # version tags naming this commit, by semver
    signature: State
    signature_reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRow:
    """A version tag and the state of the ledger's signatures at that tag."""

    tag: VersionTag
    signature: State
    signature_reason: str | None


_NO_LEDGER: tuple[State, str | None] = ("unsigned", "no ledger (ztauth.yaml) at this revision")


def revision_signature_state(
    root: Path, rev: str, *, now: datetime | None = None
) -> tuple[State, str | None]:
    """The signature state of the ledger at ``rev``; a revision that cannot be loaded is
    ``invalid`` with the reason (never raises for the ledger's content).
    """
    try:
        ledger = load(root, rev=rev, tolerant=True)
    except LedgerNotFound:
        # Nothing to sign yet (the ledger was added later, or removed): not a failure.
        return _NO_LEDGER
    except ZtauthError as exc:
        return "invalid", exc.message
    return signature_state(ledger, now=now)


class _Revisions:
    """Signature states of many revisions of one ledger, read from one open repository.

    Signature verification reads only the manifest, the key sets, the signatures and the
    files' bytes, so a revision is built without its documents (``documents=False``), and
    each distinct blob is read once across all revisions (most files are shared).
    """

    def __init__(self, root: Path, repo: object, subdir: str, now: datetime | None) -> None:
        self.root, self.repo, self.subdir, self.now = root, repo, subdir, now
        self.blobs: dict[bytes, bytes] = {}

    def state(self, sha: str) -> tuple[State, str | None]:
        try:
            files, problems = read_commit_files(
                self.repo, sha.encode("ascii"), self.subdir, blobs=self.blobs
            )
        except GitError:
            return _NO_LEDGER  # the ledger folder does not exist at that commit
        if MANIFEST not in files:
            return _NO_LEDGER
        ledger = build_ledger(
            files, root=str(self.root), revision=sha, problems=problems, documents=False
        )
        return signature_state(ledger, now=self.now)


def _repo(root: Path) -> tuple[Path, str]:
    repo_root = git.find_repo_root(root)
    if repo_root is None:
        raise GitError(f"{root} is not inside a Git repository; history lives in Git")
    return repo_root, git.relpath_in_repo(repo_root, root)


def ledger_log(
    root: Path,
    *,
    rev: str | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> tuple[LogEntry, ...]:
    """Commits reachable from ``rev`` (default HEAD) that changed the ledger at ``root``,
    newest first.

    A commit changed the ledger when the ledger folder's tree id differs from its first
    parent's (or it has no parent present, as at a shallow boundary, and holds the ledger).

    Raises:
        GitError: not a repository, or an unknown revision.
    """
    repo_root, subdir = _repo(root)
    repo = git.open_repo(repo_root)
    picked: list[tuple[git.CommitInfo, str | None]] = []
    entries = []
    try:
        head = (
            git.resolve_revision(repo, rev).decode("ascii")
            if rev is not None
            else git.head_commit(repo)
        )
        if head is None:
            return ()
        by_commit: dict[str, list[str]] = {}
        for tag in to_version_tags(git.list_tags(repo)):
            by_commit.setdefault(tag.commit, []).append(tag.name)
        for info, parents in git.walk_history(repo, head):
            if limit is not None and len(picked) >= limit:
                break
            mine = git.subtree_id(repo, info.sha, subdir)
            before = git.subtree_id(repo, parents[0], subdir) if parents else None
            if mine != before:
                picked.append((info, mine))
        revisions = _Revisions(root, repo, subdir, now)
        states: dict[str | None, tuple[State, str | None]] = {}
        for info, tree in picked:
            if tree not in states:
                # The state depends only on the ledger's content: one verification per tree.
                states[tree] = revisions.state(info.sha) if tree is not None else _NO_LEDGER
            state, reason = states[tree]
            entries.append(
                LogEntry(
                    sha=info.sha,
                    author=info.author,
                    date=rfc3339(info.author_time, info.author_tz),
                    subject=info.subject,
                    tags=tuple(by_commit.get(info.sha, ())),
                    signature=state,
                    signature_reason=reason,
                )
            )
    finally:
        repo.close()
    return tuple(entries)


def version_rows(root: Path, *, now: datetime | None = None) -> tuple[VersionRow, ...]:
    """Every ``v<semver>`` tag, by semver, with its signature state (each revision is read
    with the loader, tolerant of document errors).

    Raises:
        GitError: not a repository.
    """
    repo_root, subdir = _repo(root)
    repo = git.open_repo(repo_root)
    rows = []
    try:
        revisions = _Revisions(root, repo, subdir, now)
        for tag in to_version_tags(git.list_tags(repo)):
            state, reason = revisions.state(tag.commit)
            rows.append(VersionRow(tag=tag, signature=state, signature_reason=reason))
    finally:
        repo.close()
    return tuple(rows)
