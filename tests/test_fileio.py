"""ztauth_cli.fileio: the one atomic write (mode before rename, no clobber, no leftovers)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ztauth_cli.fileio import atomic_write_bytes, atomic_write_text


def test_new_file_gets_the_mode(tmp_path: Path) -> None:
    target = atomic_write_bytes(tmp_path / "k.pem", b"secret", mode=0o600)
    assert target.read_bytes() == b"secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]


def test_mode_none_keeps_an_existing_files_bits(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new\n", mode=None)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = atomic_write_text(tmp_path / "fresh.txt", "x", mode=None)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


def test_no_overwrite_refuses_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "k.pem"
    target.write_bytes(b"first")
    with pytest.raises(FileExistsError):
        atomic_write_bytes(target, b"second", mode=0o600, overwrite=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["k.pem"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
