"""Fail closed on streams and the audit log: every line of a ``.jsonl`` stream is decided,
written and audited, whatever its neighbours hold; ``--audit-log`` never damages a file that
is not an audit log; appending stays linear in the last line; request files are JSON when
they are JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.fifo import call_unblocking
from tests.support.requests import ALICE_READS, AT, DAVE_READS
from ztauth_cli import audit
from ztauth_cli.cli.main import app

HUGE = "9" * 5000


def _eval(runner: CliRunner, *args: str, stdin: str | bytes | None = None) -> Any:
    return runner.invoke(
        app, ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, *args], input=stdin
    )


def _codes(stdout: str) -> list[str]:
    return [json.loads(line)["context"]["reason_admin"]["code"] for line in stdout.splitlines()]


def _stream(tmp_path: Path, lines: list[bytes], name: str = "s.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _good(request: dict[str, Any] = ALICE_READS) -> bytes:
    return json.dumps(request).encode()


# ----------------------------------------------------------------------------- every line


def test_one_huge_integer_line_does_not_drop_the_rest_of_the_stream(
    runner: CliRunner, tmp_path: Path
) -> None:
    # 300 lines: more than one chunk of 256, the bad one in the first chunk.
    huge = json.dumps({**ALICE_READS, "context": {"n": 0}}).replace("0}", HUGE + "}").encode()
    lines = [_good(), huge, *[_good() for _ in range(298)]]
    path = _stream(tmp_path, lines)
    log = tmp_path / "audit.jsonl"
    out = tmp_path / "out.jsonl"
    result = _eval(runner, str(path), "--audit-log", str(log), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    codes = _codes(out.read_text(encoding="utf-8"))
    assert len(codes) == 300
    assert codes[1] == "invalid_request"
    assert codes[0] == "allowed"
    assert codes[2:] == ["allowed"] * 298
    message = json.loads(out.read_text(encoding="utf-8").splitlines()[1])["context"][
        "reason_admin"
    ]["message"]
    assert message.startswith("line 2: integer too large (5000 digits")
    assert audit.verify_log(log).lines == 300
    assert [e["code"] for e in audit.read_log(log)] == codes


def test_non_utf8_line_is_denied_and_audited_and_later_lines_decided(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = _good().replace(b'"web"', b'"w\xffb"')
    path = _stream(tmp_path, [_good(), bad, _good(DAVE_READS), _good()])
    log = tmp_path / "audit.jsonl"
    result = _eval(runner, str(path), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    assert _codes(result.stdout) == ["allowed", "invalid_request", "policy_denied", "allowed"]
    reason = json.loads(result.stdout.splitlines()[1])["context"]["reason_admin"]["message"]
    column = bad.index(b"\xff") + 1
    assert reason == f"line 2: not UTF-8 (byte 0xff at column {column})"
    entries = list(audit.read_log(log))
    assert [e["code"] for e in entries] == [
        "allowed",
        "invalid_request",
        "policy_denied",
        "allowed",
    ]
    # The bad byte is kept, visibly, in the audit entry of its line.
    assert "w\\\\xffb" in json.dumps(entries[1]["request"])


def test_non_utf8_line_on_stdin_is_that_lines_deny(runner: CliRunner) -> None:
    stream = _good() + b"\n\xc3\x28\n" + _good(DAVE_READS) + b"\n"
    result = _eval(runner, "-", "--jsonl", stdin=stream)
    assert result.exit_code == 0, result.stderr
    assert _codes(result.stdout) == ["allowed", "invalid_request", "policy_denied"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "line 2: invalid JSON: Expecting property name enclosed in double quotes"),
        (b'{"subject": NaN}', "line 2: NaN and Infinity are not JSON"),
        (b'{"subject": 1e999}', "line 2: number 1e999 is out of range"),
        (b"[" * 100 + b"]" * 100, "line 2: nesting deeper than 64 levels"),
        (b"[1, 2] [3]", "line 2: invalid JSON: Extra data"),
    ],
    ids=["broken", "nan", "overflowing-float", "too-deep", "two-values"],
)
def test_broken_line_with_output_file_still_writes_every_line(
    runner: CliRunner, tmp_path: Path, line: bytes, message: str
) -> None:
    path = _stream(tmp_path, [_good(), line, _good(DAVE_READS)])
    out = tmp_path / "out.jsonl"
    log = tmp_path / "audit.jsonl"
    result = _eval(runner, str(path), "-o", str(out), "--audit-log", str(log), "--fail-on-deny")
    assert result.exit_code == 1, result.stderr
    responses = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["context"]["reason_admin"]["code"] for r in responses] == [
        "allowed",
        "invalid_request",
        "policy_denied",
    ]
    assert responses[1]["context"]["reason_admin"]["message"] == message
    assert audit.verify_log(log).lines == 3


def test_line_longer_than_the_request_limit_is_denied_without_reading_it_whole(
    runner: CliRunner, tmp_path: Path
) -> None:
    long = b'{"x": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    path = _stream(tmp_path, [long, _good()])
    result = _eval(runner, str(path))
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    assert first["context"]["reason_admin"] == {
        "code": "invalid_request",
        "message": "line 1: longer than 10485760 bytes",
    }
    assert second["decision"] is True


# ----------------------------------------------------------------------------- audit


def test_malformed_line_is_audited(runner: CliRunner, tmp_path: Path) -> None:
    path = _stream(tmp_path, [b"{not json", b'"a string"', _good()])
    log = tmp_path / "audit.jsonl"
    result = _eval(runner, str(path), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    entries = list(audit.read_log(log))
    assert [(e["seq"], e["code"], e["request"]) for e in entries[:2]] == [
        (1, "invalid_request", {"invalid": "{not json"}),
        (2, "invalid_request", {"invalid": "a string"}),
    ]
    assert entries[2]["code"] == "allowed"
    assert audit.verify_log(log).ok


def _entry_line(seq: int, prev: str, request: dict[str, Any]) -> bytes:
    obj = {
        "code": "allowed",
        "decision": True,
        "ledger": None,
        "policies": [],
        "prev": prev,
        "request": request,
        "request_digest": audit.request_digest(request),
        "revision": None,
        "seq": seq,
        "time": "2026-06-01T12:00:00Z",
        "version": None,
        "via": None,
    }
    return audit.canonical_json(obj)


@pytest.fixture
def bytes_read_from(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the bytes read from the file registered under ``"inode"`` (os.read and pread)."""
    counter = {"inode": -1, "bytes": 0}
    real_pread, real_read = os.pread, os.read

    def is_log(fd: int) -> bool:
        try:
            return os.fstat(fd).st_ino == counter["inode"]
        except OSError:
            return False

    def pread(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        if is_log(fd):
            counter["bytes"] += len(data)
        return data

    def read(fd: int, size: int) -> bytes:
        data = real_read(fd, size)
        if is_log(fd):
            counter["bytes"] += len(data)
        return data

    monkeypatch.setattr(os, "pread", pread)
    monkeypatch.setattr(os, "read", read)
    return counter


def test_audit_append_after_20mb_line_is_linear(
    runner: CliRunner, tmp_path: Path, bytes_read_from: dict[str, int]
) -> None:
    """Appending reads the last line once, whatever its length: the old reader re-read it
    and rescanned a growing buffer every 4 KiB (19 minutes holding the lock after 20 MB)."""
    log = tmp_path / "audit.jsonl"
    first = _entry_line(1, audit.GENESIS, ALICE_READS)
    big = {**ALICE_READS, "context": {"blob": "x" * (20 * 1024 * 1024)}}
    second = _entry_line(2, hashlib.sha256(first).hexdigest(), big)
    log.write_bytes(first + b"\n" + second + b"\n")
    bytes_read_from["inode"] = log.stat().st_ino
    request = tmp_path / "r.json"
    request.write_text(json.dumps(ALICE_READS), encoding="utf-8")
    result = _eval(runner, str(request), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    assert len(second) > 20 * 1024 * 1024
    assert bytes_read_from["bytes"] <= len(second) + 256 * 1024
    assert audit.verify_log(log).lines == 3


def test_oversized_request_is_stored_as_digest_and_truncated_copy(
    runner: CliRunner, tmp_path: Path
) -> None:
    request = {**ALICE_READS, "context": {"channel": "web", "blob": "y" * 500_000}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    log = tmp_path / "audit.jsonl"
    result = _eval(runner, str(path), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    line = log.read_bytes()
    assert len(line) < audit.MAX_REQUEST_BYTES + 8 * 1024
    (entry,) = audit.read_log(log)
    full = audit.canonical_json(request)
    assert entry["request_digest"] == hashlib.sha256(full).hexdigest()
    assert entry["request_truncated"] == {
        "bytes": len(full),
        "excerpt": full[: audit.EXCERPT_BYTES].decode("ascii"),
    }
    # Who asked what stays readable in the log.
    assert entry["request"] == {
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
        "subject": {"type": "User", "id": "alice"},
    }
    assert audit.verify_log(log).ok
    shown = runner.invoke(app, ["audit", "show", str(log)])
    assert 'User::"alice"' in shown.stdout


def test_a_truncated_request_cannot_pass_for_the_whole_one(tmp_path: Path) -> None:
    """verify flags a truncated entry whose excerpt or size was edited to look complete."""
    request = {**ALICE_READS, "context": {"blob": "z" * 200_000}}
    from ztauth_cli.model.decision import Decision, ReasonCode

    decision = Decision(
        allowed=False,
        code=ReasonCode.POLICY_DENIED,
        message="m",
        user_message="m",
        via=None,
        policies=(),
        trace=(),
    )
    from datetime import datetime, timezone

    entry = audit.entry_from_decision(decision, request, now=datetime.now(timezone.utc))
    log = tmp_path / "audit.jsonl"
    audit.append_decisions(log, [entry])
    obj = json.loads(log.read_bytes())
    obj["request_truncated"]["bytes"] = 10
    log.write_bytes(audit.canonical_json(obj) + b"\n")
    result = audit.verify_log(log)
    assert (result.ok, result.first_broken_line) == (False, 1)
    assert result.reason == "line 1: request_truncated does not describe a truncated request"


def _log_with(tmp_path: Path, count: int) -> Path:
    log = tmp_path / "audit.jsonl"
    request = tmp_path / "r.jsonl"
    request.write_text((json.dumps(ALICE_READS) + "\n") * count, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, str(request), "--audit-log", str(log)],
    )
    assert result.exit_code == 0, result.stderr
    return log


@pytest.mark.parametrize(
    "content",
    [
        b"my notes, no final newline",
        b"one line of notes\n",
        b"first line\nsecond line without newline",
        json.dumps(ALICE_READS).encode() + b"\n" + json.dumps(DAVE_READS).encode() + b"\n",
        b'{"seq": 1, "prev": "' + b"0" * 64 + b'"}\n',
        b"\n",
    ],
    ids=["no-newline", "one-line", "partial-last-line", "requests-jsonl", "not-canonical", "blank"],
)
def test_audit_log_option_refuses_a_file_that_is_not_an_audit_log_and_leaves_it_untouched(
    runner: CliRunner, tmp_path: Path, content: bytes
) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(content)
    out = tmp_path / "out.json"
    request = SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"
    result = _eval(runner, str(request), "--audit-log", str(target), "-o", str(out))
    assert result.exit_code == 2
    assert f"{target}" in result.stderr
    assert "is not an audit log" in result.stderr
    assert target.read_bytes() == content
    assert not out.exists()
    assert result.stdout == ""


def test_a_stream_is_refused_before_its_first_line_is_printed(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "requests.jsonl"
    target.write_bytes(_good() + b"\n")
    stream = _stream(tmp_path, [_good(), _good()], name="in.jsonl")
    result = _eval(runner, str(stream), "--audit-log", str(target))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert target.read_bytes() == _good() + b"\n"


def test_crash_truncated_last_line_of_a_real_audit_log_is_still_recovered(
    runner: CliRunner, tmp_path: Path
) -> None:
    log = _log_with(tmp_path, 3)
    data = log.read_bytes()
    log.write_bytes(data[:-50])  # a crash while writing line 3
    assert audit.verify_log(log).reason == "incomplete last line (crash during append)"
    request = SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"
    result = _eval(runner, str(request), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    check = audit.verify_log(log)
    assert (check.ok, check.lines) == (True, 3)


def test_crash_during_the_first_append_is_recovered(runner: CliRunner, tmp_path: Path) -> None:
    log = _log_with(tmp_path, 1)
    log.write_bytes(log.read_bytes()[:30])  # the first line, cut short
    request = SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"
    result = _eval(runner, str(request), "--audit-log", str(log))
    assert result.exit_code == 0, result.stderr
    assert audit.verify_log(log).lines == 1


def test_audit_log_that_is_a_fifo_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    request = SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"
    result = call_unblocking(
        lambda: _eval(CliRunner(), str(request), "--audit-log", str(fifo)), fifo=fifo
    )
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)


# ----------------------------------------------------------------------------- JSON files


def test_json_request_file_keeps_1e5_as_a_number_like_jsonl(
    runner: CliRunner, tmp_path: Path
) -> None:
    """Read as YAML 1.1, ``1e5`` was the string "1e5": the .json file was allowed, the same
    line in a .jsonl stream denied."""
    text = json.dumps(ALICE_READS).replace('"web"', "1e5")
    decided = {}
    logs = {}
    for name in ("r.json", "r.jsonl"):
        path = tmp_path / name
        path.write_text(text + "\n", encoding="utf-8")
        logs[name] = tmp_path / f"{name}.audit"
        result = _eval(runner, str(path), "-f", "json", "--audit-log", str(logs[name]))
        assert result.exit_code == 0, result.stderr
        reason = json.loads(result.stdout)["context"]["reason_admin"]
        decided[name] = reason["code"]
    assert decided["r.json"] == decided["r.jsonl"] == "invalid_request"
    for log in logs.values():
        (entry,) = audit.read_log(log)
        assert entry["request"]["context"]["channel"] == 100000.0


def test_json_request_on_stdin_is_read_as_json(runner: CliRunner) -> None:
    text = json.dumps(ALICE_READS).replace('"web"', "1e5")
    result = _eval(runner, "-", "-f", "json", stdin=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["context"]["reason_admin"]["code"] == "invalid_request"


def test_json_request_file_accepts_surrogate_pair_escapes(
    runner: CliRunner, tmp_path: Path
) -> None:
    text = json.dumps(ALICE_READS).replace('"web"', '"\\ud83d\\ude00"')
    for name in ("r.json", "r.jsonl"):
        path = tmp_path / name
        path.write_text(text + "\n", encoding="utf-8")
        result = _eval(runner, str(path), "-f", "json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["decision"] is True


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            '{"subject": {"type": "User"},\n "action": {"name": "read"},\n "action": {}}',
            "3:2",
            "duplicate key 'action'",
        ),
        ('{\n  "context": {"n": NaN}}', "2:20", "NaN and Infinity are not JSON"),
        ('{\n  "context": {"n": -Infinity}}', "2:20", "NaN and Infinity are not JSON"),
        ('{"context":\n {"n": ' + HUGE + "}}", "2:8", "integer too large (5000 digits"),
        ('{"a": 2e400}', "1:7", "number 2e400 is out of range"),
        ("[" * 70 + "]" * 70, "1:66", "nesting deeper than 64 levels"),
        ('{"subject": }', "1:13", "invalid JSON: Expecting value"),
    ],
    ids=["duplicate", "nan", "infinity", "huge-int", "float-overflow", "too-deep", "syntax"],
)
def test_json_request_file_errors_name_file_line_and_column(
    runner: CliRunner, tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    result = _eval(runner, str(path))
    assert result.exit_code == 2
    assert f"{path}:{where}: {message}" in result.stderr
    assert "internal error" not in result.stderr


def test_policy_diff_replays_a_log_with_malformed_lines_and_refuses_truncated_requests(
    runner: CliRunner, sample_repo: Any, tmp_path: Path
) -> None:
    """Malformed lines are now logged: replaying the log skips them (every ledger denies them
    alike); a request the log kept only truncated is refused, never replayed as its summary."""
    stream = _stream(tmp_path, [b"{not json", _good()])
    log = tmp_path / "audit.jsonl"
    args = ["--ledger", str(sample_repo.root), "--at", AT]
    result = runner.invoke(app, ["eval", str(stream), "--audit-log", str(log), *args])
    assert result.exit_code == 0, result.stderr
    diff = runner.invoke(
        app, ["policy", "diff", "HEAD", "--requests", str(log), "-f", "json", *args]
    )
    assert diff.exit_code == 0, diff.stderr
    big = tmp_path / "big.json"
    big.write_text(
        json.dumps({**ALICE_READS, "context": {"blob": "b" * 100_000}}), encoding="utf-8"
    )
    result = runner.invoke(app, ["eval", str(big), "--audit-log", str(log), *args])
    assert result.exit_code == 0, result.stderr
    diff = runner.invoke(app, ["policy", "diff", "HEAD", "--requests", str(log), *args])
    assert diff.exit_code == 2
    assert f"{log.as_posix()}:3:1: this audit entry holds a truncated copy" in diff.stderr


_GARBAGE_STARTS = (b"{", b"[", b"\xff", b"9" * 5000, b"NaN", b"[" * 80, b'{"a": 1, "a": 2}')


@settings(max_examples=20)
@given(
    st.lists(
        st.one_of(
            st.just(None),  # a good request
            st.tuples(
                st.sampled_from(_GARBAGE_STARTS),
                st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
            ),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_line_of_any_stream_is_decided_written_and_audited(
    lines: list[tuple[bytes, bytes] | None],
) -> None:
    """Whatever the bad lines hold, each line gets exactly one response and one audit line,
    in order; the good lines are allowed, the bad ones denied."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ztauth-stream-") as folder:
        log = Path(folder) / "audit.jsonl"
        data = b"".join((_good() if x is None else x[0] + x[1]) + b"\n" for x in lines)
        args = ["--ledger", str(SAMPLE_LEDGER), "--at", AT, "--audit-log", str(log)]
        result = CliRunner().invoke(app, ["eval", "--jsonl", "-", *args], input=data)
        assert result.exit_code == 0, result.stderr
        decided = [json.loads(line)["decision"] for line in result.stdout.splitlines()]
        assert decided == [x is None for x in lines]
        assert [e["decision"] for e in audit.read_log(log)] == decided
        assert audit.verify_log(log).ok
