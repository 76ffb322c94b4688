"""Run test cases through the engine and compare each decision with its expectation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ztauth_cli.testing.discover import case_id, select_cases
from ztauth_cli.testing.tokens import MintedTokens, resolve_request

if TYPE_CHECKING:
    from ztauth_cli.model import Decision, Expectation, TestCase, TestSuite

__all__ = ["CaseResult", "Evaluates", "TestRun", "expectation_mismatches", "run_suites"]


class Evaluates(Protocol):
    """What the runner needs of an evaluator (``ztauth_cli.engine.Evaluator``)."""

    def evaluate_many(self, requests: Iterable[Any], *, now: datetime) -> list[Decision]:
        """Independent AuthZEN evaluations, one decision each, in order; never raises."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """One executed case: the decision and what did not match the expectation."""

    suite: str
    case: TestCase
    at: datetime
    decision: Decision
    mismatches: tuple[str, ...]
    # Seconds the evaluation took (JUnit's time); not part of the result's value or its JSON.
    duration: float = field(default=0.0, compare=False)

    @property
    def passed(self) -> bool:
        """True when the decision met every expectation."""
        return not self.mismatches

    @property
    def id(self) -> str:
        """``suite/case``."""
        return case_id(self.suite, self.case.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class TestRun:
    """Every executed case of a run, in suite and case order."""

    __test__ = False  # not a pytest class

    results: tuple[CaseResult, ...]
    deselected: int = 0

    @property
    def passed(self) -> int:
        """Number of passing cases."""
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        """Number of failing cases."""
        return len(self.results) - self.passed

    def summary(self) -> str:
        """``N passed, N failed`` (``, N deselected`` after a ``-k`` selection)."""
        text = f"{self.passed} passed, {self.failed} failed"
        if self.deselected:
            text += f", {self.deselected} deselected"
        return text


def expectation_mismatches(expect: Expectation, decision: Decision) -> tuple[str, ...]:
    """What differs between ``expect`` and ``decision``, as ``field: expected X, got Y`` lines.

    ``policies`` must all be AMONG the determining policies reported (others may be there too).
    """
    problems: list[str] = []
    if expect.decision != decision.allowed:
        problems.append(
            f"decision: expected {_word(expect.decision)}, got {_word(decision.allowed)}"
        )
    if expect.code is not None and expect.code != decision.code.value:
        problems.append(f"code: expected {expect.code}, got {decision.code.value}")
    if expect.via is not None and expect.via != decision.via:
        problems.append(f"via: expected {expect.via}, got {decision.via or 'none'}")
    missing = sorted(set(expect.policies) - set(decision.policies))
    if missing:
        got = ", ".join(decision.policies) or "none"
        problems.append(
            f"policies: expected {', '.join(missing)} among the determining policies, got {got}"
        )
    return tuple(problems)


def _word(allowed: bool) -> str:
    return "allow" if allowed else "deny"


def run_suites(
    evaluator: Evaluates,
    suites: Sequence[TestSuite],
    *,
    tokens: MintedTokens,
    now: datetime,
    select: str | None = None,
    progress: Callable[[CaseResult], None] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> TestRun:
    """Run every (selected) case of ``suites`` against ``evaluator``.

    ``timer`` measures how long each batch of evaluations takes (a monotonic counter,
    never the clock decisions use); each case gets an equal share of it.

    Each case is evaluated at its suite's ``at`` (``now`` when the suite has none), with its
    ``{$token: name}`` references replaced by ``tokens`` (see :func:`mint_suite_tokens`). Pass the
    same ``tokens`` to replay the cases against another evaluator. Every reference is resolved
    before the first evaluation, so a bad suite fails before anything runs.

    Raises:
        SuiteError: an unknown or malformed ``$token`` reference.
    """
    chosen, deselected = select_cases(suites, select)
    plan = [
        (suite, [resolve_request(case, tokens.for_suite(suite.name)) for case in suite.cases])
        for suite in chosen
    ]
    results: list[CaseResult] = []
    # Consecutive suites on the same clock are evaluated together (their Cedar calls batched
    # across suites, not only within one), up to _GROUP cases so that progress still moves.
    groups: list[tuple[datetime, list[tuple[TestSuite, list[Any]]]]] = []
    for suite, requests in plan:
        at = suite.at or now
        if groups and groups[-1][0] == at and sum(len(r) for _, r in groups[-1][1]) < _GROUP:
            groups[-1][1].append((suite, requests))
        else:
            groups.append((at, [(suite, requests)]))
    for at, members in groups:
        batch = [r for _, requests in members for r in requests]
        # Each case is given an equal share of its batch's measured time (JUnit's time=).
        started = timer()
        decisions = iter(evaluator.evaluate_many(batch, now=at))
        share = max(0.0, timer() - started) / max(1, len(batch))
        for suite, _requests in members:
            for case in suite.cases:
                decision = next(decisions)
                result = CaseResult(
                    suite=suite.name,
                    case=case,
                    at=at,
                    decision=decision,
                    mismatches=expectation_mismatches(case.expect, decision),
                    duration=share,
                )
                results.append(result)
                if progress is not None:
                    progress(result)
    return TestRun(results=tuple(results), deselected=deselected)


# Cases evaluated in one engine call at most (a few Cedar chunks): see run_suites.
_GROUP = 1024
