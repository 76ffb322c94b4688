"""`ztauth eval`: evaluate AuthZEN request contexts against a ledger.

The command loads the ledger once, builds one engine and hands every request to it; the
engine decides, this module only reads input and writes responses. Its command line is
declared in ``cli/eval_options.py`` (Typer) and read by ``cli/launch.py`` (the fast lane):
this module imports neither Typer nor Click, so a plain ``ztauth eval`` pays for neither.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, TextIO

from ztauth_cli.cli._shared import (
    check_format,
    check_ledger_option,
    check_output,
    check_pin_outside,
    echo_err,
    emit,
    parse_at,
    read_public_jwks,
    signer_pin,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.ledger.signing import SignerPin
    from ztauth_cli.model import Decision, Ledger, TraceStep

__all__ = ["FORMATS", "STDIN", "eval_main", "run_eval"]

# The formats eval writes, and the REQUEST_FILE that means stdin (shared with its options).
FORMATS = (OutputFormat.TEXT, OutputFormat.JSON)
# A request document is written by a person or a tool; anything larger is a mistake.
_MAX_REQUEST_BYTES = 10 * 1024 * 1024
# Lines of a .jsonl stream evaluated together (one Cedar batch call): bounded memory.
_STREAM_CHUNK = 256
STDIN = "-"


def eval_main(
    *,
    request_file: str,
    ledger: Path | None,
    rev: str | None,
    at: str | None,
    fmt: OutputFormat | None,
    explain: bool,
    fail_on_deny: bool,
    audit_log: Path | None,
    jwks: Path | None,
    jsonl: bool,
    output: Path | None,
    signers_jwks: Path | None,
    require_signatures: int | None,
    subject: str | None,
    action: str | None,
    resource: str | None,
    principal: str | None,
) -> int:
    """``ztauth eval`` once its command line is parsed (by Typer, or by the fast lane in
    ``cli/launch.py``): the exit code.

    Raises:
        ZtauthError: usage errors, an unusable ledger, a malformed request file (exit 2).
    """
    from ztauth_cli.report.console import plain_output

    chosen = fmt
    if chosen is None:
        # Asking for an explanation means text, terminal or not; otherwise JSON off a terminal
        # (a file named by -o is off a terminal).
        plain = not explain and (output is not None or plain_output(sys.stdout))
        chosen = OutputFormat.JSON if plain else OutputFormat.TEXT
    inline = _inline_request(
        request_file, subject=subject, action=action, resource=resource, principal=principal
    )
    return run_eval(
        inline=inline,
        request_file=request_file,
        ledger_path=ledger,
        rev=rev,
        at=at,
        fmt=chosen,
        explain=explain,
        fail_on_deny=fail_on_deny,
        audit_log=audit_log,
        jwks_path=jwks,
        jsonl=jsonl,
        output=output,
        signers_jwks=signers_jwks,
        require_signatures=require_signatures,
    )


_UID = re.compile(r"^((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*):(.+)$")


def _entity(option: str, text: str) -> dict[str, str]:
    """``Type:id`` (a namespaced ``Acme::User:alice`` too; the id may hold ':')."""
    from ztauth_cli.errors import UsageError

    match = _UID.match(text)
    if match is None:
        raise UsageError(
            f"{option} {text!r}: expected TYPE:ID", hint=f"for example {option} User:alice"
        )
    return {"type": match.group(1), "id": match.group(2)}


def _inline_request(
    request_file: str,
    *,
    subject: str | None,
    action: str | None,
    resource: str | None,
    principal: str | None,
) -> dict[str, Any] | None:
    """The request of --subject/--action/--resource/--principal, or None when none is given.

    Raises:
        UsageError: only some of them, a REQUEST_FILE as well, or a malformed TYPE:ID.
    """
    from ztauth_cli.errors import UsageError

    given = {"--subject": subject, "--action": action, "--resource": resource}
    if principal is None and all(v is None for v in given.values()):
        return None
    missing = [name for name, value in given.items() if value is None]
    if missing or subject is None or action is None or resource is None:
        raise UsageError(
            "a one-off request needs --subject, --action and --resource; "
            f"missing {', '.join(missing)}"
        )
    if request_file != STDIN:
        raise UsageError(
            f"give either REQUEST_FILE ({request_file}) or --subject/--action/--resource, not both"
        )
    request: dict[str, Any] = {
        "subject": _entity("--subject", subject),
        "action": {"name": action},
        "resource": _entity("--resource", resource),
    }
    if principal is not None:
        request["authorization_model"] = {"principal": _entity("--principal", principal)}
    return request


def run_eval(
    *,
    request_file: str,
    ledger_path: Path | None,
    rev: str | None,
    at: str | None,
    fmt: OutputFormat,
    explain: bool = False,
    fail_on_deny: bool = False,
    audit_log: Path | None = None,
    jwks_path: Path | None = None,
    jsonl: bool = False,
    output: Path | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    signers_jwks: Path | None = None,
    require_signatures: int | None = None,
    inline: dict[str, Any] | None = None,
) -> int:
    """Evaluate the request(s) of ``request_file`` and print the responses (to ``output``
    atomically, once every request is evaluated, when given); the exit code.

    Raises:
        ZtauthError: usage errors, an unusable ledger, a malformed request file (exit 2).
    """
    import io

    from ztauth_cli.errors import UsageError
    from ztauth_cli.ledger import load

    check_format(fmt, FORMATS, command="ztauth eval")
    check_ledger_option(ledger_path)
    check_output(output)
    now = parse_at(at)
    extra_keys = read_public_jwks(jwks_path) if jwks_path is not None else ()
    pin = signer_pin(signers_jwks, require_signatures)
    source = stdin if stdin is not None else sys.stdin
    if inline is None and request_file == STDIN and source.isatty():
        # Waiting for a request nobody knows is expected looks like a hang.
        raise UsageError(
            "no REQUEST_FILE given and stdin is a terminal",
            hint="pass a request file (ztauth eval request.json) or pipe one in "
            "(cat request.json | ztauth eval -)",
        )
    if audit_log is not None:
        from ztauth_cli.audit import check_log

        # Before anything is read, evaluated or written: a file that is not an audit log is
        # refused whole and left as it was.
        check_log(audit_log)
    buffer = io.StringIO() if output is not None else None
    out = buffer if buffer is not None else stdout if stdout is not None else sys.stdout
    # Test suites are neither evaluated nor signed: eval does not parse them.
    ledger = load(ledger_path, rev, suites=False)
    check_pin_outside(pin, ledger.root)
    # The signature gate asks whether the ledger is trusted today (the wall clock, as before):
    # --at replays the time of requests and tokens, not of the ledger's signatures.
    evaluator = _evaluator(ledger, rev=rev, now=parse_at(None), extra_keys=extra_keys, pin=pin)

    stream = inline is None and (jsonl or request_file.endswith(".jsonl"))
    if stream:
        allowed, denied = _run_stream(
            evaluator,
            _stream_lines(request_file, source),
            now=now,
            fmt=fmt,
            out=out,
            audit_log=audit_log,
        )
    else:
        request = inline if inline is not None else _read_request(request_file, source)
        decisions, batch = evaluator.evaluate_batch(request, now=now)
        ids = _decision_ids(len(decisions))
        _audit(audit_log, _items(request), decisions, ids=ids, now=now)
        _write(decisions, batch=batch, fmt=fmt, explain=explain, request=request, out=out, ids=ids)
        allowed = sum(1 for d in decisions if d.allowed)
        denied = len(decisions) - allowed
    if buffer is not None:
        emit(buffer.getvalue(), output)
        # The responses went to a file: say on stderr what is in it.
        total = allowed + denied
        echo_err(
            f"{total} request{'s' if total != 1 else ''}: {allowed} allowed, {denied} denied "
            f"(written to {output})"
        )
    out.flush()
    return 1 if fail_on_deny and denied else 0


# ----------------------------------------------------------------------------- inputs


def _read_text(request_file: str, source: TextIO) -> tuple[str, str]:
    """The text of the request (at most ``_MAX_REQUEST_BYTES``) and the name to show.

    A request file may be a pipe (``ztauth eval <(make-request)``): it is read like stdin,
    until its writer closes it, and never beyond the size limit.

    Raises:
        RequestError: unreadable, too large, or not UTF-8 (with the line and column).
    """
    from ztauth_cli.errors import RequestError
    from ztauth_cli.fileio import read_limited
    from ztauth_cli.model import Span

    too_large = f"request is larger than {_MAX_REQUEST_BYTES} bytes"
    if request_file == STDIN:
        name = "<stdin>"
        binary = getattr(source, "buffer", None)
        if binary is None:  # an injected text stream (tests, embedding): already decoded
            text = source.read(_MAX_REQUEST_BYTES + 1)
            if len(text) > _MAX_REQUEST_BYTES:
                raise RequestError(too_large, span=Span(path=name))
            return text, name
        data = binary.read(_MAX_REQUEST_BYTES + 1)
    else:
        name = request_file
        try:
            data = read_limited(Path(request_file), limit=_MAX_REQUEST_BYTES)
        except OSError as exc:
            # strerror alone: str(exc) would repeat the path the span already names.
            raise RequestError(
                f"cannot read the request: {exc.strerror or exc}", span=Span(path=request_file)
            ) from None
    if len(data) > _MAX_REQUEST_BYTES:
        raise RequestError(too_large, span=Span(path=name))
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise RequestError(
            f"not UTF-8 (byte 0x{data[exc.start]:02x})",
            span=Span(path=name, line=line, column=column),
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a byte offset."""
    return data.count(b"\n", 0, offset) + 1, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _read_request(request_file: str, source: TextIO) -> Any:
    """The request document: JSON when it is JSON (a ``.json`` file, or text starting with
    ``{`` or ``[``), else YAML, both through the one reader (with positions).

    Raises:
        RequestError: unreadable, malformed, empty, or more than one document.
    """
    from ztauth_cli.errors import DocumentError, RequestError
    from ztauth_cli.ledger.yaml import looks_like_json, parse_documents, parse_json
    from ztauth_cli.model import Span

    text, name = _read_text(request_file, source)
    yaml_file = name.endswith((".yaml", ".yml"))
    try:
        if name.endswith(".json") or (not yaml_file and looks_like_json(text)):
            # JSON is read as JSON: YAML 1.1 would make 1e5 a string, so that the same request
            # decided differently as a .json file and as a line of a .jsonl stream.
            return parse_json(text, name)
        documents = parse_documents(text, name)
    except DocumentError as exc:
        raise RequestError(exc.message, span=exc.span) from None
    if not documents:
        raise RequestError("the request is empty", span=Span(path=name))
    if len(documents) > 1:
        raise RequestError(
            "expected one request document, found several (use a .jsonl stream for many)",
            span=documents[1].span,
        )
    return documents[0].data


class _Line(NamedTuple):
    """One line of a JSON Lines input: its text, or why it never became a request (a tuple:
    one is made per line of a stream, and a tuple is the cheapest immutable record)."""

    number: int
    text: str
    problem: str | None = None


def _stream_lines(request_file: str, source: TextIO) -> Iterator[_Line]:
    """The lines of a JSON Lines input, read lazily and each at most ``_MAX_REQUEST_BYTES``.

    A line that is not UTF-8 or too long is yielded with its problem, so that it is denied
    (and audited) alone and the lines after it are still decided.

    Raises:
        RequestError: the input cannot be opened or read.
    """
    from ztauth_cli.errors import RequestError
    from ztauth_cli.model import Span

    if request_file == STDIN:
        binary = getattr(source, "buffer", None)
        if binary is None:  # an injected text stream: already decoded
            yield from _text_lines(source)
        else:
            yield from _binary_lines(binary)
        return
    try:
        handle = open(request_file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise RequestError(
            f"cannot read the stream: {exc.strerror or exc}", span=Span(path=request_file)
        ) from None
    with handle:
        try:
            yield from _binary_lines(handle)
        except OSError as exc:
            raise RequestError(
                f"cannot read the stream: {exc.strerror or exc}", span=Span(path=request_file)
            ) from None


def _binary_lines(handle: BinaryIO) -> Iterator[_Line]:
    limit = _MAX_REQUEST_BYTES
    number = 0
    while raw := handle.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            # Skip the rest of the line without holding it: memory stays bounded.
            while (more := handle.readline(1024 * 1024)) and not more.endswith(b"\n"):
                pass
            text = raw[:limit].decode("utf-8", "backslashreplace")
            yield _Line(number, text, f"longer than {limit} bytes")
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            yield _Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            yield _Line(number, raw.decode("utf-8", "backslashreplace"), problem)


def _text_lines(handle: TextIO) -> Iterator[_Line]:
    limit = _MAX_REQUEST_BYTES
    number = 0
    while raw := handle.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith("\n"):
            while (more := handle.readline(1024 * 1024)) and not more.endswith("\n"):
                pass
            yield _Line(number, raw[:limit], f"longer than {limit} bytes")
            continue
        yield _Line(number, raw.rstrip("\r\n"))


# ----------------------------------------------------------------------------- engine


def _evaluator(
    ledger: Ledger,
    *,
    rev: str | None,
    now: datetime,
    extra_keys: Sequence[Mapping[str, Any]],
    pin: SignerPin,
) -> Evaluator:
    """The engine for ``ledger``, behind the signature gate (pinned by ``pin``) at ``now``."""
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.gates import unverified_reason
    from ztauth_cli.ledger.load import find_repo_root

    version = None
    # Versions are Git tags: a working tree outside any repository has none to look up.
    if rev is not None or find_repo_root(Path(ledger.root)) is not None:
        from ztauth_cli.ledger.versions import evaluated_version

        version = evaluated_version(ledger, rev=rev)
    return Evaluator.from_ledger(
        ledger,
        extra_keys=extra_keys,
        # DESIGN.md: eval verifies required signatures first (the one gate, shared with test).
        unverified_reason=unverified_reason(ledger, now=now, pin=pin),
        revision=ledger.revision,
        version=version,
    )


def _items(request: Any) -> list[Any]:
    """The evaluated items of a request (batch items merged with the top level), for audit."""
    from ztauth_cli.engine.request import RequestProblem, expand_evaluations

    try:
        return expand_evaluations(request)[0]
    except RequestProblem:
        return [request]


def _decision_ids(count: int) -> list[str]:
    """``count`` fresh ids, one per decision: the response's ``context.id`` and its audit
    line's ``id``. Each is what ``uuid.uuid4().hex`` gives (random, version 4, RFC 4122
    variant), drawn from one read of the system's random source for all of them."""
    import os

    data = os.urandom(16 * count)
    return [
        f"{int.from_bytes(data[i : i + 16], 'big') & _UUID4_CLEAR | _UUID4_SET:032x}"
        for i in range(0, 16 * count, 16)
    ]


# uuid.UUID(version=4): the variant bits set to RFC 4122 (10xx), the version nibble to 4.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def _audit_entries(
    requests: Sequence[Any],
    decisions: Sequence[Decision],
    *,
    ids: Sequence[str],
    now: datetime,
) -> list[Any]:
    from ztauth_cli.audit import entry_from_decision

    # Every decision gets its line: a decision without a request of its own (more decisions
    # than items) is logged with the last request known, never dropped.
    fallback: Any = requests[-1] if requests else None
    entries = []
    for index, decision in enumerate(decisions):
        request = requests[index] if index < len(requests) else fallback
        logged = request if isinstance(request, Mapping) else {"invalid": request}
        entries.append(entry_from_decision(decision, logged, now=now, decision_id=ids[index]))
    return entries


def _append_audit(path: Path, entries: Sequence[Any]) -> None:
    from ztauth_cli.audit import append_decisions
    from ztauth_cli.errors import UsageError

    try:
        append_decisions(path, entries)
    except OSError as exc:
        # No decision leaves ztauth unlogged: stop here (the lines already written are logged).
        raise UsageError(f"cannot write the audit log {path}: {exc.strerror or exc}") from None


def _audit(
    path: Path | None,
    requests: Sequence[Any],
    decisions: Sequence[Decision],
    *,
    ids: Sequence[str],
    now: datetime,
) -> None:
    if path is None or not decisions:
        return
    _append_audit(path, _audit_entries(requests, decisions, ids=ids, now=now))


def _run_stream(
    evaluator: Evaluator,
    lines: Iterable[_Line],
    *,
    now: datetime,
    fmt: OutputFormat,
    out: TextIO,
    audit_log: Path | None,
) -> tuple[int, int]:
    """Evaluate a JSON Lines stream chunk by chunk; ``(allowed, denied)`` decisions.

    Every non-blank line is decided: a line that is not a request is that line's
    ``invalid_request``. Each chunk is audited before its responses are written; the
    responses are written in input order, a chunk at a time (memory stays bounded).
    """
    from ztauth_cli.engine import request_id_of

    allowed = denied = 0
    chunk: list[_Line] = []

    def flush() -> None:
        nonlocal allowed, denied
        results = _evaluate_chunk(evaluator, chunk, now=now)
        chunk.clear()
        fresh = iter(_decision_ids(sum(len(r[1]) for r in results)))
        ids = [[next(fresh) for _ in decisions] for _, decisions, _, _ in results]
        if audit_log is not None:
            entries = [
                entry
                for (_, decisions, _, items), line_ids in zip(results, ids, strict=True)
                for entry in _audit_entries(items, decisions, ids=line_ids, now=now)
            ]
            if entries:
                _append_audit(audit_log, entries)
        written: list[str] = []
        for (number, decisions, batch, items), line_ids in zip(results, ids, strict=True):
            for decision in decisions:
                if decision.allowed:
                    allowed += 1
                else:
                    denied += 1
            # The request's own request_id (batch items inherit it) is echoed on its line, so
            # a consumer can match responses to requests without relying on line order.
            request_id = request_id_of(items[0]) if items else None
            written.append(
                _line_text(
                    number, decisions, batch=batch, fmt=fmt, ids=line_ids, request_id=request_id
                )
            )
        out.write("".join(written))

    for line in lines:
        if line.problem is None and not line.text.strip():
            continue
        chunk.append(line)
        if len(chunk) >= _STREAM_CHUNK:
            flush()
    if chunk:
        flush()
    return allowed, denied


def _evaluate_chunk(
    evaluator: Evaluator, chunk: Sequence[_Line], *, now: datetime
) -> list[tuple[int, tuple[Decision, ...], bool, list[Any]]]:
    """Plain requests of a chunk go to the engine together (one Cedar batch call)."""
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.ledger.yaml import parse_json

    parsed: list[tuple[_Line, Any, str | None]] = []
    for line in chunk:
        if line.problem is not None:
            parsed.append((line, None, f"line {line.number}: {line.problem}"))
            continue
        try:
            # The same JSON reader as a .json request file: one request, one decision.
            parsed.append((line, parse_json(line.text, "<line>"), None))
        except DocumentError as exc:
            parsed.append((line, None, f"line {line.number}: {exc.message}"))
    plain = [
        r for _, r, e in parsed if e is None and isinstance(r, dict) and "evaluations" not in r
    ]
    decided = iter(evaluator.evaluate_many(plain, now=now))
    results: list[tuple[int, tuple[Decision, ...], bool, list[Any]]] = []
    for line, request, error in parsed:
        number = line.number
        if error is not None:
            # Never a request, still a decision: denied, and logged with the line's text.
            invalid = {"invalid": line.text}
            results.append((number, (evaluator.invalid_request(error),), False, [invalid]))
        elif isinstance(request, dict) and "evaluations" not in request:
            results.append((number, (next(decided),), False, [request]))
        else:
            decisions, batch = evaluator.evaluate_batch(request, now=now)
            results.append((number, decisions, batch, _items(request)))
    return results


# ----------------------------------------------------------------------------- outputs


def _write(
    decisions: Sequence[Decision],
    *,
    batch: bool,
    fmt: OutputFormat,
    explain: bool,
    request: Any,
    out: TextIO,
    ids: Sequence[str],
) -> None:
    from ztauth_cli.engine import authzen_response, request_id_of

    if fmt is OutputFormat.JSON:
        response = authzen_response(
            decisions, batch=batch, ids=ids, request_id=request_id_of(request)
        )
        out.write(json.dumps(response, indent=2) + "\n")
        return
    _render_text(decisions, request=request, explain=explain, out=out)


def _line_text(
    number: int,
    decisions: Sequence[Decision],
    *,
    batch: bool,
    fmt: OutputFormat,
    ids: Sequence[str],
    request_id: str | int | None,
) -> str:
    from ztauth_cli.engine import response_line

    if fmt is OutputFormat.JSON:
        return response_line(decisions, batch=batch, ids=ids, request_id=request_id) + "\n"
    text = []
    for index, decision in enumerate(decisions):
        where = f"line {number}" + (f"[{index}]" if batch else "")
        verdict = "ALLOW" if decision.allowed else "DENY "
        text.append(f"{where}: {verdict} {decision.code.value}: {decision.message}\n")
    return "".join(text)


def _describe(request: Any) -> str:
    if not isinstance(request, Mapping):
        return "request"
    try:
        subject = request["subject"]
        resource = request["resource"]
        action = request["action"]["name"]
        text = (
            f"{subject['type']}::{json.dumps(subject['id'])} {action} "
            f"{resource['type']}::{json.dumps(resource['id'])}"
        )
    except (KeyError, TypeError):
        return "request"
    model = request.get("authorization_model")
    principal = model.get("principal") if isinstance(model, Mapping) else None
    if isinstance(principal, Mapping) and "id" in principal:
        text += f" (actor {principal['id']})"
    return text


def _render_text(
    decisions: Sequence[Decision], *, request: Any, explain: bool, out: TextIO
) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from ztauth_cli.engine.request import RequestProblem, expand_evaluations
    from ztauth_cli.report.console import make_console

    console = make_console(out)
    try:
        items = expand_evaluations(request)[0]
    except RequestProblem:
        items = [request]
    for index, decision in enumerate(decisions):
        item = items[index] if index < len(items) else request
        verdict = "[bold green]ALLOW[/]" if decision.allowed else "[bold red]DENY[/]"
        prefix = f"[{index}] " if len(decisions) > 1 else ""
        console.print(f"{prefix}{verdict} {escape(_describe(item))}")
        console.print(f"  reason: {decision.code.value}: {escape(decision.message)}")
        if decision.via is not None:
            console.print(f"  via: {escape(decision.via)}")
        if decision.policies:
            console.print(f"  policies: {escape(', '.join(decision.policies))}")
        where = decision.ledger or "?"
        if decision.revision is not None:
            where += f" @ {decision.revision[:12]}"
        if decision.version is not None:
            where += f" ({decision.version})"
        console.print(f"  ledger: {escape(where)}")
        if explain:
            tree = Tree("trace")
            _add_steps(tree, decision.trace, escape)
            # Wrap long details inside the tree rather than cropping them.
            console.print(tree, soft_wrap=False)


def _add_steps(tree: Any, steps: Sequence[TraceStep], escape: Any) -> None:
    for step in steps:
        mark = "[green]pass[/]" if step.passed else "[red]FAIL[/]"
        branch = tree.add(f"{mark} {step.step.value}: {escape(step.detail)}")
        if step.children:
            _add_steps(branch, step.children, escape)
