"""Every JSON report is written as ``json.dumps(indent=2, ensure_ascii=False)`` writes it."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztauth_cli.report.envelope import json_text

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_DOCUMENTS = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(), inner, max_size=5)
    ),
    max_leaves=40,
)


def _reference(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@settings(max_examples=400, deadline=None)
@given(_DOCUMENTS)
def test_json_text_is_json_dumps_indented_character_for_character(document: Any) -> None:
    assert json_text(document) == _reference(document)


class _Code(str, enum.Enum):
    ALLOWED = "allowed"


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "document",
    [
        {"code": _Code.ALLOWED, "level": _Level.HIGH, "quote": 'a "b" \\ é \u2028 \x00'},
        {1: "an int key", None: "a null key"},  # keys json.dumps converts
        {"nan": math.nan, "inf": -math.inf, "zero": -0.0, "big": 10**30},
        [[], {}, [{}], {"a": []}],
    ],
)
def test_unusual_values_are_written_as_json_dumps_writes_them(document: Any) -> None:
    assert json_text(document) == _reference(document)


def test_what_json_cannot_write_is_refused_as_json_dumps_refuses_it() -> None:
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        json_text({"loop": circular})
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text({"set": {1, 2}})
