"""``ztauth policy lint``: rule registry, rules and the driver (plus init and fmt helpers)."""

from __future__ import annotations

from ztauth_cli.lint.registry import RULES, Rule, get_rule
from ztauth_cli.lint.run import LintResult, exit_code, lint_ledger, rule_docs, with_checks

__all__ = [
    "RULES",
    "LintResult",
    "Rule",
    "exit_code",
    "get_rule",
    "lint_ledger",
    "rule_docs",
    "with_checks",
]
