"""Protocol identifiers (ZTDomain, ZTZone, ZTID) and their validators.

DESIGN.md, "Identifier rules": parsers reject, they never normalise. A ZTDomain with uppercase,
a port, userinfo or percent-encoding is an error, not something to lower-case or strip.
"""

from __future__ import annotations

import re
from typing import NewType

from ztauth_cli.model.record import record

__all__ = [
    "Kid",
    "PolicyId",
    "RuleId",
    "Ztid",
    "ZtidParts",
    "is_kebab_case",
    "parse_ztid",
    "validate_ztdomain",
    "validate_ztzone",
]

Ztid = NewType("Ztid", str)
PolicyId = NewType("PolicyId", str)
Kid = NewType("Kid", str)
RuleId = NewType("RuleId", str)

_DOMAIN = re.compile(r"[a-z0-9._-]+")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ZONE_MIN = 100_000_000_000
_ZONE_MAX = 999_999_999_999


@record(frozen=True, slots=True, kw_only=True)
class ZtidParts:
    """A parsed ZTID ``ztauth://<domain>/<zone>/<path>``."""

    domain: str
    zone: int
    path: tuple[str, ...]


def validate_ztdomain(domain: str) -> str | None:
    """Return why ``domain`` is not a ZTDomain, or ``None`` when it is one."""
    if not domain:
        return "the domain is empty"
    if _DOMAIN.fullmatch(domain) is None:
        return (
            f"domain {domain!r} must match [a-z0-9._-]+ "
            "(no uppercase, port, userinfo or percent-encoding)"
        )
    return None


def validate_ztzone(zone: str) -> str | None:
    """Return why ``zone`` is not a ZTZone (an integer 100000000000-999999999999), or ``None``."""
    if not zone.isascii() or not zone.isdigit():
        return f"zone {zone!r} must be a 12-digit integer"
    value = int(zone)
    if not _ZONE_MIN <= value <= _ZONE_MAX or str(value) != zone:
        return f"zone {zone!r} must be an integer from {_ZONE_MIN} to {_ZONE_MAX}"
    return None


def parse_ztid(text: str) -> ZtidParts:
    """Parse a ZTID.

    Raises:
        ValueError: with a message saying what is wrong; the input is never normalised.
    """
    prefix = "ztauth://"
    if not text.startswith(prefix):
        raise ValueError(f"ZTID {text!r} must start with {prefix!r}")
    rest = text[len(prefix) :]
    parts = rest.split("/")
    if len(parts) < 3:
        raise ValueError(f"ZTID {text!r} must be ztauth://<domain>/<zone>/<path>")
    domain, zone, *path = parts
    for problem in (validate_ztdomain(domain), validate_ztzone(zone)):
        if problem is not None:
            raise ValueError(f"ZTID {text!r}: {problem}")
    if path and path[-1] == "":
        raise ValueError(f"ZTID {text!r} must not end with '/'")
    for segment in path:
        if segment in {".", ".."}:
            raise ValueError(f"ZTID {text!r} must not contain a '.' or '..' segment")
        if _SEGMENT.fullmatch(segment) is None:
            raise ValueError(f"ZTID {text!r}: path segment {segment!r} must match [A-Za-z0-9._-]+")
    return ZtidParts(domain=domain, zone=int(zone), path=tuple(path))


def is_kebab_case(text: str) -> bool:
    """True when ``text`` is lower-case kebab-case (``owner-can-read``)."""
    return _KEBAB.fullmatch(text) is not None
