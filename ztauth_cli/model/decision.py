"""Decisions, reason codes and traces produced by the engine (DESIGN.md, "Decision pipeline")."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Decision", "ReasonCode", "Step", "TraceStep"]


@enum.unique
class ReasonCode(str, enum.Enum):
    """The fixed vocabulary of reason codes; each value is the string used in output."""

    ALLOWED = "allowed"
    INVALID_REQUEST = "invalid_request"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - a reason code, not a secret
    UNTRUSTED_ACTOR = "untrusted_actor"
    UNAUTHORIZED_ACTOR = "unauthorized_actor"
    CONSENT_REQUIRED = "consent_required"
    INVALID_CONSENT = "invalid_consent"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    CHAIN_BROKEN = "chain_broken"
    POLICY_DENIED = "policy_denied"
    LEDGER_UNVERIFIED = "ledger_unverified"
    EVALUATION_ERROR = "evaluation_error"


@enum.unique
class Step(str, enum.Enum):
    """The pipeline steps, in order."""

    LEDGER = "ledger"
    REQUEST = "request"
    TOKENS = "tokens"
    ACTOR_TRUST = "actor_trust"
    ON_BEHALF_OF = "on_behalf_of"
    CHAIN = "chain"
    POLICY = "policy"


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceStep:
    """One pipeline step: whether it passed, and why."""

    step: Step
    passed: bool
    detail: str
    children: tuple[TraceStep, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The outcome of evaluating one request. ``allowed`` is True only with code ``allowed``."""

    allowed: bool
    code: ReasonCode
    message: str
    user_message: str
    via: str | None
    policies: tuple[str, ...]
    trace: tuple[TraceStep, ...]
    ledger: str | None = None
    revision: str | None = None
    version: str | None = None
    # Security groups, trust levels, elevations and delegations on the decision path
    # (``group/<name>``, ``trust_level/<name>``...), used for test coverage.
    touched: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Fail closed by construction: nothing but code "allowed" can carry an allow.
        if self.allowed != (self.code is ReasonCode.ALLOWED):
            raise ValueError("a decision allows if and only if its code is 'allowed'")
