"""Stable JSON of a ledger diff (shape: ``schemas/diff-report.schema.json``)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TextIO

from ztauth_cli.diff.model import (
    Change,
    DecisionFlip,
    DecisionSide,
    DiffReport,
    Impact,
    PolicyChange,
)
from ztauth_cli.model.span import Span
from ztauth_cli.report.envelope import envelope, json_text

__all__ = ["render", "to_json"]


def _record(value: PolicyChange | Change | DecisionFlip) -> dict[str, Any]:
    """A diff record's fields in declaration order: enums as their value, tuples as lists,
    ``span`` as ``location`` (``{path, line, column}`` or null), decision sides expanded."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if field.name == "span":
            out["location"] = item.as_json() if isinstance(item, Span) else None
        elif isinstance(item, enum.Enum):
            out[field.name] = item.value
        elif isinstance(item, tuple):
            out[field.name] = list(item)
        elif isinstance(item, DecisionSide):
            out[field.name] = _side(item)
        else:
            out[field.name] = item
    return out


def _side(side: DecisionSide) -> dict[str, Any]:
    return {
        "decision": "allow" if side.allowed else "deny",
        "code": side.code,
        "message": side.message,
        "via": side.via,
        "policies": list(side.policies),
    }


def to_json(report: DiffReport) -> dict[str, Any]:
    """The diff as a JSON-ready dict; every list is already in a stable order."""
    return envelope(
        "ztauth policy diff",
        {
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
            "decision_flips": [_record(f) for f in report.flips],
            "trust_changes": [_record(c) for c in report.changes],
            "policy_changes": [_record(p) for p in report.policies],
            "skipped": list(report.skipped),
        },
    )


def render(report: DiffReport, out: TextIO) -> None:
    """Write the diff as indented JSON with a trailing newline."""
    out.write(json_text(to_json(report)))
