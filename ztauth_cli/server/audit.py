"""One audit writer per server process: batched, durable appends to the hash-chained log.

Concurrent requests never append on their own: they hand their entries to the writer's queue
and wait. The writer thread takes everything queued, appends it with one
:func:`ztauth_cli.audit.append_decisions` call (one ``flock``, one write, one ``fsync``) and
then releases every waiting request (group commit). The chain therefore stays intact under any
load, and across worker processes too (each append holds the log's ``flock``); a response is
sent only once its decision is on disk, and a decision that cannot be logged is an error
(HTTP 500), never a silent allow.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ztauth_cli.audit import AuditEntry

__all__ = ["AuditWriter"]

_LOG = logging.getLogger("ztauth.serve")
# Entries appended in one write at most: bounds the memory of one batch.
_MAX_BATCH = 4096


class AuditWriter:
    """Appends entries to the audit log at ``path`` from one thread, in batches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[tuple[Sequence[AuditEntry], Future[None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ztauth-audit", daemon=True)
            self._thread.start()

    def submit(self, entries: Sequence[AuditEntry]) -> Future[None]:
        """Queue ``entries``; the future completes once they are durable (or fails)."""
        done: Future[None] = Future()
        if self._closed:
            done.set_exception(RuntimeError("the audit log is closed"))
            return done
        self._queue.put((entries, done))
        return done

    def _run(self) -> None:
        from ztauth_cli.audit import append_decisions

        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            count = len(item[0])
            while count < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
                count += len(more[0])
            entries = [entry for group, _ in batch for entry in group]
            try:
                append_decisions(self.path, entries)
            except Exception as exc:  # every waiting request must learn the append failed
                _LOG.error("cannot append to the audit log %s: %s", self.path, exc)
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)
            if stop:
                return

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
