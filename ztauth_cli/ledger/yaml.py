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

import functools
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import field
from typing import Any

import yaml

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.record import record
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
_STR = "tag:yaml.org,2002:str"
# libyaml's parser (when PyYAML was built with it) is several times faster and keeps the same
# marks; the pure-Python safe loader is the fallback. Both construct with safe constructors only.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Positions:
    """The positions of one document's nodes: recorded now; or, for a document read by a fast
    path, those of its nodes down to ``depth`` now (None: none) and all of them on first use,
    by re-reading the text with the position-recording reader (the ``document``-th document
    of the text)."""

    __slots__ = ("_depth", "_document", "_key_nodes", "_nodes", "_path", "_text")

    def __init__(
        self,
        nodes: dict[tuple[str | int, ...], Position] | None = None,
        key_nodes: dict[tuple[str | int, ...], Position] | None = None,
        *,
        text: str | None = None,
        path: str = "",
        document: int = 0,
        depth: int | None = None,
    ) -> None:
        self._nodes = nodes
        self._key_nodes = key_nodes
        self._text = text
        self._path = path
        self._document = document
        self._depth = depth

    def _fill(self) -> None:
        documents = [] if self._text is None else _parse_with_positions(self._text, self._path)
        if self._document < len(documents):
            found = documents[self._document].index
        else:
            found = _Positions({}, {})
        self._nodes, self._key_nodes = found.nodes(), found.key_nodes()
        self._text = None
        self._depth = None

    def nodes(self) -> dict[tuple[str | int, ...], Position]:
        if self._nodes is None or self._depth is not None:
            self._fill()
        assert self._nodes is not None  # noqa: S101 - _fill sets it
        return self._nodes

    def key_nodes(self) -> dict[tuple[str | int, ...], Position]:
        if self._key_nodes is None or self._depth is not None:
            self._fill()
        assert self._key_nodes is not None  # noqa: S101 - _fill sets it
        return self._key_nodes

    def node(self, key: tuple[str | int, ...]) -> Position | None:
        """The position of the node at ``key`` (None when there is none)."""
        if self._depth is not None and len(key) <= self._depth and self._nodes is not None:
            return self._nodes.get(key)
        return self.nodes().get(key)

    def key_node(self, key: tuple[str | int, ...]) -> Position | None:
        """The position of the key of the mapping entry at ``key`` (None: not an entry)."""
        if self._depth is not None and len(key) <= self._depth and self._key_nodes is not None:
            return self._key_nodes.get(key)
        return self.key_nodes().get(key)


@record(frozen=True, slots=True, kw_only=True)
class SourceDocument:
    """One parsed document of a file, with the position of every node by its JSON path."""

    data: Any
    span: Span
    index: _Positions = field(default_factory=_Positions, repr=False, compare=False)

    @property
    def positions(self) -> dict[tuple[str | int, ...], Position]:
        """The position of every node, by its JSON path."""
        return self.index.nodes()

    @property
    def key_positions(self) -> dict[tuple[str | int, ...], Position]:
        """The position of the KEY of each mapping entry, by the full path of its value."""
        return self.index.key_nodes()

    def key_span(self, path: tuple[str | int, ...] | list[str | int]) -> Span:
        """The span of the key of the mapping entry at ``path`` (else as :meth:`span_at`)."""
        key = tuple(path)
        found = self.index.key_node(key)
        if found is not None:
            line, column = found
            return Span(path=self.span.path, line=line, column=column)
        return self.span_at(key)

    def field_spans(self) -> FieldSpans:
        """Every node's span by dotted path; a mapping entry's is the span of its key
        (computed when first looked at)."""
        return FieldSpans.lazy(self._field_spans)

    def _field_spans(self) -> dict[str, Span]:
        spans: dict[str, Span] = {}
        for key, (line, column) in self.positions.items():
            if key:
                line, column = self.key_positions.get(key, (line, column))
                spans[".".join(str(k) for k in key)] = Span(
                    path=self.span.path, line=line, column=column
                )
        return spans

    def span_at(self, path: tuple[str | int, ...] | list[str | int]) -> Span:
        """The span of the node at ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            found = self.index.node(key)
            if found is not None:
                line, column = found
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
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                name = self._key(key_node, depth=len(key) + 1)
                if name in result:
                    raise DocumentError(f"duplicate key {name!r}", span=self._span(key_node))
                key_mark = key_node.start_mark
                self.key_positions[(*key, name)] = (key_mark.line + 1, key_mark.column + 1)
                result[name] = self.build(value_node, (*key, name))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*key, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)  # pragma: no cover - no other kind

    def _key(self, node: yaml.Node, *, depth: int) -> str:
        """A mapping key: a string scalar, never an alias, a merge key or a collection."""
        if node.tag == _MERGE:
            raise DocumentError(
                "YAML merge keys (<<) are not allowed in a ledger", span=self._span(node)
            )
        if id(node) in self.seen:
            raise DocumentError(
                "YAML aliases (*name) are not allowed in a ledger", span=self._span(node)
            )
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            raise DocumentError(f"nesting deeper than {MAX_DEPTH} levels", span=self._span(node))
        name = self._scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(name, str):
            if name is None and not isinstance(node, yaml.ScalarNode):
                # A collection as a key: build it (and refuse what is inside it) to name it.
                name = self.build(node, ("\0key",))
            raise DocumentError(
                f"mapping keys must be strings, found {name!r}", span=self._span(node)
            )
        return name

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value  # what construct_yaml_str returns, without its bookkeeping
        if tag == _TIMESTAMP:
            return str(node.value)
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:
            # int() refuses more than sys.get_int_max_str_digits() digits (CVE-2020-10735).
            raise DocumentError(_number_problem(str(node.value)), span=self._span(node)) from exc


# ----------------------------------------------------------------------------- fast JSON
#
# A JSON file is read by json.loads (C) rather than through the position-recording YAML reader
# (pure Python per node: 100x slower on a large entities file). The fast path must give the
# data the reader gives, and must never accept what the reader refuses; whenever it cannot be
# sure of both, it steps aside and the reader decides (and reports the error and position it
# always did). It steps aside for:
# * any JSON error, duplicate key or nesting deeper than MAX_DEPTH: the reader reports it;
# * characters the YAML reader refuses or reads as line breaks, tabs and lone CRs
#   (_reader_differs): the reader refuses or reads them its own way;
# * a float the YAML 1.1 resolver would not read as that float (``1e5`` stays a string there),
#   NaN/Infinity, and surrogate-pair escapes (the reader refuses them);
# * a key the YAML scanner cannot take as a simple key: over 1024 characters from its quote to
#   its colon, or on another line than its colon.
# Positions are recorded lazily: the reader runs only when a span inside the file is needed.


# What the YAML reader refuses or reads as a line break (\x85, U+2028/9), tabs and lone CRs.
# Compiled on first use: its ranges take milliseconds, and only non-ASCII text needs it.
@functools.cache
def _reader_differs() -> re.Pattern[str]:
    return re.compile(
        "[^\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|\r(?!\n)"
    )


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]")
_COLON_ON_NEW_LINE = re.compile(r"\n[ \r]*:")
# Over 1024 characters from a key's quote to its colon: the key's text is at most 6 characters
# (\uXXXX) per character it holds, so 160 characters and 32 spaces before the colon stay under.
_KEY_CHARS = 160
_FAR_COLON = " " * 32 + ":"
_JSON_SPACE = " \r\n"


class _StepAside(Exception):
    """The fast JSON path cannot vouch for this input: let the position reader decide."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs) or max(map(len, result), default=0) > _KEY_CHARS:
        raise _StepAside
    return result


def _yaml_float(text: str) -> float:
    # YAML 1.1 floats need a dot, and a signed exponent if any.
    mantissa, e, exponent = text.lower().partition("e")
    if "." not in mantissa or (e and exponent[:1] not in {"+", "-"}):
        raise _StepAside
    return float(text)


def _constant(name: str) -> Any:
    raise _StepAside


def _too_deep(data: Any) -> bool:
    """True when a node lies deeper than MAX_DEPTH (the position reader's limit)."""
    level = [data] if isinstance(data, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return any(level)


def _reader_may_differ(text: str) -> bool:
    if text.isascii():
        # json.loads refuses every other control character, inside strings and out.
        differs = (
            "\t" in text or "\x7f" in text or ("\r" in text and "\r" in text.replace("\r\n", ""))
        )
    else:
        differs = _reader_differs().search(text) is not None
    return (
        differs
        or ("\\u" in text and _SURROGATE_ESCAPE.search(text) is not None)
        or _FAR_COLON in text
        or _COLON_ON_NEW_LINE.search(text) is not None
    )


def _parse_json_fast(text: str, path: str) -> SourceDocument | None:
    """The document of a JSON file, or None when the position reader must decide."""
    if _reader_may_differ(text):
        return None
    try:
        data = json.loads(
            text, object_pairs_hook=_pairs, parse_float=_yaml_float, parse_constant=_constant
        )
    except (_StepAside, ValueError, RecursionError):
        return None
    if _too_deep(data):
        return None
    start = len(text) - len(text.lstrip(_JSON_SPACE))
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return SourceDocument(
        data=data,
        span=Span(path=path, line=line, column=column),
        index=_Positions(text=text, path=path),
    )


# ----------------------------------------------------------------------------- fast YAML
#
# A suite set of thousands of cases is mostly plain block YAML. Its documents are built
# straight from libyaml's events (no node graph, no position for every node), on the same
# terms as for the fast JSON path: the data must be what the position reader builds, and
# anything the reader refuses, or might read otherwise, makes the fast path step aside (the
# reader then decides, with the error and position it always gave): an alias or an anchor
# (the composer refuses an anchor defined twice), any explicit tag, a merge key, a key that
# is not a string, a duplicate key, a scalar the safe constructors might refuse, nesting
# near MAX_DEPTH, and any error of libyaml's. Positions down to _SHALLOW (a suite's cases
# and tokens) are recorded; the rest when first asked for.
_SHALLOW = 2
_PLAIN_TAGS = frozenset({_STR, _TIMESTAMP})
_CONSTRUCTED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float")
)
# What the resolver and the safe constructors make of a scalar depends on its text (and
# whether it was quoted) alone: each distinct one is worked out once.
_RESOLVED: dict[tuple[str, Any], str] = {}
_CONSTRUCTED: dict[tuple[str, str], Any] = {}
_REMEMBERED = 65536


class _FastYaml:
    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        # PyYAML's loader methods are untyped: typed here once.
        self.get: Callable[[], Any] = loader.get_event
        self.resolve: Callable[[type[yaml.Node], str, Any], str] = loader.resolve
        self.nodes: dict[tuple[str | int, ...], Position] = {}
        self.keys: dict[tuple[str | int, ...], Position] = {}

    def scalar(self, event: Any) -> Any:
        if event.tag is not None or event.anchor is not None:
            raise _StepAside
        value: str = event.value
        key = (value, event.implicit)
        tag = _RESOLVED.get(key)
        if tag is None:
            if len(_RESOLVED) >= _REMEMBERED:
                _RESOLVED.clear()
            tag = _RESOLVED[key] = self.resolve(yaml.ScalarNode, value, event.implicit)
        if tag in _PLAIN_TAGS:
            return value  # what the reader returns for a string and a timestamp
        if tag not in _CONSTRUCTED_TAGS:
            raise _StepAside
        made = (tag, value)
        if made in _CONSTRUCTED:
            return _CONSTRUCTED[made]
        # The constructor the reader calls; None, a bool, an int or a float: immutable, shared.
        result = self.loader.construct_object(yaml.ScalarNode(tag, value), deep=True)
        if len(_CONSTRUCTED) >= _REMEMBERED:
            _CONSTRUCTED.clear()
        _CONSTRUCTED[made] = result
        return result

    def node(self, event: Any, path: tuple[str | int, ...] | None, depth: int) -> Any:
        """The value of the node that starts with ``event``; ``path`` is None below
        _SHALLOW (its position is not recorded)."""
        if path is not None:
            mark = event.start_mark
            self.nodes[path] = (mark.line + 1, mark.column + 1)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)
        if event.tag is not None or event.anchor is not None or depth >= MAX_DEPTH - 2:
            raise _StepAside
        get = self.get
        shallow = path is not None and len(path) < _SHALLOW
        if kind is yaml.MappingStartEvent:
            result: dict[str, Any] = {}
            while True:
                key_event = get()
                if type(key_event) is yaml.MappingEndEvent:
                    return result
                if type(key_event) is not yaml.ScalarEvent:
                    raise _StepAside
                name = self.scalar(key_event)
                if type(name) is not str or name in result:
                    raise _StepAside
                child: tuple[str | int, ...] | None = None
                if shallow:
                    assert path is not None  # noqa: S101 - shallow implies a path
                    child = (*path, name)
                    key_mark: Any = key_event.start_mark
                    self.keys[child] = (key_mark.line + 1, key_mark.column + 1)
                value_event = get()
                if child is None and type(value_event) is yaml.ScalarEvent:
                    result[name] = self.scalar(value_event)
                else:
                    result[name] = self.node(value_event, child, depth + 1)
        if kind is yaml.SequenceStartEvent:
            items: list[Any] = []
            while True:
                item_event = get()
                if type(item_event) is yaml.SequenceEndEvent:
                    return items
                if not shallow and type(item_event) is yaml.ScalarEvent:
                    items.append(self.scalar(item_event))
                else:
                    item = (*path, len(items)) if shallow and path is not None else None
                    items.append(self.node(item_event, item, depth + 1))
        raise _StepAside  # an alias


def _parse_yaml_fast(text: str, path: str) -> list[SourceDocument] | None:
    """The documents of a YAML file read by the fast path, or None when the position reader
    must decide (see above)."""
    loader = _Loader(text)
    documents: list[SourceDocument] = []
    try:
        get: Callable[[], Any] = loader.get_event
        if type(get()) is not yaml.StreamStartEvent:
            return None
        while True:
            event = get()
            if type(event) is yaml.StreamEndEvent:
                return documents
            if type(event) is not yaml.DocumentStartEvent:
                return None
            builder = _FastYaml(loader)
            root = get()
            data = builder.node(root, (), 0)
            if type(get()) is not yaml.DocumentEndEvent:
                return None
            mark = root.start_mark
            documents.append(
                SourceDocument(
                    data=data,
                    span=Span(path=path, line=mark.line + 1, column=mark.column + 1),
                    index=_Positions(
                        builder.nodes,
                        builder.keys,
                        text=text,
                        path=path,
                        document=len(documents),
                        depth=_SHALLOW,
                    ),
                )
            )
    except Exception:  # any doubt at all: the position reader decides
        return None
    finally:
        loader.dispose()


def parse_documents(text: str, path: str, *, lazy_positions: bool = False) -> list[SourceDocument]:
    """Parse every document of a YAML or JSON file.

    With ``lazy_positions`` a YAML file may be read by a faster path that records the
    positions of the top two levels of each document (a suite's cases and tokens) at once
    and the others when first asked for; data, errors and positions are the same.

    Raises:
        DocumentError: malformed YAML/JSON, aliases, merge keys, duplicate keys, too deep.
    """
    if path.endswith(".json"):
        fast = _parse_json_fast(text, path)
        if fast is not None:
            return [fast]
    elif lazy_positions:
        documents = _parse_yaml_fast(text, path)
        if documents is not None:
            return documents
    return _parse_with_positions(text, path)


def _parse_with_positions(text: str, path: str) -> list[SourceDocument]:
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
                    index=_Positions(builder.positions, builder.key_positions),
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


# One decoder for every document (json.loads with hooks would build one per call).
_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_pairs,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)


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
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"invalid JSON: {exc.msg}", span=Span(path=path, line=exc.lineno, column=exc.colno)
        ) from None
    except (ValueError, RecursionError):
        pass  # a refused value, a huge integer, or far too deep: located below
    else:
        # Every container opens with a bracket, so a text with at most MAX_DEPTH of them
        # (counted in strings too: an overestimate) cannot nest deeper; only a text with more
        # needs the walk.
        if text.count("{") + text.count("[") <= MAX_DEPTH or _depth(value) <= MAX_DEPTH:
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
