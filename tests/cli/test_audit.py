"""`ztauth audit verify|show` on real logs written by ztauth_cli.audit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.schemas import report_body
from ztauth_cli import audit
from ztauth_cli.cli.main import app
from ztauth_cli.model.decision import Decision, ReasonCode

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def _log(path: Path, count: int) -> Path:
    entries = []
    for i in range(count):
        allowed = i % 2 == 0
        decision = Decision(
            allowed=allowed,
            code=ReasonCode.ALLOWED if allowed else ReasonCode.CONSENT_REQUIRED,
            message="m",
            user_message="m",
            via="delegation/alice-assistant-read" if allowed else None,
            policies=("owner-can-read",) if allowed else (),
            trace=(),
        )
        request = {
            "subject": {"type": "User", "id": "alice"},
            "action": {"name": f"read{i}"},
            "resource": {"type": "Document", "id": "q3-report"},
            "authorization_model": {
                "principal": {"type": "Workload", "id": "spiffe://acme.internal/assistant/chat"}
            },
        }
        entries.append(audit.entry_from_decision(decision, request, now=NOW))
    audit.append_decisions(path, entries)
    return path


def test_verify_ok(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 6)
    result = runner.invoke(app, ["audit", "verify", str(log)])
    assert result.exit_code == 0
    head = audit.verify_log(log).head
    assert result.stdout == f"ok: {log}: 6 lines, chain intact, head {head}\n"
    result = runner.invoke(app, ["audit", "verify", str(log), "--format", "json"])
    assert result.exit_code == 0
    assert report_body(json.loads(result.stdout), "ztauth audit verify") == {
        "ok": True,
        "lines": 6,
        "first_broken_line": None,
        "reason": None,
        "head": head,
    }


def test_verify_tampered_exit_1(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 8)
    lines = log.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b'"decision":true', b'"decision":false')
    log.write_bytes(b"\n".join(lines))
    result = runner.invoke(app, ["audit", "verify", str(log), "--format", "json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    # Line 5 was edited; only line 6 can reveal it, so lines 1-4 are the ones vouched for.
    assert (out["ok"], out["lines"], out["first_broken_line"]) == (False, 4, 6)
    assert out["head"] == hashlib.sha256(lines[3]).hexdigest()
    result = runner.invoke(app, ["audit", "verify", str(log)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"broken: {log}:6: line 6 does not chain to line 5")
    assert "lines 1-4 are intact" in result.stdout


def test_verify_incomplete_last_line(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 3)
    log.write_bytes(log.read_bytes()[:-10])
    result = runner.invoke(app, ["audit", "verify", str(log)])
    assert result.exit_code == 1
    assert f"{log}:3: incomplete last line (crash during append)" in result.stdout


def test_show_text_table(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 3)
    result = runner.invoke(app, ["audit", "show", str(log), "--limit", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "seq",
        "time",
        "decision",
        "code",
        "subject",
        "actor",
        "action",
        "resource",
        "via",
        "policies",
    ]
    assert lines[1].split() == [
        "2",
        "2026-06-01T12:00:00Z",
        "deny",
        "consent_required",
        'User::"alice"',
        'Workload::"spiffe://acme.internal/assistant/chat"',
        "read1",
        'Document::"q3-report"',
    ]
    assert lines[2].split()[:3] == ["3", "2026-06-01T12:00:00Z", "allow"]
    assert lines[2].split()[-2:] == ["delegation/alice-assistant-read", "owner-can-read"]
    assert lines[3] == f"{log}: 2 entries"


def test_show_json(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 4)
    result = runner.invoke(app, ["audit", "show", str(log), "--format", "json", "-n", "1"])
    assert result.exit_code == 0
    entries = report_body(json.loads(result.stdout), "ztauth audit show")["entries"]
    assert [e["seq"] for e in entries] == [4]
    assert entries[0]["request"]["action"] == {"name": "read3"}


@pytest.mark.parametrize("command", ["verify", "show"])
def test_missing_file_exit_2(runner: CliRunner, tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, ["audit", command, str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'nope.jsonl'}:1:1: cannot read")


def test_show_garbage_line_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 2)
    log.write_bytes(log.read_bytes() + b"oops\n")
    result = runner.invoke(app, ["audit", "show", str(log)])
    assert result.exit_code == 2
    assert f"{log}:3:1: not a JSON object" in result.stderr


def test_unsupported_format_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 1)
    result = runner.invoke(app, ["audit", "verify", str(log), "--format", "sarif"])
    assert result.exit_code == 2
    assert "does not support --format sarif" in result.stderr


def test_verify_names_the_head_to_record(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 3)
    head = audit.verify_log(log).head
    result = runner.invoke(app, ["audit", "verify", str(log)])
    assert result.exit_code == 0
    assert result.stderr == (
        f"head: {head}  (record this value elsewhere: the last line is only protected by it)\n"
    )


def test_expect_head_pins_the_last_line(runner: CliRunner, tmp_path: Path) -> None:
    log = _log(tmp_path / "audit.jsonl", 4)
    head = audit.verify_log(log).head
    result = runner.invoke(app, ["audit", "verify", str(log), "--expect-head", head.upper()])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"ok: {log}: 4 lines")
    assert result.stderr == f"head: {head}  (matches --expect-head)\n"
    # Dropping the last line leaves a perfectly chained log: only the pinned head notices.
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))
    shorter = audit.verify_log(log)
    assert shorter.ok
    result = runner.invoke(app, ["audit", "verify", str(log), "--expect-head", head])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"broken: {log}: head {shorter.head} is not the expected {head}: lines were added or "
        "removed at the end, or the log was replaced",
        "the chain of its 3 lines is intact",
    ]
    result = runner.invoke(app, ["audit", "verify", str(log), "--expect-head", head, "-f", "json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert (out["ok"], out["lines"], out["head"], out["expected_head"]) == (
        False,
        3,
        shorter.head,
        head,
    )
    assert out["reason"].startswith(f"head {shorter.head} is not the expected {head}")


@pytest.mark.parametrize("value", ["abc", "g" * 64, ""])
def test_expect_head_must_be_a_sha256(runner: CliRunner, tmp_path: Path, value: str) -> None:
    log = _log(tmp_path / "audit.jsonl", 1)
    result = runner.invoke(app, ["audit", "verify", str(log), "--expect-head", value])
    assert result.exit_code == 2
    assert "expected the 64 hex digits of a SHA-256 head" in result.stderr


@pytest.mark.parametrize("columns", [60, 100])
def test_show_on_a_narrow_terminal_never_cuts_an_id_in_two(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    import ztauth_cli.report.console as console

    log = _log(tmp_path / "audit.jsonl", 3)
    monkeypatch.setattr(console, "plain_output", lambda stream: False)  # "a terminal"
    result = runner.invoke(app, ["audit", "show", str(log)], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    words = result.stdout.split()
    for whole in (
        'Workload::"spiffe://acme.internal/assistant/chat"',
        "delegation/alice-assistant-read",
        'Document::"q3-report"',
        "2026-06-01T12:00:00Z",
    ):
        assert whole in words
    assert "2  2026-06-01T12:00:00Z  deny  consent_required" in result.stdout


def test_show_on_a_wide_terminal_is_one_row_per_entry(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ztauth_cli.report.console as console

    log = _log(tmp_path / "audit.jsonl", 3)
    monkeypatch.setattr(console, "plain_output", lambda stream: False)
    result = runner.invoke(app, ["audit", "show", str(log)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert rows[2][-2:] == ["delegation/alice-assistant-read", "owner-can-read"]
