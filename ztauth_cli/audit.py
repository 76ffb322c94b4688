"""The tamper-evident decision log: one canonical JSON line per decision, hash-chained.

Line format (JSON Lines, ASCII only)::

    {"code":"allowed","decision":true,"ledger":"ztauth://...","policies":["owner-can-read"],
     "prev":"<64 hex>","request":{...},"request_digest":"<64 hex>","revision":"<sha>",
     "seq":1,"time":"2026-06-01T12:00:00Z","version":"v1.2.0","via":null}

* Each line is *canonical* JSON: keys sorted, no whitespace, non-ASCII escaped.
* ``seq`` is the line number, starting at 1.
* ``prev`` is the SHA-256 (hex) of the previous line's bytes, without its ``\\n``; the first
  line's ``prev`` is 64 zeros. Changing, deleting, inserting or reordering any line therefore
  breaks the chain at that line or the next one.
* ``id`` (when the decision has one: ``ztauth serve`` and ``ztauth eval`` give each decision an
  id, returned as the response's ``context.id``) links the line to the response it logs.
* ``request_digest`` is the SHA-256 of the canonical JSON of the request as evaluated (before
  token redaction), so a caller can prove which request a line is about.
* Bearer tokens in the request (``authorization_model.tokens`` and each chain hop's
  ``tokens``) are stored as ``redacted:sha256:<hex>``: an audit log must not become a store of
  replayable credentials.

Concurrency and crashes: an append takes an exclusive ``flock`` on the log, reads only the
last line (seeking from the end) to chain from it, writes all new lines with one ``os.write``
on an ``O_APPEND`` descriptor and ``fsync``s before releasing the lock. A crash can only leave
a final line without ``\\n``; such a tail was never acknowledged to anyone, so the next append
truncates it away before writing, and :func:`verify_log` reports it distinctly as an
incomplete last line.

What a hash chain cannot show on its own: removing lines from the *end*. Record the ``head``
given by :func:`verify_log` elsewhere (a ticket, a commit) to anchor the log.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import DocumentError
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.model.decision import Decision

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditVerification",
    "append_decisions",
    "canonical_json",
    "entry_from_decision",
    "read_log",
    "request_digest",
    "verify_log",
]

GENESIS = "0" * 64
_CHUNK = 4096
_REDACTED_PREFIX = "redacted:sha256:"


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, ASCII only.

    Raises TypeError/ValueError when ``value`` is not JSON-serialisable.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def request_digest(request: Mapping[str, Any]) -> str:
    """SHA-256 hex of the request's canonical JSON."""
    return hashlib.sha256(canonical_json(request)).hexdigest()


def _rfc3339(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One decision to be logged (``seq`` and ``prev`` are added when it is appended)."""

    time: str
    request_digest: str
    request: Mapping[str, Any]
    ledger: str | None
    revision: str | None
    version: str | None
    decision: bool
    code: str
    via: str | None
    policies: tuple[str, ...]
    # The decision's id (the response's context.id), when it was given one.
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (without ``seq``/``prev``; ``id`` only when set)."""
        extra = {"id": self.id} if self.id is not None else {}
        return {
            **extra,
            "time": self.time,
            "request_digest": self.request_digest,
            "request": dict(self.request),
            "ledger": self.ledger,
            "revision": self.revision,
            "version": self.version,
            "decision": self.decision,
            "code": self.code,
            "via": self.via,
            "policies": list(self.policies),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditVerification:
    """The result of checking a log's chain.

    ``lines`` counts the lines known intact (from the first) and ``head`` is the hash of the
    last of them (64 zeros when there is none): record ``head`` elsewhere to anchor the log.
    """

    ok: bool
    lines: int
    first_broken_line: int | None
    reason: str | None
    head: str

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form printed by ``ztauth audit verify --format json``."""
        return {
            "ok": self.ok,
            "lines": self.lines,
            "first_broken_line": self.first_broken_line,
            "reason": self.reason,
            "head": self.head,
        }


def _redact_tokens(tokens: Any) -> Any:
    if not isinstance(tokens, Mapping):
        return tokens
    redacted: dict[str, Any] = {}
    for name, value in tokens.items():
        if isinstance(value, str):
            digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
            redacted[name] = f"{_REDACTED_PREFIX}{digest}"
        else:
            redacted[name] = value
    return redacted


def _redact_request(request: Mapping[str, Any]) -> dict[str, Any]:
    # Tokens are bearer credentials: keep only their digest (enough to correlate, useless to
    # replay). Everything else is kept as evaluated.
    copy = dict(request)
    model = copy.get("authorization_model")
    if isinstance(model, Mapping):
        model = dict(model)
        if "tokens" in model:
            model["tokens"] = _redact_tokens(model["tokens"])
        chain = model.get("chain")
        if isinstance(chain, list):
            model["chain"] = [
                {**hop, "tokens": _redact_tokens(hop["tokens"])}
                if isinstance(hop, Mapping) and "tokens" in hop
                else hop
                for hop in chain
            ]
        copy["authorization_model"] = model
    return copy


def _jsonable(value: Any) -> Any:
    # Python's json reader accepts NaN/Infinity (and callers may hand us tuples or other
    # objects); the log holds strict JSON only, so such values are recorded as their text.
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def entry_from_decision(
    decision: Decision,
    request: Mapping[str, Any],
    *,
    now: datetime,
    decision_id: str | None = None,
) -> AuditEntry:
    """Build the log entry for one decision about ``request`` made at ``now``.

    ``request`` is the request as evaluated (for a batch item: the item merged with the
    top-level fields). Never raises: values JSON cannot hold (NaN, infinities, non-JSON
    objects) are recorded as text.
    """
    request = _jsonable(request)
    return AuditEntry(
        time=_rfc3339(now),
        request_digest=request_digest(request),
        request=_redact_request(request),
        ledger=decision.ledger,
        revision=decision.revision,
        version=decision.version,
        decision=decision.allowed,
        code=decision.code.value,
        via=decision.via,
        policies=tuple(sorted(decision.policies)),
        id=decision_id,
    )


# --------------------------------------------------------------------------------------------
# Appending


def _read_tail(fd: int, size: int, path: Path) -> tuple[bytes | None, int]:
    """Return (last complete line without its newline, offset where the file should end).

    The offset is smaller than ``size`` when the file ends in a partial line, which must be
    cut away. Reads backwards in chunks: the cost does not grow with the log.
    """
    end = size
    buffer = b""
    position = size
    newline_at: list[int] = []  # absolute offsets of the last two newlines found
    while position > 0 and len(newline_at) < 2:
        step = min(_CHUNK, position)
        position -= step
        chunk = os.pread(fd, step, position)
        buffer = chunk + buffer
        newline_at = [position + i for i, b in enumerate(buffer) if b == 0x0A][-2:]
    if not newline_at:
        # No complete line at all: whatever is there is a partial first line.
        return None, 0
    last_nl = newline_at[-1]
    if last_nl != size - 1:
        end = last_nl + 1  # a partial line follows the last newline
    start = newline_at[-2] + 1 if len(newline_at) == 2 else 0
    line = os.pread(fd, last_nl - start, start)
    if not line:
        raise DocumentError(
            "empty line at the end of the audit log", span=Span(path=str(path)), hint=_HINT
        )
    return line, end


_HINT = "run 'ztauth audit verify' on the log"


def append_decisions(path: Path, entries: Sequence[AuditEntry]) -> None:
    """Append ``entries`` to the log at ``path``, chained to its last line (created if absent).

    Safe against concurrent appenders (exclusive ``flock``) and crashes (a partial last line,
    never acknowledged, is truncated away before writing). Durable on return (``fsync``).
    Raises DocumentError when the last line of the log cannot be chained from, OSError when
    the file cannot be opened or written.
    """
    if not entries:
        return
    import fcntl

    # 0600: the log holds requests (subjects, resources, context) that are not for everyone.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        seq, prev = 0, GENESIS
        if size > 0:
            last, end = _read_tail(fd, size, path)
            if end < size:
                os.ftruncate(fd, end)
            if last is not None:
                seq, prev = _chain_point(last, path)
        data = bytearray()
        for entry in entries:
            seq += 1
            line = canonical_json({**entry.to_json(), "seq": seq, "prev": prev})
            data += line + b"\n"
            prev = hashlib.sha256(line).hexdigest()
        view = memoryview(bytes(data))
        while view:  # one write in practice; a regular file only writes short on a full disk
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


def _chain_point(last: bytes, path: Path) -> tuple[int, str]:
    try:
        obj = json.loads(last)
    except ValueError:
        obj = None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    if isinstance(seq, bool) or not isinstance(seq, int):
        # Fail closed: never chain new decisions onto a line we cannot read.
        raise DocumentError(
            "the last line of the audit log is not a log entry; refusing to append",
            span=Span(path=str(path)),
            hint=_HINT,
        )
    return seq, hashlib.sha256(last).hexdigest()


# --------------------------------------------------------------------------------------------
# Reading and verifying


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, bytes without newline, complete?) for every line of the log."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            complete = raw.endswith(b"\n")
            yield number, raw[:-1] if complete else raw, complete


def _open_error(path: Path, exc: OSError) -> DocumentError:
    return DocumentError(
        f"cannot read the audit log: {exc.strerror or exc}", span=Span(path=str(path))
    )


def verify_log(path: Path) -> AuditVerification:
    """Check every line of the log: canonical JSON, ``seq`` = line number, ``prev`` chain.

    Returns the first broken line and why; an incomplete final line is reported as
    "incomplete last line (crash during append)". Raises DocumentError when the file cannot
    be read.
    """
    prev = GENESIS
    before_prev = GENESIS  # the hash of the line before the last good one
    count = 0

    def broken(number: int, reason: str, *, suspect_previous: bool = False) -> AuditVerification:
        # ``lines``/``head`` describe the lines known intact. A chain break at line N may come
        # from an edit of line N-1 (only line N can reveal it), so N-1 is not vouched for.
        if suspect_previous and count > 0:
            return AuditVerification(
                ok=False,
                lines=count - 1,
                first_broken_line=number,
                reason=reason,
                head=before_prev,
            )
        return AuditVerification(
            ok=False, lines=count, first_broken_line=number, reason=reason, head=prev
        )

    try:
        for number, line, complete in _lines(path):
            if not complete:
                return broken(number, "incomplete last line (crash during append)")
            try:
                obj = json.loads(line)
            except ValueError:
                return broken(number, f"line {number} is not valid JSON")
            if not isinstance(obj, dict):
                return broken(number, f"line {number} is not a JSON object")
            try:
                canonical = canonical_json(obj)
            except (TypeError, ValueError):
                canonical = b""
            if canonical != line:
                return broken(number, f"line {number} is not in canonical form (edited?)")
            seq = obj.get("seq")
            if seq != number or isinstance(seq, bool):
                return broken(
                    number,
                    f"line {number} has seq {seq!r}, expected {number}: "
                    "a line was deleted, inserted or reordered",
                )
            if obj.get("prev") != prev:
                reason = _chain_reason(number, obj.get("prev"), prev)
                return broken(number, reason, suspect_previous=True)
            request = obj.get("request")
            digest = obj.get("request_digest")
            if not isinstance(request, dict) or not isinstance(digest, str):
                return broken(number, f"line {number} has no request or request_digest")
            if not _digest_plausible(request, digest):
                return broken(number, f"line {number}: request_digest does not match its request")
            before_prev, prev = prev, hashlib.sha256(line).hexdigest()
            count = number
    except OSError as exc:
        raise _open_error(path, exc) from exc
    return AuditVerification(ok=True, lines=count, first_broken_line=None, reason=None, head=prev)


def _chain_reason(number: int, found: Any, expected: str) -> str:
    if number == 1:
        return "line 1 does not start the chain (prev is not 64 zeros): lines were removed"
    return (
        f"line {number} does not chain to line {number - 1}: prev is {str(found)[:12]}..., "
        f"expected {expected[:12]}... (line {number - 1}, or this line's prev, was changed)"
    )


def _digest_plausible(request: Mapping[str, Any], digest: str) -> bool:
    # The digest covers the request before token redaction; when nothing was redacted it must
    # match exactly, which catches an edit inside the request of the last line.
    if _has_redactions(request):
        return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    return request_digest(request) == digest


def _has_redactions(request: Mapping[str, Any]) -> bool:
    model = request.get("authorization_model")
    if not isinstance(model, Mapping):
        return False
    groups = [model.get("tokens")]
    chain = model.get("chain")
    if isinstance(chain, list):
        groups += [hop.get("tokens") for hop in chain if isinstance(hop, Mapping)]
    return any(
        isinstance(value, str) and value.startswith(_REDACTED_PREFIX)
        for group in groups
        if isinstance(group, Mapping)
        for value in group.values()
    )


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """Yield every complete entry of the log, in order (an incomplete last line is skipped).

    Raises DocumentError (with the line) for a line that is not a JSON object, or when the
    file cannot be read. Does not check the chain: use :func:`verify_log`.
    """
    try:
        for number, line, complete in _lines(path):
            if not complete:
                return  # never acknowledged: not part of the log
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                raise DocumentError(
                    "not a JSON object (a log entry)",
                    span=Span(path=str(path), line=number),
                    hint=_HINT,
                )
            yield obj
    except OSError as exc:
        raise _open_error(path, exc) from exc
