"""Every reporter renders every kind of report; exact output for the CI formats."""

from __future__ import annotations

import io
import json
from xml.etree import ElementTree as ET

import pytest

from ztauth_cli.model.findings import CheckReport, CheckResult, Finding, RuleDoc, Severity
from ztauth_cli.model.span import Span
from ztauth_cli.report import OutputFormat, render
from ztauth_cli.report.formats import require_format
from ztauth_cli.report.github import annotation
from ztauth_cli.report.sarif import to_sarif

RULE = RuleDoc(
    id="ZT101", name="trust-level-unknown", severity=Severity.ERROR, summary="s", help="h"
)
ERROR = Finding(
    rule_id="ZT101",
    severity=Severity.ERROR,
    message="group 'a' has unknown trust level 'b'",
    span=Span(path="trust/groups.yaml", line=3, column=1),
    hint="define it",
)
WARNING = Finding(
    rule_id="ZT301",
    severity=Severity.WARNING,
    message="no consent",
    span=Span(path="trust/d.yaml", line=2, column=1),
)
SUPPRESSED = Finding(
    rule_id="ZT307",
    severity=Severity.WARNING,
    message="permits everything",
    span=Span(path="policies/a.cedar", line=1, column=1),
    suppressed="sandbox",
)
LOOSE = Finding(rule_id="ZT001", severity=Severity.NOTE, message="no place", span=None)
CHECKS = (
    CheckResult(
        group="suite-a", name="case 1", passed=True, span=Span(path="tests/a.yaml", line=4)
    ),
    CheckResult(
        group="suite-a",
        name="case 2",
        passed=False,
        span=Span(path="tests/a.yaml", line=9),
        message="expected allow, got deny",
        details="code: policy_denied",
    ),
)
REPORTS = {
    "empty": CheckReport(tool="t"),
    "findings": CheckReport(tool="t", findings=(WARNING, ERROR, SUPPRESSED, LOOSE), rules=(RULE,)),
    "checks": CheckReport(tool="t", checks=CHECKS),
    "both": CheckReport(tool="t", checks=CHECKS, findings=(ERROR,), rules=(RULE,)),
}


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=[f.value for f in OutputFormat])
@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_every_format_renders_every_report(fmt: OutputFormat, kind: str) -> None:
    out = io.StringIO()
    render(REPORTS[kind], fmt, out)
    text = out.getvalue()
    if fmt in {OutputFormat.JSON, OutputFormat.SARIF}:
        json.loads(text)
    if fmt is OutputFormat.JUNIT:
        ET.fromstring(text)  # noqa: S314 - our own output
    if kind != "empty" and fmt is not OutputFormat.GITHUB:
        assert text.strip()


def test_text_is_plain_off_a_terminal() -> None:
    out = io.StringIO()
    render(REPORTS["findings"], OutputFormat.TEXT, out)
    assert "\x1b[" not in out.getvalue()
    assert out.getvalue().splitlines() == [
        "-: note[ZT001] no place",
        "policies/a.cedar:1:1: warning[ZT307] permits everything (suppressed: sandbox)",
        "trust/d.yaml:2:1: warning[ZT301] no consent",
        "trust/groups.yaml:3:1: error[ZT101] group 'a' has unknown trust level 'b'",
        "  hint: define it",
    ]


def test_github_annotations_escape_and_skip_suppressed() -> None:
    out = io.StringIO()
    render(REPORTS["findings"], OutputFormat.GITHUB, out)
    assert out.getvalue().splitlines() == [
        "::notice title=ZT001::no place",
        "::warning file=trust/d.yaml,line=2,col=1,title=ZT301::no consent",
        "::error file=trust/groups.yaml,line=3,col=1,title=ZT101::"
        "group 'a' has unknown trust level 'b'%0Ahint: define it",
    ]
    odd = Finding(
        rule_id="ZT1",
        severity=Severity.ERROR,
        message="100% bad\r\n",
        span=Span(path="a,b:c.yaml", line=1, column=2),
    )
    assert annotation(odd) == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=ZT1::100%25 bad%0D%0A"


def test_sarif_has_the_required_structure() -> None:
    log = to_sarif(REPORTS["findings"])
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ztauth"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == ["ZT101", "ZT001", "ZT301", "ZT307"]
    assert driver["rules"][0]["defaultConfiguration"] == {"level": "error"}
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["ZT001", "ZT307", "ZT301", "ZT101"]
    for result in results:
        assert result["level"] in {"error", "warning", "note", "none"}
        assert isinstance(result["message"]["text"], str)
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    located = results[3]["locations"][0]["physicalLocation"]
    assert located == {
        "artifactLocation": {"uri": "trust/groups.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3, "startColumn": 1},
    }
    assert "locations" not in results[0]
    assert results[1]["suppressions"] == [{"kind": "inSource", "justification": "sandbox"}]


def test_junit_counts_and_failures() -> None:
    out = io.StringIO()
    render(REPORTS["checks"], OutputFormat.JUNIT, out)
    root = ET.fromstring(out.getvalue())  # noqa: S314 - our own output
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    [suite] = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("suite-a", "2", "1")
    failure = suite.find("testcase[@name='case 2']/failure")
    assert failure is not None
    assert failure.get("message") == "expected allow, got deny"
    assert failure.text == "tests/a.yaml:9:1: code: policy_denied"


def test_json_document() -> None:
    out = io.StringIO()
    render(REPORTS["both"], OutputFormat.JSON, out)
    doc = json.loads(out.getvalue())
    assert doc["summary"] == {
        "errors": 1,
        "warnings": 0,
        "notes": 0,
        "suppressed": 0,
        "checks": 2,
        "passed": 1,
        "failed": 1,
    }
    assert doc["findings"] == [
        {
            "rule": "ZT101",
            "severity": "error",
            "message": "group 'a' has unknown trust level 'b'",
            "path": "trust/groups.yaml",
            "line": 3,
            "column": 1,
            "hint": "define it",
            "suppressed": None,
        }
    ]
    assert [c["name"] for c in doc["checks"]] == ["case 1", "case 2"]


def test_require_format_refuses_unsupported() -> None:
    from ztauth_cli.errors import UsageError

    require_format(OutputFormat.JSON, (OutputFormat.TEXT, OutputFormat.JSON), command="x")
    with pytest.raises(
        UsageError, match=r"x does not support --format sarif; use one of: json, text"
    ):
        require_format(OutputFormat.SARIF, (OutputFormat.TEXT, OutputFormat.JSON), command="x")


def test_check_report_formats_are_every_format_render_writes() -> None:
    from ztauth_cli.report.formats import CHECK_REPORT_FORMATS

    assert sorted(CHECK_REPORT_FORMATS) == sorted(OutputFormat)
    assert len(set(CHECK_REPORT_FORMATS)) == len(CHECK_REPORT_FORMATS)
