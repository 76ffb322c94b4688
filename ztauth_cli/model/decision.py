"""Decisions, reason codes and traces produced by the engine (DESIGN.md, "Decision pipeline")."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from ztauth_cli.model.record import record

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


@record(frozen=True, slots=True, kw_only=True)
class TraceStep:
    """One pipeline step: whether it passed, and why."""

    step: Step
    passed: bool
    detail: str
    children: tuple[TraceStep, ...] = ()

    # Written out, not generated: a frozen dataclass's own __init__ sets each field through
    # object.__setattr__, the larger part of making the steps and decisions of every request.
    # Same keyword-only signature and defaults; the fields are set through their slots.
    def __init__(
        self, *, step: Step, passed: bool, detail: str, children: tuple[TraceStep, ...] = ()
    ) -> None:
        _set_step(self, step)
        _set_passed(self, passed)
        _set_detail(self, detail)
        _set_children(self, children)


@record(frozen=True, slots=True, kw_only=True)
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

    # Written out, not generated, as TraceStep's (same keyword-only signature and defaults).
    def __init__(
        self,
        *,
        allowed: bool,
        code: ReasonCode,
        message: str,
        user_message: str,
        via: str | None,
        policies: tuple[str, ...],
        trace: tuple[TraceStep, ...],
        ledger: str | None = None,
        revision: str | None = None,
        version: str | None = None,
        touched: tuple[str, ...] = (),
    ) -> None:
        # Fail closed by construction: nothing but code "allowed" can carry an allow.
        if allowed != (code is _ALLOWED):
            raise ValueError("a decision allows if and only if its code is 'allowed'")
        (
            set_allowed,
            set_code,
            set_message,
            set_user_message,
            set_via,
            set_policies,
            set_trace,
            set_ledger,
            set_revision,
            set_version,
            set_touched,
        ) = _DECISION_SLOTS
        set_allowed(self, allowed)
        set_code(self, code)
        set_message(self, message)
        set_user_message(self, user_message)
        set_via(self, via)
        set_policies(self, policies)
        set_trace(self, trace)
        set_ledger(self, ledger)
        set_revision(self, revision)
        set_version(self, version)
        set_touched(self, touched)


def _slot_setters(cls: Any) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of ``cls``'s slots, in field order (what object.__setattr__ ends up
    calling), looked up once."""
    return tuple(getattr(cls, field.name).__set__ for field in dataclasses.fields(cls))


_ALLOWED = ReasonCode.ALLOWED
_set_step, _set_passed, _set_detail, _set_children = _slot_setters(TraceStep)
_DECISION_SLOTS = _slot_setters(Decision)
