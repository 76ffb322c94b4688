"""The envelope of every ztauth JSON report: which tool wrote it, at which version, in which shape.

Every command's ``--format json`` output is one JSON object whose first three members are
``tool`` (the command, e.g. ``"ztauth policy lint"``), ``version`` (ztauth's version) and
``schema_version`` (the shape, ``schemas/<report>.schema.json``; raised only when a member is
removed or changes meaning). A consumer checks ``tool`` and ``schema_version`` before reading
the rest.

AuthZEN responses (``ztauth eval``, ``ztauth search subject|resource|action`` and every
answer of ``ztauth serve``) carry no envelope: they are the wire format a policy enforcement
point parses, byte for byte what a PDP answers, so that a decision printed offline can be fed
to the same client code as one served over HTTP.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ztauth_cli import __version__

__all__ = [
    "ENVELOPE_FIELDS",
    "SCHEMA_VERSION",
    "envelope",
    "json_text",
    "report_text",
    "sorted_members",
]

ENVELOPE_FIELDS = ("tool", "version", "schema_version")
SCHEMA_VERSION = 1


def envelope(tool: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` behind the envelope of ``tool`` (``"ztauth policy lint"``).

    Raises:
        ValueError: ``body`` has a member of the envelope's own (a programming error: it would
            be silently overwritten or would overwrite the envelope).
    """
    clash = sorted(set(ENVELOPE_FIELDS) & set(body))
    if clash:
        raise ValueError(f"report body of {tool!r} has envelope members: {', '.join(clash)}")
    return {"tool": tool, "version": __version__, "schema_version": SCHEMA_VERSION, **body}


def sorted_members(value: Any) -> Any:
    """``value`` with the members of every object in sorted order (lists keep theirs): for
    bodies whose keys come from input data (audit entries), so that output is stable while
    the envelope stays first."""
    if isinstance(value, Mapping):
        return {key: sorted_members(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [sorted_members(item) for item in value]
    return value


def json_text(document: Any) -> str:
    """``document`` as every command prints JSON: indented, UTF-8, newline-terminated.

    Character for character ``json.dumps(document, indent=2, ensure_ascii=False)``: with an
    indent, the standard library encodes in Python, one generator step per value (a 5,000-case
    test report took 0.12 s); plain documents are written here in one pass instead, each string
    escaped by the standard library's own (C) escaper. Anything else (a key that is not a
    string, a value of another type, a float that is not finite) is left to ``json.dumps``.
    """
    parts: list[str] = []
    try:
        _indented(document, parts, "\n")
    except (_Unusual, RecursionError):  # json.dumps then says what is wrong, as before
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _Unusual(Exception):
    """A value :func:`_indented` leaves to ``json.dumps``."""


_ESCAPE = json.encoder.encode_basestring  # the C escaper where CPython has it
_LITERALS = {True: "true", False: "false"}


def _indented(value: Any, parts: list[str], newline: str) -> None:
    """Append ``value`` as ``json.dumps(indent=2)`` writes it; ``newline`` is a newline and
    the indentation of the line ``value`` starts on."""
    kind = type(value)
    if kind is str:
        parts.append(_ESCAPE(value))
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            parts.append(separator)
            parts.append(_ESCAPE(key))
            parts.append(": ")
            _indented(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _indented(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "]")
    elif kind is bool:
        parts.append(_LITERALS[value])
    elif kind is int:
        parts.append(int.__repr__(value))
    elif value is None:
        parts.append("null")
    elif kind is float and math.isfinite(value):
        parts.append(float.__repr__(value))
    elif isinstance(value, str):  # a str enum member: json.dumps writes its text
        parts.append(_ESCAPE(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        parts.append(int.__repr__(value))
    else:
        raise _Unusual


def report_text(tool: str, body: Mapping[str, Any]) -> str:
    """The JSON report of ``tool``: ``body`` behind the envelope, as text."""
    return json_text(envelope(tool, body))
