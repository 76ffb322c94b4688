"""The diff renderers: rich text on a terminal, plain text off it, every format of one report."""

from __future__ import annotations

import io
import json

import pytest

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
    import jsonschema

    from ztauth_cli.ledger.schemas import load_schema

    out = io.StringIO()
    diff_json.render(REPORT, out)
    document = json.loads(out.getvalue())
    jsonschema.Draft202012Validator(load_schema("diff-report")).validate(document)
    assert document["summary"]["widening"] is True
    assert document["decision_flips"][0]["location"] is None
