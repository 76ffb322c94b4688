"""Validate command output against the JSON Schemas in schemas/ (one registry, so that a
schema's ``$ref`` to another, e.g. test-report to coverage, resolves)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def _all() -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(SCHEMAS.glob("*.schema.json"))
    }


def schema(stem: str) -> dict[str, Any]:
    """``schemas/<stem>.schema.json``."""
    return _all()[stem]


@functools.cache
def validator(stem: str) -> Any:
    """A draft 2020-12 validator (formats checked) of ``schemas/<stem>.schema.json``."""
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in _all().values()
    )
    cls = jsonschema.Draft202012Validator
    return cls(schema(stem), registry=registry, format_checker=cls.FORMAT_CHECKER)


def assert_valid(document: object, stem: str) -> None:
    """``document`` follows ``schemas/<stem>.schema.json`` (raises the first violation)."""
    validator(stem).validate(document)


def report_body(document: dict[str, Any], tool: str) -> dict[str, Any]:
    """The members of a JSON report after its envelope, once the envelope is checked: written
    by ``tool`` at this version of ztauth, in shape 1."""
    from ztauth_cli import __version__

    head = {key: document[key] for key in list(document)[:3]}
    assert head == {"tool": tool, "version": __version__, "schema_version": 1}
    return {key: value for key, value in document.items() if key not in head}
