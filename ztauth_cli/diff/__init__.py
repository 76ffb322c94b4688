"""Ledger diff: structural policy and trust changes, decision replay, version bumps."""

from __future__ import annotations

from ztauth_cli.diff.compare import WORKING_TREE, derive_bump, diff_ledgers
from ztauth_cli.diff.model import (
    BumpDecision,
    Change,
    DecisionFlip,
    DecisionSide,
    DiffReport,
    Impact,
    PolicyChange,
    RevisionInfo,
)
from ztauth_cli.diff.replay import ReplayItem, load_requests

__all__ = [
    "WORKING_TREE",
    "BumpDecision",
    "Change",
    "DecisionFlip",
    "DecisionSide",
    "DiffReport",
    "Impact",
    "PolicyChange",
    "ReplayItem",
    "RevisionInfo",
    "derive_bump",
    "diff_ledgers",
    "load_requests",
]
