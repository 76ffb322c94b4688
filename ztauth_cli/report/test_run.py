"""Turn a ``ztauth test`` run (:class:`TestRun`) into its reports: stable JSON, human text, and a
``CheckReport``.

The run is a result model of :mod:`ztauth_cli.testing`; rendering it lives here, in the reporter
layer, so the testing core never imports rich. JUnit, SARIF and GitHub annotations come from the
shared reporters through :func:`to_check_report`; the JSON shape is
``schemas/test-report.schema.json`` (and its ``coverage`` member ``schemas/coverage.schema.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

from ztauth_cli.model.findings import CheckReport, CheckResult, Finding, RuleDoc, Severity
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.model import Decision, Expectation, TraceStep
    from ztauth_cli.testing.coverage import Coverage
    from ztauth_cli.testing.runner import CaseResult, TestRun

__all__ = [
    "COVERAGE_RULE",
    "FAILED_RULE",
    "render_json",
    "render_text",
    "to_check_report",
    "to_json",
    "trace_lines",
]

FAILED_RULE = "test-failed"
COVERAGE_RULE = "coverage-below-threshold"
# Where a finding about the whole ledger points (the manifest, ledger-relative).
MANIFEST = "ztauth.yaml"

RULES = (
    RuleDoc(
        id=FAILED_RULE,
        severity=Severity.ERROR,
        summary="A test case's decision does not match its expectation",
        help="The case's request was evaluated at the suite's clock with the run's minted "
        "tokens; the decision, reason code, 'via' or determining policies differ from 'expect'. "
        "Run 'ztauth test -k <case>' to see the decision trace.",
        name="TestCaseFailed",
    ),
    RuleDoc(
        id=COVERAGE_RULE,
        severity=Severity.ERROR,
        summary="Test coverage is below the required threshold",
        help="Fewer policies, security groups, trust levels, elevations and delegations were "
        "exercised by the test cases than '--threshold' requires. Run 'ztauth test --coverage' "
        "for the list of items never exercised.",
        name="CoverageBelowThreshold",
    ),
)


def _word(allowed: bool) -> str:
    return "allow" if allowed else "deny"


def trace_lines(trace: Iterable[TraceStep], *, indent: int = 0) -> list[str]:
    """The decision trace as indented ``ok/FAIL step: detail`` lines."""
    lines: list[str] = []
    for step in trace:
        mark = "ok  " if step.passed else "FAIL"
        lines.append(f"{'  ' * indent}{mark} {step.step.value}: {step.detail}")
        lines.extend(trace_lines(step.children, indent=indent + 1))
    return lines


def _trace_json(trace: Iterable[TraceStep]) -> list[dict[str, Any]]:
    return [
        {
            "step": s.step.value,
            "passed": s.passed,
            "detail": s.detail,
            "children": _trace_json(s.children),
        }
        for s in trace
    ]


def _expected_json(expect: Expectation) -> dict[str, Any]:
    return {
        "decision": _word(expect.decision),
        "code": expect.code,
        "via": expect.via,
        "policies": list(expect.policies),
    }


def _actual_json(decision: Decision) -> dict[str, Any]:
    return {
        "decision": _word(decision.allowed),
        "code": decision.code.value,
        "message": decision.message,
        "via": decision.via,
        "policies": list(decision.policies),
    }


def _case_json(result: CaseResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "name": result.case.name,
        **result.case.span.as_json(),
        "passed": result.passed,
        "expected": _expected_json(result.case.expect),
        "actual": _actual_json(result.decision),
        "mismatches": list(result.mismatches),
        # The trace only for failures: it is what a reader needs, and keeps big runs small.
        "trace": None if result.passed else _trace_json(result.decision.trace),
    }


def _suites(run: TestRun) -> list[tuple[str, list[CaseResult]]]:
    groups: dict[str, list[CaseResult]] = {}
    for result in run.results:
        groups.setdefault(result.suite, []).append(result)
    return list(groups.items())


def to_json(
    run: TestRun,
    *,
    ledger: str | None,
    revision: str | None,
    coverage: Coverage | None,
) -> dict[str, Any]:
    """The stable JSON report of a run (``schemas/test-report.schema.json``)."""
    from ztauth_cli.report.envelope import envelope

    suites = []
    for name, results in _suites(run):
        first = results[0]
        suites.append(
            {
                "name": name,
                "at": first.at.isoformat().replace("+00:00", "Z"),
                "passed": sum(1 for r in results if r.passed),
                "failed": sum(1 for r in results if not r.passed),
                "cases": [_case_json(r) for r in results],
            }
        )
    return envelope(
        "ztauth test",
        {
            "ledger": ledger,
            "revision": revision,
            "passed": run.failed == 0 and not (coverage is not None and coverage.below_threshold),
            "summary": {
                "total": len(run.results),
                "passed": run.passed,
                "failed": run.failed,
                "deselected": run.deselected,
            },
            "suites": suites,
            "coverage": coverage.to_json() if coverage is not None else None,
        },
    )


def render_json(document: dict[str, Any], out: TextIO) -> None:
    """Write the JSON report, indented, with a trailing newline."""
    from ztauth_cli.report.envelope import json_text

    out.write(json_text(document))


def _details(result: CaseResult) -> str:
    expect, decision = result.case.expect, result.decision
    lines = [
        f"expected: {_describe_expected(expect)}",
        f"actual:   {_word(decision.allowed)} ({decision.code.value}) {decision.message}",
    ]
    if decision.via is not None or decision.policies:
        lines.append(
            f"          via {decision.via or 'none'}; "
            f"determining policies: {', '.join(decision.policies) or 'none'}"
        )
    lines.append("trace:")
    lines.extend("  " + line for line in trace_lines(decision.trace))
    return "\n".join(lines)


def _describe_expected(expect: Expectation) -> str:
    parts = [_word(expect.decision)]
    if expect.code is not None:
        parts.append(f"code {expect.code}")
    if expect.via is not None:
        parts.append(f"via {expect.via}")
    if expect.policies:
        parts.append(f"policies among [{', '.join(expect.policies)}]")
    return ", ".join(parts)


def _coverage_message(coverage: Coverage) -> str:
    missed = [f"{c.name}: {', '.join(c.missed)}" for c in coverage.categories if c.missed]
    text = f"coverage {coverage.percent:g}% is below the threshold {coverage.threshold:g}%"
    return text + (f"; never exercised: {'; '.join(missed)}" if missed else "")


def to_check_report(
    run: TestRun,
    *,
    coverage: Coverage | None,
    display_path: Callable[[str], str] | None = None,
) -> CheckReport:
    """The run as a generic ``CheckReport`` for the JUnit, SARIF and GitHub reporters.

    Each case is a check named ``suite/case`` in group ``suite`` (unique names for CI systems
    that de-duplicate by name); each failing case is also a finding at the case's file:line.
    With a threshold, coverage is one more check (group ``coverage``) and, below it, a finding.
    ``display_path`` maps a span's path for the report (e.g. ledger-relative to repo-relative,
    so that CI annotations find the file when the ledger is a subfolder).
    """

    def span(result: CaseResult) -> Span:
        where = result.case.span
        if display_path is None:
            return where
        return dataclasses.replace(where, path=display_path(where.path))

    checks = [
        CheckResult(
            group=r.suite,
            name=r.id,
            passed=r.passed,
            span=span(r),
            message=None if r.passed else "; ".join(r.mismatches),
            details=None if r.passed else _details(r),
            duration=r.duration,
        )
        for r in run.results
    ]
    findings = [
        Finding(
            rule_id=FAILED_RULE,
            severity=Severity.ERROR,
            message=f"{r.id}: {'; '.join(r.mismatches)}",
            span=span(r),
            hint=f"actual decision: {_word(r.decision.allowed)} ({r.decision.code.value}) "
            f"{r.decision.message}",
        )
        for r in run.results
        if not r.passed
    ]
    if coverage is not None and coverage.threshold is not None:
        # Coverage is about the whole ledger: it points at the manifest's first line, so that
        # every SARIF result has a location (GitHub code scanning rejects one without).
        manifest = Span(path=display_path(MANIFEST) if display_path is not None else MANIFEST)
        checks.append(
            CheckResult(
                group="coverage",
                name="coverage/threshold",
                passed=not coverage.below_threshold,
                span=manifest,
                message=_coverage_message(coverage) if coverage.below_threshold else None,
            )
        )
        if coverage.below_threshold:
            findings.append(
                Finding(
                    rule_id=COVERAGE_RULE,
                    severity=Severity.ERROR,
                    message=_coverage_message(coverage),
                    span=manifest,
                )
            )
    return CheckReport(
        tool="ztauth test", checks=tuple(checks), findings=tuple(findings), rules=RULES
    )


def render_text(
    run: TestRun, out: TextIO, *, coverage: Coverage | None, verbose: bool = False
) -> None:
    """Human report: one line per suite, every failing case in full (file:line, expected versus
    actual, trace), the coverage table, and last, alone on its line, ``N passed, N failed``.
    ``verbose`` (``-v``) shows every passing case in full too, before the failures.
    """
    from rich.markup import escape

    from ztauth_cli.report.console import make_console

    console = make_console(out)
    for name, results in _suites(run):
        failed = [r for r in results if not r.passed]
        count = len(results)
        noun = "case" if count == 1 else "cases"
        if failed:
            console.print(
                f"[bold red]FAIL[/] {escape(name)} ({len(failed)} of {count} {noun} failed)"
            )
        else:
            console.print(f"[green]PASS[/] {escape(name)} ({count} {noun})")
    for result in (r for r in run.results if r.passed and verbose):
        console.print()
        console.print(f"[green]PASSED[/] [bold]{escape(result.id)}[/] ({result.case.span})")
        for line in _details(result).splitlines():
            console.print(f"  {escape(line)}", style="dim" if line.startswith("  ") else None)
    for result in (r for r in run.results if not r.passed):
        console.print()
        console.print(f"[bold red]FAILED[/] [bold]{escape(result.id)}[/] ({result.case.span})")
        for mismatch in result.mismatches:
            console.print(f"  [red]{escape(mismatch)}[/]")
        for line in _details(result).splitlines():
            console.print(f"  {escape(line)}", style="dim" if line.startswith("  ") else None)
    if coverage is not None:
        # One line per category, never wrapped: lists of names stay greppable in CI logs.
        console.print()
        console.print(
            f"[bold]coverage[/] {coverage.percent:g}% "
            f"({coverage.exercised} of {coverage.total} items exercised)"
        )
        width = max(len(c.name) for c in coverage.categories)
        for category in coverage.categories:
            counts = f"{len(category.exercised)}/{category.total}"
            line = f"  {category.name:<{width}}  {counts:>7}  {category.percent:>6g}%"
            if category.missed:
                line += f"  never exercised: {', '.join(category.missed)}"
            console.print(escape(line))
        if coverage.threshold is not None:
            verdict = "[red]below[/]" if coverage.below_threshold else "[green]meets[/]"
            console.print(
                f"coverage {coverage.percent:g}% {verdict} the threshold {coverage.threshold:g}%"
            )
    console.print()
    # CI parses this line alone on the last line of stdout: keep it plain and last.
    console.print(run.summary(), markup=False, highlight=False)
