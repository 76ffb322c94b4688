"""SARIF 2.1.0 report (OASIS standard; read by GitHub code scanning and most CI dashboards)."""

from __future__ import annotations

from typing import Any, TextIO

from ztauth_cli import __version__
from ztauth_cli.model.findings import CheckReport, Finding, RuleDoc, Severity
from ztauth_cli.report._common import sorted_findings
from ztauth_cli.report.envelope import json_text

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "render", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def _rule(doc: RuleDoc) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": doc.id,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.help},
        "help": {"text": doc.help},
        "defaultConfiguration": {"level": doc.severity.value},
    }
    if doc.name:
        rule["name"] = doc.name
    return rule


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    text = finding.message if not finding.hint else f"{finding.message} (hint: {finding.hint})"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": finding.severity.value,
        "message": {"text": text},
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    if finding.span is not None:
        result["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.span.path, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": max(finding.span.line, 1),
                        "startColumn": max(finding.span.column, 1),
                    },
                }
            }
        ]
    if finding.suppressed is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.suppressed}]
    return result


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log with one run; every cited rule is described."""
    cited = {f.rule_id for f in report.findings}
    docs = sorted((r for r in report.rules if r.id in cited), key=lambda r: r.id)
    # A rule id cited without a doc still needs a descriptor for GitHub to show a title.
    known = {r.id for r in docs}
    docs += [
        RuleDoc(id=rid, severity=Severity.ERROR, summary=rid, help=rid)
        for rid in sorted(cited - known)
    ]
    rule_index = {doc.id: index for index, doc in enumerate(docs)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ztauth",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_rule(doc) for doc in docs],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(f, rule_index) for f in sorted_findings(report.findings)],
            }
        ],
    }


def render(report: CheckReport, out: TextIO) -> None:
    """Write the SARIF log as indented JSON."""
    out.write(json_text(to_sarif(report)))
