"""Where results go: stdout, or ``--output FILE`` written atomically (``ztauth_cli.fileio``)."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

__all__ = ["atomic_write", "render_to_text", "write_result"]

T = TypeVar("T")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half
    (:func:`ztauth_cli.fileio.atomic_write_text`); an existing target keeps its permission bits.

    Raises:
        OSError: when the folder is not writable; the target is left untouched.
    """
    from ztauth_cli.fileio import atomic_write_text

    atomic_write_text(path, text, mode=None)


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
