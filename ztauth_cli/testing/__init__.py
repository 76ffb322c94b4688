"""``ztauth test``: run a ledger's scenario suites with minted tokens, report and measure coverage.

The pieces are pure and reusable (``ztauth policy diff`` replays every case against two ledgers
with the same tokens):

* :func:`ledger_suites` / :func:`load_suite_paths` find and check suites; :func:`select_cases`
  applies ``-k``;
* :meth:`IssuerKeys.generate` makes the run's fresh keys; :func:`mint_suite_tokens` mints every
  declared token once; :func:`resolve_request` substitutes ``{$token: name}``;
* :func:`run_suites` evaluates the cases and compares them with their expectations;
* :func:`compute_coverage` measures what was exercised; :mod:`ztauth_cli.report.test_run` renders.
"""

from __future__ import annotations

from ztauth_cli.testing.coverage import (
    CategoryCoverage,
    Coverage,
    compute_coverage,
    coverage_universe,
    exercised_items,
)
from ztauth_cli.testing.discover import (
    case_id,
    check_suites,
    discover_suites,
    ledger_suites,
    load_suite_paths,
    select_cases,
)
from ztauth_cli.testing.runner import CaseResult, TestRun, expectation_mismatches, run_suites
from ztauth_cli.testing.tokens import (
    IssuerKey,
    IssuerKeys,
    MintedTokens,
    mint_suite_tokens,
    mint_token,
    resolve_request,
)

__all__ = [
    "CaseResult",
    "CategoryCoverage",
    "Coverage",
    "IssuerKey",
    "IssuerKeys",
    "MintedTokens",
    "TestRun",
    "case_id",
    "check_suites",
    "compute_coverage",
    "coverage_universe",
    "discover_suites",
    "exercised_items",
    "expectation_mismatches",
    "ledger_suites",
    "load_suite_paths",
    "mint_suite_tokens",
    "mint_token",
    "resolve_request",
    "run_suites",
    "select_cases",
]
