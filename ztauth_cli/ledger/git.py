"""The one wrapper around dulwich: find repositories, resolve revisions, read trees.

No ``git`` binary is needed. Reading a revision never touches the working tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ztauth_cli.errors import GitError

# A plain walk up the folders, kept beside find_ledger_root: what only asks whether a ledger is
# in a repository (eval, for its version) finds out without importing this wrapper.
from ztauth_cli.ledger.load import find_repo_root
from ztauth_cli.model.record import record

__all__ = [
    "CommitInfo",
    "RevisionTree",
    "TagInfo",
    "ancestors",
    "commit_info",
    "create_annotated_tag",
    "find_repo_root",
    "head_commit",
    "identity",
    "init_repo_and_commit",
    "list_tags",
    "open_repo",
    "read_tree",
    "relpath_in_repo",
    "resolve_revision",
    "subtree_id",
    "walk_history",
]


def open_repo(root: Path) -> Any:
    """Open the repository at ``root``.

    Raises:
        GitError: when it is not a readable Git repository.
    """
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    try:
        return Repo(str(root))
    except (NotGitRepository, OSError) as exc:
        raise GitError(f"{root}: not a Git repository ({exc})") from exc


def resolve_revision(repo: Any, rev: str) -> bytes:
    """Resolve ``rev`` (sha, short sha, branch, tag, ``HEAD``, ``X~N``, ``X^``) to a commit sha.

    Raises:
        GitError: when the revision does not exist or is not a commit.
    """
    from dulwich.objects import Commit, Tag

    base, steps = _split_ancestry(rev)
    sha = _resolve_name(repo, base)
    if sha is None:
        raise GitError(f"unknown revision {rev!r}", hint="use a commit, branch, tag or HEAD~N")
    obj = repo[sha]
    while isinstance(obj, Tag):
        obj = repo[obj.object[1]]
    if not isinstance(obj, Commit):
        raise GitError(f"revision {rev!r} is not a commit")
    for _ in range(steps):
        if not obj.parents:
            raise GitError(f"revision {rev!r} goes past the first commit")
        obj = repo[obj.parents[0]]
    return bytes(obj.id)


def _split_ancestry(rev: str) -> tuple[str, int]:
    steps = 0
    base = rev
    while True:
        if "~" in base:
            head, _, count = base.rpartition("~")
            steps += int(count) if count.isdigit() else 1 if count == "" else -(10**9)
            base = head
        elif base.endswith("^"):
            steps += 1
            base = base[:-1]
        else:
            break
    if steps < 0:
        raise GitError(f"cannot parse revision {rev!r}")
    return base, steps


def _resolve_name(repo: Any, name: str) -> bytes | None:
    refs = repo.refs
    raw = name.encode()
    for candidate in (raw, b"refs/tags/" + raw, b"refs/heads/" + raw, b"refs/remotes/" + raw):
        try:
            if candidate in refs:
                return bytes(refs[candidate])
        except (KeyError, ValueError):
            continue
    if len(name) >= 4 and all(c in "0123456789abcdef" for c in name.lower()):
        low = name.lower().encode()
        if len(low) == 40 and low in repo.object_store:
            return low
        matches = [sha for sha in repo.object_store if bytes(sha).startswith(low)]
        if len(matches) == 1:
            return bytes(matches[0])
        if len(matches) > 1:
            raise GitError(f"short revision {name!r} is ambiguous")
    return None


@record(frozen=True, slots=True, kw_only=True)
class RevisionTree:
    """Files of one folder at one commit: ``path`` (relative to that folder) -> blob bytes."""

    commit: str
    files: dict[str, bytes]
    symlinks: tuple[str, ...]


def merge_base(repo: Any, left: str, right: str) -> str:
    """The best common ancestor of revisions ``left`` and ``right`` (``git merge-base``).

    Raises:
        GitError: a revision does not resolve, or the two share no history.
    """
    from dulwich.graph import find_merge_base
    from dulwich.objects import ObjectID

    a, b = resolve_revision(repo, left), resolve_revision(repo, right)
    found = find_merge_base(repo, [ObjectID(a), ObjectID(b)])
    if not found:
        raise GitError(f"{left!r} and {right!r} have no common ancestor")
    return bytes(found[0]).decode()


def read_tree(
    repo: Any,
    commit_sha: bytes,
    subdir: str,
    *,
    keep: Callable[[str], bool] | None = None,
    blobs: dict[bytes, bytes] | None = None,
) -> RevisionTree:
    """Read every blob under ``subdir`` ('' for the root) at ``commit_sha``.

    With ``keep``, only the blobs of the paths it accepts are read. ``blobs`` is a cache by
    blob id shared across calls: reading many revisions, each distinct blob is read once.

    Raises:
        GitError: when ``subdir`` does not exist at that commit.
    """
    import stat

    commit = repo[commit_sha]
    tree = repo[commit.tree]
    if subdir:
        for part in subdir.strip("/").split("/"):
            try:
                _mode, sha = tree[part.encode()]
            except KeyError as exc:
                raise GitError(f"{subdir!r} does not exist at {commit_sha.decode()[:12]}") from exc
            tree = repo[sha]
    files: dict[str, bytes] = {}
    symlinks: list[str] = []
    for entry in repo.object_store.iter_tree_contents(tree.id):
        path = entry.path.decode("utf-8", "surrogateescape")
        if stat.S_ISLNK(entry.mode):
            symlinks.append(path)
            continue
        if entry.mode == 0o160000:  # a submodule (gitlink): not part of this ledger
            continue
        if keep is not None and not keep(path):
            continue
        data = blobs.get(entry.sha) if blobs is not None else None
        if data is None:
            data = repo[entry.sha].data
            if blobs is not None:
                blobs[entry.sha] = data
        files[path] = data
    return RevisionTree(commit=commit_sha.decode(), files=files, symlinks=tuple(sorted(symlinks)))


def relpath_in_repo(repo_root: Path, folder: Path) -> str:
    """``folder`` relative to ``repo_root`` in POSIX form ('' for the root itself)."""
    rel = os.path.relpath(folder.resolve(), repo_root.resolve())
    return "" if rel == "." else Path(rel).as_posix()


# ----------------------------------------------------------------------------- history and tags
# Used by ledger/versions.py and ledger/history.py. Every function takes an open repository
# (``open_repo``) and returns plain values; dulwich objects never leave this module.


@record(frozen=True, slots=True, kw_only=True)
class CommitInfo:
    """One commit, as plain values."""

    sha: str
    parents: tuple[str, ...]
    tree: str
    author: str
    author_time: int
    author_tz: int  # offset east of UTC, in seconds
    committer: str
    commit_time: int
    commit_tz: int
    message: str

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0].strip()


@record(frozen=True, slots=True, kw_only=True)
class TagInfo:
    """A tag resolved to the commit it names; ``tagger``/``message`` only for annotated tags."""

    name: str
    commit: str
    annotated: bool
    time: int
    tz: int
    tagger: str | None
    message: str | None


def head_commit(repo: Any) -> str | None:
    """The sha HEAD points at, or ``None`` in a repository without commits."""
    try:
        return bytes(repo.head()).decode()
    except KeyError:
        return None


def commit_info(repo: Any, sha: str) -> CommitInfo:
    """The commit ``sha``.

    Raises:
        GitError: when it is missing or not a commit.
    """
    from dulwich.objects import Commit

    try:
        obj = repo[sha.encode()]
    except KeyError as exc:
        raise GitError(f"commit {sha[:12]} is missing from the repository") from exc
    if not isinstance(obj, Commit):
        raise GitError(f"{sha[:12]} is not a commit")
    return CommitInfo(
        sha=sha,
        parents=tuple(bytes(p).decode() for p in obj.parents),
        tree=bytes(obj.tree).decode(),
        author=obj.author.decode("utf-8", "replace"),
        author_time=int(obj.author_time),
        author_tz=int(obj.author_timezone),
        committer=obj.committer.decode("utf-8", "replace"),
        commit_time=int(obj.commit_time),
        commit_tz=int(obj.commit_timezone),
        message=obj.message.decode("utf-8", "replace"),
    )


def _present_parents(repo: Any, info: CommitInfo, shallow: set[bytes]) -> tuple[str, ...]:
    # In a shallow clone the boundary commits list parents that were never fetched: such a
    # commit is treated as a root, like `git log` does.
    if info.sha.encode() in shallow:
        return ()
    return tuple(p for p in info.parents if p.encode() in repo.object_store)


def walk_history(repo: Any, start: str) -> Iterator[tuple[CommitInfo, tuple[str, ...]]]:
    """Every commit reachable from ``start``, newest first (commit time, then sha).

    Yields ``(commit, parents present in the repository)``; in a shallow clone a boundary
    commit has no present parents and so is a root.
    """
    import heapq

    shallow = set(repo.get_shallow())
    seen = {start}
    first = commit_info(repo, start)
    heap: list[tuple[int, str, CommitInfo]] = [(-first.commit_time, start, first)]
    while heap:
        _, _, info = heapq.heappop(heap)
        parents = _present_parents(repo, info, shallow)
        yield info, parents
        for parent in parents:
            if parent not in seen:
                seen.add(parent)
                pinfo = commit_info(repo, parent)
                heapq.heappush(heap, (-pinfo.commit_time, parent, pinfo))


def ancestors(repo: Any, start: str) -> set[str]:
    """``start`` and every commit reachable from it (shallow boundaries are roots)."""
    from dulwich.objects import Commit

    shallow = set(repo.get_shallow())
    store = repo.object_store
    seen = {start.encode()}
    stack = [start.encode()]
    # Only the parents are read (not the whole commit_info): eval describes its version on
    # every run, and a long history made this walk a fifth of a one-shot eval.
    while stack:
        sha = stack.pop()
        try:
            obj = repo[sha]
        except KeyError as exc:
            raise GitError(f"commit {sha.decode()[:12]} is missing from the repository") from exc
        if not isinstance(obj, Commit):
            raise GitError(f"{sha.decode()[:12]} is not a commit")
        if sha in shallow:
            continue
        for parent in obj.parents:
            if parent not in seen and parent in store:
                seen.add(parent)
                stack.append(parent)
    return {bytes(s).decode() for s in seen}


def subtree_id(repo: Any, commit_sha: str, subdir: str) -> str | None:
    """The tree id of ``subdir`` ('' for the root) at ``commit_sha``; ``None`` when absent."""
    from dulwich.objects import Tree

    tree = repo[repo[commit_sha.encode()].tree]
    if subdir:
        for part in subdir.strip("/").split("/"):
            try:
                _mode, sha = tree[part.encode()]
            except KeyError:
                return None
            tree = repo[sha]
            if not isinstance(tree, Tree):
                return None
    return bytes(tree.id).decode()


def list_tags(repo: Any) -> tuple[TagInfo, ...]:
    """Every tag that names a commit (tags of trees or blobs are skipped), sorted by name."""
    from dulwich.objects import Commit, Tag

    tags: list[TagInfo] = []
    for ref in repo.refs.keys(base=b"refs/tags/"):
        try:
            obj = repo[repo.refs[b"refs/tags/" + ref]]
        except KeyError:
            continue
        first = obj
        while isinstance(obj, Tag):
            try:
                obj = repo[obj.object[1]]
            except KeyError:
                break
        if not isinstance(obj, Commit):
            continue
        annotated = isinstance(first, Tag)
        tags.append(
            TagInfo(
                name=ref.decode("utf-8", "replace"),
                commit=bytes(obj.id).decode(),
                annotated=annotated,
                time=int(first.tag_time if annotated else obj.commit_time),
                tz=int(first.tag_timezone if annotated else obj.commit_timezone),
                tagger=first.tagger.decode("utf-8", "replace") if annotated else None,
                message=first.message.decode("utf-8", "replace") if annotated else None,
            )
        )
    return tuple(sorted(tags, key=lambda t: t.name))


def identity(repo: Any) -> str:
    """Who is acting: ``user.name <user.email>`` from the repository's own config, else the
    committer of HEAD.

    Raises:
        GitError: when neither is available.
    """
    config = repo.get_config()
    try:
        name = config.get((b"user",), b"name").decode()
        email = config.get((b"user",), b"email").decode()
        return f"{name} <{email}>"
    except KeyError:
        pass
    head = head_commit(repo)
    if head is None:
        raise GitError("no identity: set user.name and user.email in the repository config")
    return commit_info(repo, head).committer


def create_annotated_tag(
    repo: Any, name: str, *, commit: str, message: str, tagger: str, when: int, tz: int = 0
) -> str:
    """Create the annotated tag ``refs/tags/<name>`` at ``commit``; returns the tag object sha.

    A released tag never moves (DESIGN.md), so an existing tag is refused, whatever it names;
    the ref is set with compare-and-swap against "absent" so a concurrent writer cannot be
    overwritten either.

    Raises:
        GitError: when the tag already exists or cannot be written.
    """
    from dulwich.objects import Commit, Tag

    ref = b"refs/tags/" + name.encode()
    if ref in repo.refs:
        raise GitError(f"tag {name} already exists; a released version is never moved")
    tag = Tag()
    tag.tagger = tagger.encode()
    tag.message = message.encode() if message.endswith("\n") else (message + "\n").encode()
    tag.name = name.encode()
    tag.object = (Commit, commit.encode())
    tag.tag_time = when
    tag.tag_timezone = tz
    repo.object_store.add_object(tag)
    if not repo.refs.add_if_new(ref, tag.id):
        raise GitError(f"tag {name} already exists; a released version is never moved")
    return bytes(tag.id).decode()


def init_repo_and_commit(
    root: Path, paths: list[str], *, message: str, author: str | None = None
) -> str:
    """Create a Git repository at ``root`` and commit ``paths`` (relative, POSIX) in it.

    The author is ``author`` when given, else the user's Git identity as dulwich finds it
    (global config, then environment and user name). Returns the commit sha.

    Raises:
        GitError: when the repository cannot be created or the commit cannot be written.
    """
    from dulwich import porcelain
    from dulwich.repo import Repo

    # dulwich resolves relative paths against the process's folder, not the repository's:
    # with `ztauth policy init payments` every path would miss and the commit be empty.
    root = root.resolve()
    try:
        repo = Repo.init(str(root))
    except OSError as exc:
        raise GitError(f"{root}: cannot create a Git repository ({exc})") from exc
    try:
        porcelain.add(repo, paths=[str(root / p) for p in paths])
        who = author.encode() if author is not None else None
        sha = porcelain.commit(repo, message=message.encode(), author=who, committer=who)
    except (OSError, ValueError, KeyError) as exc:
        raise GitError(f"{root}: cannot write the initial commit ({exc})") from exc
    finally:
        repo.close()
    return bytes(sha).decode()
