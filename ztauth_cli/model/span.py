"""Source positions carried by every loaded document."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Span"]


@dataclass(frozen=True, slots=True, kw_only=True)
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
