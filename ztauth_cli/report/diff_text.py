"""A ledger diff as text for a terminal (rich), plain off a terminal or under ``NO_COLOR``."""

from __future__ import annotations

from typing import TextIO

from ztauth_cli.diff.model import DecisionSide, DiffReport, Impact
from ztauth_cli.report.console import make_console

__all__ = ["render"]

_STYLE = {Impact.WIDENING: "bold red", Impact.NARROWING: "yellow", Impact.NEUTRAL: "dim"}
_WIDTH = max(len(i.value) for i in Impact)


def _tag(impact: Impact) -> str:
    return f"[{_STYLE[impact]}]{impact.value.upper():<{_WIDTH}}[/]"


def _side(side: DecisionSide) -> str:
    text = f"{'allow' if side.allowed else 'deny'} ({side.code}"
    text += "" if side.allowed else f": {side.message}"
    text += ")"
    if side.via:
        text += f" via {side.via}"
    if side.policies:
        text += f" [{', '.join(side.policies)}]"
    return text


def _label(report: DiffReport, which: str) -> str:
    info = report.base if which == "base" else report.target
    if info.commit and info.commit[:7] not in info.label:
        return f"{info.label} ({info.commit[:7]})"
    return info.label


def render(report: DiffReport, out: TextIO) -> None:
    """Write the diff: summary, decision flips, trust changes, policy changes."""
    from rich.markup import escape

    console = make_console(out)

    def p(text: str) -> None:
        # On a terminal, wrap at spaces to its width (an id is never cut in two unless it alone
        # is wider than the terminal); in pipes and files, one line per item, never wrapped.
        console.print(text, soft_wrap=not console.is_terminal)

    base, target = escape(_label(report, "base")), escape(_label(report, "target"))
    p(f"[bold]policy diff[/] {base} -> {target}")
    head = "[bold red]WIDENS ACCESS[/]" if report.widening else "[green]no widening[/]"
    p(
        f"{head}: {report.count(Impact.WIDENING)} widening, "
        f"{report.count(Impact.NARROWING)} narrowing, {report.count(Impact.NEUTRAL)} neutral; "
        f"{len(report.flips)} of {report.evaluated} replayed decisions flip"
    )
    indent = " " * (_WIDTH + 3)
    if report.flips:
        p("\n[bold]Decision flips[/]")
        for flip in report.flips:
            p(f"  {_tag(flip.impact)} {escape(flip.name)}: {escape(flip.request)}")
            p(f"{indent}{escape(_side(flip.base))}")
            p(f"{indent}-> {escape(_side(flip.target))}")
    sections = (
        ("Trust changes", [(c.impact, c.subject, c.summary, c.span) for c in report.changes]),
        (
            "Policy changes",
            [(c.impact, f"policy/{c.id}", c.summary, c.span) for c in report.policies],
        ),
    )
    for title, rows in sections:
        if rows:
            p(f"\n[bold]{title}[/]")
        for impact, subject, summary, span in rows:
            where = f"  ({span})" if span else ""
            p(f"  {_tag(impact)} {escape(f'{subject}: {summary}{where}')}")
    if report.skipped:
        p("\n[bold]Skipped test cases[/]")
        for reason in report.skipped:
            p(f"  {escape(reason)}")
    if not (report.flips or report.changes or report.policies):
        p("no changes")
