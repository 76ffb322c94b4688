"""audit.py: the hash-chained decision log, with real files and real processes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ztauth_cli import audit
from ztauth_cli.errors import DocumentError
from ztauth_cli.model.decision import Decision, ReasonCode

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
REPO_ROOT = Path(__file__).resolve().parent.parent


def _decision(*, allowed: bool = True) -> Decision:
    return Decision(
        allowed=allowed,
        code=ReasonCode.ALLOWED if allowed else ReasonCode.POLICY_DENIED,
        message="ok" if allowed else "denied",
        user_message="ok" if allowed else "denied",
        via="delegation/alice-assistant-read" if allowed else None,
        policies=("owner-can-read", "a-first") if allowed else (),
        trace=(),
        ledger="ztauth://acme.internal/273165098782/ledgers/payments",
        revision="0" * 40,
        version="v1.0.0",
    )


def _request(i: int = 0) -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": f"user-{i}"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
    }


def _write(path: Path, count: int) -> None:
    entries = [
        audit.entry_from_decision(_decision(allowed=i % 2 == 0), _request(i), now=NOW)
        for i in range(count)
    ]
    audit.append_decisions(path, entries)


def test_entry_from_decision() -> None:
    entry = audit.entry_from_decision(_decision(), _request(), now=NOW)
    canonical = json.dumps(_request(), sort_keys=True, separators=(",", ":")).encode()
    assert entry.to_json() == {
        "time": "2026-06-01T12:00:00Z",
        "request_digest": hashlib.sha256(canonical).hexdigest(),
        "request": _request(),
        "ledger": "ztauth://acme.internal/273165098782/ledgers/payments",
        "revision": "0" * 40,
        "version": "v1.0.0",
        "decision": True,
        "code": "allowed",
        "via": "delegation/alice-assistant-read",
        "policies": ["a-first", "owner-can-read"],
    }


def test_tokens_are_redacted_but_digest_covers_them(tmp_path: Path) -> None:
    request = {
        **_request(),
        "authorization_model": {
            "tokens": {"txn": "aaa.bbb.ccc"},
            "chain": [{"principal": {"type": "Workload", "id": "w"}, "tokens": {"txn": "x.y.z"}}],
        },
    }
    entry = audit.entry_from_decision(_decision(), request, now=NOW)
    model = entry.request["authorization_model"]
    token_digest = hashlib.sha256(b"aaa.bbb.ccc").hexdigest()
    assert model["tokens"] == {"txn": f"redacted:sha256:{token_digest}"}
    assert model["chain"][0]["tokens"]["txn"].startswith("redacted:sha256:")
    assert entry.request_digest == audit.request_digest(request)
    log = tmp_path / "audit.jsonl"
    audit.append_decisions(log, [entry])
    assert "aaa.bbb.ccc" not in log.read_text()
    assert audit.verify_log(log).ok


def test_chain_format(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 2)
    _write(log, 1)
    raw = log.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    assert len(lines) == 3
    objs = [json.loads(line) for line in lines]
    assert [o["seq"] for o in objs] == [1, 2, 3]
    assert objs[0]["prev"] == "0" * 64
    assert objs[1]["prev"] == hashlib.sha256(lines[0]).hexdigest()
    assert objs[2]["prev"] == hashlib.sha256(lines[1]).hexdigest()
    for line, obj in zip(lines, objs, strict=True):
        assert line == json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    assert log.stat().st_mode & 0o777 == 0o600
    result = audit.verify_log(log)
    assert result.to_json() == {
        "ok": True,
        "lines": 3,
        "first_broken_line": None,
        "reason": None,
        "head": hashlib.sha256(lines[2]).hexdigest(),
    }
    assert [e["seq"] for e in audit.read_log(log)] == [1, 2, 3]


def test_empty_log_verifies(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_bytes(b"")
    assert audit.verify_log(log).to_json() == {
        "ok": True,
        "lines": 0,
        "first_broken_line": None,
        "reason": None,
        "head": "0" * 64,
    }


def _lines(log: Path) -> list[bytes]:
    return log.read_bytes().split(b"\n")[:-1]


def _save(log: Path, lines: list[bytes]) -> None:
    log.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.mark.parametrize("offset", [0, 5, 40, 120, -30, -3])
def test_one_byte_edit_in_line_5_is_found(tmp_path: Path, offset: int) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 10)
    lines = _lines(log)
    line = bytearray(lines[4])
    position = offset % len(line)
    line[position] = ord("X") if line[position] != ord("X") else ord("Y")
    lines[4] = bytes(line)
    _save(log, lines)
    result = audit.verify_log(log)
    assert not result.ok
    assert result.first_broken_line in (5, 6)
    assert result.reason is not None
    assert f"line {result.first_broken_line}" in result.reason


def test_edit_of_a_value_inside_line_5_is_found_at_line_6(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 10)
    lines = _lines(log)
    obj = json.loads(lines[4])
    obj["code"] = "allowed" if obj["code"] != "allowed" else "policy_denied"
    lines[4] = audit.canonical_json(obj)
    _save(log, lines)
    result = audit.verify_log(log)
    assert (result.ok, result.lines, result.first_broken_line) == (False, 4, 6)
    assert result.head == hashlib.sha256(lines[3]).hexdigest()
    assert result.reason is not None
    assert result.reason.startswith("line 6 does not chain to line 5")


def test_deleted_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 10)
    lines = _lines(log)
    del lines[4]
    _save(log, lines)
    result = audit.verify_log(log)
    assert (result.ok, result.first_broken_line) == (False, 5)
    assert result.reason == (
        "line 5 has seq 6, expected 5: a line was deleted, inserted or reordered"
    )


def test_reordered_lines(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 10)
    lines = _lines(log)
    lines[2], lines[3] = lines[3], lines[2]
    _save(log, lines)
    result = audit.verify_log(log)
    assert (result.ok, result.first_broken_line) == (False, 3)


def test_first_line_removed_and_renumbered_is_found(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 3)
    objs = [json.loads(line) for line in _lines(log)[1:]]
    for i, obj in enumerate(objs, start=1):
        obj["seq"] = i
    _save(log, [audit.canonical_json(o) for o in objs])
    result = audit.verify_log(log)
    assert (result.ok, result.first_broken_line) == (False, 1)


def test_edit_of_request_in_last_line_is_found(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 3)
    lines = _lines(log)
    obj = json.loads(lines[2])
    obj["request"]["subject"]["id"] = "mallory"
    lines[2] = audit.canonical_json(obj)
    _save(log, lines)
    result = audit.verify_log(log)
    assert (result.first_broken_line, result.reason) == (
        3,
        "line 3: request_digest does not match its request",
    )


def test_truncated_last_line_is_reported_then_repaired_by_append(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 5)
    data = log.read_bytes()
    log.write_bytes(data[:-40])  # a crash in the middle of writing line 5
    result = audit.verify_log(log)
    assert (result.ok, result.lines, result.first_broken_line) == (False, 4, 5)
    assert result.reason == "incomplete last line (crash during append)"
    assert [e["seq"] for e in audit.read_log(log)] == [1, 2, 3, 4]
    # The partial line was never acknowledged: the next append cuts it away and chains on.
    _write(log, 2)
    result = audit.verify_log(log)
    assert (result.ok, result.lines) == (True, 6)


def test_partial_first_line_is_replaced(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 1)
    log.write_bytes(log.read_bytes()[:25])  # a crash while writing the first line
    _write(log, 1)
    assert audit.verify_log(log).lines == 1


@pytest.mark.parametrize(
    "content", [b"notes", b'{"seq":1,"pre', b"\n"], ids=["text", "not-an-entry-start", "blank"]
)
def test_a_partial_line_that_no_append_could_have_left_is_refused(
    tmp_path: Path, content: bytes
) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_bytes(content)
    with pytest.raises(DocumentError, match="this file is not an audit log"):
        _write(log, 1)
    assert log.read_bytes() == content


def test_refuses_to_chain_onto_garbage(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    log.write_bytes(b"hello\n")
    with pytest.raises(DocumentError, match="not a log entry; refusing to append"):
        _write(log, 1)
    assert log.read_bytes() == b"hello\n"


def test_long_lines_chain_across_read_chunks(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    big = {**_request(), "context": {"blob": "x" * 10_000}}
    entry = audit.entry_from_decision(_decision(), big, now=NOW)
    audit.append_decisions(log, [entry, entry])
    audit.append_decisions(log, [entry])
    assert audit.verify_log(log).to_json()["lines"] == 3
    assert audit.verify_log(log).ok


def test_read_log_reports_bad_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    _write(log, 2)
    log.write_bytes(log.read_bytes() + b"[1]\n")
    with pytest.raises(DocumentError, match=r"audit.jsonl:3:1: not a JSON object"):
        list(audit.read_log(log))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read the audit log"):
        audit.verify_log(tmp_path / "nope.jsonl")


_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from ztauth_cli import audit
    from ztauth_cli.model.decision import Decision, ReasonCode

    log, name = Path(sys.argv[1]), sys.argv[2]
    decision = Decision(allowed=True, code=ReasonCode.ALLOWED, message="ok",
                        user_message="ok", via=None, policies=(), trace=())
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    for i in range(200):
        request = {"subject": {"type": "User", "id": name}, "action": {"name": str(i)}}
        audit.append_decisions(log, [audit.entry_from_decision(decision, request, now=now)])
    """
)


def test_two_processes_append_concurrently(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(log), name], cwd=REPO_ROOT)
        for name in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    result = audit.verify_log(log)
    assert (result.ok, result.lines) == (True, 400)
    entries = list(audit.read_log(log))
    for name in ("a", "b"):
        mine = [
            e["request"]["action"]["name"] for e in entries if e["request"]["subject"]["id"] == name
        ]
        assert mine == [str(i) for i in range(200)]


def test_non_json_values_are_recorded_as_text(tmp_path: Path) -> None:
    request = {**_request(), "context": {"n": float("nan"), "big": float("inf"), "t": (1, 2)}}
    entry = audit.entry_from_decision(_decision(), request, now=NOW)
    assert entry.request["context"] == {"n": "nan", "big": "inf", "t": [1, 2]}
    log = tmp_path / "audit.jsonl"
    audit.append_decisions(log, [entry])
    assert audit.verify_log(log).ok


@pytest.fixture(scope="module")
def pristine_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    log = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    _write(log, 6)
    return log.read_bytes()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_byte_edit_before_the_last_line_is_detected(
    pristine_log: bytes, data: st.DataObject
) -> None:
    # Any change to a line that has a successor changes the hash its successor recorded.
    last_line_start = pristine_log.rstrip(b"\n").rfind(b"\n") + 1
    position = data.draw(st.integers(min_value=0, max_value=last_line_start - 1))
    new = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda b: b != pristine_log[position])
    )
    tampered = bytearray(pristine_log)
    tampered[position] = new
    folder = Path(tempfile.mkdtemp())
    try:
        log = folder / "audit.jsonl"
        log.write_bytes(bytes(tampered))
        result = audit.verify_log(log)
    finally:
        shutil.rmtree(folder)
    assert not result.ok
    line = pristine_log[:position].count(b"\n") + 1
    assert result.first_broken_line in (line, line + 1)
