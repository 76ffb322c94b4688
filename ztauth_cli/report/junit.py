"""JUnit XML report (``testsuites/testsuite/testcase/failure``, read by common CI systems)."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree as ET

from ztauth_cli.model.findings import CheckReport, CheckResult
from ztauth_cli.report._common import sorted_checks

__all__ = ["render"]


def _seconds(checks: list[CheckResult]) -> str:
    """JUnit's ``time``: the measured seconds, 0 for checks nobody timed (lint findings)."""
    return f"{sum(c.duration or 0.0 for c in checks):.6f}".rstrip("0").rstrip(".") or "0"


def _case(suite: ET.Element, check: CheckResult) -> None:
    case = ET.SubElement(
        suite, "testcase", classname=check.group, name=check.name, time=_seconds([check])
    )
    if check.span is not None:
        case.set("file", check.span.path)
        case.set("line", str(check.span.line))
    if not check.passed:
        failure = ET.SubElement(case, "failure", message=check.message or "failed", type="failure")
        text = check.details or check.message or ""
        if check.span is not None:
            text = f"{check.span}: {text}"
        failure.text = text
    elif check.message:
        ET.SubElement(case, "system-out").text = check.message


def render(report: CheckReport, out: TextIO) -> None:
    """One ``testsuite`` per check group, one ``testcase`` per check row."""
    checks = sorted_checks(report.checks)
    root = ET.Element(
        "testsuites",
        name=report.tool,
        tests=str(len(checks)),
        failures=str(sum(1 for c in checks if not c.passed)),
        errors="0",
        time=_seconds(checks),
    )
    groups: dict[str, list[CheckResult]] = {}
    for check in checks:
        groups.setdefault(check.group, []).append(check)
    for name, rows in groups.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=name,
            tests=str(len(rows)),
            failures=str(sum(1 for c in rows if not c.passed)),
            errors="0",
            skipped="0",
            time=_seconds(rows),
        )
        for check in rows:
            _case(suite, check)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
