"""Where results go: stdout, or ``--output FILE`` written atomically (temp file + rename)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

__all__ = ["atomic_write", "render_to_text", "write_result"]

T = TypeVar("T")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    The temp file is created in the target's folder (a rename is only atomic within one file
    system) and keeps the target's permission bits when it already exists.

    Raises:
        OSError: when the folder is not writable; the target is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_result(text: str, output: Path | None, *, stream: TextIO | None = None) -> None:
    """Send a rendered result to ``output`` (atomically) or to stdout."""
    if output is not None:
        atomic_write(output, text)
        return
    out = stream if stream is not None else sys.stdout
    out.write(text)
    out.flush()


def render_to_text(render: Callable[[T, TextIO], None], value: T) -> str:
    """Run a ``render(value, out)`` function into a string (used before an atomic write)."""
    buffer = io.StringIO()
    render(value, buffer)
    return buffer.getvalue()
