"""JSON Schema validation of ledger documents, with errors mapped back to file:line:column.

The schemas live in the top-level ``schemas/`` folder and ship in the wheel as the package
``ztauth_cli.schemas``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import DocumentError

if TYPE_CHECKING:
    from ztauth_cli.ledger.yaml import SourceDocument
    from ztauth_cli.model.span import Span

__all__ = ["KIND_SCHEMAS", "load_schema", "schema_errors"]

# kind -> schema file stem
KIND_SCHEMAS: dict[str, str] = {
    "Ledger": "ledger",
    "TrustLevel": "trustlevel",
    "SecurityGroup": "securitygroup",
    "Elevation": "elevation",
    "Delegation": "delegation",
    "Issuer": "issuer",
    "TestSuite": "testsuite",
    "AccessSnapshot": "accesssnapshot",
}


@functools.cache
def load_schema(stem: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/<stem>.schema.json`` as a dict."""
    text = resources.files("ztauth_cli.schemas").joinpath(f"{stem}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator(stem: str) -> Any:
    import jsonschema

    schema = load_schema(stem)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _describe(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    prefix = f"{where}: " if where else ""
    unknown = _unknown_fields(error)
    if unknown:
        allowed = set(error.schema.get("properties", {}))
        names = ", ".join(repr(u) for u in unknown)
        word = "field" if len(unknown) == 1 else "fields"
        return f"{prefix}unknown {word} {names} (allowed: {', '.join(sorted(allowed))})"
    return f"{prefix}{error.message}"


def _unknown_fields(error: Any) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    allowed = set(error.schema.get("properties", {}))
    return sorted(set(error.instance) - allowed)


def _span_of(document: SourceDocument, error: Any) -> Span:
    """Where an error points: the first unknown key (in file order) for unknown fields, else
    the offending node (a missing required field: the mapping that lacks it).
    """
    path = tuple(error.absolute_path)
    unknown = _unknown_fields(error)
    if unknown:
        spans = [document.key_span((*path, name)) for name in unknown]
        return min(spans, key=lambda s: (s.line, s.column))
    return document.span_at(path)


def schema_errors(document: SourceDocument, stem: str) -> list[DocumentError]:
    """Validate ``document`` against ``schemas/<stem>.schema.json``; errors sorted by position."""
    validator = _validator(stem)
    errors = []
    for error in validator.iter_errors(document.data):
        # oneOf/anyOf failures: report the most specific sub-error jsonschema found.
        best = error
        if error.context:
            import jsonschema

            best = jsonschema.exceptions.best_match([error]) or error
        span = _span_of(document, best)
        errors.append(DocumentError(f"{KIND_OF.get(stem, stem)}: {_describe(best)}", span=span))
    errors.sort(key=lambda e: (e.span.line, e.span.column) if e.span else (0, 0))
    return errors


KIND_OF = {stem: kind for kind, stem in KIND_SCHEMAS.items()} | {"request": "request"}


def validate_request(data: Any, *, document: SourceDocument | None = None) -> list[str]:
    """Validate a raw AuthZEN request against ``schemas/request.schema.json``; messages only."""
    validator = _validator("request")
    return sorted(_describe(e) for e in validator.iter_errors(data))
