"""`ztauth test`: run scenario suites."""

from __future__ import annotations


def test_command() -> None:
    """Run test suites (in progress)."""
