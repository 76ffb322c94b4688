"""JSON Schema validation of ledger documents, with errors mapped back to file:line:column.

The schemas live in the top-level ``schemas/`` folder and ship in the wheel as the package
``ztauth_cli.schemas``.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
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


def _schema_folder() -> Path:
    installed = Path(__file__).resolve().parents[1] / "schemas"
    if installed.is_dir():
        return installed  # the wheel ships schemas/ as the package ztauth_cli.schemas
    # A source checkout or an editable install (``python -m ztauth_cli`` in the project root
    # puts the source tree first on sys.path): the top-level folder beside the package.
    # Plain paths, not importlib.resources, which costs a few ms of imports per process.
    return Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def load_schema(stem: str) -> dict[str, Any]:
    """The JSON Schema ``schemas/<stem>.schema.json`` as a dict."""
    text = _schema_folder().joinpath(f"{stem}.schema.json").read_text("utf-8")
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
    if _compiled(stem)(document.data) is _Verdict.VALID:
        return []
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
    if _compiled("request")(data) is _Verdict.VALID:
        return []
    validator = _validator("request")
    return sorted(_describe(e) for e in validator.iter_errors(data))


# ----------------------------------------------------------------------------- quick check
#
# Importing jsonschema and building a validator costs more than a whole plain evaluation, yet
# almost every document a ledger holds is valid. _check decides validity itself for the
# keywords our schemas use, with jsonschema's draft 2020-12 semantics, and answers VALID only
# when it is certain; wherever its answer could differ from jsonschema's (a keyword, format or
# comparison it does not model) it answers UNSURE. Anything but VALID goes to jsonschema, which
# then decides and words every error as before: the quick check can skip jsonschema, never
# overrule it.


@enum.unique
class _Verdict(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    UNSURE = "unsure"


_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    # draft 2020-12: a float with no fractional part is an integer.
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> _Verdict:
    """jsonschema's ``equal`` for scalars (booleans are not numbers); UNSURE for containers."""
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return _Verdict.UNSURE
    if isinstance(a, bool) or isinstance(b, bool):
        same = isinstance(a, bool) and isinstance(b, bool) and a == b
    elif _number(a) or _number(b):
        same = _number(a) and _number(b) and a == b
    else:
        same = type(a) is type(b) and a == b
    return _Verdict.VALID if same else _Verdict.INVALID


def _all(verdicts: Iterable[_Verdict]) -> _Verdict:
    """VALID when all are; INVALID as soon as one certainly is; else UNSURE."""
    result = _Verdict.VALID
    for verdict in verdicts:
        if verdict is _Verdict.INVALID:
            return verdict
        if verdict is _Verdict.UNSURE:
            result = verdict
    return result


@functools.cache
def _rfc3339_checked() -> bool:
    # jsonschema asserts format "date-time" only when rfc3339-validator is installed.
    import importlib.util

    return importlib.util.find_spec("rfc3339_validator") is not None


def _check(schema: Any, value: Any) -> _Verdict:
    """The quick check's verdict on ``value`` against ``schema`` (compiled on the spot)."""
    return _compile(schema)(value)


@functools.cache
def _compiled(stem: str) -> Callable[[Any], _Verdict]:
    return _compile(load_schema(stem))


_Check = Callable[[Any], _Verdict]
_VALID, _INVALID, _UNSURE = _Verdict.VALID, _Verdict.INVALID, _Verdict.UNSURE


def _constant(verdict: _Verdict) -> _Check:
    return lambda _value: verdict


def _compile(schema: Any) -> _Check:
    """The quick check of ``schema`` as one function of the value, every keyword's
    argument read once: VALID when every keyword is, INVALID when one certainly is not,
    else UNSURE (a keyword or argument not modelled).
    """
    if schema is True:
        return _constant(_VALID)
    if schema is False:
        return _constant(_INVALID)
    if not isinstance(schema, dict):
        return _constant(_UNSURE)
    checks = [
        _compile_keyword(keyword, argument, schema)
        for keyword, argument in schema.items()
        if keyword not in _ANNOTATIONS
    ]
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> _Verdict:
        result = _VALID
        for keyword_check in checks:
            verdict = keyword_check(value)
            if verdict is _INVALID:
                return verdict
            if verdict is _UNSURE:
                result = verdict
        return result

    return check


def _compile_keyword(keyword: str, argument: Any, schema: Mapping[str, Any]) -> _Check:
    if keyword == "type":
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or not all(n in _TYPES for n in names):
            return _constant(_UNSURE)
        tests = [_TYPES[n] for n in names]
        if len(tests) == 1:
            test = tests[0]
            return lambda value: _VALID if test(value) else _INVALID
        return lambda value: _VALID if any(t(value) for t in tests) else _INVALID
    if keyword == "const":
        return lambda value: _equal(value, argument)
    if keyword == "enum":
        return _compile_enum(argument)
    if keyword == "oneOf":
        if not isinstance(argument, list):
            return _constant(_UNSURE)
        subs = [_compile(sub) for sub in argument]

        def one_of(value: Any) -> _Verdict:
            verdicts = [sub(value) for sub in subs]
            if _UNSURE in verdicts:
                return _UNSURE
            return _VALID if verdicts.count(_VALID) == 1 else _INVALID

        return one_of
    if keyword in {"minLength", "pattern", "format"}:
        if keyword == "pattern" and isinstance(argument, str):
            pattern = re.compile(argument)
            return lambda value: (
                (_VALID if pattern.search(value) else _INVALID)
                if isinstance(value, str)
                else _VALID
            )
        return lambda value: (
            _string_keyword(keyword, argument, value) if isinstance(value, str) else _VALID
        )
    if keyword in {"minimum", "maximum"}:
        return lambda value: _bound(keyword, argument, value)
    if keyword == "items":
        if not isinstance(argument, dict | bool):
            return lambda value: _UNSURE if isinstance(value, list) else _VALID
        item = _compile(argument)
        return lambda value: _all(map(item, value)) if isinstance(value, list) else _VALID
    if keyword in {"minItems", "uniqueItems"}:
        return lambda value: (
            _array_keyword(keyword, argument, value) if isinstance(value, list) else _VALID
        )
    if keyword == "required":
        return lambda value: _required(argument, value) if isinstance(value, dict) else _VALID
    if keyword == "properties":
        if not isinstance(argument, dict):
            return _unsure_for_objects()
        named = [(name, _compile(sub)) for name, sub in argument.items()]

        def properties(value: Any) -> _Verdict:
            if not isinstance(value, dict):
                return _VALID
            result = _VALID
            for name, sub in named:
                if name in value:
                    verdict = sub(value[name])
                    if verdict is _INVALID:
                        return verdict
                    if verdict is _UNSURE:
                        result = verdict
            return result

        return properties
    if keyword == "additionalProperties":
        # The members no "properties" names (patternProperties: not modelled).
        if "patternProperties" in schema:
            return _unsure_for_objects()
        known = set(schema.get("properties", {}))
        extra = _compile(argument)
        return lambda value: (
            _all(extra(value[name]) for name in value if name not in known)
            if isinstance(value, dict)
            else _VALID
        )
    return _constant(_UNSURE)  # a keyword not modelled here: jsonschema decides


def _compile_enum(argument: Any) -> _Check:
    if not isinstance(argument, list):
        return _constant(_UNSURE)

    def generic(value: Any) -> _Verdict:
        verdicts = [_equal(value, candidate) for candidate in argument]
        if _VALID in verdicts:
            return _VALID
        return _UNSURE if _UNSURE in verdicts else _INVALID

    if not all(type(c) is str for c in argument):
        return generic
    # A string equals a string candidate exactly when it is the same text (see _equal).
    texts = frozenset(argument)
    return lambda value: (
        (_VALID if value in texts else _INVALID) if type(value) is str else generic(value)
    )


def _unsure_for_objects() -> _Check:
    return lambda value: _UNSURE if isinstance(value, dict) else _VALID


def _bound(keyword: str, argument: Any, value: Any) -> _Verdict:
    if not _number(value):
        return _VALID
    if not _number(argument):
        return _UNSURE
    within = value >= argument if keyword == "minimum" else value <= argument
    return _VALID if within else _INVALID


def _required(argument: Any, value: dict[str, Any]) -> _Verdict:
    if not isinstance(argument, list):
        return _UNSURE
    return _VALID if all(name in value for name in argument) else _INVALID


def _string_keyword(keyword: str, argument: Any, value: str) -> _Verdict:
    if keyword == "minLength":
        if not isinstance(argument, int):
            return _Verdict.UNSURE
        return _Verdict.VALID if len(value) >= argument else _Verdict.INVALID
    if keyword == "pattern":
        if not isinstance(argument, str):
            return _Verdict.UNSURE
        return _Verdict.VALID if re.search(argument, value) else _Verdict.INVALID
    # format: only date-time is modelled, and only while jsonschema does not assert it.
    return _Verdict.VALID if argument == "date-time" and not _rfc3339_checked() else _Verdict.UNSURE


def _array_keyword(keyword: str, argument: Any, value: list[Any]) -> _Verdict:
    if keyword == "minItems":
        if not isinstance(argument, int):
            return _Verdict.UNSURE
        return _Verdict.VALID if len(value) >= argument else _Verdict.INVALID
    if argument is not True or len(value) < 2:
        return _Verdict.VALID if argument in {True, False} else _Verdict.UNSURE
    if not all(isinstance(item, str) for item in value):
        return _Verdict.UNSURE
    return _Verdict.VALID if len(set(value)) == len(value) else _Verdict.INVALID
