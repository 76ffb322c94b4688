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
    """``document`` as every command prints JSON: indented, UTF-8, newline-terminated."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def report_text(tool: str, body: Mapping[str, Any]) -> str:
    """The JSON report of ``tool``: ``body`` behind the envelope, as text."""
    return json_text(envelope(tool, body))
