"""Writing files so that readers see the old content or the new, never half of it.

The one home of the temp-file-and-rename dance: the temp file is created in the target's own
folder (a rename is atomic only within one file system), written, fsynced, given its mode
*before* it is renamed into place (a private key is never readable by others, not even for an
instant), and removed when anything fails. Leaf module: the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text"]


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
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails if the target exists: never clobber
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(
    path: Path | str,
    text: str,
    *,
    mode: int | None = 0o644,
    overwrite: bool = True,
) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text (newlines written as given)."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode, overwrite=overwrite)
