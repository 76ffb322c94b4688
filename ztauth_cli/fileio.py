"""Reading files within bounds, and writing them so that readers see the old content or the
new, never half of it.

Reading: :func:`read_limited` never reads more than its limit (plus one byte, to tell "too
large"), and with ``regular_only`` refuses a FIFO, device, socket or folder *without opening it
for a blocking read*: a FIFO planted in a ledger must be an error, not a hang.

Writing: the one home of the temp-file-and-rename dance. The temp file is created in the
target's own folder (a rename is atomic only within one file system), written, fsynced, given
its mode *before* it is renamed into place (a private key is never readable by others, not even
for an instant), and removed when anything fails. :func:`stage_bytes` splits the dance in two,
so that a caller can write several files and put them in place only when all were written.
Leaf module: the standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = [
    "NotRegularFileError",
    "StagedFile",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_kind",
    "read_limited",
    "stage_bytes",
]

_READ_BLOCK = 1024 * 1024


class NotRegularFileError(OSError):
    """The path names a FIFO, device, socket or folder where a regular file was expected."""


def file_kind(mode: int) -> str:
    """What a ``st_mode`` names, for messages: "a FIFO", "a folder", "a regular file"..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_limited(path: Path | str, *, limit: int, regular_only: bool = False) -> bytes:
    """The bytes of ``path``, at most ``limit + 1`` of them (more than ``limit`` means the
    file is too large; the rest is never read).

    With ``regular_only`` the file is opened non-blocking and refused unless it is a regular
    file (symlinks are followed); otherwise a pipe is read until its writer closes it.

    Raises:
        IsADirectoryError: the path is a folder.
        NotRegularFileError: ``regular_only`` and the path is a FIFO, device or socket.
        OSError: the file cannot be opened or read.
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NONBLOCK if regular_only else 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if regular_only and not stat.S_ISREG(mode):
            raise NotRegularFileError(
                errno.EINVAL, f"{file_kind(mode)}, not a regular file; refusing to read it"
            )
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, _READ_BLOCK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class StagedFile:
    """A file written next to its target, not yet in place: :meth:`commit` renames it into
    place, :meth:`discard` removes it. Use :func:`stage_bytes` to make one."""

    def __init__(self, target: Path, temp: str) -> None:
        self.target = target
        self._temp: str | None = temp

    def commit(self, *, overwrite: bool = True) -> Path:
        """Put the staged file in place; with ``overwrite=False`` never replace a target.

        Raises:
            FileExistsError: ``overwrite`` is false and the target exists (staged file removed).
            OSError: the rename failed (staged file removed; the target is untouched).
        """
        temp = self._temp
        if temp is None:
            raise ValueError("this staged file was already committed or discarded")
        self._temp = None
        try:
            if overwrite:
                os.replace(temp, self.target)
            else:
                os.link(temp, self.target)  # fails if the target exists: never clobber
                os.unlink(temp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        return self.target

    def discard(self) -> None:
        """Remove the staged file (the target is untouched); idempotent."""
        temp, self._temp = self._temp, None
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def stage_bytes(path: Path | str, data: bytes, *, mode: int | None = 0o644) -> StagedFile:
    """Write ``data`` to a temp file beside ``path`` (fsynced, given ``mode``), not yet in place.

    ``mode`` is applied before anything is written; ``None`` keeps the permission bits of an
    existing target (0o644 for a new one).

    Raises:
        OSError: the folder is not writable or the disk is full; nothing is left behind.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return StagedFile(target, tmp)


def atomic_write_bytes(
    path: Path | str,
    data: bytes,
    *,
    mode: int | None = 0o644,
    overwrite: bool = True,
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``mode`` is applied to the temp file before the rename; ``None`` keeps the permission bits
    of an existing target (0o644 for a new one). With ``overwrite=False`` an existing target is
    never replaced, even one that appears while writing.

    Raises:
        FileExistsError: ``overwrite`` is false and the target exists.
        OSError: the folder is not writable; the target is left untouched.
    """
    return stage_bytes(path, data, mode=mode).commit(overwrite=overwrite)


def atomic_write_text(
    path: Path | str,
    text: str,
    *,
    mode: int | None = 0o644,
    overwrite: bool = True,
) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text (newlines written as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode, overwrite=overwrite)
