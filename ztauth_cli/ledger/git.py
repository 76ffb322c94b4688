"""The one wrapper around dulwich: find repositories, resolve revisions, read trees.

No ``git`` binary is needed. Reading a revision never touches the working tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ztauth_cli.errors import GitError

__all__ = ["RevisionTree", "find_repo_root", "open_repo", "read_tree", "resolve_revision"]


def find_repo_root(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` holding ``.git``, or ``None``."""
    current = path.resolve()
    for candidate in (current, *current.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


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


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionTree:
    """Files of one folder at one commit: ``path`` (relative to that folder) -> blob bytes."""

    commit: str
    files: dict[str, bytes]
    symlinks: tuple[str, ...]


def read_tree(repo: Any, commit_sha: bytes, subdir: str) -> RevisionTree:
    """Read every blob under ``subdir`` ('' for the root) at ``commit_sha``.

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
        files[path] = repo[entry.sha].data
    return RevisionTree(commit=commit_sha.decode(), files=files, symlinks=tuple(sorted(symlinks)))


def relpath_in_repo(repo_root: Path, folder: Path) -> str:
    """``folder`` relative to ``repo_root`` in POSIX form ('' for the root itself)."""
    rel = os.path.relpath(folder.resolve(), repo_root.resolve())
    return "" if rel == "." else Path(rel).as_posix()
