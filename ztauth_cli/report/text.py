"""Human-readable report (rich; plain text off a terminal or under ``NO_COLOR``)."""

from __future__ import annotations

from typing import TextIO

from ztauth_cli.model.findings import CheckReport, Severity
from ztauth_cli.report._common import location, sorted_checks, sorted_findings, summary_counts
from ztauth_cli.report.console import make_console

__all__ = ["render", "summary"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def render(report: CheckReport, out: TextIO) -> None:
    """Print check rows, then one line per finding: ``path:line:col: severity[ID] message``."""
    from rich.markup import escape

    console = make_console(out)
    for check in sorted_checks(report.checks):
        mark = "[green]PASS[/]" if check.passed else "[bold red]FAIL[/]"
        where = f" [dim]({check.span})[/]" if check.span is not None else ""
        console.print(f"{mark} {escape(check.group)} > {escape(check.name)}{where}")
        if check.message and not check.passed:
            console.print(f"     {escape(check.message)}")
        if check.details and not check.passed:
            for line in check.details.splitlines():
                console.print(f"     {escape(line)}")
    for finding in sorted_findings(report.findings):
        style = _STYLE[finding.severity]
        head = (
            f"{escape(location(finding))}: [{style}]{finding.severity.value}[/]"
            f"[[bold]{finding.rule_id}[/]] {escape(finding.message)}"
        )
        if finding.suppressed is not None:
            head += f" [dim](suppressed: {escape(finding.suppressed)})[/]"
        console.print(head)
        if finding.hint and finding.suppressed is None:
            console.print(f"  [dim]hint:[/] {escape(finding.hint)}")


def summary(report: CheckReport) -> str:
    """A one-line summary (for stderr): counts of errors, warnings, notes and suppressions."""
    counts = summary_counts(report)
    parts = []
    if report.checks:
        parts.append(f"{counts['passed']} passed, {counts['failed']} failed")
    parts.append(
        f"{counts['errors']} error{'s' if counts['errors'] != 1 else ''}, "
        f"{counts['warnings']} warning{'s' if counts['warnings'] != 1 else ''}, "
        f"{counts['notes']} note{'s' if counts['notes'] != 1 else ''}"
    )
    parts.append(f"{counts['suppressed']} suppressed")
    return f"{report.tool}: " + "; ".join(parts)
