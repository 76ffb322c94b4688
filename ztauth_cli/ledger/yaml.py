"""The one YAML/JSON reader: safe loading only, with source positions kept for every node.

jsonschema reports a path (``cases/3/expect``), not a line; this module records the line and
column of every node so errors and findings can point at the file. It also refuses what the
plain safe loader would accept but a ledger must not contain:

* aliases and merge keys (``&a`` / ``*a`` / ``<<``): the "billion laughs" memory blow-up, and a
  way to make one reviewed line mean something else somewhere else;
* duplicate mapping keys (YAML silently keeps the last one: a reviewer sees the first);
* non-string mapping keys, and nesting deeper than ``MAX_DEPTH``.

Timestamps stay strings, so that schemas and models parse them explicitly.

:func:`parse_json` reads a JSON document as JSON (RFC 8259), not as YAML 1.1 (which reads
``1e5`` and ``Infinity`` as strings and refuses surrogate-pair escapes), with the same refusals:
duplicate keys, nesting deeper than ``MAX_DEPTH``, and values JSON cannot carry (``NaN``,
``Infinity``, numbers out of range), each with its line and column.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.span import FieldSpans, Span

__all__ = [
    "MAX_DEPTH",
    "Position",
    "SourceDocument",
    "dump_yaml",
    "looks_like_json",
    "parse_documents",
    "parse_json",
]

MAX_DEPTH = 64
Position = tuple[int, int]
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# libyaml's parser (when PyYAML was built with it) is several times faster and keeps the same
# marks; the pure-Python safe loader is the fallback. Both construct with safe constructors only.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDocument:
    """One parsed document of a file, with the position of every node by its JSON path."""

    data: Any
    span: Span
    positions: dict[tuple[str | int, ...], Position] = field(default_factory=dict)
    # The position of the KEY of each mapping entry, by the full path of its value.
    key_positions: dict[tuple[str | int, ...], Position] = field(default_factory=dict)

    def key_span(self, path: tuple[str | int, ...] | list[str | int]) -> Span:
        """The span of the key of the mapping entry at ``path`` (else as :meth:`span_at`)."""
        key = tuple(path)
        if key in self.key_positions:
            line, column = self.key_positions[key]
            return Span(path=self.span.path, line=line, column=column)
        return self.span_at(key)

    def field_spans(self) -> FieldSpans:
        """Every node's span by dotted path; a mapping entry's is the span of its key."""
        spans: dict[str, Span] = {}
        for key, (line, column) in self.positions.items():
            if key:
                line, column = self.key_positions.get(key, (line, column))
                spans[".".join(str(k) for k in key)] = Span(
                    path=self.span.path, line=line, column=column
                )
        return FieldSpans(spans)

    def span_at(self, path: tuple[str | int, ...] | list[str | int]) -> Span:
        """The span of the node at ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.positions:
                line, column = self.positions[key]
                return Span(path=self.span.path, line=line, column=column)
            key = key[:-1]
        return self.span


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, path: str) -> None:
        self.loader = loader
        self.path = path
        self.positions: dict[tuple[str | int, ...], Position] = {}
        self.key_positions: dict[tuple[str | int, ...], Position] = {}
        self.seen: set[int] = set()

    def _span(self, node: yaml.Node) -> Span:
        mark = node.start_mark
        return Span(path=self.path, line=mark.line + 1, column=mark.column + 1)

    def build(self, node: yaml.Node, key: tuple[str | int, ...]) -> Any:
        if id(node) in self.seen:
            raise DocumentError(
                "YAML aliases (*name) are not allowed in a ledger", span=self._span(node)
            )
        self.seen.add(id(node))
        if len(key) > MAX_DEPTH:
            raise DocumentError(f"nesting deeper than {MAX_DEPTH} levels", span=self._span(node))
        mark = node.start_mark
        self.positions[key] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    raise DocumentError(
                        "YAML merge keys (<<) are not allowed in a ledger",
                        span=self._span(key_node),
                    )
                name = self.build(key_node, (*key, "\0key"))
                self.positions.pop((*key, "\0key"), None)
                if not isinstance(name, str):
                    raise DocumentError(
                        f"mapping keys must be strings, found {name!r}", span=self._span(key_node)
                    )
                if name in result:
                    raise DocumentError(f"duplicate key {name!r}", span=self._span(key_node))
                key_mark = key_node.start_mark
                self.key_positions[(*key, name)] = (key_mark.line + 1, key_mark.column + 1)
                result[name] = self.build(value_node, (*key, name))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key, index)) for index, item in enumerate(node.value)]
        if node.tag == _TIMESTAMP:
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:
            # int() refuses more than sys.get_int_max_str_digits() digits (CVE-2020-10735).
            raise DocumentError(_number_problem(str(node.value)), span=self._span(node)) from exc


def parse_documents(text: str, path: str) -> list[SourceDocument]:
    """Parse every document of a YAML or JSON file.

    Raises:
        DocumentError: malformed YAML/JSON, aliases, merge keys, duplicate keys, too deep.
    """
    if path.endswith(".json"):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(
                f"invalid JSON: {exc.msg}", span=Span(path=path, line=exc.lineno, column=exc.colno)
            ) from exc
        except RecursionError as exc:
            raise DocumentError(
                f"nesting deeper than {MAX_DEPTH} levels", span=Span(path=path)
            ) from exc
    documents: list[SourceDocument] = []
    loader: yaml.SafeLoader | None = None
    try:
        loader = _Loader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            builder = _Builder(loader, path)
            data = builder.build(node, ())
            mark = node.start_mark
            documents.append(
                SourceDocument(
                    data=data,
                    span=Span(path=path, line=mark.line + 1, column=mark.column + 1),
                    positions=builder.positions,
                    key_positions=builder.key_positions,
                )
            )
    except yaml.reader.ReaderError as exc:
        # Control characters (a NUL byte...): the reader knows only the character offset.
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise DocumentError(
            f"invalid YAML: control character #x{exc.character:04x} is not allowed",
            span=Span(path=path, line=line, column=column),
        ) from exc
    except yaml.MarkedYAMLError as exc:
        problem_mark = exc.problem_mark or exc.context_mark
        span = (
            Span(path=path, line=problem_mark.line + 1, column=problem_mark.column + 1)
            if problem_mark is not None
            else Span(path=path)
        )
        raise DocumentError(f"invalid YAML: {exc.problem or exc.context}", span=span) from exc
    except yaml.YAMLError as exc:
        raise DocumentError(f"invalid YAML: {exc}", span=Span(path=path)) from exc
    except RecursionError as exc:
        too_deep = f"nesting deeper than {MAX_DEPTH} levels"
        raise DocumentError(too_deep, span=Span(path=path)) from exc
    finally:
        if loader is not None:
            loader.dispose()
    return documents


# --------------------------------------------------------------------------------------------
# JSON


class _Refused(ValueError):
    """A value JSON cannot carry, met by the fast parser: the locator says where."""


def _refuse_constant(name: str) -> Any:
    raise _Refused(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(text)
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("duplicate key")
    return result


def _number_problem(text: str) -> str:
    digits = len(text.lstrip("+-"))
    limit = sys.get_int_max_str_digits()
    if text.lstrip("+-").isdigit() and limit and digits > limit:
        return f"integer too large ({digits} digits; at most {limit})"
    return f"number {text} is out of range"


def looks_like_json(text: str) -> bool:
    """True when ``text`` starts (after whitespace and a BOM) with ``{`` or ``[``."""
    return text.lstrip("\ufeff \t\r\n")[:1] in {"{", "["}


def parse_json(text: str, path: str) -> Any:
    """Parse one JSON document (RFC 8259) as JSON: ``1e5`` is a number, surrogate pairs are
    characters, as in every JSON parser.

    Raises:
        DocumentError: invalid JSON, a duplicate key, ``NaN``/``Infinity``, a number out of
            range, or nesting deeper than ``MAX_DEPTH``; with the line and column.
    """
    text = text.removeprefix("\ufeff")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_pairs,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"invalid JSON: {exc.msg}", span=Span(path=path, line=exc.lineno, column=exc.colno)
        ) from None
    except (ValueError, RecursionError):
        pass  # a refused value, a huge integer, or far too deep: located below
    else:
        if _depth(value) <= MAX_DEPTH:
            return value
    # The fast parser found a problem but not where: find it again, slowly, with positions.
    offset, message = _JsonLocator(text).problem()
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    raise DocumentError(message, span=Span(path=path, line=line, column=column))


def _depth(value: Any) -> int:
    """The depth of the deepest node (the document itself is at depth 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return deepest


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_CONSTANTS = {"true": True, "false": False, "null": None}


class _Problem(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class _JsonLocator:
    """A small JSON reader that knows where it is; used only to place an error the fast
    parser reported without a position (duplicate key, NaN, number out of range, too deep)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def problem(self) -> tuple[int, str]:
        try:
            end = self._value(self._skip(0), 0)
            end = self._skip(end)
            if end != len(self.text):
                return end, "invalid JSON: Extra data"
        except _Problem as found:
            return found.offset, found.message
        return 0, "invalid JSON"  # pragma: no cover - the fast parser refused it

    def _skip(self, index: int) -> int:
        match = _WHITESPACE.match(self.text, index)
        return match.end() if match is not None else index

    def _value(self, index: int, depth: int) -> int:
        text = self.text
        if depth > MAX_DEPTH:
            raise _Problem(index, f"nesting deeper than {MAX_DEPTH} levels")
        char = text[index : index + 1]
        if char == "{":
            return self._object(index, depth)
        if char == "[":
            return self._array(index, depth)
        if char == '"':
            return self._string(index)[1]
        for name in _CONSTANTS:
            if text.startswith(name, index):
                return index + len(name)
        for name in ("NaN", "Infinity", "-Infinity"):
            if text.startswith(name, index):
                raise _Problem(index, "NaN and Infinity are not JSON")
        match = _NUMBER.match(text, index)
        if match is None:
            raise _Problem(index, "invalid JSON: Expecting value")
        number = match.group()
        if match.group(1) or match.group(2):
            if not math.isfinite(float(number)):
                raise _Problem(index, _number_problem(number))
        elif len(number.lstrip("-")) > sys.get_int_max_str_digits() > 0:
            raise _Problem(index, _number_problem(number))
        return match.end()

    def _string(self, index: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.text, index + 1)  # type: ignore[attr-defined,no-any-return]
        except json.JSONDecodeError as exc:
            raise _Problem(exc.pos, f"invalid JSON: {exc.msg}") from None

    def _object(self, index: int, depth: int) -> int:
        text = self.text
        seen: set[str] = set()
        index = self._skip(index + 1)
        if text.startswith("}", index):
            return index + 1
        while True:
            if not text.startswith('"', index):
                raise _Problem(index, "invalid JSON: Expecting property name")
            key, end = self._string(index)
            if key in seen:
                raise _Problem(index, f"duplicate key {key!r}")
            seen.add(key)
            index = self._skip(end)
            if not text.startswith(":", index):
                raise _Problem(index, "invalid JSON: Expecting ':' delimiter")
            index = self._skip(self._value(self._skip(index + 1), depth + 1))
            if text.startswith("}", index):
                return index + 1
            if not text.startswith(",", index):
                raise _Problem(index, "invalid JSON: Expecting ',' delimiter")
            index = self._skip(index + 1)

    def _array(self, index: int, depth: int) -> int:
        text = self.text
        index = self._skip(index + 1)
        if text.startswith("]", index):
            return index + 1
        while True:
            index = self._skip(self._value(index, depth + 1))
            if text.startswith("]", index):
                return index + 1
            if not text.startswith(",", index):
                raise _Problem(index, "invalid JSON: Expecting ',' delimiter")
            index = self._skip(index + 1)


def dump_yaml(data: Any) -> str:
    """Serialise plain data to block-style YAML, keys in the given order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
