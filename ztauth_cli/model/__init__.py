"""Typed, immutable models shared by every layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ztauth_cli.model.decision import Decision, ReasonCode, Step, TraceStep
from ztauth_cli.model.documents import (
    ActorRef,
    AttestationRequirement,
    Delegation,
    Elevation,
    EntityFile,
    EntitySelector,
    Issuer,
    KeySet,
    LintConfig,
    Manifest,
    PolicyFile,
    RequestEntityRule,
    SecurityGroup,
    Settings,
    Suppression,
    TrustLevel,
)
from ztauth_cli.model.ids import Kid, PolicyId, RuleId, Ztid
from ztauth_cli.model.ledger import Ledger, LedgerFile
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.model.suites import AccessSnapshot, Expectation, TestCase, TestSuite, TokenSpec

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

# What tests/ holds is imported on first use (PEP 562): evaluating a request never needs it.
_SUITE_MODELS = frozenset({"AccessSnapshot", "Expectation", "TestCase", "TestSuite", "TokenSpec"})

if not TYPE_CHECKING:  # mypy reads the imports above, and keeps checking every name

    def __getattr__(name: str) -> Any:
        if name not in _SUITE_MODELS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from ztauth_cli.model import suites

        value = getattr(suites, name)
        globals()[name] = value
        return value
