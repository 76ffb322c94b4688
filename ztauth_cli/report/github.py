"""GitHub Actions workflow commands: ``::error file=...,line=...,col=...,title=ZT101::msg``."""

from __future__ import annotations

from typing import TextIO

from ztauth_cli.model.findings import CheckReport, Finding, Severity
from ztauth_cli.report._common import sorted_findings

__all__ = ["annotation", "render"]

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _escape_data(text: str) -> str:
    # Workflow-command escaping, as in @actions/core's command.ts (escapeData).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # Property values also escape ':' and ',' (escapeProperty).
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """One workflow command line for ``finding``."""
    props = []
    if finding.span is not None:
        props += [
            f"file={_escape_property(finding.span.path)}",
            f"line={finding.span.line}",
            f"col={finding.span.column}",
        ]
    props.append(f"title={_escape_property(finding.rule_id)}")
    message = finding.message if not finding.hint else f"{finding.message}\nhint: {finding.hint}"
    return f"::{_COMMAND[finding.severity]} {','.join(props)}::{_escape_data(message)}"


def render(report: CheckReport, out: TextIO) -> None:
    """One annotation per active finding (suppressed findings are not annotated)."""
    for finding in sorted_findings(report.active):
        out.write(annotation(finding) + "\n")
