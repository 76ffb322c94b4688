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

__all__ = ["FormatOutcome", "format_file_text", "format_policies"]

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


def _offsets(text: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, char in enumerate(text) if char == "\n")
    return starts


def format_policies(text: str, *, path: str) -> str:
    """Format every policy statement of ``text`` with Cedar's formatter, one by one.

    What lies between statements (file headers, comments above a policy, blank lines) is kept
    as written: Cedar's formatter, given a whole file, glues a file's header comment to the
    first policy and drops the blank lines separating them.

    Raises:
        DocumentError: at ``path``:line:col of the first statement Cedar cannot parse.
    """
    from ztauth_cli.engine.cedar import format_cedar, split_statements

    starts = _offsets(text)
    pieces: list[str] = []
    position = 0
    for body, line, column in split_statements(text):
        start = starts[line - 1] + column - 1
        pieces.append(text[position:start])
        try:
            pieces.append(format_cedar(body).rstrip("\n"))
        except DocumentError as exc:
            inner = exc.span.line if exc.span is not None and exc.span.line else 1
            inner_column = exc.span.column if exc.span is not None and exc.span.column else 1
            # A position inside the statement, moved to where the statement sits in the file.
            where = Span(
                path=path,
                line=line + inner - 1,
                column=column + inner_column - 1 if inner == 1 else inner_column,
            )
            raise DocumentError(exc.message, span=where, hint=exc.hint) from exc
        position = start + len(body)
    pieces.append(text[position:])
    return "".join(pieces).rstrip("\n") + "\n" if "".join(pieces).strip() else ""


def format_file_text(path: str, text: str) -> FormatOutcome:
    """Format one ``.cedar`` file's text.

    Never raises: a syntax error or a formatter that would drop comments is returned as
    ``problem`` and the file must stay as it is.
    """
    try:
        formatted = format_policies(text, path=path)
    except DocumentError as exc:
        return FormatOutcome(path=path, changed=False, text=None, problem=exc)
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
