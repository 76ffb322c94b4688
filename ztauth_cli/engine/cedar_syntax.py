"""Where a Cedar syntax error is: the exact token, and a hint for the common mistakes.

cedarpy reports a parse error as a bare message (``unexpected token `@```) with no position.
Two facts locate it anyway. A policy missing its ``;`` runs into the next one, so a statement
is first cut where a complete policy is followed by another (``@``, ``permit`` or ``forbid``
at the top level): each part is then parsed on its own, and the missing ``;`` is reported
where it belongs, not at the start of the previous policy. Inside one statement, Cedar names
the token it rejected; the occurrence it means is the first one after which the text, ended by
``;``, is rejected for that same token (every shorter prefix is a viable start of a policy).

Pure: the parser is passed in (``parse`` returns Cedar's message, or None when the text
parses), so this module never imports cedarpy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SyntaxProblem", "Token", "diagnose", "split_policies", "tokenize"]

_UNEXPECTED = re.compile(r"unexpected token `([^`]*)`")
_BACKTICK = re.compile(r"`([^`]+)`")
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "::")
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}
# Words people bring from other policy languages, and what Cedar writes instead.
_WORD_HINTS = {
    "and": "Cedar writes 'and' as '&&'",
    "or": "Cedar writes 'or' as '||'",
    "not": "Cedar writes 'not' as '!'",
    "=": "compare with '==' ('=' is not a Cedar operator)",
    "'": "Cedar strings use double quotes",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token of Cedar text: ``text[start:end]``; ``kind`` is word, string, op."""

    start: int
    end: int
    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """A syntax error at ``offset`` of the analysed text (where the fix goes)."""

    offset: int
    message: str
    hint: str | None = None


def tokenize(text: str) -> list[Token]:
    """Cedar tokens of ``text``, skipping blanks and ``//`` comments.

    An unterminated string is one ``string`` token up to the end; a character Cedar has no
    token for is a token of kind ``bad``.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            kind = "string" if j < n else "unterminated"
            tokens.append(Token(i, min(j + 1, n), text[i : min(j + 1, n)], kind))
            i = j + 1
        elif char.isalnum() or char == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token(i, j, text[i:j], "word"))
            i = j
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), char)
            kind = "op" if op in _OPERATORS or char in "()[]{}@,;.<>!+-*%=?:" else "bad"
            tokens.append(Token(i, i + len(op), op, kind))
            i += len(op)
    return tokens


def split_policies(text: str) -> list[int]:
    """Offsets in one statement where a new policy starts after a complete one.

    A policy is complete once its scope ``( ... )`` has closed; an ``@``, ``permit`` or
    ``forbid`` at the top level after that can only start the next policy: the ``;`` between
    them is missing.
    """
    starts: list[int] = []
    depth = 0
    effect = scope_closed = False
    for token in tokenize(text):
        if token.text in _OPEN:
            depth += 1
        elif token.text in _CLOSE:
            depth = max(0, depth - 1)
            if depth == 0 and effect:
                scope_closed = True
        elif depth == 0 and token.text in {"@", "permit", "forbid"}:
            if scope_closed:
                starts.append(token.start)
                effect, scope_closed = token.text != "@", False
            elif token.text != "@":
                effect = True
    return starts


def _unbalanced(tokens: list[Token]) -> SyntaxProblem | None:
    """A bracket never closed, or closed by the wrong kind."""
    stack: list[Token] = []
    for token in tokens:
        if token.text in _OPEN:
            stack.append(token)
        elif token.text in _CLOSE:
            if stack and stack[-1].text == _CLOSE[token.text]:
                stack.pop()
            elif stack:
                opener = stack[-1]
                return SyntaxProblem(
                    token.start,
                    f"'{token.text}' closes nothing: '{opener.text}' is still open",
                    hint=f"close '{opener.text}' with '{_OPEN[opener.text]}' first",
                )
            else:
                return SyntaxProblem(token.start, f"'{token.text}' closes nothing")
    if stack:
        opener = stack[-1]
        return SyntaxProblem(
            opener.start,
            f"'{opener.text}' is never closed",
            hint=f"close it with '{_OPEN[opener.text]}'",
        )
    return None


def _stray_word(tokens: list[Token]) -> Token | None:
    """A top-level word after the scope other than ``when`` / ``unless``."""
    depth = 0
    effect = scope_closed = False
    for token in tokens:
        if token.text in _OPEN:
            depth += 1
        elif token.text in _CLOSE:
            depth = max(0, depth - 1)
            scope_closed = scope_closed or (depth == 0 and effect)
        elif depth == 0 and token.kind == "word":
            if scope_closed and token.text not in {"when", "unless"}:
                return token
            effect = effect or token.text in {"permit", "forbid"}
    return None


def _rejected_token(
    text: str, tokens: list[Token], bad: str, parse: Callable[[str], str | None]
) -> Token | None:
    """The occurrence of ``bad`` that Cedar rejected (see the module docstring)."""
    candidates = [t for t in tokens if t.text == bad]
    wanted = f"unexpected token `{bad}`"
    for token in candidates:
        found = parse(text[: token.end] + " ;")
        if found is not None and wanted in found:
            return token
    return candidates[0] if candidates else None


def _named_token(tokens: list[Token], message: str) -> Token | None:
    """The first token a message names (in backticks, or after its last ':')."""
    names = _BACKTICK.findall(message)
    if ":" in message:
        names += [c.strip() for c in message.rsplit(":", 1)[1].split(",") if c.strip()]
    for name in names:
        for i, token in enumerate(tokens):
            after_dot = i > 0 and tokens[i - 1].text == "."
            if token.text == name and not after_dot:
                return token
    return None


def diagnose(text: str, message: str, *, parse: Callable[[str], str | None]) -> SyntaxProblem:
    """Locate Cedar's ``message`` about ``text`` (one statement, ``;`` included).

    Falls back to offset 0 (the statement's start) when no token can be singled out.
    """
    tokens = tokenize(text)
    lexical = next((t for t in tokens if t.kind in {"bad", "unterminated"}), None)
    if lexical is not None and lexical.kind == "unterminated":
        return SyntaxProblem(
            lexical.start, "string is never closed", hint="close it with '\"' on the same line"
        )
    if lexical is not None and "invalid token" in message:
        return SyntaxProblem(
            lexical.start,
            f"'{lexical.text}' is not part of Cedar's syntax",
            hint=_WORD_HINTS.get(lexical.text),
        )
    body = tokens[:-1] if tokens and tokens[-1].text == ";" else tokens
    unbalanced = _unbalanced(body)
    if unbalanced is not None:
        return unbalanced
    stray = _stray_word(body)
    if stray is not None:
        return SyntaxProblem(
            stray.start,
            f"unexpected '{stray.text}' after the policy's scope",
            hint="after 'permit (...)' or 'forbid (...)' come only 'when { ... }', "
            "'unless { ... }' and ';'",
        )
    unexpected = _UNEXPECTED.search(message)
    if unexpected is not None:
        bad = unexpected.group(1)
        if bad == ";" and tokens and tokens[-1].text == ";":
            return SyntaxProblem(
                tokens[-1].start,
                "the policy ends before it is complete",
                hint="something is missing before ';' (an operand, a condition, a closing bracket)",
            )
        token = _rejected_token(text, tokens, bad, parse)
        if token is not None:
            return SyntaxProblem(
                token.start, f"unexpected {_describe(token)}", hint=_hint(tokens, token)
            )
    if "is not a valid operator" in message:
        token = next((t for t in tokens if t.text == "="), None)
        if token is not None:
            return SyntaxProblem(token.start, message, hint=_WORD_HINTS["="])
    named = _named_token(tokens, message)
    return SyntaxProblem(named.start if named is not None else 0, message)


def _hint(tokens: list[Token], token: Token) -> str | None:
    if token.text in _WORD_HINTS:
        return _WORD_HINTS[token.text]
    index = tokens.index(token)
    previous = tokens[index - 1] if index > 0 else None
    after_operand = previous is not None and (
        previous.kind in {"word", "string"} or previous.text in {")", "]"}
    )
    if token.kind == "word" and after_operand:
        return f"is a ',' or an operator missing before '{token.text}'?"
    return None


def _describe(token: Token) -> str:
    if token.kind == "word" and token.text in {"permit", "forbid"}:
        return f"'{token.text}': a new policy starts before this one ended"
    return f"'{token.text}'"
