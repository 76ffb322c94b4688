"""`ztauth search`: AuthZEN subject/resource/action search and ZTAuth* principal search.

The commands read one search request body (AuthZEN 1.0, unchanged), load the ledger once and
hand both to the search core (``ztauth_cli.search``); this module only reads and writes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ztauth_cli.cli._common import (
    AtOption,
    LedgerOption,
    OutputOption,
    RevOption,
    check_format,
    check_ledger_option,
    check_output,
    emit,
    format_option,
    parse_at,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from datetime import datetime

    from ztauth_cli.model import Ledger
    from ztauth_cli.search import PrincipalSearch, Prober, SearchResult

__all__ = ["app", "run_principal_search", "run_search"]

_FORMATS = (OutputFormat.TEXT, OutputFormat.JSON)
_STDIN = "-"

app = typer.Typer(
    name="search",
    help="Access review: who may do what (AuthZEN 1.0 search), and who may act for whom.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_FormatOption = Annotated[
    OutputFormat | None,
    format_option(*_FORMATS, text="text or json (default: text on a terminal, json otherwise)."),
]
_RequestArgument = Annotated[
    str,
    typer.Argument(
        metavar="[REQUEST_FILE|-]",
        help="The search request body (JSON or YAML); '-' reads stdin.",
    ),
]


def _chosen(fmt: OutputFormat | None, output: Path | None) -> OutputFormat:
    from ztauth_cli.report.console import plain_output

    if fmt is not None:
        return fmt
    return (
        OutputFormat.JSON if output is not None or plain_output(sys.stdout) else OutputFormat.TEXT
    )


@app.command("subject")
def subject_command(
    request_file: _RequestArgument = _STDIN,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Subject search: every subject of subject.type that may perform the action on the
    resource (AuthZEN 1.0 Subject Search API; an id given for the subject is ignored).

    Example:

        $ echo '{"subject": {"type": "User"}, "action": {"name": "read"},
                 "resource": {"type": "Document", "id": "q3-report"}}' |
          ztauth search subject - --ledger sample-ledger -f json

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """
    raise typer.Exit(
        run_search(
            "subject", request_file, ledger, rev=rev, at=at, fmt=_chosen(fmt, output), output=output
        )
    )


@app.command("resource")
def resource_command(
    request_file: _RequestArgument = _STDIN,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Resource search: every resource of resource.type on which the subject may perform the
    action (AuthZEN 1.0 Resource Search API; an id given for the resource is ignored).

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """
    raise typer.Exit(
        run_search(
            "resource",
            request_file,
            ledger,
            rev=rev,
            at=at,
            fmt=_chosen(fmt, output),
            output=output,
        )
    )


@app.command("action")
def action_command(
    request_file: _RequestArgument = _STDIN,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Action search: every action the subject may perform on the resource (AuthZEN 1.0
    Action Search API; the request has no action).

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """
    raise typer.Exit(
        run_search(
            "action", request_file, ledger, rev=rev, at=at, fmt=_chosen(fmt, output), output=output
        )
    )


@app.command("principal")
def principal_command(
    request_file: _RequestArgument = _STDIN,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Who may act for whom (ZTAuth*). With subject, action and resource: every workload or
    security group that may act on the subject's behalf, through which elevation or
    delegation, and what it must present. With authorization_model.principal (a workload):
    every subject, action and resource it may act on (subject, action, resource narrow it).

    Every row is confirmed by a full evaluation with the tokens the grant asks for minted by
    fresh keys, as ztauth test does; glob members are shown as their pattern.

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """
    raise typer.Exit(
        run_principal_search(
            request_file, ledger, rev=rev, at=at, fmt=_chosen(fmt, output), output=output
        )
    )


def _request(request_file: str) -> Any:
    from ztauth_cli.cli.eval_cmd import _read_request
    from ztauth_cli.errors import UsageError

    if request_file == _STDIN and sys.stdin.isatty():
        raise UsageError(
            "no REQUEST_FILE given and stdin is a terminal",
            hint="pass a search request file, or pipe one in with '-'",
        )
    return _read_request(request_file, sys.stdin)


def _located(exc: Exception, request_file: str) -> Exception:
    """A core RequestError without a position, given the request file's name."""
    from ztauth_cli.errors import RequestError
    from ztauth_cli.model import Span

    if isinstance(exc, RequestError) and exc.span is None:
        name = "<stdin>" if request_file == _STDIN else request_file
        return RequestError(exc.message, span=Span(path=name), hint=exc.hint)
    return exc


def run_search(
    kind: str,
    request_file: str,
    ledger_path: Path | None,
    *,
    rev: str | None,
    at: str | None,
    fmt: OutputFormat,
    output: Path | None,
) -> int:
    """Run one AuthZEN search and print the response; the exit code (0).

    Raises:
        ZtauthError: usage errors, an unusable ledger, a malformed request (exit 2).
    """
    from ztauth_cli.cli.eval_cmd import _evaluator
    from ztauth_cli.errors import RequestError
    from ztauth_cli.ledger import load
    from ztauth_cli.search import Candidates, search

    check_format(fmt, _FORMATS, command=f"ztauth search {kind}")
    check_ledger_option(ledger_path)
    check_output(output)
    now = parse_at(at)
    request = _request(request_file)
    ledger = load(ledger_path, rev)
    evaluator = _evaluator(ledger, rev=rev, now=parse_at(None), extra_keys=())
    try:
        result = search(
            evaluator, request, kind=kind, candidates=Candidates.from_ledger(ledger), now=now
        )
    except RequestError as exc:
        raise _located(exc, request_file) from None
    _write_search(result, fmt, output)
    return 0


def _write_search(result: SearchResult, fmt: OutputFormat, output: Path | None) -> None:
    from ztauth_cli.cli._common import emit_json
    from ztauth_cli.report.output import render_to_text
    from ztauth_cli.report.search_text import render_search

    if fmt is OutputFormat.JSON:
        emit_json(result.to_json(), output)
    else:
        emit(render_to_text(render_search, result), output)


def run_principal_search(
    request_file: str,
    ledger_path: Path | None,
    *,
    rev: str | None,
    at: str | None,
    fmt: OutputFormat,
    output: Path | None,
) -> int:
    """Run one principal search and print it; the exit code (0).

    Raises:
        ZtauthError: usage errors, an unusable ledger, a malformed request (exit 2).
    """
    from ztauth_cli.errors import RequestError
    from ztauth_cli.ledger import load
    from ztauth_cli.search import Candidates, search_principals

    check_format(fmt, _FORMATS, command="ztauth search principal")
    check_ledger_option(ledger_path)
    check_output(output)
    now = parse_at(at)
    request = _request(request_file)
    ledger = load(ledger_path, rev)

    try:
        result = search_principals(
            principal_prober(ledger, now=now),
            request,
            candidates=Candidates.from_ledger(ledger),
            now=now,
        )
    except RequestError as exc:
        raise _located(exc, request_file) from None
    _write_principals(result, fmt, output)
    return 0


def principal_prober(ledger: Ledger, *, now: datetime) -> Prober:
    """The probe evaluator of a principal search: the ledger with fresh issuer keys (minted
    probe tokens verify against them only), behind the same signature gate as ``eval``."""
    from ztauth_cli.gates import suite_evaluator
    from ztauth_cli.search import Prober
    from ztauth_cli.testing import IssuerKeys

    keys = IssuerKeys.generate((i.name for i in ledger.issuers), ledger=ledger)
    evaluator = suite_evaluator(ledger, keys, now=parse_at(None), revision=ledger.revision)
    return Prober(ledger, evaluator, keys)


def _write_principals(result: PrincipalSearch, fmt: OutputFormat, output: Path | None) -> None:
    from ztauth_cli.cli._common import emit_json
    from ztauth_cli.report.output import render_to_text
    from ztauth_cli.report.search_text import render_principals

    if fmt is OutputFormat.JSON:
        emit_json(result.to_json(), output)
    else:
        emit(render_to_text(render_principals, result), output)
