"""What every command shares: its options, its clock, its ledger and where its output goes.

One place for the shell's conventions (DESIGN.md, "Conventions every command follows"):
``--ledger PATH`` / ``--rev REV`` wherever a ledger is read, ``-f/--format`` naming only the
formats the command supports, ``-o/--output FILE`` written atomically, ``--at`` in RFC 3339.
Every failure here is a :class:`~ztauth_cli.errors.UsageError` (one line, exit 2).

The Typer declarations live here; the checks, the clock and the output helpers live in
:mod:`ztauth_cli.cli._shared` (no Typer, for eval's fast lane) and are re-exported.
Light module: Typer evaluates option annotations at start-up, so only typer, the stdlib and
``report.formats`` are imported at module level; core packages are imported inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer

from ztauth_cli.cli._shared import (
    AT_EXAMPLE,
    PASSPHRASE_ENV,
    REQUIRE_SIGNATURES_ENV,
    SIGNERS_JWKS_ENV,
    check_format,
    check_ledger_option,
    check_output,
    check_pin_outside,
    emit,
    emit_json,
    emit_rich,
    emit_wire,
    key_passphrase,
    parse_at,
    read_public_jwks,
    resolve_ledger,
    signer_pin,
)
from ztauth_cli.report.formats import OutputFormat

__all__ = [
    "PASSPHRASE_ENV",
    "REQUIRE_SIGNATURES_ENV",
    "SIGNERS_JWKS_ENV",
    "AtOption",
    "LedgerOption",
    "OutputOption",
    "RequireSignaturesOption",
    "RevOption",
    "SignersJwksOption",
    "check_format",
    "check_ledger_option",
    "check_output",
    "check_pin_outside",
    "emit",
    "emit_json",
    "emit_rich",
    "emit_wire",
    "format_option",
    "group_epilog",
    "key_passphrase",
    "ledger_paths",
    "parse_at",
    "read_public_jwks",
    "reflow_help",
    "resolve_ledger",
    "signer_pin",
]


LedgerOption = Annotated[
    Path | None,
    typer.Option(
        "--ledger",
        help="Ledger folder (default: the nearest folder upward holding ztauth.yaml).",
        show_default=False,
    ),
]
RevOption = Annotated[
    str | None,
    typer.Option(
        "--rev",
        metavar="REV",
        help="Read the ledger as it is at this Git revision or tag (default: the working tree).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the result to FILE (atomically) instead of stdout.",
        show_default=False,
    ),
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="TIME",
        help=f"The clock, in RFC 3339 (e.g. {AT_EXAMPLE}; default: now).",
        show_default=False,
    ),
]


SignersJwksOption = Annotated[
    Path | None,
    typer.Option(
        "--signers-jwks",
        metavar="FILE",
        help="Trust ONLY these ledger signers (a JWKS kept outside the ledger), whatever the "
        "manifest's 'signers' says; implies --require-signatures 1 at least (default: "
        f"${SIGNERS_JWKS_ENV}).",
        show_default=False,
    ),
]
RequireSignaturesOption = Annotated[
    int | None,
    typer.Option(
        "--require-signatures",
        metavar="N",
        min=0,
        help="Require at least N valid distinct signers; the manifest can raise this, never "
        f"lower it (default: ${REQUIRE_SIGNATURES_ENV}).",
        show_default=False,
    ),
]


class _FormatType(click.ParamType):  # type: ignore[type-arg]
    """``--format``: any :class:`OutputFormat` value parses (so that a known but unsupported one
    gets :func:`check_format`'s message); anything else is refused naming the supported ones."""

    name = "format"

    def __init__(self, formats: tuple[OutputFormat, ...]) -> None:
        self.formats = formats

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        # The value, not the member: Typer maps it to the annotation's enum itself.
        if isinstance(value, OutputFormat):
            return value.value
        try:
            return OutputFormat(value).value
        except ValueError:
            names = ", ".join(sorted(f.value for f in self.formats))
            self.fail(f"{value!r} is not a format; use one of: {names}", param, ctx)


def format_option(*formats: OutputFormat, text: str | None = None) -> Any:
    """A ``-f/--format`` option whose help and errors name only ``formats``."""
    names = "|".join(f.value for f in formats)
    return typer.Option(
        "--format",
        "-f",
        click_type=_FormatType(formats),
        metavar=f"[{names}]",
        help=text or "Output format.",
    )


def group_epilog(*examples: tuple[str, str], exit_codes: str) -> str:
    """A command group's help epilog: examples (comment, command) and its exit codes.

    Typer's rich help joins the lines of a paragraph, so each line is its own paragraph.
    """
    lines = ["Examples"]
    for comment, command in examples:
        lines += [f"# {comment}", f"  {command}"]
    lines += [f"Exit codes: {exit_codes}", "Run 'COMMAND --help' for a command's options."]
    return "\n\n".join(lines)


def reflow_help(text: str) -> str:
    """A docstring made ready for Typer's rich help, which keeps every line break it is given.

    Prose paragraphs are joined into one line each (the terminal wraps them); a paragraph with
    an indented line (an example, a table) or a bullet list is kept as written.
    """
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    out: list[str] = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        verbatim = any(line.startswith((" ", "-", "*", "$")) for line in lines)
        out.append(paragraph if verbatim else " ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def ledger_paths(paths: list[Path], ledger: Path | None) -> tuple[list[Path], Path | None]:
    """File arguments of ``lint`` and ``fmt`` made explicit: ``(files, ledger)``.

    A lone ledger folder means that ledger (``ztauth policy lint sample-ledger``, as
    ``ztauth test sample-ledger``); any other folder means the files under it. When no path
    exists the command is refused: "0 errors" on a typo would be a false all-clear; a missing
    path among others is named on stderr and skipped.

    Raises:
        UsageError: none of the paths exists.
    """
    from ztauth_cli.errors import UsageError

    missing = [path for path in paths if not path.exists()]
    if missing and len(missing) == len(paths):
        raise UsageError(f"{missing[0]}: no such file or folder")
    for path in missing:
        typer.echo(f"warning: {path}: no such file or folder (skipped)", err=True)
    paths = [path for path in paths if path.exists()]
    if len(paths) == 1 and ledger is None and (paths[0] / "ztauth.yaml").is_file():
        return [], paths[0]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(f for f in sorted(path.rglob("*")) if f.is_file())
        else:
            files.append(path)
    return files, ledger
