"""The streamed response line is the AuthZEN response, character for character."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ztauth_cli.engine import authzen_response, response_line
from ztauth_cli.model import Decision, ReasonCode
from ztauth_cli.model.decision import Step, TraceStep

TEXT = st.text(max_size=12)  # unicode, quotes, control characters: all must be escaped alike
OPTIONAL = st.none() | TEXT
STEPS = st.recursive(
    st.builds(TraceStep, step=st.sampled_from(list(Step)), passed=st.booleans(), detail=TEXT),
    lambda children: st.builds(
        TraceStep,
        step=st.sampled_from(list(Step)),
        passed=st.booleans(),
        detail=TEXT,
        children=st.lists(children, max_size=3).map(tuple),
    ),
    max_leaves=6,
)


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    code = draw(st.sampled_from(list(ReasonCode)))
    return Decision(
        allowed=code is ReasonCode.ALLOWED,
        code=code,
        message=draw(TEXT),
        user_message=draw(TEXT),
        via=draw(OPTIONAL),
        policies=tuple(draw(st.lists(TEXT, max_size=3))),
        trace=tuple(draw(st.lists(STEPS, max_size=4))),
        ledger=draw(OPTIONAL),
        revision=draw(OPTIONAL),
        version=draw(OPTIONAL),
    )


@given(
    items=st.lists(decisions(), min_size=1, max_size=3),
    batch=st.booleans(),
    request_id=st.none() | TEXT | st.integers(),
)
def test_response_line_is_the_compact_authzen_response(
    items: list[Decision], batch: bool, request_id: str | int | None
) -> None:
    if not batch:
        items = items[:1]
    ids = [f"id-{i}" for i in range(len(items))]
    expected = json.dumps(
        authzen_response(items, batch=batch, ids=ids, request_id=request_id),
        separators=(",", ":"),
    )
    assert response_line(items, batch=batch, ids=ids, request_id=request_id) == expected
    # Again: encoded steps and ledgers are remembered, and must still give the same text.
    assert response_line(items, batch=batch, ids=ids, request_id=request_id) == expected


def test_response_line_refuses_what_authzen_response_refuses() -> None:
    decision = Decision(
        allowed=True,
        code=ReasonCode.ALLOWED,
        message="m",
        user_message="u",
        via=None,
        policies=(),
        trace=(),
    )
    with pytest.raises(ValueError, match="needs one decision, got 2"):
        response_line([decision, decision], batch=False, ids=["a", "b"])
    with pytest.raises(ValueError, match="1 decision id"):
        response_line([decision, decision], batch=True, ids=["a"])
