"""`ztauth policy` group: init, lint, fmt (lifecycle commands live in policy_lifecycle.py)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Author and check a ledger: init, lint, fmt, version, sign, verify, diff, log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
