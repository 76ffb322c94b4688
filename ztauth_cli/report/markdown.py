"""Markdown report (for pull-request comments and job summaries)."""

from __future__ import annotations

from typing import TextIO

from ztauth_cli.model.findings import CheckReport
from ztauth_cli.report._common import location, sorted_checks, sorted_findings, summary_counts

__all__ = ["render"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: CheckReport, out: TextIO) -> None:
    """A heading with the counts, a table of checks and a table of findings."""
    counts = summary_counts(report)
    out.write(f"## {report.tool}\n\n")
    out.write(
        f"{counts['errors']} errors, {counts['warnings']} warnings, {counts['notes']} notes, "
        f"{counts['suppressed']} suppressed"
    )
    if report.checks:
        out.write(f"; {counts['passed']} passed, {counts['failed']} failed")
    out.write("\n")
    if report.checks:
        out.write("\n| result | group | check | message |\n|---|---|---|---|\n")
        for check in sorted_checks(report.checks):
            mark = "pass" if check.passed else "**FAIL**"
            message = _cell(check.message or "")
            out.write(f"| {mark} | {_cell(check.group)} | {_cell(check.name)} | {message} |\n")
    if report.findings:
        out.write("\n| severity | rule | location | message |\n|---|---|---|---|\n")
        for finding in sorted_findings(report.findings):
            severity = finding.severity.value
            if finding.suppressed is not None:
                severity += " (suppressed)"
            out.write(
                f"| {severity} | {finding.rule_id} | `{location(finding)}` "
                f"| {_cell(finding.message)} |\n"
            )
