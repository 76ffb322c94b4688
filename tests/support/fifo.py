"""A guard for tests about FIFOs: a call that blocks on one fails the test, never hangs it."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def call_unblocking(target: Callable[[], T], *, fifo: Path, seconds: float = 60) -> T:
    """``target()``, run in a thread; if it is still blocked on ``fifo`` after ``seconds``,
    open the FIFO's other ends (which releases a blocked open or read) and fail the test."""
    box: dict[str, T] = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", target()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, flags))
        thread.join(10)
        pytest.fail(f"blocked on the FIFO {fifo} instead of refusing it")
    return box["result"]
