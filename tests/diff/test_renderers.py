"""The diff renderers: rich text on a terminal, plain text off it, every format of one report."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from tests.support.schemas import assert_valid
from ztauth_cli.diff.model import (
    Change,
    DecisionFlip,
    DecisionSide,
    DiffReport,
    Impact,
    PolicyChange,
    RevisionInfo,
)
from ztauth_cli.model import Span
from ztauth_cli.report import diff_json, diff_markdown, diff_text

REPORT = DiffReport(
    base=RevisionInfo(label="v1.0.0", commit="a" * 40),
    target=RevisionInfo(label="working tree", commit=None),
    policies=(
        PolicyChange(
            id="p|[bold]x[/]",
            kind="added",
            impact=Impact.WIDENING,
            summary="added: permit(principal, action, resource)",
            aspects=(),
            before=None,
            after='@id("p")\npermit (principal, action, resource);',
            span=Span(path="policies/a.cedar", line=3, column=1),
        ),
    ),
    changes=(
        Change(
            area="trust",
            subject="group/g",
            kind="changed",
            field="members",
            impact=Impact.NARROWING,
            summary="member 'w|1' removed",
            before="w|1",
            span=Span(path="trust/g.yaml"),
        ),
    ),
    flips=(
        DecisionFlip(
            source="request",
            name="r.jsonl:1",
            request='User::"a" read Doc::"d"',
            impact=Impact.WIDENING,
            base=DecisionSide(
                allowed=False, code="policy_denied", message="no permit", via=None, policies=()
            ),
            target=DecisionSide(
                allowed=True, code="allowed", message="ok", via=None, policies=("p",)
            ),
        ),
    ),
    evaluated=1,
    skipped=("s/c: unknown token",),
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_on_a_terminal_is_coloured_and_escapes_markup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Terminal()
    diff_text.render(REPORT, out)
    text = out.getvalue()
    assert "\x1b[" in text
    assert "[bold]x[/]" in text  # user text is never taken as rich markup


def test_text_off_a_terminal_is_plain() -> None:
    out = io.StringIO()
    diff_text.render(REPORT, out)
    assert out.getvalue().splitlines() == [
        "policy diff v1.0.0 (aaaaaaa) -> working tree",
        "WIDENS ACCESS: 2 widening, 1 narrowing, 0 neutral; 1 of 1 replayed decisions flip",
        "",
        "Decision flips",
        '  WIDENING  r.jsonl:1: User::"a" read Doc::"d"',
        "            deny (policy_denied: no permit)",
        "            -> allow (allowed) [p]",
        "",
        "Trust changes",
        "  NARROWING group/g: member 'w|1' removed  (trust/g.yaml:1:1)",
        "",
        "Policy changes",
        "  WIDENING  policy/p|[bold]x[/]: added: permit(principal, action, resource)  "
        "(policies/a.cedar:3:1)",
        "",
        "Skipped test cases",
        "  s/c: unknown token",
    ]


def test_markdown_escapes_table_cells() -> None:
    out = io.StringIO()
    diff_markdown.render(REPORT, out)
    text = out.getvalue()
    assert "| narrowing | `group/g` | member 'w\\|1' removed | `trust/g.yaml:1:1` |" in text
    assert "<details><summary>Skipped test cases (1)</summary>" in text
    assert "### ztauth policy diff: `v1.0.0` (aaaaaaa) → `working tree`" in text


def test_json_is_the_documented_shape() -> None:
    out = io.StringIO()
    diff_json.render(REPORT, out)
    document = json.loads(out.getvalue())
    assert_valid(document, "diff-report")
    assert document["summary"]["widening"] is True
    assert document["decision_flips"][0]["location"] is None


def _flip(number: int, impact: Impact) -> DecisionFlip:
    allow = DecisionSide(allowed=True, code="allowed", message="ok", via=None, policies=("p",))
    deny = DecisionSide(allowed=False, code="policy_denied", message="no", via=None, policies=())
    widening = impact is Impact.WIDENING
    return DecisionFlip(
        source="request",
        name=f"r.jsonl:{number}",
        request=f'User::"u{number}" read Doc::"d"',
        impact=impact,
        base=deny if widening else allow,
        target=allow if widening else deny,
    )


def _markdown(report: DiffReport) -> list[str]:
    out = io.StringIO()
    diff_markdown.render(report, out)
    return out.getvalue().splitlines()


def test_markdown_folds_a_long_table_with_a_count() -> None:
    flips = tuple(_flip(n, Impact.NARROWING) for n in range(1, 51))
    lines = _markdown(dataclasses.replace(REPORT, flips=flips, evaluated=60))
    start = lines.index("#### Decision flips")
    shown = [line for line in lines[start:] if line.startswith("| narrowing | `r.jsonl:")]
    assert len(shown) == 50
    fold = lines.index(
        f"<details><summary>{50 - diff_markdown.MAX_ROWS} more decision flips</summary>"
    )
    # The first MAX_ROWS rows are open, the rest inside <details>, as their own table.
    assert shown[diff_markdown.MAX_ROWS - 1] in lines[start:fold]
    assert shown[diff_markdown.MAX_ROWS] in lines[fold:]
    assert lines[fold + 2].startswith("| Impact | Case / request |")
    assert "</details>" in lines[fold:]


def test_markdown_table_at_the_cap_is_not_folded() -> None:
    flips = tuple(_flip(n, Impact.NARROWING) for n in range(1, diff_markdown.MAX_ROWS + 1))
    lines = _markdown(dataclasses.replace(REPORT, flips=flips))
    assert not [line for line in lines if "more decision flip" in line]


def test_markdown_verdict_says_whether_access_widens() -> None:
    nothing = dataclasses.replace(REPORT, policies=(), changes=(), flips=(), skipped=())
    assert _markdown(nothing)[2] == "✅ **No widening**: no changes"
    narrowing = dataclasses.replace(nothing, flips=(_flip(1, Impact.NARROWING),))
    assert _markdown(narrowing)[2] == (
        "✅ **No widening**: 1 decision flip allow → deny (access removed)"
    )
    only_trust = dataclasses.replace(nothing, changes=REPORT.changes)
    assert _markdown(only_trust)[2] == "✅ **No widening**: no replayed decision changes"
    assert _markdown(REPORT)[2] == (
        "⚠️ **Widens access**: 1 decision flip deny → allow; 1 policy change widens access"
    )


def test_markdown_puts_widening_changes_and_flips_first() -> None:
    lines = _markdown(
        dataclasses.replace(REPORT, flips=(_flip(1, Impact.NARROWING), _flip(2, Impact.WIDENING)))
    )
    changes = lines.index("#### Changes, most dangerous first")
    assert lines[changes + 4].startswith("| ⚠️ widening | `policy/p\\|[bold]x[/]` |")
    assert lines[changes + 5].startswith("| narrowing | `group/g` |")
    flips = lines.index("#### Decision flips")
    assert lines[flips + 4].startswith("| ⚠️ widening | `r.jsonl:2`")
    assert lines[flips + 5].startswith("| narrowing | `r.jsonl:1`")
