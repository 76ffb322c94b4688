"""`ztauth policy graph`: the ledger's trust model as Mermaid, Graphviz DOT or JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from ztauth_cli.cli._common import LedgerOption, OutputOption, RevOption, check_output, emit
from ztauth_cli.cli.policy import app
from ztauth_cli.report.formats import GraphFormat

__all__ = ["graph_command", "run_graph"]


@app.command("graph")
def graph_command(
    ledger: LedgerOption = None,
    rev: RevOption = None,
    fmt: GraphFormat = typer.Option(  # noqa: B008 - Typer's declaration style
        GraphFormat.MERMAID, "--format", "-f", help="mermaid, dot or json."
    ),
    subject: str | None = typer.Option(
        None,
        "--subject",
        metavar='TYPE::"ID"',
        help='Only the grants that may act for this subject (e.g. User::"alice").',
    ),
    workload: str | None = typer.Option(
        None, "--workload", metavar="ID", help="Only the grants this workload may act through."
    ),
    output: OutputOption = None,
) -> None:
    """Draw the trust model: workloads, security groups (members, revoked), trust levels and
    their attestation issuers, elevations, delegations and the subjects they act for.

    Mermaid renders on GitHub (paste it in a ```mermaid block); DOT is for Graphviz; JSON has
    a schema (schemas/graph.schema.json).

    Examples:

      $ ztauth policy graph --ledger sample-ledger > trust.mmd
      $ ztauth policy graph -f dot --workload spiffe://acme.internal/assistant/chat | dot -Tsvg

    Exit codes: 0 drawn; 2 usage error or unreadable ledger.
    """
    raise typer.Exit(
        run_graph(
            ledger_path=ledger, rev=rev, fmt=fmt, subject=subject, workload=workload, output=output
        )
    )


def _subject(text: str) -> tuple[str, str]:
    from ztauth_cli.errors import UsageError

    type_, sep, quoted = text.partition("::")
    id_ = quoted[1:-1] if len(quoted) >= 2 and quoted[0] == quoted[-1] == '"' else quoted
    if not (sep and type_ and id_):
        raise UsageError(
            f'--subject {text!r}: expected TYPE::"ID"', hint='for example --subject User::"alice"'
        )
    return type_, id_


def run_graph(
    *,
    ledger_path: Path | None,
    rev: str | None,
    fmt: GraphFormat,
    subject: str | None,
    workload: str | None,
    output: Path | None,
) -> int:
    """Draw the trust graph of the ledger; the exit code (0).

    Raises:
        ZtauthError: usage errors, an unusable ledger (exit 2).
    """
    from ztauth_cli.cli._common import check_ledger_option
    from ztauth_cli.errors import UsageError
    from ztauth_cli.graph import trust_graph
    from ztauth_cli.ledger import load
    from ztauth_cli.report.graph_text import render_graph
    from ztauth_cli.report.output import render_to_text

    if subject is not None and workload is not None:
        raise UsageError("--subject and --workload cannot be combined; pick one view")
    check_ledger_option(ledger_path)
    check_output(output)
    wanted = _subject(subject) if subject is not None else None
    graph = trust_graph(load(ledger_path, rev), subject=wanted, workload=workload)
    emit(render_to_text(lambda g, out: render_graph(g, fmt, out), graph), output)
    return 0
