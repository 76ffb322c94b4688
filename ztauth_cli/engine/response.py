"""AuthZEN responses (DESIGN.md "The decision pipeline", last paragraph).

One evaluation: ``{"decision": bool, "context": {...}}``; a batch:
``{"evaluations": [{"decision": ..., "context": ...}, ...]}``. The context carries
``reason_admin`` and ``reason_user`` (``{code, message}``) and a ``ztauth`` object with the
ledger, revision and version evaluated, the determining policies (by ``@id``), ``via`` and the
trace.

Wire fidelity (ZTAuth*, Permguard): a decision may carry an id (``context.id``, the same id
its audit line records) and a response echoes the request's ``request_id``. How much context
a response carries is a :class:`ContextLevel`: AuthZEN clients that compare bare decisions
(the interop harnesses compare ``{"decision": true}`` exactly) ask for none.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring_ascii as _string
from typing import Any

from ztauth_cli.model.decision import Decision, ReasonCode, Step, TraceStep

__all__ = [
    "ContextLevel",
    "authzen_response",
    "decision_json",
    "request_id_of",
    "response_line",
    "trace_json",
]


@enum.unique
class ContextLevel(str, enum.Enum):
    """How much of a decision's ``context`` a response carries; each value is its option text."""

    NONE = "none"  # {"decision": bool} only: what AuthZEN clients compare
    REASONS = "reasons"  # + id, reason_admin, reason_user, ztauth (ledger, revision, policies)
    TRACE = "trace"  # + ztauth.trace: everything


def request_id_of(request: Any) -> str | int | None:
    """The request's own ``request_id`` (ZTAuth*, Permguard), to be echoed; None when absent or
    not a string or an integer (anything else is not an identifier worth echoing)."""
    if not isinstance(request, Mapping):
        return None
    value = request.get("request_id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return value


def trace_json(steps: Sequence[TraceStep]) -> list[dict[str, Any]]:
    """The trace as JSON: ``[{step, passed, detail, children?}]``."""
    out: list[dict[str, Any]] = []
    for step in steps:
        item: dict[str, Any] = {
            "step": step.step.value,
            "passed": step.passed,
            "detail": step.detail,
        }
        if step.children:
            item["children"] = trace_json(step.children)
        out.append(item)
    return out


def decision_json(
    decision: Decision,
    *,
    decision_id: str | None = None,
    level: ContextLevel = ContextLevel.TRACE,
) -> dict[str, Any]:
    """One AuthZEN evaluation response for ``decision``; ``context.id`` when ``decision_id``
    is given, and only as much context as ``level`` asks for."""
    if level is ContextLevel.NONE:
        return {"decision": decision.allowed}
    ztauth: dict[str, Any] = {
        "ledger": decision.ledger,
        "revision": decision.revision,
        "version": decision.version,
        "policies": list(decision.policies),
        "via": decision.via,
    }
    if level is ContextLevel.TRACE:
        ztauth["trace"] = trace_json(decision.trace)
    context: dict[str, Any] = {} if decision_id is None else {"id": decision_id}
    context["reason_admin"] = {"code": decision.code.value, "message": decision.message}
    context["reason_user"] = {"code": decision.code.value, "message": decision.user_message}
    context["ztauth"] = ztauth
    return {"decision": decision.allowed, "context": context}


def authzen_response(
    decisions: Sequence[Decision],
    *,
    batch: bool,
    ids: Sequence[str] | None = None,
    request_id: str | int | None = None,
    level: ContextLevel = ContextLevel.TRACE,
) -> dict[str, Any]:
    """The AuthZEN response: one decision, or ``{"evaluations": [...]}`` for a batch.

    ``ids`` are the decisions' ids (``context.id``), in order; ``request_id`` is echoed first.

    Raises:
        ValueError: a non-batch response needs exactly one decision; ``ids`` must match.
    """
    if ids is not None and len(ids) != len(decisions):
        raise ValueError(f"{len(ids)} decision id(s) for {len(decisions)} decision(s)")
    head: dict[str, Any] = {} if request_id is None else {"request_id": request_id}
    items = [
        decision_json(d, decision_id=ids[i] if ids is not None else None, level=level)
        for i, d in enumerate(decisions)
    ]
    if batch:
        return {**head, "evaluations": items}
    if len(decisions) != 1:
        raise ValueError(f"a single AuthZEN response needs one decision, got {len(decisions)}")
    return {**head, **items[0]}


def response_line(
    decisions: Sequence[Decision],
    *,
    batch: bool,
    ids: Sequence[str],
    request_id: str | int | None = None,
) -> str:
    """``json.dumps(authzen_response(...), separators=(",", ":"))`` at the ``trace`` level,
    character for character, written straight from the decisions: a stream answers every line
    with one, and building the dicts first cost as much as encoding them.

    Raises:
        ValueError: as :func:`authzen_response`.
    """
    if len(ids) != len(decisions):
        raise ValueError(f"{len(ids)} decision id(s) for {len(decisions)} decision(s)")
    head = "" if request_id is None else f'"request_id":{json.dumps(request_id)},'
    items = [_decision_text(d, i) for d, i in zip(decisions, ids, strict=True)]
    if batch:
        return f'{{{head}"evaluations":[{",".join(items)}]}}'
    if len(decisions) != 1:
        raise ValueError(f"a single AuthZEN response needs one decision, got {len(decisions)}")
    return f"{{{head}{items[0][1:]}"


def _decision_text(decision: Decision, decision_id: str) -> str:
    code = _CODES[decision.code]
    policies = ",".join(_string(p) for p in decision.policies)
    where = (decision.ledger, decision.revision, decision.version)
    ledger = _LEDGERS.get(where)
    if ledger is None:
        if len(_LEDGERS) >= _REMEMBERED:
            _LEDGERS.clear()
        ledger = _LEDGERS[where] = (
            f'"ledger":{_optional(decision.ledger)},"revision":{_optional(decision.revision)},'
            f'"version":{_optional(decision.version)}'
        )
    return (
        f'{{"decision":{_BOOL[decision.allowed]},"context":{{"id":{_string(decision_id)},'
        f'"reason_admin":{{"code":{code},"message":{_string(decision.message)}}},'
        f'"reason_user":{{"code":{code},"message":{_string(decision.user_message)}}},'
        f'"ztauth":{{{ledger},"policies":[{policies}],"via":{_optional(decision.via)},'
        f'"trace":{_trace_text(decision.trace)}}}}}}}'
    )


_BOOL = {True: "true", False: "false"}
# Encoded once: reading an enum member's value is slow next to a dict look-up.
_CODES = {code: _string(code.value) for code in ReasonCode}
_STEPS = {step: _string(step.value) for step in Step}
# Encoded once each, as well: the ledger a decision names (one per engine), and each trace
# step (decisions share steps: "no tokens", a subject acting for itself, a policy verdict).
# Steps are remembered by identity, the step held so that its id is not reused meanwhile.
_LEDGERS: dict[tuple[str | None, str | None, str | None], str] = {}
_STEP_TEXTS: dict[int, tuple[TraceStep, str]] = {}
_REMEMBERED = 1024


def _optional(value: str | None) -> str:
    return "null" if value is None else _string(value)


def _trace_text(steps: Sequence[TraceStep]) -> str:
    parts = []
    for step in steps:
        known = _STEP_TEXTS.get(id(step))
        if known is not None and known[0] is step:
            parts.append(known[1])
            continue
        children = f',"children":{_trace_text(step.children)}' if step.children else ""
        text = (
            f'{{"step":{_STEPS[step.step]},"passed":{_BOOL[step.passed]},'
            f'"detail":{_string(step.detail)}{children}}}'
        )
        if len(_STEP_TEXTS) >= _REMEMBERED:
            _STEP_TEXTS.clear()
        _STEP_TEXTS[id(step)] = (step, text)
        parts.append(text)
    return f"[{','.join(parts)}]"
