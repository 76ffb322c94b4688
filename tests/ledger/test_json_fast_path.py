"""JSON files are read by json.loads, yet give exactly what the position-recording reader gives:
the same data, the same spans (recorded lazily), and the same errors at the same positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.repo import write_files
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger import load
from ztauth_cli.ledger.yaml import (
    MAX_DEPTH,
    SourceDocument,
    _parse_json_fast,
    _parse_with_positions,
    parse_documents,
)

MANIFEST = """\
apiVersion: ztauth/v1
kind: Ledger
metadata: {name: demo}
ledger: ztauth://acme.internal/273165098782/ledgers/demo
"""


def _outcome(parse: Any, text: str) -> Any:
    try:
        documents: list[SourceDocument] = parse(text, "entities/e.json")
    except DocumentError as exc:
        return ("error", str(exc))
    return [
        (repr(d.data), str(d.span), d.positions, d.key_positions, d.field_spans())
        for d in documents
    ]


def _same_as_reader(text: str) -> None:
    assert _outcome(parse_documents, text) == _outcome(_parse_with_positions, text)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(
    value=values,
    indent=st.sampled_from([None, 0, 2, 4]),
    ensure_ascii=st.booleans(),
    compact=st.booleans(),
)
def test_json_files_read_as_the_position_reader_reads_them(
    value: Any, indent: int | None, ensure_ascii: bool, compact: bool
) -> None:
    separators = (",", ":") if compact else None
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, separators=separators)
    _same_as_reader(text)


EDGE_CASES = {
    "duplicate key": '{"a": 1,\n "a": 2}',
    "too deep": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    "deepest allowed": "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    "one past the deepest": "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH,
    "invalid JSON": '{"a": [1, 2}',
    "empty file": "",
    "null document": "null",
    "tab indentation": '{\n\t"a": 1\n}',
    "exponent without a dot": '{"a": 1e5}',
    "exponent without a sign": '{"a": 1.0e5}',
    "signed exponent": '{"a": 1.5E-3}',
    "NaN": '{"a": NaN}',
    "surrogate pair escape": '["\\ud83d\\ude00"]',
    "colon on the next line": '{"a"\n: 1}',
    "far colon": '{"a"' + " " * 40 + ": 1}",
    "long key": json.dumps({"k" * 1100: 1}),
    "CRLF lines": '[\r\n  {"a": 1},\r\n  {"b": 2}\r\n]',
    "lone CR": "[1,\r2]",
    "DEL character": '["a\x7fb"]',
    "line separator": '["a\u2028b"]',
    "C1 control": '["a\x85b"]',
    "merge-looking key": '{"<<": 1}',
    "leading blank lines": "\n\n   [1, 2]",
    "non-ASCII text": '[{"name": "Zoë", "city": "東京"}]',
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases_match_the_position_reader(text: str) -> None:
    _same_as_reader(text)


def test_plain_json_takes_the_fast_path_and_still_knows_every_position() -> None:
    text = '[\n  {"uid": {"type": "User", "id": "alice"}}\n]'
    document = _parse_json_fast(text, "entities/people.json")
    assert document is not None
    assert document.data == [{"uid": {"type": "User", "id": "alice"}}]
    assert str(document.span_at((0, "uid", "id"))) == "entities/people.json:2:34"
    assert str(document.key_span((0, "uid"))) == "entities/people.json:2:4"


def test_duplicate_key_in_a_json_file_is_refused_at_its_position() -> None:
    with pytest.raises(DocumentError, match="duplicate key 'a'") as caught:
        parse_documents('{"a": 1,\n "a": 2}', "entities/e.json")
    assert str(caught.value.span) == "entities/e.json:2:2"


def test_a_bad_entity_in_a_large_json_file_is_reported_at_its_line(tmp_path: Path) -> None:
    entities: list[Any] = [
        {"uid": {"type": "User", "id": f"u{n}"}, "attrs": {}, "parents": []} for n in range(500)
    ]
    entities.insert(321, {"attrs": {"marker": 1}})
    write_files(
        tmp_path,
        {"ztauth.yaml": MANIFEST, "entities/people.json": json.dumps(entities, indent=1)},
    )
    with pytest.raises(DocumentError, match="a Cedar entity needs uid") as caught:
        load(tmp_path)
    lines = (tmp_path / "entities/people.json").read_text().splitlines()
    marker = next(n for n, line in enumerate(lines, start=1) if '"marker"' in line)
    assert lines[marker - 3] == " {"  # the bad entity opens two lines above its marker
    assert str(caught.value.span) == f"entities/people.json:{marker - 2}:2"
