"""Build real Git repositories with dulwich: fixed identity and clock, real annotated tags."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from dulwich import porcelain
from dulwich.objects import Tag
from dulwich.repo import Repo

AUTHOR = b"Test Author <author@example.test>"
FIXED_TIME = 1_780_000_000  # 2026-05-28, so histories are reproducible


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (relative path -> content) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


class LedgerRepo:
    """A real Git repository in a temp folder, committed through dulwich."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.repo = Repo.init(str(root)) if not (root / ".git").exists() else Repo(str(root))
        self._tick = 0

    def write(self, files: dict[str, str | bytes]) -> None:
        write_files(self.root, files)

    def remove(self, rel: str) -> None:
        target = self.root / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()

    def commit(self, message: str = "change") -> str:
        """Stage everything (additions and deletions) and commit; returns the sha."""
        porcelain.add(str(self.root), paths=None)
        index = self.repo.open_index()
        for path in list(index):
            if not (self.root / path.decode()).exists():
                del index[path]
        index.write()
        self._tick += 60
        when = FIXED_TIME + self._tick
        sha = porcelain.commit(
            self.repo,
            message=message.encode(),
            committer=AUTHOR,
            author=AUTHOR,
            commit_timestamp=when,
            author_timestamp=when,
            commit_timezone=0,
            author_timezone=0,
        )
        return sha.decode()

    def tag(self, name: str, message: str = "release") -> None:
        """Create an annotated tag at HEAD."""
        head = self.repo.head()
        tag = Tag()
        tag.tagger = AUTHOR
        tag.message = message.encode()
        tag.name = name.encode()
        tag.object = (self.repo[head].__class__, head)
        tag.tag_time = FIXED_TIME + self._tick
        tag.tag_timezone = 0
        self.repo.object_store.add_object(tag)
        self.repo.refs[b"refs/tags/" + name.encode()] = tag.id

    def close(self) -> None:
        self.repo.close()


def now() -> float:
    return time.time()
