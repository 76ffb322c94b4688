"""Source positions carried by every loaded document."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from ztauth_cli.model.record import record

__all__ = ["FieldSpans", "Span"]


@record(frozen=True, slots=True, kw_only=True)
class Span:
    """Where a document or node comes from: ledger-relative POSIX path, 1-based line/column."""

    path: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def as_json(self) -> dict[str, str | int]:
        """``{"path", "line", "column"}``: how every JSON output names a place."""
        return {"path": self.path, "line": self.line, "column": self.column}


class FieldSpans(Mapping[str, Span]):
    """Where each field of a document is: dotted path -> :class:`Span` (read-only).

    Paths join mapping keys and sequence indexes with dots (``"trust_level"``,
    ``"requires.min_trust_level"``, ``"members.2"``, ``"scope.actions"``). A mapping entry
    points at its KEY (the line of ``trust_level:``), a sequence item at the item itself.
    """

    __slots__ = ("_build", "_built")

    def __init__(self, spans: Mapping[str, Span] | None = None) -> None:
        self._built: dict[str, Span] | None = dict(spans or {})
        self._build: Callable[[], Mapping[str, Span]] | None = None

    @classmethod
    def lazy(cls, build: Callable[[], Mapping[str, Span]]) -> FieldSpans:
        """Spans computed by ``build`` on first use: a large document (a suite of thousands
        of cases) has one span per node, and most are never looked at."""
        spans = cls()
        spans._built, spans._build = None, build
        return spans

    @property
    def _spans(self) -> dict[str, Span]:
        if self._built is None:
            assert self._build is not None  # noqa: S101 - set together by lazy()
            self._built, self._build = dict(self._build()), None
        return self._built

    def __getitem__(self, path: str) -> Span:
        return self._spans[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __repr__(self) -> str:
        return f"FieldSpans({len(self._spans)} fields)"

    def first(self, *paths: str, default: Span) -> Span:
        """The span of the first of ``paths`` that has one, else ``default``."""
        for path in paths:
            span = self._spans.get(path)
            if span is not None:
                return span
        return default
