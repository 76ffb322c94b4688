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
    RequireSignaturesOption,
    RevOption,
    SignersJwksOption,
    check_format,
    check_ledger_option,
    check_output,
    check_pin_outside,
    emit,
    format_option,
    parse_at,
    signer_pin,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from ztauth_cli.ledger.signing.keys import SignerPin
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


def _search_command(kind: str, doc: str) -> None:
    """Register ``ztauth search KIND``: the three AuthZEN searches differ only in their kind
    and their help."""

    def command(
        request_file: _RequestArgument = _STDIN,
        ledger: LedgerOption = None,
        rev: RevOption = None,
        at: AtOption = None,
        fmt: _FormatOption = None,
        output: OutputOption = None,
        signers_jwks: SignersJwksOption = None,
        require_signatures: RequireSignaturesOption = None,
    ) -> None:
        raise typer.Exit(
            run_search(
                kind,
                request_file,
                ledger,
                rev=rev,
                at=at,
                fmt=_chosen(fmt, output),
                output=output,
                pin=signer_pin(signers_jwks, require_signatures),
            )
        )

    command.__doc__ = doc
    command.__name__ = f"{kind}_command"
    app.command(kind)(command)


_search_command(
    "subject",
    """Subject search: every subject of subject.type that may perform the action on the
    resource (AuthZEN 1.0 Subject Search API; an id given for the subject is ignored).

    Example (who-reads.json: {"subject": {"type": "User"}, "action": {"name": "read"},
    "resource": {"type": "Document", "id": "q3-report"}}):

      $ ztauth search subject who-reads.json --ledger sample-ledger -f json

    Results are sorted; page.limit and page.token page through them (AuthZEN pagination).

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """,
)
_search_command(
    "resource",
    """Resource search: every resource of resource.type on which the subject may perform the
    action (AuthZEN 1.0 Resource Search API; an id given for the resource is ignored).

    Example:

      $ ztauth search resource alice-reads.json --ledger sample-ledger -f text

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """,
)
_search_command(
    "action",
    """Action search: every action the subject may perform on the resource (AuthZEN 1.0
    Action Search API; the request has no action).

    Example:

      $ ztauth search action alice-on-q3.json --ledger sample-ledger -f text

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """,
)


@app.command("principal")
def principal_command(
    request_file: _RequestArgument = _STDIN,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: AtOption = None,
    fmt: _FormatOption = None,
    output: OutputOption = None,
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
) -> None:
    """Who may act for whom (ZTAuth*). With subject, action and resource: every workload or
    security group that may act on the subject's behalf, through which elevation or
    delegation, and what it must present. With authorization_model.principal (a workload):
    every subject, action and resource it may act on (subject, action, resource narrow it).

    Every row is confirmed by a full evaluation with the tokens the grant asks for minted by
    fresh keys, as ztauth test does; glob members are shown as their pattern.

    Example:

      $ ztauth search principal for-alice.json --ledger sample-ledger --at 2026-06-01T12:00:00Z

    Exit codes: 0 searched (whatever the results); 2 usage error or malformed request.
    """
    raise typer.Exit(
        run_principal_search(
            request_file,
            ledger,
            rev=rev,
            at=at,
            fmt=_chosen(fmt, output),
            output=output,
            pin=signer_pin(signers_jwks, require_signatures),
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
    pin: SignerPin,
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
    check_pin_outside(pin, ledger.root)
    evaluator = _evaluator(ledger, rev=rev, now=parse_at(None), extra_keys=(), pin=pin)
    try:
        result = search(
            evaluator, request, kind=kind, candidates=Candidates.from_ledger(ledger), now=now
        )
    except RequestError as exc:
        raise _located(exc, request_file) from None
    _write_search(result, fmt, output)
    return 0


def _write_search(result: SearchResult, fmt: OutputFormat, output: Path | None) -> None:
    from ztauth_cli.cli._common import emit_wire
    from ztauth_cli.report.output import render_to_text
    from ztauth_cli.report.search_text import render_search

    if fmt is OutputFormat.JSON:
        # The AuthZEN search response, as `ztauth serve` answers it: no report envelope.
        emit_wire(result.to_json(), output)
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
    pin: SignerPin,
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
    check_pin_outside(pin, ledger.root)

    try:
        result = search_principals(
            principal_prober(ledger, pin=pin),
            request,
            candidates=Candidates.from_ledger(ledger),
            now=now,
        )
    except RequestError as exc:
        raise _located(exc, request_file) from None
    _write_principals(result, fmt, output)
    return 0


def principal_prober(ledger: Ledger, *, pin: SignerPin | None) -> Prober:
    """The probe evaluator of a principal search: the ledger with fresh issuer keys (minted
    probe tokens verify against them only), behind the same signature gate as ``eval``."""
    from ztauth_cli.gates import suite_evaluator
    from ztauth_cli.search import Prober
    from ztauth_cli.testing import IssuerKeys

    keys = IssuerKeys.generate((i.name for i in ledger.issuers), ledger=ledger)
    evaluator = suite_evaluator(ledger, keys, now=parse_at(None), revision=ledger.revision, pin=pin)
    return Prober(ledger, evaluator, keys)


def _write_principals(result: PrincipalSearch, fmt: OutputFormat, output: Path | None) -> None:
    from ztauth_cli.cli._common import emit_json
    from ztauth_cli.report.output import render_to_text
    from ztauth_cli.report.search_text import render_principals

    if fmt is OutputFormat.JSON:
        emit_json("ztauth search principal", result.to_json(), output)
    else:
        emit(render_to_text(render_principals, result), output)


@app.command("snapshot")
def snapshot_command(
    snapshot_file: Path = typer.Argument(  # noqa: B008 - Typer's declaration style
        ..., metavar="SNAPSHOT_FILE", help="The snapshot to write, e.g. tests/access.snapshot.yaml."
    ),
    subject_types: list[str] = typer.Option(  # noqa: B008
        [], "--subject-type", metavar="TYPE", help="Entity type of the subjects (repeatable)."
    ),
    resource_types: list[str] = typer.Option(  # noqa: B008
        [], "--resource-type", metavar="TYPE", help="Entity type of the resources (repeatable)."
    ),
    actions: list[str] = typer.Option(  # noqa: B008
        [], "--action", metavar="NAME", help="An action (repeatable; default: every action)."
    ),
    context: str | None = typer.Option(
        None, "--context", metavar="JSON", help="The AuthZEN context of every probe."
    ),
    name: str | None = typer.Option(None, "--name", help="Snapshot name (default: the file's)."),
    ledger: LedgerOption = None,
    at: AtOption = None,
) -> None:
    """Write an access snapshot: for every subject, action and resource of the given types,
    who may do what and which workloads may do it on the subject's behalf. ztauth test then
    fails when the ledger grants access the snapshot does not list, or loses access it lists.

    Without --subject-type/--resource-type an existing SNAPSHOT_FILE is refreshed with its own
    scope (as ztauth test --update-snapshots does).

    Example:

      $ ztauth search snapshot tests/access.snapshot.yaml --subject-type User
          --resource-type Document --resource-type Invoice --at 2026-06-01T12:00:00Z

    Exit codes: 0 written; 2 usage error or unreadable ledger.
    """
    raise typer.Exit(
        run_snapshot(
            snapshot_file,
            ledger,
            subject_types=tuple(subject_types),
            resource_types=tuple(resource_types),
            actions=tuple(actions),
            context=context,
            name=name,
            at=at,
        )
    )


def run_snapshot(
    snapshot_file: Path,
    ledger_path: Path | None,
    *,
    subject_types: tuple[str, ...],
    resource_types: tuple[str, ...],
    actions: tuple[str, ...],
    context: str | None,
    name: str | None,
    at: str | None,
) -> int:
    """Compute and write one access snapshot (atomically); the exit code (0).

    Raises:
        ZtauthError: usage errors, an unusable ledger (exit 2).
    """
    import json

    from ztauth_cli.errors import UsageError
    from ztauth_cli.fileio import atomic_write_text
    from ztauth_cli.ledger import load
    from ztauth_cli.search import Candidates
    from ztauth_cli.search.snapshot import SnapshotScope, compute_access, snapshot_yaml

    check_ledger_option(ledger_path)
    check_output(snapshot_file)
    ledger = load(ledger_path, None)
    root = Path(ledger.root).resolve()
    target = snapshot_file.resolve()
    relative = target.relative_to(root).as_posix() if target.is_relative_to(root) else None
    existing = next((s for s in ledger.snapshots if s.span.path == relative), None)
    if subject_types or resource_types:
        if not (subject_types and resource_types):
            raise UsageError("a snapshot needs both --subject-type and --resource-type")
        try:
            probe_context = json.loads(context) if context is not None else {}
        except ValueError as exc:
            raise UsageError(f"--context: not JSON ({exc})") from None
        if not isinstance(probe_context, dict):
            raise UsageError("--context must be a JSON object")
        scope = SnapshotScope(
            name=name or snapshot_file.name.split(".")[0],
            description=None,
            at=parse_at(at),
            context=probe_context,
            subjects=subject_types,
            resources=resource_types,
            actions=actions,
        )
    elif existing is not None:
        scope = SnapshotScope.of(existing)
        if at is not None:
            scope = SnapshotScope(
                name=scope.name,
                description=scope.description,
                at=parse_at(at),
                context=scope.context,
                subjects=scope.subjects,
                resources=scope.resources,
                actions=scope.actions,
            )
    else:
        raise UsageError(
            f"{snapshot_file}: no access snapshot to refresh; give its scope",
            hint="--subject-type User --resource-type Document",
        )
    answer = compute_access(
        principal_prober(ledger, pin=None), scope, candidates=Candidates.from_ledger(ledger)
    )
    atomic_write_text(snapshot_file, snapshot_yaml(scope, answer))
    typer.echo(
        f"wrote {snapshot_file}: {len(answer.access)} access, {len(answer.acting)} acting "
        f"({answer.evaluations} evaluations)",
        err=True,
    )
    if relative is None or not relative.startswith("tests/"):
        typer.echo(
            f"warning: {snapshot_file} is not under {root.name}/tests/: "
            "ztauth test will not check it",
            err=True,
        )
    return 0
