from __future__ import annotations

from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import pytest

from tests.support.schemas import assert_valid
from ztauth_cli.model import (
    Decision,
    Expectation,
    ReasonCode,
    Span,
    Step,
    TestCase,
    TraceStep,
)
from ztauth_cli.report.test_run import render_text, to_check_report, to_json
from ztauth_cli.testing import CaseResult, TestRun, compute_coverage, expectation_mismatches

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
AT = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def decision(
    code: ReasonCode = ReasonCode.ALLOWED,
    *,
    via: str | None = None,
    policies: tuple[str, ...] = (),
    touched: tuple[str, ...] = (),
) -> Decision:
    allowed = code is ReasonCode.ALLOWED
    return Decision(
        allowed=allowed,
        code=code,
        message=f"{code.value} message",
        user_message="user text",
        via=via,
        policies=policies,
        trace=(
            TraceStep(step=Step.REQUEST, passed=True, detail="well formed"),
            TraceStep(
                step=Step.POLICY,
                passed=allowed,
                detail="cedar said so",
                children=(TraceStep(step=Step.POLICY, passed=allowed, detail="inner"),),
            ),
        ),
        touched=touched,
    )


@pytest.mark.parametrize(
    ("expect", "actual", "mismatches"),
    [
        (Expectation(decision=True), decision(), ()),
        (
            Expectation(decision=True),
            decision(ReasonCode.POLICY_DENIED),
            ("decision: expected allow, got deny",),
        ),
        (
            Expectation(decision=False, code="consent_required"),
            decision(ReasonCode.INVALID_CONSENT),
            ("code: expected consent_required, got invalid_consent",),
        ),
        (
            Expectation(decision=True, via="delegation/d1"),
            decision(via="elevation/e1"),
            ("via: expected delegation/d1, got elevation/e1",),
        ),
        (
            Expectation(decision=True, via="delegation/d1"),
            decision(),
            ("via: expected delegation/d1, got none",),
        ),
        (
            Expectation(decision=True, policies=("a", "b")),
            decision(policies=("a", "b", "c")),
            (),
        ),
        (
            Expectation(decision=True, policies=("a", "z", "b")),
            decision(policies=("a",)),
            ("policies: expected b, z among the determining policies, got a",),
        ),
        (
            Expectation(decision=True, code="allowed", policies=("p",)),
            decision(ReasonCode.INVALID_TOKEN),
            (
                "decision: expected allow, got deny",
                "code: expected allowed, got invalid_token",
                "policies: expected p among the determining policies, got none",
            ),
        ),
    ],
    ids=[
        "allow",
        "decision",
        "code",
        "via-other",
        "via-none",
        "policies-among",
        "policies-missing",
        "several",
    ],
)
def test_expectation_mismatches(
    expect: Expectation, actual: Decision, mismatches: tuple[str, ...]
) -> None:
    assert expectation_mismatches(expect, actual) == mismatches


def case(name: str, line: int, expect: Expectation) -> TestCase:
    return TestCase(
        span=Span(path="tests/a.yaml", line=line, column=5),
        name=name,
        request={},
        expect=expect,
    )


def result(suite: str, name: str, line: int, expect: Expectation, got: Decision) -> CaseResult:
    return CaseResult(
        suite=suite,
        case=case(name, line, expect),
        at=AT,
        decision=got,
        mismatches=expectation_mismatches(expect, got),
    )


RUN = TestRun(
    results=(
        result(
            "s1",
            "reads",
            10,
            Expectation(decision=True, via="delegation/d1"),
            decision(
                via="delegation/d1",
                policies=("owner-can-read",),
                touched=("group/assistants", "trust_level/attested", "delegation/d1"),
            ),
        ),
        result(
            "s1",
            "denied",
            20,
            Expectation(decision=False, code="consent_required"),
            decision(ReasonCode.POLICY_DENIED, policies=("no-export",)),
        ),
        result(
            "s2", "reads", 5, Expectation(decision=True), decision(policies=("owner-can-read",))
        ),
    ),
    deselected=2,
)

UNIVERSE = {
    "policy": ("no-export", "owner-can-read", "unused-policy"),
    "group": ("assistants", "billing"),
    "trust_level": ("attested",),
    "elevation": ("e1",),
    "delegation": ("d1",),
}


def test_run_counts_and_summary() -> None:
    assert (RUN.passed, RUN.failed) == (2, 1)
    assert RUN.summary() == "2 passed, 1 failed, 2 deselected"
    assert TestRun(results=RUN.results[:1]).summary() == "1 passed, 0 failed"


def test_coverage_per_category_and_overall() -> None:
    coverage = compute_coverage(UNIVERSE, (r.decision for r in RUN.results), threshold=80)
    assert coverage.to_json() == {
        "percent": 62.5,
        "exercised": 5,
        "total": 8,
        "threshold": 80,
        "passed": False,
        "categories": {
            "policies": {
                "percent": 66.67,
                "exercised": ["no-export", "owner-can-read"],
                "missed": ["unused-policy"],
                "total": 3,
            },
            "groups": {
                "percent": 50.0,
                "exercised": ["assistants"],
                "missed": ["billing"],
                "total": 2,
            },
            "trust_levels": {"percent": 100.0, "exercised": ["attested"], "missed": [], "total": 1},
            "elevations": {"percent": 0.0, "exercised": [], "missed": ["e1"], "total": 1},
            "delegations": {"percent": 100.0, "exercised": ["d1"], "missed": [], "total": 1},
        },
    }
    assert coverage.below_threshold
    assert not compute_coverage(UNIVERSE, [], threshold=None).below_threshold
    empty = compute_coverage({}, [], threshold=100)
    assert (empty.percent, empty.below_threshold) == (100.0, False)


def test_json_report_matches_its_schema() -> None:
    coverage = compute_coverage(UNIVERSE, (r.decision for r in RUN.results), threshold=50)
    document = to_json(RUN, ledger="ztauth://a.b/123456789012/l", revision=None, coverage=coverage)
    assert_valid(document, "test-report")
    assert_valid(document["coverage"], "coverage")
    assert document["passed"] is False
    assert document["summary"] == {"total": 3, "passed": 2, "failed": 1, "deselected": 2}
    assert [s["name"] for s in document["suites"]] == ["s1", "s2"]
    failing = document["suites"][0]["cases"][1]
    assert failing == {
        "id": "s1/denied",
        "name": "denied",
        "path": "tests/a.yaml",
        "line": 20,
        "column": 5,
        "passed": False,
        "expected": {"decision": "deny", "code": "consent_required", "via": None, "policies": []},
        "actual": {
            "decision": "deny",
            "code": "policy_denied",
            "message": "policy_denied message",
            "via": None,
            "policies": ["no-export"],
        },
        "mismatches": ["code: expected consent_required, got policy_denied"],
        "trace": [
            {"step": "request", "passed": True, "detail": "well formed", "children": []},
            {
                "step": "policy",
                "passed": False,
                "detail": "cedar said so",
                "children": [
                    {"step": "policy", "passed": False, "detail": "inner", "children": []}
                ],
            },
        ],
    }
    assert document["suites"][0]["cases"][0]["trace"] is None
    without = to_json(RUN, ledger=None, revision="abc", coverage=None)
    assert_valid(without, "test-report")


def test_check_report_names_cases_uniquely_and_finds_failures() -> None:
    coverage = compute_coverage(UNIVERSE, (r.decision for r in RUN.results), threshold=90)
    report = to_check_report(RUN, coverage=coverage)
    assert [(c.group, c.name, c.passed) for c in report.checks] == [
        ("s1", "s1/reads", True),
        ("s1", "s1/denied", False),
        ("s2", "s2/reads", True),
        ("coverage", "coverage/threshold", False),
    ]
    assert [(f.rule_id, str(f.span)) for f in report.findings] == [
        ("test-failed", "tests/a.yaml:20:5"),
        # About the whole ledger: the manifest's first line (SARIF needs a location).
        ("coverage-below-threshold", "ztauth.yaml:1:1"),
    ]
    assert report.findings[1].message.startswith(
        "coverage 62.5% is below the threshold 90%; never exercised: policies: unused-policy; "
    )


def test_text_report_ends_with_the_summary_line() -> None:
    out = StringIO()
    coverage = compute_coverage(UNIVERSE, (r.decision for r in RUN.results), threshold=None)
    render_text(RUN, out, coverage=coverage)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[-1] == "2 passed, 1 failed, 2 deselected"
    assert "\x1b[" not in text  # plain off a terminal
    assert lines[:2] == ["FAIL s1 (1 of 2 cases failed)", "PASS s2 (1 case)"]
    assert "FAILED s1/denied (tests/a.yaml:20:5)" in lines
    assert "  code: expected consent_required, got policy_denied" in lines
    assert "    FAIL policy: cedar said so" in lines
    assert "      FAIL policy: inner" in lines
    assert any(line.startswith("  policies ") and "unused-policy" in line for line in lines)
