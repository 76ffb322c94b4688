"""Typed, immutable models of every ledger document kind (DESIGN.md, "The ledger"); those of
``tests/`` (test suites, access snapshots) are in :mod:`ztauth_cli.model.suites`.

The loader (``ztauth_cli.ledger.load``) is the only producer of these objects; code after it
never looks at YAML dicts again. Every document carries the :class:`Span` it was read from.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime, timedelta
from typing import Any

from ztauth_cli.model.ids import Ztid
from ztauth_cli.model.record import record
from ztauth_cli.model.span import FieldSpans, Span

__all__ = [
    "DEFAULT_REQUEST_ENTITIES",
    "ActorRef",
    "AttestationRequirement",
    "Delegation",
    "Elevation",
    "EntityFile",
    "EntitySelector",
    "Issuer",
    "KeySet",
    "LintConfig",
    "Manifest",
    "PolicyFile",
    "RequestEntityRule",
    "SecurityGroup",
    "Settings",
    "Suppression",
    "TrustLevel",
]


@record(frozen=True, slots=True, kw_only=True)
class RequestEntityRule:
    """What a request may say about entities of one Cedar type that the ledger does not define
    (``settings.request_entities``): their attributes, their parents. ``type`` ``*`` is every
    type without a rule of its own. Entities the ledger defines are never the request's to
    change, whatever a rule says (DESIGN.md "Request data and the ledger").
    """

    type: str
    attributes: bool
    parents: bool


# Without ``settings.request_entities``: AuthZEN ``properties`` describe entities the ledger
# does not know (attributes), and no request ever gives an entity parents (role membership).
DEFAULT_REQUEST_ENTITIES = (RequestEntityRule(type="*", attributes=True, parents=False),)


@record(frozen=True, slots=True, kw_only=True)
class Settings:
    """``settings:`` of the manifest."""

    require_txn_token: bool = False
    require_signatures: int = 0
    max_chain_depth: int = 4
    # Sorted by type; see RequestEntityRule.
    request_entities: tuple[RequestEntityRule, ...] = DEFAULT_REQUEST_ENTITIES


@record(frozen=True, slots=True, kw_only=True)
class LintConfig:
    """``lint:`` of the manifest: rule references (ids or names) as written, resolved by lint."""

    disable: tuple[str, ...] = ()
    # (rule reference, "error" | "warning" | "note" | "off"), in file order.
    severity: tuple[tuple[str, str], ...] = ()


@record(frozen=True, slots=True, kw_only=True)
class Manifest:
    """``ztauth.yaml`` (kind: Ledger)."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    description: str | None
    author: str | None
    license: str | None
    ledger: Ztid
    runtime_language: str
    runtime_version: str
    schema: str | None
    signers: str | None
    settings: Settings
    lint: LintConfig = field(default_factory=LintConfig)


@record(frozen=True, slots=True, kw_only=True)
class AttestationRequirement:
    """What a workload must prove to hold a trust level: a fresh attestation token."""

    max_age: timedelta
    issuer: str


@record(frozen=True, slots=True, kw_only=True)
class TrustLevel:
    """An assurance tier; ranks are unique and higher means more trusted."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    rank: int
    attestation: AttestationRequirement | None


@record(frozen=True, slots=True, kw_only=True)
class SecurityGroup:
    """Workloads grouped under one trust level; ``revoked`` always wins over ``members``."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    trust_level: str
    members: tuple[str, ...]
    revoked: tuple[str, ...]


@record(frozen=True, slots=True, kw_only=True)
class ActorRef:
    """Who acts: a security group or one workload id (exactly one of the two is set)."""

    group: str | None = None
    workload: str | None = None

    def __str__(self) -> str:
        return f"group:{self.group}" if self.group is not None else f"workload:{self.workload}"


@record(frozen=True, slots=True, kw_only=True)
class EntitySelector:
    """Selects entities by Cedar type and, optionally, by ids or globs (empty = any id)."""

    type: str | None = None
    ids: tuple[str, ...] = ()


@record(frozen=True, slots=True, kw_only=True)
class Elevation:
    """A workload may operate inside another identity's authorization context."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    id: str
    actor: ActorRef
    subjects: EntitySelector
    actions: tuple[str, ...]
    resources: EntitySelector | None
    min_trust_level: str | None
    consent: bool
    condition: str | None


@record(frozen=True, slots=True, kw_only=True)
class Delegation:
    """A subject grants a scope to another identity, with consent."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    id: str
    delegator: EntitySelector
    delegate: ActorRef
    actions: tuple[str, ...]
    resources: EntitySelector | None
    valid_from: datetime | None
    valid_until: datetime | None
    consent_required: bool
    consent_issuer: str | None
    max_depth: int


@record(frozen=True, slots=True, kw_only=True)
class Issuer:
    """Who may sign which tokens."""

    span: Span
    # Where each field is (dotted path -> span of its key); not part of the value.
    fields: FieldSpans = field(default_factory=FieldSpans, compare=False, repr=False)
    name: str
    jwks: str
    algorithms: tuple[str, ...]
    audience: str | None
    issues: tuple[str, ...]


@record(frozen=True, slots=True, kw_only=True)
class KeySet:
    """A ``keys/**/*.jwks.json`` file: the raw JWK objects, as the JWKS format defines them."""

    span: Span
    # JWKs are a foreign wire format handed as-is to the JOSE wrapper.
    keys: tuple[dict[str, Any], ...]
    text: str


@record(frozen=True, slots=True, kw_only=True)
class PolicyFile:
    """A ``policies/**/*.cedar`` file. Cedar parsing happens in ``engine/cedar.py``."""

    span: Span
    text: str


@record(frozen=True, slots=True, kw_only=True)
class EntityFile:
    """An ``entities/**/*.json|yaml`` file holding Cedar entities in Cedar's JSON form."""

    span: Span
    # Cedar's entity JSON is handed unchanged to Cedar.
    entities: tuple[dict[str, Any], ...]


@record(frozen=True, slots=True, kw_only=True)
class Suppression:
    """An inline ``ztauth: ignore ZT101 -- reason`` comment."""

    span: Span
    rule: str
    reason: str
    # The line the suppression applies to (its own line, or the next one when alone on a line).
    target_line: int = field(default=0)
