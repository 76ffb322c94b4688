"""`ztauth policy version|sign|verify|diff|log`: the Git ledger lifecycle."""

from __future__ import annotations

from ztauth_cli.cli.policy import app

__all__ = ["app"]
