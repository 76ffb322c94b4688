"""Suite files are read from libyaml's events, yet give exactly what the position-recording
reader gives: the same data, the same spans (the deeper ones recorded when first asked for),
and the same errors at the same positions; whatever the fast path is unsure of, the reader
decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger.yaml import (
    MAX_DEPTH,
    SourceDocument,
    _parse_with_positions,
    _parse_yaml_fast,
    parse_documents,
)

PATH = "tests/suite.yaml"


def _outcome(parse: Any, text: str) -> Any:
    try:
        documents: list[SourceDocument] = parse(text, PATH)
    except DocumentError as exc:
        return ("error", str(exc))
    return [
        (
            repr(d.data),
            str(d.span),
            d.span_at(("cases", 0)),
            d.key_span(("tokens", "t")),
            d.span_at(("cases", 0, "request", "subject", "id")),
            d.key_span(("cases", 1, "expect")),
            d.positions,
            d.key_positions,
            dict(d.field_spans()),
        )
        for d in documents
    ]


def _lazy(text: str, path: str) -> list[SourceDocument]:
    return parse_documents(text, path, lazy_positions=True)


def _same_as_reader(text: str) -> None:
    assert _outcome(_lazy, text) == _outcome(_parse_with_positions, text)


SUITE = """\
apiVersion: ztauth/v1
kind: TestSuite
name: direct-access
at: 2026-06-01T12:00:00Z
tokens:
  t: {issuer: "https://idp.acme.internal", claims: {sub: alice}, expires_in: 10m}
cases:
  - name: alice reads
    request:
      subject: {type: User, id: alice}
      action: {name: read}
      resource: {type: Document, id: "q3"}
      context: {n: 1, f: 1.5, ok: yes, none: ~, when: 2026-01-01, big: 0x1F, list: [a, 'b']}
    expect: {decision: allow, policies: [owner-can-read]}
  - name: bob does not
    request: {subject: {type: User, id: bob}, action: {name: read}}
    expect:
      decision: deny
---
---
# an empty document, then one more
kind: AccessSnapshot
"""


@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**20), max_value=10**20)
        | st.floats(allow_nan=False)
        | st.text(max_size=12),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=25,
    ),
    flow=st.sampled_from([None, True, False]),
    documents=st.integers(min_value=1, max_value=3),
)
def test_yaml_files_read_as_the_position_reader_reads_them(
    value: Any, flow: bool | None, documents: int
) -> None:
    text = yaml.safe_dump_all([value] * documents, default_flow_style=flow, allow_unicode=True)
    _same_as_reader(text)


EDGE_CASES = {
    "suite": SUITE,
    "empty": "",
    "comment only": "# nothing\n",
    "alias": "a: &x [1]\nb: *x\n",
    "anchor alone": "a: &x 1\n",
    "anchor twice": "a: &x 1\nb: &x 2\n",
    "undefined alias": "a: *x\n",
    "merge key": "a: {x: 1}\nb:\n  <<: {x: 2}\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key deep": "cases:\n  - name: x\n    request: {a: 1, a: 2}\n",
    "integer key": "1: a\n",
    "null key": "~: a\n",
    "collection key": "? [a, b]\n: c\n",
    "explicit tag": "a: !!str 1\n",
    "custom tag": "a: !thing 1\n",
    "binary tag": "a: !!binary aGVsbG8=\n",
    "set tag": "a: !!set {x, y}\n",
    "value tag": "a: =\n",
    "huge integer": "a: " + "9" * 5000 + "\n",
    "sexagesimal": "a: 1:30\nb: 0o17\nc: .inf\nd: -.NaN\ne: 1_000\n",
    "too deep": "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
    "deep but allowed": "a: " + "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3) + "\n",
    "control character": "a: b\x07\n",
    "tab indentation": "a:\n\tb: 1\n",
    "unclosed flow": "a: [1, 2\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "second document broken": "a: 1\n---\nb: [\n",
    "error after a duplicate": "a: 1\na: 2\nb: *nowhere\n",
    "bom": "\ufeffa: 1\n",
    "windows line ends": "a: 1\r\nb:\r\n  - x\r\n",
    "quoted keys and block scalars": "\"a b\": |\n  text\n  more\n'c': >-\n  folded\n",
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases_match_the_position_reader(text: str) -> None:
    _same_as_reader(text)


@pytest.mark.parametrize(
    "path",
    sorted((REPO_ROOT / "sample-ledger").rglob("*.yaml")),
    ids=lambda p: p.name,
)
def test_the_sample_ledgers_files_take_the_fast_path(path: Path) -> None:
    text = path.read_text()
    assert _parse_yaml_fast(text, PATH) is not None
    _same_as_reader(text)


def test_refused_constructs_step_aside_to_the_reader() -> None:
    for name in ("alias", "anchor alone", "merge key", "explicit tag", "duplicate key"):
        assert _parse_yaml_fast(EDGE_CASES[name], PATH) is None, name


def test_a_suite_read_fast_still_knows_every_position() -> None:
    (document, _empty, snapshot) = _lazy(SUITE, PATH)
    assert document.span_at(("cases", 1)) == _span(15, 5)
    assert document.key_span(("tokens", "t")) == _span(6, 3)
    assert snapshot.span == _span(22, 1)
    # Deeper: the reader fills them in when first needed, as it would have recorded them.
    assert document.span_at(("cases", 1, "expect", "decision")) == _span(18, 17)
    assert document.key_span(("cases", 0, "request", "context", "big")) == _span(13, 67)


def _span(line: int, column: int) -> Any:
    from ztauth_cli.model import Span

    return Span(path=PATH, line=line, column=column)
