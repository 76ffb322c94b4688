"""The lint driver: run every rule, apply inline suppressions, filter to the given files.

Pure over a loaded :class:`Ledger` (the clock is passed in): the CLI loads, this decides,
a reporter renders.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from ztauth_cli.lint import rules as _rules  # noqa: F401  (registers every rule)
from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import RULES, Rule
from ztauth_cli.model.findings import CheckReport, CheckResult, Finding, Severity
from ztauth_cli.model.ledger import Ledger
from ztauth_cli.model.span import Span

__all__ = [
    "LintResult",
    "RuleSelection",
    "exit_code",
    "lint_ledger",
    "resolve_rule",
    "rule_docs",
    "select_rules",
    "with_checks",
]

TOOL = "ztauth policy lint"
MANIFEST = "ztauth.yaml"
_SEPARATOR = re.compile(r"^---")


@dataclass(frozen=True, slots=True, kw_only=True)
class LintResult:
    """The report plus what decided the exit code."""

    report: CheckReport
    strict: bool
    files: tuple[str, ...]


def rule_docs() -> tuple[Rule, ...]:
    """Every registered rule, by id."""
    return tuple(RULES[key] for key in sorted(RULES))


def _blocks(path: str, text: str) -> list[tuple[int, int]]:
    """Line ranges (first, last) of the YAML documents or Cedar statements of one file."""
    lines = text.splitlines()
    if path.endswith(".cedar"):
        from ztauth_cli.engine.cedar import split_statements

        return [(line, line + body.count("\n")) for body, line, _column in split_statements(text)]
    blocks: list[tuple[int, int]] = []
    start = 1
    for number, line in enumerate(lines, start=1):
        if _SEPARATOR.match(line):
            if number > start:
                blocks.append((start, number - 1))
            start = number + 1
    blocks.append((start, max(len(lines), start)))
    return blocks


class _Suppressor:
    """Matches findings against the ledger's inline ``ztauth: ignore`` comments."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.suppressions = [s for s in ledger.suppressions if s.reason]
        self.used: set[int] = set()
        self._texts = {f.path: f.data for f in ledger.files}
        self._block_cache: dict[str, list[tuple[int, int]]] = {}

    def _block_of(self, path: str, line: int) -> tuple[int, int] | None:
        if path not in self._block_cache:
            data = self._texts.get(path, b"")
            text = data.decode("utf-8", "replace")
            self._block_cache[path] = _blocks(path, text)
        for first, last in self._block_cache[path]:
            if first <= line <= last:
                return (first, last)
        return None

    def reason_for(self, rule_id: str, span: Span | None) -> str | None:
        if span is None:
            return None
        for index, sup in enumerate(self.suppressions):
            if sup.rule != rule_id or sup.span.path != span.path:
                continue
            covered = sup.target_line == span.line
            if not covered:
                block = self._block_of(span.path, span.line)
                # A suppression anywhere inside the YAML document or Cedar policy a finding
                # points into applies to it: YAML findings point at the offending field, and a
                # suppression above the document (or on another of its lines) still covers it.
                # A Cedar finding is about the whole policy and points at its first line.
                covered = block is not None and block[0] <= sup.span.line <= block[1]
                covered = covered and (not span.path.endswith(".cedar") or self._starts_block(span))
            if covered:
                self.used.add(index)
                return sup.reason
        return None

    def _starts_block(self, span: Span) -> bool:
        block = self._block_of(span.path, span.line)
        return block is not None and block[0] == span.line


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSelection:
    """Which rules run and at what severity: the manifest's ``lint:`` then the command line."""

    disabled: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    # Rule references in the manifest that name no rule (reported as ZT003 findings).
    unknown: tuple[str, ...] = ()


def resolve_rule(reference: str) -> str | None:
    """The id of the rule ``reference`` names (an id or a name, any case), or None."""
    from ztauth_cli.lint.registry import get_rule

    found = get_rule(reference)
    return found.id if found is not None else None


def select_rules(
    ledger: Ledger, *, disable: Collection[str] = (), enable: Collection[str] = ()
) -> RuleSelection:
    """The manifest's ``lint: {disable, severity}``, then ``--disable`` and ``--enable``
    (``--enable`` wins: it turns back on a rule the manifest disables or sets to ``off``).

    Raises:
        UsageError: ``disable`` or ``enable`` names no rule (a typo must not lint less).
    """
    from ztauth_cli.errors import UsageError

    config = ledger.manifest.lint if ledger.manifest is not None else None
    disabled: set[str] = set()
    severity: dict[str, Severity] = {}
    unknown: list[str] = []
    for reference in config.disable if config is not None else ():
        rule_id = resolve_rule(reference)
        if rule_id is None:
            unknown.append(reference)
        else:
            disabled.add(rule_id)
    for reference, level in config.severity if config is not None else ():
        rule_id = resolve_rule(reference)
        if rule_id is None:
            unknown.append(reference)
        elif level == "off":
            disabled.add(rule_id)
        else:
            severity[rule_id] = Severity(level)
    for option, references in (("--disable", disable), ("--enable", enable)):
        for reference in references:
            rule_id = resolve_rule(reference)
            if rule_id is None:
                raise UsageError(
                    f"{option} {reference!r}: no such rule",
                    hint="'ztauth policy lint --list-rules' lists ids and names",
                )
            if option == "--disable":
                disabled.add(rule_id)
            else:
                disabled.discard(rule_id)
    return RuleSelection(disabled=frozenset(disabled), severity=severity, unknown=tuple(unknown))


def lint_ledger(
    ledger: Ledger,
    *,
    now: datetime,
    strict: bool = False,
    only_paths: Collection[str] | None = None,
    selection: RuleSelection | None = None,
) -> LintResult:
    """Lint ``ledger``; with ``only_paths`` (ledger-relative), report only on those files.

    Cross-references are still resolved against the whole ledger. Under ``strict`` every
    warning is reported as an error. ``selection`` (default: the manifest's ``lint:``) says
    which rules run and at what severity.
    """
    if selection is None:
        selection = select_rules(ledger)
    ctx = LintContext(ledger, now=now)
    raw = [
        Finding(
            rule_id=entry.id,
            severity=selection.severity.get(entry.id, entry.severity),
            message=hit.message,
            # A finding about no file in particular is about the ledger: its manifest. Every
            # SARIF result needs a location (GitHub code scanning rejects one without).
            span=hit.span if hit.span is not None else Span(path=MANIFEST),
            hint=hit.hint,
        )
        for entry in rule_docs()
        if entry.check is not None and entry.id not in selection.disabled
        for hit in entry.check(ctx)
    ]
    raw += [
        Finding(
            rule_id="ZT003",
            severity=RULES["ZT003"].severity,
            message=f"lint configuration names unknown rule {reference!r}",
            span=_lint_config_span(ledger),
            hint="'ztauth policy lint --list-rules' lists ids and names",
        )
        for reference in selection.unknown
    ]
    suppressor = _Suppressor(ledger)
    findings = [replace(f, suppressed=suppressor.reason_for(f.rule_id, f.span)) for f in raw]
    findings += _suppression_findings(ledger, suppressor)
    if strict:
        findings = [
            replace(f, severity=Severity.ERROR) if f.severity is Severity.WARNING else f
            for f in findings
        ]
    files = tuple(f.path for f in ledger.files)
    if only_paths is not None:
        wanted = set(only_paths)
        findings = [f for f in findings if f.span is None or f.span.path in wanted]
        files = tuple(p for p in files if p in wanted)
    report = CheckReport(
        tool=TOOL,
        findings=tuple(findings),
        rules=tuple(r.doc for r in rule_docs()),
    )
    return LintResult(report=report, strict=strict, files=files)


def _lint_config_span(ledger: Ledger) -> Span:
    manifest = ledger.manifest
    fallback = Span(path=MANIFEST)
    return manifest.fields.first("lint", default=fallback) if manifest is not None else fallback


def _suppression_findings(ledger: Ledger, suppressor: _Suppressor) -> Iterable[Finding]:
    for sup in ledger.suppressions:
        if not sup.reason:
            yield Finding(
                rule_id="ZT002",
                severity=RULES["ZT002"].severity,
                message=f"suppression of {sup.rule} gives no reason",
                span=sup.span,
                hint=f"write 'ztauth: ignore {sup.rule} -- <why this is acceptable>'",
            )
    for index, sup in enumerate(suppressor.suppressions):
        if sup.rule not in RULES:
            message = f"suppression names unknown rule {sup.rule}"
        elif index not in suppressor.used:
            message = f"suppression of {sup.rule} matches no finding"
        else:
            continue
        yield Finding(
            rule_id="ZT003",
            severity=RULES["ZT003"].severity,
            message=message,
            span=sup.span,
            hint="remove the stale suppression",
        )


def exit_code(result: LintResult) -> int:
    """0 when no active error (warnings allowed unless strict; strict made them errors), else 1."""
    return 1 if result.report.count(Severity.ERROR) else 0


def with_checks(result: LintResult) -> CheckReport:
    """The report plus one JUnit-style row per linted file and per active finding.

    A file with no active finding is one passing row; each active finding is a row that fails
    when it fails the run (an error) and passes, with its message, when it is a warning.
    """
    by_file: dict[str, list[Finding]] = {}
    loose: list[Finding] = []
    for finding in result.report.active:
        if finding.span is None:
            loose.append(finding)
        else:
            by_file.setdefault(finding.span.path, []).append(finding)
    rows: list[CheckResult] = []
    for path in sorted(set(result.files) | set(by_file)):
        items = sorted(
            by_file.get(path, []), key=lambda f: (f.span.line, f.span.column) if f.span else (0, 0)
        )
        if not items:
            rows.append(CheckResult(group=path, name="lint", passed=True, span=Span(path=path)))
        rows.extend(_row(path, finding) for finding in items)
    rows.extend(_row(TOOL, finding) for finding in loose)
    return replace(result.report, checks=tuple(rows))


def _row(group: str, finding: Finding) -> CheckResult:
    where = f" {finding.span.line}:{finding.span.column}" if finding.span else ""
    return CheckResult(
        group=group,
        name=f"{finding.rule_id}{where}",
        passed=finding.severity is not Severity.ERROR,
        span=finding.span,
        message=f"{finding.severity.value}[{finding.rule_id}] {finding.message}",
        details=finding.hint,
    )
