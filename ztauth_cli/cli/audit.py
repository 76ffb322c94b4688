"""`ztauth audit`: check and show the hash-chained decision log written by `eval --audit-log`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ztauth_cli.cli._common import (
    OutputOption,
    check_format,
    check_output,
    emit,
    emit_json,
    emit_rich,
    format_option,
    group_epilog,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from rich.console import Console

    from ztauth_cli.audit import AuditVerification

__all__ = ["app", "run_show", "run_verify", "show_command", "verify_command"]

app = typer.Typer(
    help="Verify and show the tamper-evident decision log.",
    epilog=group_epilog(
        ("check the hash chain of an eval --audit-log", "ztauth audit verify decisions.jsonl"),
        ("the last decisions, as a table", "ztauth audit show decisions.jsonl --limit 20"),
        exit_codes="0 intact or shown, 1 the chain is broken, 2 unreadable file or bad option.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_FORMATS = (OutputFormat.TEXT, OutputFormat.JSON)
FormatOption = Annotated[OutputFormat, format_option(*_FORMATS)]


@app.command("verify")
def verify_command(
    file: Path = typer.Argument(..., help="The audit log (JSON Lines)."),  # noqa: B008
    expect_head: str | None = typer.Option(
        None,
        "--expect-head",
        metavar="SHA256",
        help="Fail unless the log's head (hash of its last line) is this value, as recorded "
        "by an earlier verify: catches lines removed from or added at the end.",
        show_default=False,
    ),
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Check the log's hash chain and report the first broken line.

    Each line is protected by the next one; the last line only by the head printed here:
    record it elsewhere and pass it back with --expect-head.

    Example:

      $ ztauth eval requests/stream.jsonl --audit-log decisions.jsonl
      $ ztauth audit verify decisions.jsonl
      $ ztauth audit verify decisions.jsonl --expect-head 3f5a...

    Exit codes: 0 intact, 1 broken (edited, deleted, reordered or incomplete line, or a head
    other than --expect-head), 2 the file cannot be read or a bad option.
    """
    raise typer.Exit(run_verify(path=file, fmt=fmt, output=output, expect_head=expect_head))


@app.command("show")
def show_command(
    file: Path = typer.Argument(..., help="The audit log (JSON Lines)."),  # noqa: B008
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=1, help="Show only the last N entries."
    ),
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Show the logged decisions as a table (does not check the chain: use 'audit verify').

    Example:

      $ ztauth audit show decisions.jsonl -n 20

    Exit codes: 0 shown, 2 the file cannot be read or holds a line that is not an entry.
    """
    raise typer.Exit(run_show(path=file, limit=limit, fmt=fmt, output=output))


def run_verify(
    *,
    path: Path,
    fmt: OutputFormat,
    output: Path | None = None,
    expect_head: str | None = None,
) -> int:
    """Verify the chain of the log at ``path`` (and its head against ``expect_head``) and print
    the result. Returns 0 or 1.

    Raises:
        ZtauthError: unreadable file, bad format option or malformed ``expect_head`` (exit 2).
    """
    from ztauth_cli.audit import verify_log

    check_format(fmt, _FORMATS, command="ztauth audit verify")
    check_output(output)
    expected = _expected_head(expect_head)
    result = verify_log(path)
    mismatch = None
    if expected is not None and result.ok and result.head != expected:
        mismatch = (
            f"head {result.head} is not the expected {expected}: lines were added or removed "
            "at the end, or the log was replaced"
        )
    if fmt is OutputFormat.JSON:
        from ztauth_cli.report.envelope import sorted_members

        document = result.to_json()
        if expected is not None:
            document["expected_head"] = expected
            if mismatch is not None:
                document.update(ok=False, reason=mismatch)
        emit_json("ztauth audit verify", sorted_members(document), output)
    else:
        emit_rich(lambda console: _render_verify(console, result, path, mismatch), output)
        if result.ok and mismatch is None:
            # A note, not the result: stdout stays the one 'ok:' line.
            note = (
                "record this value elsewhere: the last line is only protected by it"
                if expected is None
                else "matches --expect-head"
            )
            typer.echo(f"head: {result.head}  ({note})", err=True)
    return 0 if result.ok and mismatch is None else 1


def _expected_head(text: str | None) -> str | None:
    from ztauth_cli.errors import UsageError

    if text is None:
        return None
    value = text.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise UsageError(
            f"--expect-head {text!r}: expected the 64 hex digits of a SHA-256 head",
            hint="copy the 'head' printed by 'ztauth audit verify'",
        )
    return value


def _render_verify(
    console: Console, result: AuditVerification, path: Path, mismatch: str | None = None
) -> None:
    if mismatch is not None:
        console.print(f"broken: {path}: {mismatch}", style="bold red", markup=False)
        console.print(f"the chain of its {result.lines} lines is intact", markup=False)
        return
    if result.ok:
        console.print(
            f"ok: {path}: {result.lines} lines, chain intact, head {result.head}",
            style="green",
            markup=False,
        )
        return
    console.print(
        f"broken: {path}:{result.first_broken_line}: {result.reason}",
        style="bold red",
        markup=False,
    )
    intact = f"lines 1-{result.lines} are intact" if result.lines else "no line is intact"
    console.print(f"{intact} (head {result.head})", markup=False)


def _entity(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    kind, ident = value.get("type"), value.get("id")
    if kind is None and ident is None:
        return ""
    return f'{kind}::"{ident}"'


def _row(entry: dict[str, Any]) -> dict[str, str]:
    raw = entry.get("request")
    request: dict[str, Any] = raw if isinstance(raw, dict) else {}
    action = request.get("action")
    model = request.get("authorization_model")
    principal = model.get("principal") if isinstance(model, dict) else None
    policies = entry.get("policies")
    return {
        "seq": str(entry.get("seq", "")),
        "time": str(entry.get("time", "")),
        "decision": "allow" if entry.get("decision") is True else "deny",
        "code": str(entry.get("code", "")),
        "subject": _entity(request.get("subject")),
        "actor": _entity(principal),
        "action": str(action.get("name", "")) if isinstance(action, dict) else "",
        "resource": _entity(request.get("resource")),
        "via": str(entry.get("via") or ""),
        "policies": ", ".join(str(p) for p in policies) if isinstance(policies, list) else "",
    }


def run_show(
    *, path: Path, limit: int | None, fmt: OutputFormat, output: Path | None = None
) -> int:
    """Print the entries of the log at ``path`` (the last ``limit`` ones). Returns 0.

    Raises:
        ZtauthError: unreadable file, a line that is not an entry, bad format option (exit 2).
    """
    from collections import deque

    from ztauth_cli.audit import read_log

    check_format(fmt, _FORMATS, command="ztauth audit show")
    check_output(output)
    # A deque keeps memory bounded by --limit, however long the log.
    entries = list(deque(read_log(path), maxlen=limit))
    if fmt is OutputFormat.JSON:
        from ztauth_cli.report.envelope import sorted_members

        emit_json("ztauth audit show", {"entries": sorted_members(entries)}, output)
        return 0
    _table(entries, path, output=output)
    return 0


_COLUMNS = (
    "seq",
    "time",
    "decision",
    "code",
    "subject",
    "actor",
    "action",
    "resource",
    "via",
    "policies",
)


def _table(entries: list[dict[str, Any]], path: Path, *, output: Path | None) -> None:
    from ztauth_cli.report.console import plain_output

    rows = [_row(entry) for entry in entries]
    if output is not None or plain_output(sys.stdout):
        # Off a terminal: aligned columns at their natural width, one entry per line, so the
        # output can be grepped and diffed (rich would wrap cells at 80 columns).
        widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in _COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in _COLUMNS).rstrip()]
        lines += ["  ".join(r[c].ljust(widths[c]) for c in _COLUMNS).rstrip() for r in rows]
        emit("\n".join(lines) + f"\n{path}: {len(rows)} entries\n", output)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    # On a terminal: drop columns no entry fills, and never fold the short fixed-width ones
    # (a timestamp or reason code cut in two is unreadable); the long ones fold instead.
    shown = [c for c in _COLUMNS if any(r[c] for r in rows)] or list(_COLUMNS)

    def draw(console: Console) -> None:
        # The table at its natural width, when the terminal has room for it; otherwise one
        # short block per entry, wrapped at spaces only, so that no id is ever cut in two.
        natural = sum(max([len(c), *(len(r[c]) for r in rows)]) + 2 for c in shown) + 2
        if natural <= console.width:
            table = Table(title=f"{path}: {len(rows)} entries", box=box.SIMPLE)
            for column in shown:
                table.add_column(column, no_wrap=True)
            for row in rows:
                style = "green" if row["decision"] == "allow" else "red"
                table.add_row(*(row[c] for c in shown), style=style)
            console.print(table)
            return
        console.print(f"{path}: {len(rows)} entries", markup=False)
        for row in rows:
            style = "green" if row["decision"] == "allow" else "red"
            head = "  ".join(row[c] for c in ("seq", "time", "decision", "code") if row[c])
            acts = f"{row['actor']} for " if row["actor"] else ""
            asked = f"{acts}{row['subject']} {row['action']} {row['resource']}".strip()
            console.print(Text(head, style=style))
            console.print(Text(f"    {asked}"))
            for label in ("via", "policies"):
                if row[label]:
                    console.print(Text(f"    {label}: {row[label]}"))

    emit_rich(draw, None)
