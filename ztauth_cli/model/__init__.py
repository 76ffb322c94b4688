"""Typed, immutable models shared by every layer."""

from __future__ import annotations

from ztauth_cli.model.decision import Decision, ReasonCode, Step, TraceStep
from ztauth_cli.model.documents import (
    AccessSnapshot,
    ActorRef,
    AttestationRequirement,
    Delegation,
    Elevation,
    EntityFile,
    EntitySelector,
    Expectation,
    Issuer,
    KeySet,
    LintConfig,
    Manifest,
    PolicyFile,
    RequestEntityRule,
    SecurityGroup,
    Settings,
    Suppression,
    TestCase,
    TestSuite,
    TokenSpec,
    TrustLevel,
)
from ztauth_cli.model.ids import Kid, PolicyId, RuleId, Ztid
from ztauth_cli.model.ledger import Ledger, LedgerFile
from ztauth_cli.model.span import Span

__all__ = [
    "AccessSnapshot",
    "ActorRef",
    "AttestationRequirement",
    "Decision",
    "Delegation",
    "Elevation",
    "EntityFile",
    "EntitySelector",
    "Expectation",
    "Issuer",
    "KeySet",
    "Kid",
    "Ledger",
    "LedgerFile",
    "LintConfig",
    "Manifest",
    "PolicyFile",
    "PolicyId",
    "ReasonCode",
    "RequestEntityRule",
    "RuleId",
    "SecurityGroup",
    "Settings",
    "Span",
    "Step",
    "Suppression",
    "TestCase",
    "TestSuite",
    "TokenSpec",
    "TraceStep",
    "TrustLevel",
    "Ztid",
]
