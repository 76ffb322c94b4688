"""``ztauth policy fmt``: format ``.cedar`` files with Cedar's own formatter, safely.

Cedar's formatter (``cedarpy.format_policies``) is only trusted to rewrite a file when nothing
the user wrote is lost: every ``//`` comment (``// ztauth: ignore`` suppressions above all)
must survive formatting, or the file is left untouched and the reason reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.span import Span

__all__ = ["FormatOutcome", "format_file_text"]

_COMMENT = re.compile(r"//[^\n]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class FormatOutcome:
    """What formatting one file gives: the new text, or why it must not be rewritten."""

    path: str
    changed: bool
    text: str | None
    problem: DocumentError | None = None


def _comments(text: str) -> list[str]:
    """``//`` comments outside string literals, stripped, in order."""
    # Strings are masked first: a "//" inside a string literal is not a comment.
    masked = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return [m.group(0).strip() for m in _COMMENT.finditer(masked)]


def format_file_text(path: str, text: str) -> FormatOutcome:
    """Format one ``.cedar`` file's text.

    Never raises: a syntax error or a formatter that would drop comments is returned as
    ``problem`` and the file must stay as it is.
    """
    from ztauth_cli.engine.cedar import format_cedar

    try:
        formatted = format_cedar(text)
    except DocumentError as exc:
        span = exc.span
        where = Span(path=path, line=span.line, column=span.column) if span else Span(path=path)
        return FormatOutcome(
            path=path,
            changed=False,
            text=None,
            problem=DocumentError(exc.message, span=where),
        )
    if not formatted.endswith("\n"):
        formatted += "\n"
    lost = _lost_comments(_comments(text), _comments(formatted))
    if lost:
        return FormatOutcome(
            path=path,
            changed=False,
            text=None,
            problem=DocumentError(
                f"Cedar's formatter would drop {len(lost)} comment(s) (first: {lost[0]!r}); "
                "not rewriting this file",
                span=Span(path=path),
                hint="format it by hand, or move the comment next to a policy",
            ),
        )
    return FormatOutcome(path=path, changed=formatted != text, text=formatted)


def _lost_comments(before: list[str], after: list[str]) -> list[str]:
    remaining = list(after)
    lost = []
    for comment in before:
        if comment in remaining:
            remaining.remove(comment)
        else:
            lost.append(comment)
    return lost
