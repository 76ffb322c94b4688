"""Build the PDP from its options: in the ``ztauth serve`` process, or in each uvicorn worker.

With ``--workers N`` uvicorn starts N processes, each importing
``ztauth_cli.server.factory:app_from_environment``; the options travel in the environment as
JSON (the API key's *file*, never the key). Each worker loads and gates the ledger itself and
follows the ref on its own: workers are as independent as replicas behind a load balancer.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.engine.response import ContextLevel
from ztauth_cli.errors import UsageError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ztauth_cli.ledger.signing.keys import SignerPin
    from ztauth_cli.server.app import SearchFunction
    from ztauth_cli.server.ledger import Snapshot

__all__ = [
    "OPTIONS_ENV",
    "ServeOptions",
    "app_from_environment",
    "build_app",
    "initial_snapshot",
    "read_api_key",
]

OPTIONS_ENV = "ZTAUTH_SERVE_OPTIONS"
# Shorter keys are guessable; 16 characters is the floor (a generated key is far longer).
_MIN_KEY_LENGTH = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    """What ``ztauth serve`` was asked to serve, and how (JSON-serialisable)."""

    root: str
    rev: str | None = None
    follow: str | None = None
    poll_interval: float = 2.0
    api_key_file: str | None = None
    audit_log: str | None = None
    context: str = ContextLevel.NONE.value
    max_body_bytes: int = 1024 * 1024
    # The signature gate pinned from outside the ledger (--signers-jwks, --require-signatures).
    signers_jwks: str | None = None
    require_signatures: int | None = None

    def pin(self) -> SignerPin:
        """The signature pin these options name (none: the manifest alone decides). The CLI
        has already resolved the environment variables and refused a pin inside the ledger.

        Raises:
            ZtauthError: the pinned JWKS is unusable.
        """
        from ztauth_cli.ledger.signing import SignerPin, load_pinned_signers

        path = Path(self.signers_jwks) if self.signers_jwks is not None else None
        return SignerPin(
            keys=load_pinned_signers(path) if path is not None else None,
            source=self.signers_jwks,
            required=self.require_signatures,
        )

    def to_env(self) -> str:
        """The options as the JSON put in :data:`OPTIONS_ENV`."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_env(cls, text: str) -> ServeOptions:
        """Options from :meth:`to_env`'s JSON.

        Raises:
            UsageError: the JSON is not such options.
        """
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{OPTIONS_ENV}: not ztauth serve options ({exc})") from None


def read_api_key(path: Path) -> str:
    """The API key in ``path``: its content without the final newline.

    Raises:
        UsageError: unreadable, empty, shorter than 16 characters, or holding whitespace or
            control characters (which an HTTP header cannot carry intact).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"--api-key-file {path}: cannot read: {reason}") from None
    key = text.removesuffix("\n").removesuffix("\r")
    # The key itself is never put in a message.
    if not key:
        raise UsageError(f"--api-key-file {path}: the file is empty")
    if len(key) < _MIN_KEY_LENGTH:
        raise UsageError(
            f"--api-key-file {path}: the key is shorter than {_MIN_KEY_LENGTH} characters",
            hint="generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    if not key.isprintable() or any(c.isspace() for c in key):
        raise UsageError(f"--api-key-file {path}: the key holds whitespace or control characters")
    return key


def _now() -> datetime:
    return datetime.now(timezone.utc)


def initial_snapshot(options: ServeOptions) -> Snapshot:
    """The first revision to serve: ``--rev``, the commit ``--follow`` names now, or the
    working tree.

    Raises:
        ZtauthError: it does not resolve, load, lint or verify.
    """
    from ztauth_cli.server.ledger import load_snapshot, resolve_ref

    root = Path(options.root)
    rev = options.rev
    if options.follow is not None:
        rev = resolve_ref(root, options.follow)
    return load_snapshot(root, rev, now=_now(), pin=options.pin())


def build_app(options: ServeOptions, *, snapshot: Snapshot | None = None) -> Starlette:
    """The PDP application for ``options`` (``snapshot``: already loaded by the caller).

    Raises:
        ZtauthError: the API key file or the ledger is unusable.
    """
    from ztauth_cli.server.app import AppSettings, create_app
    from ztauth_cli.server.audit import AuditWriter
    from ztauth_cli.server.ledger import Follower, LedgerState

    api_key = read_api_key(Path(options.api_key_file)) if options.api_key_file else None
    state = LedgerState(snapshot if snapshot is not None else initial_snapshot(options))
    follower = (
        Follower(
            state,
            root=Path(options.root),
            ref=options.follow,
            interval=options.poll_interval,
            clock=_now,
            pin=options.pin(),
        )
        if options.follow is not None
        else None
    )
    audit = AuditWriter(Path(options.audit_log)) if options.audit_log is not None else None
    settings = AppSettings(
        api_key=api_key,
        context=ContextLevel(options.context),
        max_body_bytes=options.max_body_bytes,
    )
    return create_app(
        state, settings, clock=_now, audit=audit, follower=follower, search=_search_endpoints()
    )


def _search_endpoints() -> dict[str, SearchFunction]:
    """The AuthZEN search endpoints, served by the same functions as ``ztauth search``."""
    from ztauth_cli.search import search

    def endpoint(kind: str) -> SearchFunction:
        def run(snapshot: Snapshot, body: Any, *, now: datetime) -> Any:
            result = search(
                snapshot.evaluator, body, kind=kind, candidates=snapshot.candidates, now=now
            )
            return result.to_json()

        return run

    return {
        f"/access/v1/search/{kind}": endpoint(kind) for kind in ("subject", "resource", "action")
    }


def app_from_environment() -> Starlette:
    """The application of one uvicorn worker, built from :data:`OPTIONS_ENV`.

    Raises:
        UsageError: the variable is missing or malformed; ZtauthError: see :func:`build_app`.
    """
    text = os.environ.get(OPTIONS_ENV)
    if text is None:
        raise UsageError(f"{OPTIONS_ENV} is not set: start the server with 'ztauth serve'")
    return build_app(ServeOptions.from_env(text))
