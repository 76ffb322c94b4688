"""Stable JSON report (shape: ``schemas/check-report.schema.json``)."""

from __future__ import annotations

from typing import Any, TextIO

from ztauth_cli.model.findings import CheckReport, CheckResult, Finding
from ztauth_cli.report._common import (
    sorted_checks,
    sorted_findings,
    span_fields,
    summary_counts,
)
from ztauth_cli.report.envelope import envelope, json_text

__all__ = ["render", "to_json"]


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        **span_fields(finding.span),
        "hint": finding.hint,
        "suppressed": finding.suppressed,
    }


def _check(check: CheckResult) -> dict[str, Any]:
    return {
        "group": check.group,
        "name": check.name,
        "passed": check.passed,
        **span_fields(check.span),
        "message": check.message,
        "details": check.details,
    }


def to_json(report: CheckReport) -> dict[str, Any]:
    """The report as a JSON-ready dict (findings sorted by place, then rule)."""
    return envelope(
        report.tool,
        {
            "summary": summary_counts(report),
            "findings": [_finding(f) for f in sorted_findings(report.findings)],
            "checks": [_check(c) for c in sorted_checks(report.checks)],
        },
    )


def render(report: CheckReport, out: TextIO) -> None:
    """Write the report as indented JSON with a trailing newline."""
    out.write(json_text(to_json(report)))
