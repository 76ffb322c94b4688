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
* The stored request is bounded: when its canonical JSON (tokens redacted) is larger than
  ``MAX_REQUEST_BYTES``, ``request`` keeps only ``subject``, ``action``, ``resource`` and
  ``authorization_model.principal`` (each when under 1 KiB), and the line gains
  ``"request_truncated": {"bytes": <size>, "excerpt": "<its first EXCERPT_BYTES bytes>"}``.
  ``request_digest`` still covers the whole request. A line, and so an append, stays small
  whatever a caller sends.
* A line of ``.jsonl`` input that never became a request (not JSON, not UTF-8, too long) is
  logged too, as ``"request": {"invalid": "<the line's text>"}``: every decision is logged.

Concurrency and crashes: an append takes an exclusive ``flock`` on the log, reads only the
last line (backwards from the end, each byte once) to chain from it, writes all new lines with
one ``os.write`` on an ``O_APPEND`` descriptor and ``fsync``s before releasing the lock. A crash
can only leave a final line without ``\\n``; such a tail was never acknowledged to anyone, so
the next append truncates it away before writing, and :func:`verify_log` reports it distinctly
as an incomplete last line.

A file that is not an audit log is never appended to, and never truncated: :func:`check_log`
(run by ``eval --audit-log`` before anything is evaluated) refuses a path that is not a regular
file or does not start like a log line, and every append checks, before it changes a byte,
that the last complete line is a canonical log entry and that any partial tail starts like
one.

What a hash chain cannot show on its own: removing lines from the *end*. Record the ``head``
given by :func:`verify_log` elsewhere (a ticket, a commit) to anchor the log.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import DocumentError
from ztauth_cli.fileio import file_kind
from ztauth_cli.model.span import Span

if TYPE_CHECKING:
    from ztauth_cli.model.decision import Decision

__all__ = [
    "EXCERPT_BYTES",
    "GENESIS",
    "MAX_REQUEST_BYTES",
    "AuditEntry",
    "AuditVerification",
    "append_decisions",
    "canonical_json",
    "check_log",
    "entry_from_decision",
    "read_log",
    "request_digest",
    "verify_log",
]

GENESIS = "0" * 64
# The largest request (canonical JSON, tokens redacted) stored whole in a line; a larger one is
# stored as its digest, its identity fields and its first EXCERPT_BYTES bytes.
MAX_REQUEST_BYTES = 64 * 1024
EXCERPT_BYTES = 4096
_SUMMARY_FIELD_BYTES = 1024
_CHUNK = 64 * 1024
_REDACTED_PREFIX = "redacted:sha256:"
# Every line is canonical JSON with sorted keys, and "code" is the first key of every entry:
# a file that does not start like this was not written by this module.
_LINE_START = b'{"code":"'


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
    # Set when ``request`` is a truncated copy: {"bytes": size, "excerpt": first bytes}.
    request_truncated: Mapping[str, Any] | None = None
    # The decision's id (the response's context.id), when it was given one.
    id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (without ``seq``/``prev``; ``id`` only when set)."""
        extra = {"id": self.id} if self.id is not None else {}
        document = {
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
        if self.request_truncated is not None:
            document["request_truncated"] = dict(self.request_truncated)
        return document


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
    stored = _redact_request(request)
    truncated = None
    text = canonical_json(stored)
    if len(text) > MAX_REQUEST_BYTES:
        # Bounded lines keep every append cheap and the log small, whatever a caller sends;
        # the digest still names the whole request.
        stored = _summary(stored)
        truncated = {"bytes": len(text), "excerpt": text[:EXCERPT_BYTES].decode("ascii")}
    return AuditEntry(
        time=_rfc3339(now),
        request_digest=request_digest(request),
        request=stored,
        request_truncated=truncated,
        ledger=decision.ledger,
        revision=decision.revision,
        version=decision.version,
        decision=decision.allowed,
        code=decision.code.value,
        via=decision.via,
        policies=tuple(sorted(decision.policies)),
        id=decision_id,
    )


def _summary(request: Mapping[str, Any]) -> dict[str, Any]:
    """Who asked what, from an oversized request: each identity field that is small."""

    def small(value: Any) -> bool:
        return len(canonical_json(value)) <= _SUMMARY_FIELD_BYTES

    summary = {k: request[k] for k in ("subject", "action", "resource") if small(request.get(k))}
    summary = {k: v for k, v in summary.items() if v is not None}
    model = request.get("authorization_model")
    principal = model.get("principal") if isinstance(model, Mapping) else None
    if principal is not None and small(principal):
        summary["authorization_model"] = {"principal": principal}
    return summary


# --------------------------------------------------------------------------------------------
# Appending


_HINT = "run 'ztauth audit verify' on the log"
_NOT_A_LOG = "this file is not an audit log"


_NOT_A_LOG_HINT = "name a new file or an existing audit log ('ztauth audit verify' checks one)"


def _refuse(path: Path, why: str) -> DocumentError:
    return DocumentError(
        f"{_NOT_A_LOG}: {why}; refusing to append",
        span=Span(path=str(path)),
        hint=_NOT_A_LOG_HINT,
    )


def _starts_like_a_line(data: bytes) -> bool:
    """True when ``data`` begins as every log line does (or is a shorter piece of that)."""
    return data[: len(_LINE_START)] == _LINE_START[: len(data)]


def check_log(path: Path) -> None:
    """Refuse, before anything is evaluated or written, a ``--audit-log`` that is not one.

    A missing file is fine (the first append creates it); an existing one must be a regular
    file that starts like a log line. Reads at most a few bytes.

    Raises:
        DocumentError: not a regular file, unreadable, or not an audit log.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        folder = path.parent
        if not folder.is_dir():
            raise DocumentError(
                f"cannot create the audit log: folder {folder} does not exist",
                span=Span(path=str(path)),
            ) from None
        return
    except OSError as exc:
        raise _open_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(
            f"the audit log is {file_kind(info.st_mode)}, not a regular file",
            span=Span(path=str(path)),
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_LINE_START))
    except OSError as exc:
        raise _open_error(path, exc) from exc
    if not _starts_like_a_line(head):
        raise _refuse(path, "it does not start with a log entry")


def _read_tail(fd: int, size: int) -> tuple[bytes | None, int, bytes]:
    """``(last complete line, offset where the file should end, the partial tail after it)``.

    The line is None when the file holds no complete line. Reads backwards from the end and
    scans each byte once: the cost is linear in the last line (and any partial tail), however
    long the log or the line.
    """
    blocks: list[bytes] = []  # read backwards: blocks[-1] is the earliest
    position = size
    last_newline = -1  # absolute offset of the newline ending the last complete line
    line_start: int | None = None
    while position > 0 and line_start is None:
        step = min(_CHUNK, position)
        position -= step
        block = os.pread(fd, step, position)
        blocks.append(block)
        if last_newline < 0:
            found = block.rfind(b"\n")
            if found < 0:
                continue
            last_newline = position + found
            previous = block.rfind(b"\n", 0, found)
        else:
            previous = block.rfind(b"\n")
        if previous >= 0:
            line_start = position + previous + 1
    data = b"".join(reversed(blocks))  # the bytes from ``position`` to the end
    if last_newline < 0:
        return None, 0, data
    start = line_start if line_start is not None else 0
    line = data[start - position : last_newline - position]
    return line, last_newline + 1, data[last_newline + 1 - position :]


def append_decisions(path: Path, entries: Sequence[AuditEntry]) -> None:
    """Append ``entries`` to the log at ``path``, chained to its last line (created if absent).

    Safe against concurrent appenders (exclusive ``flock``) and crashes (a partial last line,
    never acknowledged, is truncated away before writing). Durable on return (``fsync``).
    Raises DocumentError, before changing a byte, when the file is not a regular file or not
    an audit log (its last complete line is not a canonical entry, or a partial tail does not
    start like one); OSError when the file cannot be opened or written.
    """
    if not entries:
        return
    import fcntl

    # 0600: the log holds requests (subjects, resources, context) that are not for everyone.
    # O_NONBLOCK: a FIFO put in the log's place must be refused, not waited on.
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(
                f"the audit log is {file_kind(info.st_mode)}, not a regular file",
                span=Span(path=str(path)),
            )
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        seq, prev = 0, GENESIS
        if size > 0:
            last, end, tail = _read_tail(fd, size)
            if last is not None:
                seq, prev = _chain_point(last, path)
            if not _starts_like_a_line(tail):
                raise _refuse(path, "its last line is not a log entry")
            if end < size:
                os.ftruncate(fd, end)
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
    # Fail closed: never chain new decisions onto a line we cannot read, and never cut
    # anything from a file that is not ours.
    try:
        obj = json.loads(last)
        canonical = canonical_json(obj) == last
    except (TypeError, ValueError):
        obj, canonical = None, False
    seq = obj.get("seq") if isinstance(obj, dict) else None
    prev = obj.get("prev") if isinstance(obj, dict) else None
    if (
        not canonical
        or isinstance(seq, bool)
        or not isinstance(seq, int)
        or seq < 1
        or not _is_sha256(prev)
    ):
        raise _refuse(path, "its last line is not a log entry")
    return seq, hashlib.sha256(last).hexdigest()


def _is_sha256(value: Any) -> bool:
    hex_digits = "0123456789abcdef"
    return isinstance(value, str) and len(value) == 64 and all(c in hex_digits for c in value)


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
            if "request_truncated" in obj:
                if not _truncation_plausible(obj["request_truncated"], digest):
                    return broken(
                        number,
                        f"line {number}: request_truncated does not describe a truncated request",
                    )
            elif not _digest_plausible(request, digest):
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


def _truncation_plausible(truncated: Any, digest: str) -> bool:
    # A truncated copy cannot be checked against the digest; it must at least be what
    # entry_from_decision writes, so that an edit cannot pass a small request off as cut.
    if not isinstance(truncated, dict) or set(truncated) != {"bytes", "excerpt"}:
        return False
    size, excerpt = truncated["bytes"], truncated["excerpt"]
    return (
        isinstance(size, int)
        and not isinstance(size, bool)
        and size > MAX_REQUEST_BYTES
        and isinstance(excerpt, str)
        and len(excerpt) == EXCERPT_BYTES
        and _is_sha256(digest)
    )


def _digest_plausible(request: Mapping[str, Any], digest: str) -> bool:
    # The digest covers the request before token redaction; when nothing was redacted it must
    # match exactly, which catches an edit inside the request of the last line.
    if _has_redactions(request):
        return _is_sha256(digest)
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
