"""Load ledgers from working trees and Git revisions."""

from __future__ import annotations

from ztauth_cli.ledger.load import (
    build_ledger,
    find_ledger_root,
    is_ledger_file,
    load,
    raise_problems,
)

__all__ = ["build_ledger", "find_ledger_root", "is_ledger_file", "load", "raise_problems"]
