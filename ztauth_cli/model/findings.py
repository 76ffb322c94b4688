"""Findings and check results: what ``policy lint`` and ``ztauth test`` hand to the reporters.

A :class:`CheckReport` is the one value every CI-facing reporter (text, JSON, JUnit, SARIF,
GitHub annotations, Markdown) renders: lint turns rule hits into :class:`Finding` values,
``ztauth test`` turns its cases into :class:`CheckResult` rows (and failures into findings).
"""

from __future__ import annotations

import enum

from ztauth_cli.model.record import record
from ztauth_cli.model.span import Span

__all__ = ["CheckReport", "CheckResult", "Finding", "RuleDoc", "Severity"]


@enum.unique
class Severity(str, enum.Enum):
    """How bad a finding is; each value is the string used in output (and SARIF's ``level``)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@record(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem found at one place.

    ``suppressed`` holds the reason given in an inline ``ztauth: ignore`` comment when the
    finding was suppressed; suppressed findings are reported (and counted) but never fail a run.
    """

    rule_id: str
    severity: Severity
    message: str
    span: Span | None
    hint: str | None = None
    suppressed: str | None = None


@record(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """A generic test-case row (JUnit ``testcase``): one check under a group, passed or not."""

    group: str
    name: str
    passed: bool
    span: Span | None
    message: str | None = None
    details: str | None = None
    # Seconds the check took, when measured (JUnit's time attribute).
    duration: float | None = None


@record(frozen=True, slots=True, kw_only=True)
class RuleDoc:
    """The documentation of one rule, as shown by ``--explain`` and embedded in SARIF."""

    id: str
    severity: Severity
    summary: str
    help: str
    name: str | None = None


@record(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """Everything one run reports: rows, findings and the docs of the rules they cite."""

    tool: str
    checks: tuple[CheckResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    rules: tuple[RuleDoc, ...] = ()

    @property
    def active(self) -> tuple[Finding, ...]:
        """The findings not suppressed inline."""
        return tuple(f for f in self.findings if f.suppressed is None)

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        """The findings suppressed inline (counted, never failing)."""
        return tuple(f for f in self.findings if f.suppressed is not None)

    def count(self, severity: Severity) -> int:
        """How many active findings have ``severity``."""
        return sum(1 for f in self.active if f.severity is severity)
