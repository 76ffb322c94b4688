"""The command line of ``ztauth eval`` as Typer declares it: its arguments, options and help.

The command itself is :func:`ztauth_cli.cli.eval_cmd.eval_main`, which imports no Typer, so
that the fast lane (``cli/launch.py``) can run a plain ``ztauth eval`` without loading Typer
and Click; every other command line (help, a mistake, anything unusual) comes through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ztauth_cli.cli._common import (
    AtOption,
    LedgerOption,
    OutputOption,
    RequireSignaturesOption,
    RevOption,
    SignersJwksOption,
    format_option,
)
from ztauth_cli.cli.eval_cmd import FORMATS, STDIN, eval_main
from ztauth_cli.report.formats import OutputFormat

__all__ = ["eval_command"]

_FormatOption = Annotated[
    OutputFormat | None,
    format_option(
        *FORMATS,
        text="text or json (default: text on a terminal or with --explain, json otherwise).",
    ),
]


def eval_command(
    request_file: str = typer.Argument(
        STDIN,
        metavar="[REQUEST_FILE|-]",
        help="AuthZEN request (JSON or YAML); '-' reads stdin; a .jsonl file is a stream.",
    ),
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Show the decision trace as a tree (text unless --format json, whose output "
        "carries the trace anyway).",
    ),
    fail_on_deny: bool = typer.Option(False, "--fail-on-deny", help="Exit 1 on any deny."),
    audit_log: Path | None = typer.Option(  # noqa: B008
        None,
        "--audit-log",
        help="Append every decision to this hash-chained audit log (a file that is not one is "
        "refused and left untouched).",
    ),
    jwks: Path | None = typer.Option(  # noqa: B008
        None, "--jwks", help="Extra public keys (JWKS file) trusted for every token issuer."
    ),
    jsonl: bool = typer.Option(
        False, "--jsonl", help="Read the input as JSON Lines (one request per line)."
    ),
    output: OutputOption = None,
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
    subject: str | None = typer.Option(
        None,
        "--subject",
        metavar="TYPE:ID",
        help="A one-off request instead of REQUEST_FILE: the subject (e.g. User:alice).",
    ),
    action: str | None = typer.Option(
        None, "--action", metavar="NAME", help="One-off request: the action's name (read)."
    ),
    resource: str | None = typer.Option(
        None,
        "--resource",
        metavar="TYPE:ID",
        help="One-off request: the resource (Document:q3-report).",
    ),
    principal: str | None = typer.Option(
        None,
        "--principal",
        metavar="TYPE:ID",
        help="One-off request: the workload acting for the subject (ZTAuth* principal).",
    ),
) -> None:
    """Evaluate AuthZEN request contexts: prints the AuthZEN response(s).

    --subject, --action and --resource (and optionally --principal) evaluate one request
    without writing a file.

    Example:

      $ ztauth eval --subject User:alice --action read --resource Document:q3-report --explain

    Exit codes: 0 evaluated (whatever the decision); 1 a deny under --fail-on-deny;
    2 usage error, unreadable ledger or malformed request file.
    """
    raise typer.Exit(
        eval_main(
            request_file=request_file,
            ledger=ledger,
            rev=rev,
            at=at,
            fmt=fmt,
            explain=explain,
            fail_on_deny=fail_on_deny,
            audit_log=audit_log,
            jwks=jwks,
            jsonl=jsonl,
            output=output,
            signers_jwks=signers_jwks,
            require_signatures=require_signatures,
            subject=subject,
            action=action,
            resource=resource,
            principal=principal,
        )
    )
