"""Helpers shared by the reporters: stable ordering and location text."""

from __future__ import annotations

from ztauth_cli.model.findings import CheckReport, CheckResult, Finding, Severity
from ztauth_cli.model.span import Span

__all__ = ["location", "sorted_checks", "sorted_findings", "span_fields", "summary_counts"]

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}


def sorted_findings(findings: tuple[Finding, ...]) -> list[Finding]:
    """Findings in path, line, column, rule order (reporters' output is stable)."""
    return sorted(
        findings,
        key=lambda f: (
            f.span.path if f.span else "",
            f.span.line if f.span else 0,
            f.span.column if f.span else 0,
            f.rule_id,
            _SEVERITY_ORDER[f.severity],
            f.message,
        ),
    )


def sorted_checks(checks: tuple[CheckResult, ...]) -> list[CheckResult]:
    """Check rows grouped by group, in the order they were produced within a group."""
    order: dict[str, int] = {}
    for check in checks:
        order.setdefault(check.group, len(order))
    return sorted(checks, key=lambda c: order[c.group])


def span_fields(span: Span | None) -> dict[str, str | int | None]:
    """``path``/``line``/``column`` of a place as flat JSON fields, all ``None`` without one."""
    if span is None:
        return {"path": None, "line": None, "column": None}
    return {**span.as_json()}


def location(finding: Finding) -> str:
    """``path:line:col`` of a finding, or ``-`` when it has no place."""
    return str(finding.span) if finding.span is not None else "-"


def summary_counts(report: CheckReport) -> dict[str, int]:
    """The counts every format reports: active findings by severity, suppressed, checks."""
    return {
        "errors": report.count(Severity.ERROR),
        "warnings": report.count(Severity.WARNING),
        "notes": report.count(Severity.NOTE),
        "suppressed": len(report.suppressed),
        "checks": len(report.checks),
        "passed": sum(1 for c in report.checks if c.passed),
        "failed": sum(1 for c in report.checks if not c.passed),
    }
