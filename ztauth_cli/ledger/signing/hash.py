"""The hashing rule of ledger signatures, decided here and nowhere else (STYLE.md rule 5).

Every file the evaluator loads is hashed as the **raw bytes** read from the working tree or
the Git blob, with SHA-256. We deliberately do *not* canonicalise YAML or JSON first (OPA
hashes structured bundle files with sorted keys): a reviewer approves the bytes shown in a
pull request, comments and key order included, and a signature must cover exactly what was
reviewed. Canonicalising would also make the signature depend on our YAML parser's view of a
document, so two parsers could disagree about what was signed. Raw bytes have one meaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ztauth_cli.ledger.load import SIGNATURES, is_ledger_file
from ztauth_cli.model import Ledger

__all__ = ["HASH_ALGORITHM", "FileDigest", "digest", "file_digests", "is_signed_file"]

HASH_ALGORITHM = "SHA-256"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDigest:
    """One entry of a signature payload's ``files`` list."""

    name: str
    hash: str
    algorithm: str = HASH_ALGORITHM

    def to_json(self) -> dict[str, str]:
        """The payload form: ``{"name", "hash", "algorithm"}``."""
        return {"name": self.name, "hash": self.hash, "algorithm": self.algorithm}


def is_signed_file(path: str) -> bool:
    """True for the ledger files a signature covers (ledger-relative POSIX ``path``).

    Everything the evaluator loads is covered; test suites are not (they do not change a
    decision) and ``.signatures.json`` cannot cover itself.
    """
    return is_ledger_file(path) and path != SIGNATURES and not path.startswith("tests/")


def digest(data: bytes) -> str:
    """The lowercase hex SHA-256 of ``data``, the raw bytes of one file."""
    return hashlib.sha256(data).hexdigest()


def file_digests(
    files: Ledger | Mapping[str, bytes] | Iterable[tuple[str, bytes]],
) -> tuple[FileDigest, ...]:
    """The digests of every signed file, sorted by name.

    ``files`` is a loaded :class:`Ledger` (its ``files`` as read, byte for byte), a mapping of
    ledger-relative path to bytes, or ``(path, bytes)`` pairs.
    """
    pairs: Iterable[tuple[str, bytes]]
    if isinstance(files, Mapping):
        pairs = files.items()
    elif isinstance(files, Ledger):
        pairs = ((f.path, f.data) for f in files.files)
    else:
        pairs = files
    return tuple(
        sorted(
            (
                FileDigest(name=path, hash=digest(data))
                for path, data in pairs
                if is_signed_file(path)
            ),
            key=lambda d: d.name,
        )
    )
