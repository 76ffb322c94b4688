"""The one YAML/JSON reader: safe loading only, with source positions kept for every node.

jsonschema reports a path (``cases/3/expect``), not a line; this module records the line and
column of every node so errors and findings can point at the file. It also refuses what the
plain safe loader would accept but a ledger must not contain:

* aliases and merge keys (``&a`` / ``*a`` / ``<<``): the "billion laughs" memory blow-up, and a
  way to make one reviewed line mean something else somewhere else;
* duplicate mapping keys (YAML silently keeps the last one: a reviewer sees the first);
* non-string mapping keys, and nesting deeper than ``MAX_DEPTH``.

Timestamps stay strings, so that schemas and models parse them explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.span import FieldSpans, Span

__all__ = ["MAX_DEPTH", "Position", "SourceDocument", "dump_yaml", "parse_documents"]

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
        return self.loader.construct_object(node, deep=True)


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


def dump_yaml(data: Any) -> str:
    """Serialise plain data to block-style YAML, keys in the given order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
