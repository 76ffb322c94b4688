"""Stable JSON of a ledger diff (shape: ``schemas/diff-report.schema.json``)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from ztauth_cli import __version__
from ztauth_cli.diff.model import (
    Change,
    DecisionFlip,
    DecisionSide,
    DiffReport,
    Impact,
    PolicyChange,
)
from ztauth_cli.model.span import Span

__all__ = ["SCHEMA_VERSION", "render", "to_json"]

SCHEMA_VERSION = 1


def _where(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {"path": span.path, "line": span.line, "column": span.column}


def _policy(change: PolicyChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "kind": change.kind,
        "impact": change.impact.value,
        "summary": change.summary,
        "aspects": list(change.aspects),
        "before": change.before,
        "after": change.after,
        "location": _where(change.span),
    }


def _change(change: Change) -> dict[str, Any]:
    return {
        "area": change.area,
        "subject": change.subject,
        "kind": change.kind,
        "field": change.field,
        "impact": change.impact.value,
        "summary": change.summary,
        "before": change.before,
        "after": change.after,
        "location": _where(change.span),
    }


def _side(side: DecisionSide) -> dict[str, Any]:
    return {
        "decision": "allow" if side.allowed else "deny",
        "code": side.code,
        "message": side.message,
        "via": side.via,
        "policies": list(side.policies),
    }


def _flip(flip: DecisionFlip) -> dict[str, Any]:
    return {
        "source": flip.source,
        "name": flip.name,
        "request": flip.request,
        "impact": flip.impact.value,
        "base": _side(flip.base),
        "target": _side(flip.target),
        "location": _where(flip.span),
    }


def to_json(report: DiffReport) -> dict[str, Any]:
    """The diff as a JSON-ready dict; every list is already in a stable order."""
    return {
        "tool": "ztauth policy diff",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "base": {"revision": report.base.label, "commit": report.base.commit},
        "target": {"revision": report.target.label, "commit": report.target.commit},
        "summary": {
            "widening": report.widening,
            "widening_count": report.count(Impact.WIDENING),
            "narrowing_count": report.count(Impact.NARROWING),
            "neutral_count": report.count(Impact.NEUTRAL),
            "policy_changes": len(report.policies),
            "trust_changes": len(report.changes),
            "decisions_evaluated": report.evaluated,
            "decision_flips": len(report.flips),
            "skipped": len(report.skipped),
        },
        "decision_flips": [_flip(f) for f in report.flips],
        "trust_changes": [_change(c) for c in report.changes],
        "policy_changes": [_policy(p) for p in report.policies],
        "skipped": list(report.skipped),
    }


def render(report: DiffReport, out: TextIO) -> None:
    """Write the diff as indented JSON with a trailing newline."""
    out.write(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n")
