"""What the benchmarks share: real Git repositories (dulwich) and real ledger signatures.

Built only on the installed package and its dependencies, never on ``tests/`` (a plain
``pip install .`` ships neither tests/ nor the test extras), so every benchmark runs against
whichever ztauth is installed, editable or not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dulwich import porcelain
from dulwich.objects import Commit, Tag
from dulwich.repo import Repo

from ztauth_cli import jose
from ztauth_cli.ledger import load
from ztauth_cli.ledger.signing import load_signing_key, merge_signatures, sign_ledger
from ztauth_cli.ledger.signing import write_signatures as _write_signatures

IDENTITY = b"ztauth bench <bench@ztauth.invalid>"
START = 1_767_225_600  # 2026-01-01T00:00:00Z: builds are reproducible
SIGNED_AT = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


class BenchRepo:
    """A Git repository in a temp folder; every commit and tag at a fixed, advancing clock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.repo = Repo.init(str(root))
        self._tick = 0

    def write(self, files: Mapping[str, str | bytes]) -> None:
        """Write ``files`` (ledger-relative path -> content) into the working tree."""
        for rel, content in files.items():
            target = self.root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str) -> str:
        """Stage every file and commit; returns the commit sha."""
        porcelain.add(str(self.root), paths=None)
        self._tick += 60
        sha = porcelain.commit(
            self.repo,
            message=message.encode(),
            author=IDENTITY,
            committer=IDENTITY,
            author_timestamp=START + self._tick,
            commit_timestamp=START + self._tick,
            author_timezone=0,
            commit_timezone=0,
        )
        return bytes(sha).decode()

    def tag(self, name: str) -> None:
        """An annotated tag ``name`` at HEAD."""
        tag = Tag()
        tag.tagger = IDENTITY
        tag.message = b"release\n"
        tag.name = name.encode()
        tag.object = (Commit, self.repo.head())
        tag.tag_time = START + self._tick
        tag.tag_timezone = 0
        self.repo.object_store.add_object(tag)
        self.repo.refs[b"refs/tags/" + name.encode()] = tag.id

    def close(self) -> None:
        """Release the repository's files."""
        self.repo.close()


def jwks(*keys: Mapping[str, Any]) -> str:
    """A JWKS document holding ``keys``."""
    return json.dumps({"keys": [dict(k) for k in keys]}, indent=2) + "\n"


def sign(root: Path, key: jose.KeyPair) -> None:
    """Sign the ledger at ``root`` with ``key`` as ``ztauth policy sign`` does."""
    ledger = load(root)
    signing_key = load_signing_key(key.private_pem, path="key.pem", kid=key.kid, alg=key.alg)
    token = sign_ledger(ledger, signing_key, now=SIGNED_AT)
    _write_signatures(root, merge_signatures(ledger.signatures_text, token, kid=signing_key.kid))
