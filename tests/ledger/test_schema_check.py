"""The quick schema check may skip jsonschema, never overrule it.

For every document of the sample ledger and thousands of mutations of them, the quick check's
certain answers agree with jsonschema: VALID only where jsonschema finds no error, INVALID
only where it finds one (anything else is UNSURE and left to jsonschema).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from ztauth_cli.ledger.schemas import KIND_SCHEMAS, _check, _Verdict, load_schema, schema_errors
from ztauth_cli.ledger.yaml import parse_documents

SAMPLE = REPO_ROOT / "sample-ledger"


def _documents() -> list[tuple[str, Any]]:
    found = []
    for path in sorted(
        [SAMPLE / "ztauth.yaml", *SAMPLE.glob("trust/*.yaml"), *SAMPLE.glob("tests/*.yaml")]
    ):
        documents = parse_documents(path.read_text(), path.name)
        found.extend((KIND_SCHEMAS[doc.data["kind"]], doc.data) for doc in documents)
    return found


DOCUMENTS = _documents()


def _jsonschema_valid(stem: str, data: Any) -> bool:
    schema = load_schema(stem)
    cls = jsonschema.validators.validator_for(schema)
    return not list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(data))


def _agrees(stem: str, data: Any) -> _Verdict:
    verdict = _check(load_schema(stem), data)
    if verdict is _Verdict.VALID:
        assert _jsonschema_valid(stem, data), data
    elif verdict is _Verdict.INVALID:
        assert not _jsonschema_valid(stem, data), data
    return verdict


@pytest.mark.parametrize(
    ("stem", "data"), DOCUMENTS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(DOCUMENTS)]
)
def test_every_sample_document_is_certainly_valid(stem: str, data: Any) -> None:
    assert _agrees(stem, data) is _Verdict.VALID


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _paths(value, (*prefix, index))
    return paths


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 1_000_000_000_000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "read", "User", "attested", "10m", "2026-01-01T00:00:00Z", "a b"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "type", "x"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@given(
    document=st.sampled_from(DOCUMENTS),
    picks=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(["set", "delete", "add"]), values),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_documents_get_no_certain_answer_jsonschema_disagrees_with(
    document: tuple[str, Any], picks: list[tuple[int, str, Any]]
) -> None:
    stem, original = document
    data = copy.deepcopy(original)
    for pick, action, value in picks:
        paths = _paths(data)
        path = paths[pick % len(paths)]
        if not path:
            data = value if action == "set" else data
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if action == "set":
            parent[path[-1]] = value
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent["unknown_field"] = value
        else:
            parent.append(value)
    _agrees(stem, data)


def test_an_invalid_document_still_gets_jsonschema_errors_with_positions() -> None:
    text = "apiVersion: ztauth/v1\nkind: TrustLevel\nname: attested\nrank: two\ncolour: blue\n"
    (doc,) = parse_documents(text, "trust/levels.yaml")
    errors = [f"{e.span}: {e.message}" for e in schema_errors(doc, "trustlevel")]
    assert errors == [
        "trust/levels.yaml:4:7: TrustLevel: rank: 'two' is not of type 'integer'",
        "trust/levels.yaml:5:1: TrustLevel: unknown field 'colour' "
        "(allowed: apiVersion, description, kind, name, rank, requires)",
    ]
