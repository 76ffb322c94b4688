"""``ztauth serve``: an OpenID AuthZEN 1.0 PDP over HTTP (Starlette + uvicorn, extra ``serve``).

A thin shell over the engine ``ztauth eval`` uses: :mod:`~ztauth_cli.server.ledger` loads and
gates revisions and follows a Git ref, :mod:`~ztauth_cli.server.audit` is the one audit writer,
:mod:`~ztauth_cli.server.app` is the ASGI application, :mod:`~ztauth_cli.server.factory` builds
it from the command's options (in-process, or in each uvicorn worker).
"""

from __future__ import annotations

from ztauth_cli.server.app import AppSettings, create_app
from ztauth_cli.server.audit import AuditWriter
from ztauth_cli.server.factory import ServeOptions, build_app, read_api_key
from ztauth_cli.server.ledger import (
    Follower,
    LedgerState,
    Refusal,
    RevisionRefused,
    Snapshot,
    load_snapshot,
)

__all__ = [
    "AppSettings",
    "AuditWriter",
    "Follower",
    "LedgerState",
    "Refusal",
    "RevisionRefused",
    "ServeOptions",
    "Snapshot",
    "build_app",
    "create_app",
    "load_snapshot",
    "read_api_key",
]
