"""The hashing rule of ledger signatures, decided here and nowhere else (STYLE.md rule 5).

Every file the evaluator loads (as the loader records it, see :func:`signed_paths`) is
hashed as the **raw bytes** read from the working tree or the Git blob, with SHA-256. We
deliberately do *not* canonicalise YAML or JSON first (OPA hashes structured bundle files with
sorted keys): a reviewer approves the bytes shown in a pull request, comments and key order
included, and a signature must cover exactly what was reviewed. Canonicalising would also make
the signature depend on our YAML parser's view of a document, so two parsers could disagree
about what was signed. Raw bytes have one meaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ztauth_cli.ledger.load import build_ledger, is_ledger_file
from ztauth_cli.model import Ledger

__all__ = ["HASH_ALGORITHM", "FileDigest", "digest", "file_digests", "signed_paths"]

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


def signed_paths(ledger: Ledger) -> frozenset[str]:
    """The ledger-relative paths a signature covers: every file the evaluator loads.

    Not a list of folders: the loader records each file whose content it turned into what the
    evaluator sees (``Ledger.evaluated_paths``), wherever it sits, so a manifest ``schema:``
    under ``tests/`` is covered like one at the top. Test suites are not (they never change a
    decision), ``.signatures.json`` cannot cover itself, and a file nothing reads (a stray
    ``*.cedarschema`` the manifest does not name) changes no decision and is not covered.
    """
    return ledger.evaluated_paths


def digest(data: bytes) -> str:
    """The lowercase hex SHA-256 of ``data``, the raw bytes of one file."""
    return hashlib.sha256(data).hexdigest()


def file_digests(
    files: Ledger | Mapping[str, bytes] | Iterable[tuple[str, bytes]],
) -> tuple[FileDigest, ...]:
    """The digests of every signed file, sorted by name.

    ``files`` is a loaded :class:`Ledger` (its ``files`` as read, byte for byte), or the raw
    files of one (a mapping of ledger-relative path to bytes, or ``(path, bytes)`` pairs),
    which are built with the one loader first so that the same files are signed either way.
    """
    if isinstance(files, Ledger):
        ledger = files
    else:
        pairs = files.items() if isinstance(files, Mapping) else files
        raw = {path: data for path, data in pairs if is_ledger_file(path)}
        ledger = build_ledger(raw, root="", revision=None)
    covered = signed_paths(ledger)
    return tuple(
        sorted(
            (
                FileDigest(name=f.path, hash=digest(f.data))
                for f in ledger.files
                if f.path in covered
            ),
            key=lambda d: d.name,
        )
    )
