"""`ztauth policy` group: init, lint, fmt (lifecycle commands live in policy_lifecycle.py).

Each command parses its options and calls a typed ``run_<command>`` in ``ztauth_cli.lint``;
core packages are imported inside the command bodies so that ``ztauth --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ztauth_cli.report.formats import OutputFormat

app = typer.Typer(
    help="Author and check a ledger: init, lint, fmt, version, sign, verify, diff, log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_LEDGER_HELP = "Ledger folder (default: the nearest folder upward holding ztauth.yaml)."
LedgerOption = Annotated[Path | None, typer.Option("--ledger", help=_LEDGER_HELP)]


@app.command("init")
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create the ledger in (created if missing).")
    ] = Path("."),
    name: Annotated[
        str | None,
        typer.Option("--name", help="Ledger name (kebab-case; default: the folder's name)."),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="The ledger's ZTID (default: ztauth://example.internal/100000000000/ledgers/NAME).",
        ),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="Template: minimal or delegation.")
    ] = "minimal",
) -> None:
    """Create a ledger: manifest, Cedar schema and policy, trust documents, keys folder,
    an example test suite, a pre-commit config, and a Git repository when DIR is not in one.

    Refuses to overwrite an existing ledger (exit 2).
    """
    from ztauth_cli.lint.init import run_init

    raise typer.Exit(run_init(directory, name=name, ztid=ledger, template=template))


@app.command("lint")
def lint_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Only report on these ledger files (as pre-commit passes them)."),
    ] = None,
    ledger: LedgerOption = None,
    rev: Annotated[
        str | None,
        typer.Option("--rev", help="Lint the ledger as it is at this Git revision or tag."),
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text, json, sarif, github, junit or markdown."),
    ] = OutputFormat.TEXT,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Print the documentation of one rule (e.g. ZT101)."),
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List every rule and exit.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE (atomically)."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="The clock for time-based rules (RFC 3339; default: now)."),
    ] = None,
) -> None:
    """Check the ledger: schemas, Cedar, cross-references and risky configuration.

    Exit codes: 0 clean (warnings allowed unless --strict), 1 findings, 2 usage error.
    """
    from ztauth_cli.lint.command import run_explain, run_lint, run_list_rules

    if explain is not None:
        raise typer.Exit(run_explain(explain, fmt=fmt))
    if list_rules:
        raise typer.Exit(run_list_rules(fmt=fmt))
    raise typer.Exit(
        run_lint(
            list(paths or ()),
            ledger=ledger,
            rev=rev,
            fmt=fmt,
            strict=strict,
            output=output,
            at=at,
        )
    )


@app.command("fmt")
def fmt_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Only these .cedar files (default: every policy file)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 and list files that would change."),
    ] = False,
    ledger: LedgerOption = None,
) -> None:
    """Format .cedar files with Cedar's own formatter (rewritten atomically)."""
    from ztauth_cli.lint.command import run_fmt

    raise typer.Exit(run_fmt(list(paths or ()), ledger=ledger, check=check))
