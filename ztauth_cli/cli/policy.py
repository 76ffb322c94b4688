"""`ztauth policy` group: init, lint, fmt (lifecycle commands live in policy_lifecycle.py).

Each command parses its options and calls a typed ``run_<command>`` in ``ztauth_cli.lint``;
core packages are imported inside the command bodies so that ``ztauth --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ztauth_cli.cli._common import (
    AtOption,
    LedgerOption,
    OutputOption,
    RevOption,
    check_output,
    format_option,
    group_epilog,
    ledger_paths,
    parse_at,
)
from ztauth_cli.report.formats import CHECK_REPORT_FORMATS, OutputFormat

app = typer.Typer(
    help="Author and check a ledger: init, lint, fmt, sign, verify, version, diff, log.",
    epilog=group_epilog(
        (
            "create a ledger, then check it",
            "ztauth policy init payments && ztauth policy lint --ledger payments",
        ),
        ("what a change does to access", "ztauth policy diff main...HEAD -f markdown"),
        exit_codes="0 success, 1 findings (lint errors, unverified signatures, files to "
        "reformat under --check, widening under --fail-on-widening), 2 usage or input error.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("init")
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder to create the ledger in (created if missing).")
    ] = Path("."),
    name: Annotated[
        str | None,
        typer.Option("--name", help="Ledger name (kebab-case; default: the folder's name)."),
    ] = None,
    ztid: Annotated[
        str | None,
        typer.Option(
            "--ztid",
            help="The ledger's ZTID (default: ztauth://example.internal/100000000000/ledgers/NAME).",
            show_default=False,
        ),
    ] = None,
    legacy_ztid: Annotated[
        str | None,
        # Everywhere else --ledger is a folder; kept (hidden) for scripts written before --ztid.
        typer.Option("--ledger", hidden=True),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="Template: minimal or delegation.")
    ] = "minimal",
) -> None:
    """Create a ledger from a template, with a Git repository when DIR is not in one.

    Writes the manifest, Cedar schema and policy, trust documents, a keys folder, an example
    test suite and a pre-commit config. Refuses to overwrite an existing ledger.

    Example:

      $ ztauth policy init payments --template delegation
      created ledger 'payments' (ztauth://...ledgers/payments) in payments

    Exit codes: 0 created, 2 bad option or the folder already holds a ledger.
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.lint.init import run_init

    if ztid is not None and legacy_ztid is not None:
        raise UsageError("--ztid and --ledger name the same thing; pass only --ztid")
    raise typer.Exit(run_init(directory, name=name, ztid=ztid or legacy_ztid, template=template))


@app.command("lint")
def lint_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Only report on these ledger files or folders (as pre-commit passes them); "
            "a ledger folder alone means that whole ledger."
        ),
    ] = None,
    ledger: LedgerOption = None,
    rev: RevOption = None,
    fmt: Annotated[OutputFormat, format_option(*CHECK_REPORT_FORMATS)] = OutputFormat.TEXT,
    output: OutputOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    disable: Annotated[
        list[str] | None,
        typer.Option(
            "--disable",
            metavar="RULE",
            help="Do not run this rule (id or name; repeatable), on top of ztauth.yaml's lint:.",
        ),
    ] = None,
    enable: Annotated[
        list[str] | None,
        typer.Option(
            "--enable",
            metavar="RULE",
            help="Run this rule even if ztauth.yaml's lint: turns it off (repeatable).",
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            help="Print the documentation of one rule, by id or name (ZT101, cedar-syntax).",
        ),
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List every rule and exit.")
    ] = False,
    at: AtOption = None,
) -> None:
    """Check the ledger: schemas, Cedar, cross-references and risky configuration.

    Anything wrong inside the ledger's files, syntax errors included, is a finding. --at sets
    the clock of the time-based rules (expired keys, elevations). The manifest's
    'lint: {disable: [...], severity: {RULE: error|warning|note|off}}' applies first, then
    --disable and --enable (rules by id or name).

    Examples:

      $ ztauth policy lint --ledger sample-ledger
      $ ztauth policy lint -f sarif -o lint.sarif      # code scanning upload
      $ ztauth policy lint --explain ZT101
      $ ztauth policy lint --explain cedar-syntax
      $ ztauth policy lint --disable ZT307 --enable policy-id-format

    Exit codes: 0 clean (warnings allowed unless --strict), 1 findings, 2 usage error.
    """
    from ztauth_cli.lint.command import run_explain, run_lint, run_list_rules

    if explain is not None:
        raise typer.Exit(run_explain(explain, fmt=fmt))
    if list_rules:
        raise typer.Exit(run_list_rules(fmt=fmt))
    check_output(output)
    now = parse_at(at)  # one message for a bad --at, before any work
    files, ledger = ledger_paths(list(paths or ()), ledger)
    raise typer.Exit(
        run_lint(
            files,
            ledger=ledger,
            rev=rev,
            fmt=fmt,
            strict=strict,
            output=output,
            now=now,
            disable=tuple(disable or ()),
            enable=tuple(enable or ()),
        )
    )


@app.command("fmt")
def fmt_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Only these .cedar files or the ones under these folders; a ledger folder "
            "alone means its policies (default: every policy file)."
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Change nothing; exit 1 and list files that would change."),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff", help="Change nothing; print a unified diff of what would change (exit 1)."
        ),
    ] = False,
    ledger: LedgerOption = None,
) -> None:
    """Format .cedar files with Cedar's own formatter (rewritten atomically).

    File headers and blank lines between policies are kept. Works on the working tree only.

    Examples:

      $ ztauth policy fmt --check        # CI: exit 1 and list files that would change
      $ ztauth policy fmt policies/billing.cedar
      $ ztauth policy fmt --diff         # review what it would change

    Exit codes: 0 formatted (or nothing to do), 1 --check or --diff found changes or a file
    cannot be formatted, 2 usage error.
    """
    from ztauth_cli.lint.command import run_fmt

    files, ledger = ledger_paths(list(paths or ()), ledger)
    raise typer.Exit(run_fmt(files, ledger=ledger, check=check or diff, diff=diff))
