"""`ztauth serve`: the ledger as an OpenID AuthZEN 1.0 PDP over HTTP.

The command checks its options, loads and gates the first revision (so a broken ledger is a
one-line error and exit 2, before anything listens), then hands the application to uvicorn.
Starlette and uvicorn are the optional extra ``ztauth[serve]``, imported only here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import typer

from ztauth_cli.cli._common import (
    LedgerOption,
    RequireSignaturesOption,
    RevOption,
    SignersJwksOption,
)

__all__ = ["run_serve", "serve_command"]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def serve_command(
    ledger: LedgerOption = None,
    rev: RevOption = None,
    follow: str | None = typer.Option(
        None,
        "--follow",
        metavar="REF",
        help="Serve the commit a Git ref (branch, tag) names, and swap in each new commit "
        "that loads, lints clean and verifies.",
        show_default=False,
    ),
    poll_interval: float = typer.Option(
        2.0, "--poll-interval", metavar="SECONDS", help="How often --follow checks the ref."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8080, "--port", help="Port to bind (0: any free port)."),
    audit_log: Path | None = typer.Option(  # noqa: B008
        None, "--audit-log", metavar="FILE", help="Append every decision to this audit log."
    ),
    api_key_file: Path | None = typer.Option(  # noqa: B008
        None,
        "--api-key-file",
        metavar="FILE",
        help="Require 'Authorization: <key>' (or 'Bearer <key>') on every access endpoint.",
    ),
    insecure_no_auth: bool = typer.Option(
        False,
        "--insecure-no-auth",
        help="Allow binding a non-loopback address without --api-key-file.",
    ),
    workers: int = typer.Option(1, "--workers", metavar="N", help="Worker processes."),
    context: str = typer.Option(
        "none",
        "--context",
        metavar="none|reasons|trace",
        help="Default context of decisions (a request asks with ?context=...).",
    ),
    max_body_bytes: int = typer.Option(
        1024 * 1024, "--max-body-bytes", metavar="BYTES", help="Largest request body accepted."
    ),
    signers_jwks: SignersJwksOption = None,
    require_signatures: RequireSignaturesOption = None,
) -> None:
    """Serve the ledger as an OpenID AuthZEN 1.0 PDP (POST /access/v1/evaluation and
    /access/v1/evaluations).

    Binds 127.0.0.1:8080 by default. A deny is 200 {"decision": false}; decisions carry
    context only when asked for. Every response names the revision it was decided on
    (ZTAuth-Revision header). Needs the extra: python -m pip install 'ztauth\\[serve]'.

    Examples:

      $ ztauth serve --ledger sample-ledger                      # 127.0.0.1:8080
      $ ztauth serve --follow main --audit-log decisions.jsonl
      $ ztauth serve --host 0.0.0.0 --api-key-file pdp.key --workers 2

    Exit codes: 0 stopped cleanly (Ctrl-C, SIGTERM); 2 usage error, missing extra, or a
    ledger that does not load, lint or verify.
    """
    code = run_serve(
        ledger_path=ledger,
        rev=rev,
        follow=follow,
        poll_interval=poll_interval,
        host=host,
        port=port,
        audit_log=audit_log,
        api_key_file=api_key_file,
        insecure_no_auth=insecure_no_auth,
        workers=workers,
        context=context,
        max_body_bytes=max_body_bytes,
        signers_jwks=signers_jwks,
        require_signatures=require_signatures,
    )
    raise typer.Exit(code)


def _server_class() -> type:
    import uvicorn

    class _CleanStop(uvicorn.Server):
        """uvicorn, but a stop asked for by SIGTERM/SIGINT exits 0, as OPA and Cerbos do
        (uvicorn re-raises the signal after its graceful shutdown)."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()

    return _CleanStop


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_extra() -> None:
    from ztauth_cli.errors import UsageError

    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"ztauth serve needs {' and '.join(missing)}, "
            f"which {'is' if len(missing) == 1 else 'are'} not installed",
            hint="install the extra: python -m pip install 'ztauth[serve]'",
        )


def _log_config() -> dict[str, object]:
    # Our own lines (revisions, refusals, access log) and uvicorn's, to stderr, one format.
    # uvicorn's access log is off: ours names the request id and never a header value.
    fmt = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": fmt},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "ztauth.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def run_serve(
    *,
    ledger_path: Path | None,
    rev: str | None,
    follow: str | None,
    poll_interval: float = 2.0,
    host: str = "127.0.0.1",
    port: int = 8080,
    audit_log: Path | None = None,
    api_key_file: Path | None = None,
    insecure_no_auth: bool = False,
    workers: int = 1,
    context: str = "none",
    max_body_bytes: int = 1024 * 1024,
    signers_jwks: Path | None = None,
    require_signatures: int | None = None,
) -> int:
    """Check the options, load the first revision, and serve until stopped; the exit code.

    Raises:
        ZtauthError: bad options, a missing extra, an unusable ledger (exit 2).
    """
    import os

    from ztauth_cli.cli._common import check_pin_outside, resolve_ledger, signer_pin
    from ztauth_cli.engine.response import ContextLevel
    from ztauth_cli.errors import UsageError

    if rev is not None and follow is not None:
        raise UsageError("--rev and --follow exclude each other: pin a revision or follow a ref")
    if workers < 1:
        raise UsageError(f"--workers {workers}: at least 1")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 0-65535")
    if poll_interval <= 0:
        raise UsageError(f"--poll-interval {poll_interval}: must be positive")
    if max_body_bytes < 1024:
        raise UsageError(f"--max-body-bytes {max_body_bytes}: at least 1024")
    choices = {level.value for level in ContextLevel}
    if context not in choices:
        raise UsageError(f"--context {context!r}: expected one of {', '.join(sorted(choices))}")
    if api_key_file is None and not _is_loopback(host) and not insecure_no_auth:
        # Anyone who can reach the port could probe the ledger's policies decision by decision.
        raise UsageError(
            f"--host {host} is not a loopback address and no --api-key-file is given",
            hint="protect it with --api-key-file FILE, or pass --insecure-no-auth to accept "
            "unauthenticated requests from the network",
        )
    if audit_log is not None and not audit_log.parent.is_dir():
        raise UsageError(f"--audit-log {audit_log}: folder {audit_log.parent} does not exist")
    _require_extra()

    from ztauth_cli.server.factory import (
        OPTIONS_ENV,
        ServeOptions,
        build_app,
        initial_snapshot,
        read_api_key,
    )

    if api_key_file is not None:
        read_api_key(api_key_file)  # refuse a bad key file before anything else

    root = resolve_ledger(ledger_path)
    # Every revision served, the first and each one --follow swaps in, passes this gate.
    pin = signer_pin(signers_jwks, require_signatures)
    check_pin_outside(pin, str(root))
    options = ServeOptions(
        root=str(root),
        rev=rev,
        follow=follow,
        poll_interval=poll_interval,
        api_key_file=str(api_key_file.resolve()) if api_key_file is not None else None,
        audit_log=str(audit_log.resolve()) if audit_log is not None else None,
        context=context,
        max_body_bytes=max_body_bytes,
        signers_jwks=str(Path(pin.source).resolve()) if pin.source is not None else None,
        require_signatures=pin.required,
    )
    # Fail before listening: a ledger that cannot be served is an input error (exit 2).
    snapshot = initial_snapshot(options)
    typer.echo(
        f"ztauth serve: {snapshot.ztid} at {snapshot.revision_label}"
        + (f" ({snapshot.version})" if snapshot.version else "")
        + (f", following {follow}" if follow else "")
        + f", on http://{host}:{port} ({workers} worker(s))",
        err=True,
    )

    import uvicorn

    common: dict[str, object] = {
        "host": host,
        "port": port,
        "log_config": _log_config(),
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if workers == 1:
        config = uvicorn.Config(build_app(options, snapshot=snapshot), **common)  # type: ignore[arg-type]
        _server_class()(config).run()
        return 0
    os.environ[OPTIONS_ENV] = options.to_env()
    uvicorn.run(
        "ztauth_cli.server.factory:app_from_environment",
        factory=True,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )
    return 0
