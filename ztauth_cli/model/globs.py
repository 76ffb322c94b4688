"""The one glob matcher for workload and entity ids (security groups, elevations, delegations).

Semantics (docs/readme/30-eval.md "Glob semantics"), chosen for SPIFFE-style ids:

* ``*`` matches any run of characters within ONE path segment (never ``/``);
* ``**`` matches any run of characters across segments (``/`` included);
* ``?`` matches one character other than ``/``; ``[abc]``/``[!abc]`` one character of (not of)
  the set, never ``/``; every other character matches itself only.
* Matching is exact and case-sensitive; ids are never normalised (no Unicode normalisation, no
  case folding, no percent-decoding, no ``..`` resolution).
* A value with a ``.``, ``..`` or empty path segment, or one that Unicode compatibility
  normalisation (NFKC) would change (look-alikes such as U+217C, which folds to ``l``),
  never matches
  a pattern holding a wildcard (only an exactly equal pattern): ``spiffe://acme/assistant/*``
  matches neither ``spiffe://acme/assistant/x/../../billing/w`` nor
  ``spiffe://acme/assistant/a/b``.
* :func:`revoked_by` is the one place where a look-alike is folded (NFKC), and only to DENY:
  a value whose NFKC form matches a revocation is revoked too.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["glob_covers", "glob_match", "has_wildcard", "matches_any", "revoked_by"]


def has_wildcard(pattern: str) -> bool:
    """True when ``pattern`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return "*" in pattern or "?" in pattern or "[" in pattern


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                while i < n and pattern[i] == "*":
                    i += 1
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("!")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"(?!/)[{'^' if negate else ''}{body}]")
                i = end + 1
                continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _segments(value: str) -> list[str]:
    scheme, sep, rest = value.partition("://")
    if sep and scheme and "/" not in scheme:
        # The authority is not a path segment; an id that is only an authority has none.
        _authority, slash, path = rest.partition("/")
        return path.split("/") if slash else []
    return value.split("/")


def _unsafe(value: str) -> bool:
    if not value.isascii() and unicodedata.normalize("NFKC", value) != value:
        return True
    return any(s in ("", ".", "..") for s in _segments(value))


def glob_match(value: str, pattern: str) -> bool:
    """True when ``value`` equals ``pattern`` or matches it as a glob (see module doc)."""
    if value == pattern:
        return True
    if not has_wildcard(pattern) or _unsafe(value):
        return False
    return _compile(pattern).fullmatch(value) is not None


def matches_any(value: str, patterns: Iterable[str]) -> bool:
    """True when ``value`` matches one of ``patterns`` (:func:`glob_match`)."""
    unsafe: bool | None = None  # whether ``value`` may match a wildcard: asked at most once
    for pattern in patterns:
        if value == pattern:
            return True
        if not has_wildcard(pattern):
            continue
        if unsafe is None:
            unsafe = _unsafe(value)
        if not unsafe and _compile(pattern).fullmatch(value) is not None:
            return True
    return False


def revoked_by(value: str, patterns: Iterable[str]) -> bool:
    """True when ``value`` (or its NFKC look-alike fold) matches one of the revocations."""
    patterns = tuple(patterns)
    if matches_any(value, patterns):
        return True
    folded = unicodedata.normalize("NFKC", value)
    return folded != value and matches_any(folded, patterns)


def glob_covers(outer: str, inner: str) -> bool:
    """Conservatively, True when every id matching ``inner`` also matches ``outer``.

    Exact for a plain ``inner``; for a glob ``inner`` its text is matched against ``outer``
    (so ``a/*`` covers ``a/b-*``), and an ``inner`` crossing segments (``**``) is covered only
    by an ``outer`` that also crosses them. Never says True when ``inner`` could match more.
    """
    if outer == inner:
        return True
    if not has_wildcard(inner):
        return glob_match(inner, outer)
    if "**" in inner and "**" not in outer:
        return False
    if "[" in inner and "[" not in outer and "**" not in outer:
        return False
    return has_wildcard(outer) and _compile(outer).fullmatch(inner) is not None
