"""AuthZEN responses (DESIGN.md "The decision pipeline", last paragraph).

One evaluation: ``{"decision": bool, "context": {...}}``; a batch:
``{"evaluations": [{"decision": ..., "context": ...}, ...]}``. The context carries
``reason_admin`` and ``reason_user`` (``{code, message}``) and a ``ztauth`` object with the
ledger, revision and version evaluated, the determining policies (by ``@id``), ``via`` and the
trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ztauth_cli.model.decision import Decision, TraceStep

__all__ = ["authzen_response", "decision_json", "trace_json"]


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


def decision_json(decision: Decision) -> dict[str, Any]:
    """One AuthZEN evaluation response for ``decision``."""
    return {
        "decision": decision.allowed,
        "context": {
            "reason_admin": {"code": decision.code.value, "message": decision.message},
            "reason_user": {"code": decision.code.value, "message": decision.user_message},
            "ztauth": {
                "ledger": decision.ledger,
                "revision": decision.revision,
                "version": decision.version,
                "policies": list(decision.policies),
                "via": decision.via,
                "trace": trace_json(decision.trace),
            },
        },
    }


def authzen_response(decisions: Sequence[Decision], *, batch: bool) -> dict[str, Any]:
    """The AuthZEN response: one decision, or ``{"evaluations": [...]}`` for a batch.

    Raises:
        ValueError: a non-batch response needs exactly one decision.
    """
    if batch:
        return {"evaluations": [decision_json(d) for d in decisions]}
    if len(decisions) != 1:
        raise ValueError(f"a single AuthZEN response needs one decision, got {len(decisions)}")
    return decision_json(decisions[0])
