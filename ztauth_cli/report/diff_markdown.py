"""A ledger diff as Markdown, ready to paste as a pull-request comment.

Written for a reviewer: a verdict line (does this widen access, and how many decisions flip
deny -> allow), then one table of every policy and trust change with the most dangerous first,
then the decision flips (widening first), then the Cedar text of changed policies folded in
``<details>``. A table longer than :data:`MAX_ROWS` shows its first rows and folds the rest
in ``<details>`` with a count, so a 50-flip change stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from ztauth_cli.diff.model import Change, DecisionSide, DiffReport, Impact, PolicyChange

if TYPE_CHECKING:
    from ztauth_cli.graph import EdgeChange, Node

__all__ = ["MAX_ROWS", "render"]

# Rows shown in a table before the rest is folded in <details>.
MAX_ROWS = 20

_CHANGE_HEADER = ("Impact", "Subject", "Change", "Where")
_FLIP_HEADER = ("Impact", "Case / request", "Base", "Target", "Determining policies")
_RANK = {Impact.WIDENING: 0, Impact.NARROWING: 1, Impact.NEUTRAL: 2}

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


def _cell_code(text: str) -> str:
    """A code span inside a table cell: GitHub ends a cell at any unescaped ``|``, even in code."""
    return _code(text).replace("|", "\\|")


def _side(side: DecisionSide) -> str:
    text = f"**{'allow' if side.allowed else 'deny'}** {_cell_code(side.code)}"
    if side.via:
        text += f" via {_cell_code(side.via)}"
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
    w: Callable[[str], object],
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    noun: str,
) -> None:
    """A titled table; rows past :data:`MAX_ROWS` go to a folded second table with a count."""

    def lines(part: Sequence[Sequence[str]]) -> None:
        w(f"| {' | '.join(header)} |\n")
        w(f"|{'---|' * len(header)}\n")
        for row in part:
            w(f"| {' | '.join(row)} |\n")

    w(f"\n#### {title}\n\n")
    lines(rows[:MAX_ROWS])
    rest = rows[MAX_ROWS:]
    if rest:
        w(f"\n<details><summary>{_plural(len(rest), f'more {noun}')}</summary>\n\n")
        lines(rest)
        w("\n</details>\n")


def _verdict(report: DiffReport) -> str:
    """One line: does this widen access, and what says so."""
    opened = sum(1 for f in report.flips if f.impact is Impact.WIDENING)
    closed = len(report.flips) - opened
    structural: tuple[Change | PolicyChange, ...] = (*report.policies, *report.changes)
    widen = [c for c in structural if c.impact is Impact.WIDENING]
    if report.widening:
        parts = []
        if opened:
            parts.append(f"{_plural(opened, 'decision')} flip deny → allow")
        if widen:
            policies = sum(1 for c in widen if isinstance(c, PolicyChange))
            kinds = ", ".join(
                text
                for count, text in (
                    (policies, _plural(policies, "policy change")),
                    (len(widen) - policies, _plural(len(widen) - policies, "trust change")),
                )
                if count
            )
            parts.append(f"{kinds} widen{'s' if len(widen) == 1 else ''} access")
        return f"⚠️ **Widens access**: {'; '.join(parts)}"
    if closed:
        return (
            f"✅ **No widening**: {_plural(closed, 'decision')} flip allow → deny (access removed)"
        )
    if structural:
        return "✅ **No widening**: no replayed decision changes"
    return "✅ **No widening**: no changes"


def _totals(report: DiffReport) -> str:
    structural: tuple[Change | PolicyChange, ...] = (*report.policies, *report.changes)

    def split(items: Sequence[Change | PolicyChange]) -> str:
        return ", ".join(
            f"{sum(1 for c in items if c.impact is impact)} {impact.value}" for impact in Impact
        )

    opened = sum(1 for f in report.flips if f.impact is Impact.WIDENING)
    return (
        f"{len(report.flips)} of {report.evaluated} replayed decisions flip ({opened} deny → "
        f"allow, {len(report.flips) - opened} allow → deny) · "
        f"{_plural(len(report.policies), 'policy change')} and "
        f"{_plural(len(report.changes), 'trust change')} ({split(structural)})"
    )


def _flips_through(report: DiffReport, item: Change | PolicyChange) -> int:
    """How many widening flips ``item`` is on the path of: a policy that decided one side, a
    trust document the decision went through (or named in its reason), or an id it added or
    removed that the request names."""
    name = item.id if isinstance(item, PolicyChange) else item.subject
    count = 0
    for flip in report.flips:
        if flip.impact is not Impact.WIDENING:
            continue
        sides = (flip.base, flip.target)
        if isinstance(item, PolicyChange):
            hit = any(name in side.policies for side in sides)
        else:
            # The document on the decision path, or the id it added/removed in the request.
            value = item.after or item.before or ""
            hit = any(side.via == name or name in side.message for side in sides) or (
                ("/" in value or "::" in value) and value in flip.request
            )
        count += hit
    return count


def _danger_order(report: DiffReport) -> list[Change | PolicyChange]:
    """Widening first; among equals, the change behind the most widening flips first, then a
    policy change before a trust change (Cedar decides directly), then the report's order."""
    items: list[Change | PolicyChange] = [*report.policies, *report.changes]
    return sorted(
        items,
        key=lambda c: (
            _RANK[c.impact],
            -_flips_through(report, c),
            0 if isinstance(c, PolicyChange) else 1,
        ),
    )


def render(
    report: DiffReport,
    out: TextIO,
    *,
    trust_edges: Sequence[EdgeChange] = (),
    trust_nodes: Mapping[str, Node] | None = None,
) -> None:
    """Write the Markdown comment; ``trust_edges`` (from ``graph.diff_graphs``) are drawn as
    a Mermaid graph above the tables."""
    from ztauth_cli.report.graph_text import render_trust_changes_markdown

    w = out.write
    w(f"### ztauth policy diff: {_label(report, 'base')} → {_label(report, 'target')}\n\n")
    w(f"{_verdict(report)}\n\n")
    w(f"{_totals(report)}\n")
    render_trust_changes_markdown(trust_edges, trust_nodes or {}, out)
    ordered = _danger_order(report)
    if ordered:
        rows: list[tuple[str, ...]] = [
            (
                _MARK[item.impact],
                _cell_code(f"policy/{item.id}" if isinstance(item, PolicyChange) else item.subject),
                _cell(item.summary),
                _cell_code(str(item.span)) if item.span else "—",
            )
            for item in ordered
        ]
        _table(w, "Changes, most dangerous first", _CHANGE_HEADER, rows, "change")
    if report.flips:
        flips: list[tuple[str, ...]] = [
            (
                _MARK[flip.impact],
                f"{_cell_code(flip.name)}<br>{_cell(flip.request)}",
                _side(flip.base),
                _side(flip.target),
                f"{_cell(', '.join(flip.base.policies) or '—')} → "
                f"{_cell(', '.join(flip.target.policies) or '—')}",
            )
            for flip in sorted(report.flips, key=lambda f: _RANK[f.impact])
        ]
        _table(w, "Decision flips", _FLIP_HEADER, flips, "decision flip")
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
