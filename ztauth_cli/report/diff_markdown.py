"""A ledger diff as Markdown, ready to paste as a pull-request comment.

A summary line with the counts (and a warning marker when anything widens), tables for the
decision flips and the trust changes, and the structural policy changes folded in
``<details>`` with the before/after Cedar text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from ztauth_cli.diff.model import DecisionSide, DiffReport, Impact

__all__ = ["render"]

_MARK = {
    Impact.WIDENING: "⚠️ widening",
    Impact.NARROWING: "narrowing",
    Impact.NEUTRAL: "neutral",
}


def _cell(text: str | None) -> str:
    """Table-safe text: pipes escaped, no line breaks."""
    if not text:
        return "—"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    # A backtick inside would end the code span: use a longer fence (CommonMark).
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _side(side: DecisionSide) -> str:
    text = f"**{'allow' if side.allowed else 'deny'}** {_code(side.code)}"
    if side.via:
        text += f" via {_code(side.via)}"
    if not side.allowed and side.message:
        text += f" — {_cell(side.message)}"
    return text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _label(report: DiffReport, which: str) -> str:
    info = report.base if which == "base" else report.target
    short = f" ({info.commit[:7]})" if info.commit and info.commit[:7] not in info.label else ""
    return f"{_code(info.label)}{short}"


def _table(
    w: Callable[[str], object], title: str, header: Sequence[str], rows: Iterable[Sequence[str]]
) -> None:
    w(f"\n#### {title}\n\n")
    w(f"| {' | '.join(header)} |\n")
    w(f"|{'---|' * len(header)}\n")
    for row in rows:
        w(f"| {' | '.join(row)} |\n")


def render(report: DiffReport, out: TextIO) -> None:
    """Write the Markdown comment."""
    w = out.write
    w(f"### ztauth policy diff: {_label(report, 'base')} → {_label(report, 'target')}\n\n")
    widening = report.count(Impact.WIDENING)
    marker = "⚠️ **Widens access**" if report.widening else "✅ **No widening**"
    w(
        f"{marker} — {widening} widening, {report.count(Impact.NARROWING)} narrowing, "
        f"{report.count(Impact.NEUTRAL)} neutral · {len(report.flips)} of {report.evaluated} "
        f"replayed decisions flip · {_plural(len(report.changes), 'trust change')} · "
        f"{_plural(len(report.policies), 'policy change')}\n"
    )
    if report.flips:
        flips = [
            (
                _MARK[flip.impact],
                f"{_code(flip.name)}<br>{_cell(flip.request)}",
                _side(flip.base),
                _side(flip.target),
                f"{_cell(', '.join(flip.base.policies) or '—')} → "
                f"{_cell(', '.join(flip.target.policies) or '—')}",
            )
            for flip in report.flips
        ]
        header = ("Impact", "Case / request", "Base", "Target", "Determining policies")
        _table(w, "Decision flips", header, flips)
    if report.changes:
        changes = [
            (
                _MARK[change.impact],
                _code(change.subject),
                _cell(change.summary),
                _code(str(change.span)) if change.span else "—",
            )
            for change in report.changes
        ]
        _table(w, "Trust changes", ("Impact", "Subject", "Change", "Where"), changes)
    if report.policies:
        w(f"\n<details><summary>Policy changes ({len(report.policies)})</summary>\n\n")
        for policy in report.policies:
            where = f" ({_code(str(policy.span))})" if policy.span else ""
            w(f"- {_MARK[policy.impact]} **{_code(policy.id)}** {_cell(policy.summary)}{where}\n")
            w("\n  ```diff\n")
            for line in (policy.before or "").splitlines():
                w(f"  - {line}\n")
            for line in (policy.after or "").splitlines():
                w(f"  + {line}\n")
            w("  ```\n\n")
        w("</details>\n")
    if report.skipped:
        w(f"\n<details><summary>Skipped test cases ({len(report.skipped)})</summary>\n\n")
        for reason in report.skipped:
            w(f"- {_cell(reason)}\n")
        w("\n</details>\n")
