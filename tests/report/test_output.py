"""Atomic result files and the plain-text console rule."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from ztauth_cli.report.console import make_console, plain_output
from ztauth_cli.report.output import atomic_write, write_result


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "adir", "x")  # the rename fails after the temp file was written
    assert [p.name for p in tmp_path.iterdir()] == ["adir"]
    assert list((tmp_path / "adir").iterdir()) == []


def test_write_result_to_stream_or_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    write_result("hello\n", None, stream=stream)
    assert stream.getvalue() == "hello\n"
    write_result("file\n", tmp_path / "o.txt", stream=stream)
    assert (tmp_path / "o.txt").read_text() == "file\n"
    assert stream.getvalue() == "hello\n"


def test_plain_output_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert plain_output(io.StringIO())
    assert not plain_output(_Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert plain_output(_Tty())


def test_console_on_a_terminal_colours_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = _Tty()
    make_console(tty).print("[red]x[/]")
    assert "\x1b[" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Tty()
    make_console(plain).print("[red]x[/]")
    assert plain.getvalue() == "x\n"
