"""`ztauth eval`: evaluate AuthZEN request contexts against a ledger."""

from __future__ import annotations


def eval_command() -> None:
    """Evaluate a request (in progress)."""
