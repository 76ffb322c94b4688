"""The loaded ledger: every document of one working tree or Git revision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.documents import (
    Delegation,
    Elevation,
    EntityFile,
    Issuer,
    KeySet,
    Manifest,
    PolicyFile,
    SecurityGroup,
    Suppression,
    TrustLevel,
)
from ztauth_cli.model.record import record

if TYPE_CHECKING:
    from ztauth_cli.model.suites import AccessSnapshot, TestSuite

__all__ = ["Ledger", "LedgerFile"]


@record(frozen=True, slots=True, kw_only=True)
class LedgerFile:
    """One file of the ledger as read, byte for byte (signing hashes these bytes)."""

    path: str
    data: bytes


@record(frozen=True, slots=True, kw_only=True)
class Ledger:
    """Every document of a ledger, typed.

    ``problems`` holds the document errors met while loading in tolerant mode (what
    ``policy lint`` reports); a strict load raises the first one instead.
    ``evaluated_paths`` are the files whose content the loader turned into what the evaluator
    sees (manifest, schema, policies, entities, trust documents, key sets), wherever they sit:
    exactly the files a signature covers. Test suites and ``.signatures.json`` are not in it.
    """

    root: str
    revision: str | None
    manifest: Manifest | None
    schema_text: str | None
    schema_path: str | None
    policy_files: tuple[PolicyFile, ...]
    entity_files: tuple[EntityFile, ...]
    trust_levels: tuple[TrustLevel, ...]
    groups: tuple[SecurityGroup, ...]
    elevations: tuple[Elevation, ...]
    delegations: tuple[Delegation, ...]
    issuers: tuple[Issuer, ...]
    key_sets: tuple[KeySet, ...]
    suites: tuple[TestSuite, ...]
    signatures_text: str | None
    files: tuple[LedgerFile, ...]
    evaluated_paths: frozenset[str]
    suppressions: tuple[Suppression, ...]
    problems: tuple[DocumentError, ...]
    # Access snapshots under tests/ (kind: AccessSnapshot), checked by ``ztauth test``.
    snapshots: tuple[AccessSnapshot, ...] = ()

    @property
    def ztid(self) -> str | None:
        """The ledger's ZTID from the manifest, when one was loaded."""
        return self.manifest.ledger if self.manifest is not None else None

    def trust_level(self, name: str) -> TrustLevel | None:
        """The trust level called ``name``, or ``None``."""
        return next((t for t in self.trust_levels if t.name == name), None)

    def group(self, name: str) -> SecurityGroup | None:
        """The security group called ``name``, or ``None``."""
        return next((g for g in self.groups if g.name == name), None)

    def issuer(self, name: str) -> Issuer | None:
        """The issuer called ``name``, or ``None``."""
        return next((i for i in self.issuers if i.name == name), None)

    def key_set(self, path: str) -> KeySet | None:
        """The JWKS file at ledger-relative ``path``, or ``None``."""
        return next((k for k in self.key_sets if k.span.path == path), None)
