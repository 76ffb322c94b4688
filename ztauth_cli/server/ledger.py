"""What the server decides on: one loaded, gated revision at a time, swapped atomically.

* :func:`load_snapshot` loads a ledger (working tree or revision) through the one loader, runs
  the serving gate (lint clean, required signatures verify: ``gates.serve_problem``) and builds
  the engine once. A revision that fails is refused with the reason; it is never served.
* :class:`LedgerState` holds the snapshot being served and the last refusal. Swapping is one
  reference assignment: a request reads the snapshot once and is decided entirely on it, so it
  never sees half of a reload.
* :class:`Follower` polls a Git ref and swaps in each new revision that passes the gate; the
  previous snapshot keeps serving while a bad one is refused (logged, shown by ``/readyz``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.errors import DocumentError, ZtauthError

if TYPE_CHECKING:
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.ledger.signing.keys import SignerPin
    from ztauth_cli.search import Candidates

__all__ = [
    "Follower",
    "LedgerState",
    "Refusal",
    "RevisionRefused",
    "Snapshot",
    "load_snapshot",
    "resolve_ref",
]

_LOG = logging.getLogger("ztauth.serve")


class RevisionRefused(ZtauthError):
    """A ledger revision cannot be served: it does not load, lint or verify."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One revision ready to serve: its engine and what names it in responses."""

    evaluator: Evaluator
    # The search endpoints' candidates (the ledger's entities and actions), built once.
    candidates: Candidates
    ztid: str | None
    revision: str | None  # None: the working tree
    version: str | None
    loaded_at: datetime

    @property
    def revision_label(self) -> str:
        """The revision as the ``ZTAuth-Revision`` header names it."""
        return self.revision if self.revision is not None else "working-tree"


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """A revision that was not served, and why."""

    revision: str | None
    reason: str
    at: datetime


def load_snapshot(
    root: Path | None, rev: str | None, *, now: datetime, pin: SignerPin | None = None
) -> Snapshot:
    """Load the ledger at ``root`` (at ``rev``), gate it and build its engine.

    Raises:
        RevisionRefused: the revision does not load, has lint errors, or its required
            signatures do not verify (the message says which and where).
        ZtauthError: ``root`` is no ledger, or ``rev`` does not resolve.
    """
    from ztauth_cli.engine import Evaluator
    from ztauth_cli.gates import serve_problem
    from ztauth_cli.ledger import load
    from ztauth_cli.ledger.versions import evaluated_version
    from ztauth_cli.search import Candidates

    label = f"revision {rev}" if rev is not None else "the working tree"
    try:
        ledger = load(root, rev)
    except DocumentError as exc:
        raise RevisionRefused(f"{label} does not load: {exc.diagnostics()}") from None
    problem = serve_problem(ledger, now=now, pin=pin)
    if problem is not None:
        raise RevisionRefused(f"{label} is refused: {problem}")
    try:
        evaluator = Evaluator.from_ledger(
            ledger, revision=ledger.revision, version=evaluated_version(ledger, rev=rev)
        )
    except DocumentError as exc:
        raise RevisionRefused(f"{label} does not load: {exc.diagnostics()}") from None
    return Snapshot(
        evaluator=evaluator,
        candidates=Candidates.from_ledger(ledger),
        ztid=ledger.ztid,
        revision=ledger.revision,
        version=evaluator.version,
        loaded_at=now,
    )


class LedgerState:
    """The snapshot being served and the last refused revision (thread-safe)."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._lock = threading.Lock()
        self._snapshot = snapshot
        self._refusal: Refusal | None = None

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot to decide on; read it once per request."""
        return self._snapshot

    @property
    def refusal(self) -> Refusal | None:
        """The newest revision refused since the last successful swap, if any."""
        return self._refusal

    def swap(self, snapshot: Snapshot) -> None:
        """Serve ``snapshot`` from now on (requests in flight finish on the old one)."""
        with self._lock:
            self._snapshot = snapshot
            self._refusal = None

    def refuse(self, refusal: Refusal) -> None:
        """Record a revision that was not served; the current snapshot keeps serving."""
        with self._lock:
            self._refusal = refusal

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """``(ready, body)`` for ``/readyz``: ready while a snapshot is served, even when a
        newer revision was refused (that is shown, not hidden, so the operator sees it)."""
        snapshot, refusal = self._snapshot, self._refusal
        body: dict[str, Any] = {
            "status": "ready" if snapshot is not None else "not_ready",
            "ledger": snapshot.ztid if snapshot is not None else None,
            "revision": snapshot.revision if snapshot is not None else None,
            "version": snapshot.version if snapshot is not None else None,
            "loaded_at": _rfc3339(snapshot.loaded_at) if snapshot is not None else None,
            "refused": None,
        }
        if refusal is not None:
            if snapshot is not None:
                body["status"] = "degraded"
            body["refused"] = {
                "revision": refusal.revision,
                "reason": refusal.reason,
                "at": _rfc3339(refusal.at),
            }
        return snapshot is not None, body


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def resolve_ref(root: Path, ref: str) -> str:
    """The commit ``ref`` names now in the repository holding ``root``.

    Raises:
        GitError: ``root`` is in no repository or ``ref`` does not resolve.
    """
    from ztauth_cli.errors import GitError
    from ztauth_cli.ledger import git

    repo_root = git.find_repo_root(root)
    if repo_root is None:
        raise GitError(f"{root} is not inside a Git repository: --follow needs one")
    repo = git.open_repo(repo_root)
    try:
        return git.resolve_revision(repo, ref).decode("ascii")
    finally:
        repo.close()


class Follower:
    """Polls a Git ref; each new commit is loaded, gated and swapped in, or refused.

    ``check()`` does one poll (the tests call it directly); ``start()`` runs it every
    ``interval`` seconds in a daemon thread until ``stop()``.
    """

    def __init__(
        self,
        state: LedgerState,
        *,
        root: Path,
        ref: str,
        interval: float,
        clock: Callable[[], datetime],
        pin: SignerPin | None = None,
    ) -> None:
        self.state = state
        self.pin = pin
        self.root = root
        self.ref = ref
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refused: str | None = None  # a commit already refused: not retried

    def check(self) -> bool:
        """One poll; True when a new revision was swapped in. Never raises."""
        try:
            sha = resolve_ref(self.root, self.ref)
        except ZtauthError as exc:
            self._refuse(None, f"--follow {self.ref}: {exc.message}")
            return False
        current = self.state.snapshot
        if (current is not None and current.revision == sha) or sha == self._refused:
            return False
        try:
            snapshot = load_snapshot(self.root, sha, now=self.clock(), pin=self.pin)
        except ZtauthError as exc:
            self._refused = sha
            self._refuse(sha, exc.message)
            return False
        except Exception as exc:  # a bug while loading must not stop the follower
            self._refused = sha
            self._refuse(sha, f"internal error while loading: {type(exc).__name__}: {exc}")
            return False
        self.state.swap(snapshot)
        self._refused = None
        _LOG.info(
            "serving revision %s (%s) of %s",
            sha,
            snapshot.version or "no version",
            snapshot.ztid,
        )
        return True

    def _refuse(self, sha: str | None, reason: str) -> None:
        _LOG.error("revision %s refused, still serving the previous one: %s", sha, reason)
        self.state.refuse(Refusal(revision=sha, reason=reason, at=self.clock()))

    def start(self) -> None:
        """Poll in a daemon thread (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="ztauth-follow", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        """Stop polling and wait for a poll in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
