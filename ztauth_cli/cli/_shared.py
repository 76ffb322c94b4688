"""What every command shares that needs no Typer: its checks, its clock, its ledger and where
its output goes (DESIGN.md, "Conventions every command follows").

Typer-free so that ``ztauth eval``'s fast lane (``cli/launch.py``) runs a command without
importing Typer or Click; :mod:`ztauth_cli.cli._common` re-exports every name for the Typer
commands. Every failure here is a :class:`~ztauth_cli.errors.UsageError` (one line, exit 2);
core packages are imported inside functions.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ztauth_cli.report.formats import OutputFormat, require_format

if TYPE_CHECKING:
    from rich.console import Console

    from ztauth_cli.ledger.signing import SignerPin

__all__ = [
    "PASSPHRASE_ENV",
    "REQUIRE_SIGNATURES_ENV",
    "SIGNERS_JWKS_ENV",
    "check_format",
    "check_ledger_option",
    "check_output",
    "check_pin_outside",
    "echo_err",
    "emit",
    "emit_json",
    "emit_rich",
    "emit_wire",
    "key_passphrase",
    "parse_at",
    "read_public_jwks",
    "resolve_ledger",
    "signer_pin",
]

AT_EXAMPLE = "2026-06-01T12:00:00Z"
# Terminal escape sequences, dropped from messages that do not go to a terminal (as Click's
# echo does, so that a message reads the same whichever lane printed it).
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")


def echo_err(message: str) -> None:
    """One message line on stderr (escape sequences dropped unless stderr is a terminal)."""
    stream = sys.stderr
    isatty = getattr(stream, "isatty", None)
    if not (isatty is not None and isatty()):
        message = _ANSI.sub("", message)
    stream.write(message + "\n")
    stream.flush()


# The signature gate pinned from outside the ledger (DESIGN.md threat model): the options win
# over the environment, which CI sets once for every command.
SIGNERS_JWKS_ENV = "ZTAUTH_SIGNERS_JWKS"
REQUIRE_SIGNATURES_ENV = "ZTAUTH_REQUIRE_SIGNATURES"


def check_format(fmt: OutputFormat, formats: tuple[OutputFormat, ...], *, command: str) -> None:
    """Refuse a format ``command`` does not support (UsageError, exit 2)."""
    require_format(fmt, formats, command=command)


def parse_at(text: str | None, *, option: str = "--at") -> datetime:
    """The clock of a command: ``text`` (RFC 3339 with a zone) as aware UTC, or now.

    The CLI reads the wall clock once, here; the core only ever gets the result.

    Raises:
        UsageError: ``text`` is not an RFC 3339 timestamp with a time zone.
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.ledger.load import parse_timestamp

    if text is None:
        return datetime.now(timezone.utc)
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise UsageError(
            f"{option}: {text!r} is not an RFC 3339 timestamp with a time zone ({exc})",
            hint=f"for example {option} {AT_EXAMPLE}",
        ) from None


def check_ledger_option(path: Path | None) -> None:
    """Refuse a ``--ledger`` that names nothing, before Git or the loader guess why.

    Raises:
        UsageError: the path does not exist.
    """
    from ztauth_cli.errors import UsageError

    if path is not None and not path.exists():
        raise UsageError(f"--ledger {path}: no such folder")


def resolve_ledger(path: Path | None) -> Path:
    """The ledger root for ``--ledger PATH`` (default: the nearest one above the current folder).

    Raises:
        UsageError: ``--ledger`` names nothing.
        LedgerNotFound: no ``ztauth.yaml`` at or above the folder.
    """
    from ztauth_cli.ledger import find_ledger_root

    check_ledger_option(path)
    return find_ledger_root(path if path is not None else Path.cwd())


PASSPHRASE_ENV = "ZTAUTH_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


def key_passphrase(data: bytes, *, path: Path) -> bytes | None:
    """The passphrase of an encrypted PEM key: ``$ZTAUTH_KEY_PASSPHRASE``, else asked on the
    terminal (never echoed); None for an unencrypted key, or when neither is available (the
    key loader then says what is missing)."""
    import getpass

    from ztauth_cli import jose

    if not jose.is_encrypted_pem(data):
        return None
    # From the environment for CI (a secret variable); never from an option, which would
    # leave the passphrase in shell history and process listings.
    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given.encode()
    if sys.stdin.isatty() and sys.stderr.isatty():
        return getpass.getpass(f"passphrase for {path}: ", stream=sys.stderr).encode()
    return None


def read_public_jwks(path: Path) -> tuple[dict[str, Any], ...]:
    """The keys of a ``--jwks FILE`` option: a JWKS file of public keys only.

    Raises:
        ZtauthError: unreadable, not a JWKS, or holding private key material (exit 2).
    """
    from ztauth_cli import jose
    from ztauth_cli.errors import UsageError
    from ztauth_cli.ledger.signing.keys import load_jwks_file
    from ztauth_cli.model import Span

    keys = load_jwks_file(path)
    for index, jwk in enumerate(keys):
        problem = jose.validate_public_jwk(jwk)
        if problem is not None:
            raise UsageError(f"keys[{index}]: {problem}", span=Span(path=str(path)))
    return keys


def check_output(output: Path | None) -> None:
    """Fail before any work when ``--output FILE`` cannot be written.

    Raises:
        UsageError: the folder is missing or read-only, or FILE is a folder.
    """
    from ztauth_cli.errors import UsageError

    if output is None:
        return
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UsageError(f"--output {output}: is a folder, expected a file path")
    if not folder.is_dir():
        raise UsageError(f"--output {output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--output {output}: folder {folder} is not writable")


def emit(text: str, output: Path | None) -> None:
    """Send a rendered result to stdout, or to ``--output`` atomically (never half-written).

    Raises:
        UsageError: the file cannot be written (nothing is left behind).
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.report.output import write_result

    try:
        write_result(text, output)
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write: {exc.strerror or exc}") from None


def emit_json(tool: str, body: Mapping[str, Any], output: Path | None) -> None:
    """The JSON report of ``tool`` (``"ztauth policy verify"``): ``body`` behind the envelope
    every report carries (``report/envelope.py``), to stdout or ``--output``."""
    from ztauth_cli.report.envelope import report_text

    emit(report_text(tool, body), output)


def emit_wire(document: Any, output: Path | None) -> None:
    """A JSON document printed as it is: an AuthZEN response, whose wire shape a PEP parses
    (no envelope, see ``report/envelope.py``)."""
    from ztauth_cli.report.envelope import json_text

    emit(json_text(document), output)


def emit_rich(draw: Callable[[Console], None], output: Path | None) -> None:
    """Text drawn with rich: coloured on a terminal, plain in pipes, files and NO_COLOR."""
    import io

    from ztauth_cli.report.console import make_console

    if output is None:
        draw(make_console(sys.stdout))
        sys.stdout.flush()
        return
    buffer = io.StringIO()
    draw(make_console(buffer))
    emit(buffer.getvalue(), output)


def _pin_env(name: str) -> str | None:
    from ztauth_cli.errors import UsageError

    value = os.environ.get(name)
    if value is not None and not value.strip():
        # A CI secret that a fork's pull request cannot read expands to "": reading that as
        # "no pin" would hand the gate back to the ledger being checked.
        raise UsageError(
            f"{name} is set but empty",
            hint="point it at the pinned signers JWKS, or unset it (a missing CI secret?)"
            if name == SIGNERS_JWKS_ENV
            else "set it to a whole number of signers, or unset it",
        )
    return value


def signer_pin(signers_jwks: Path | None, require_signatures: int | None) -> SignerPin:
    """The signature gate pinned by ``--signers-jwks`` / ``--require-signatures``, else by
    ``ZTAUTH_SIGNERS_JWKS`` / ``ZTAUTH_REQUIRE_SIGNATURES``; nothing pinned when neither is set.

    Raises:
        UsageError: an environment variable set but empty or not a count, or a pinned JWKS
            holding a private, symmetric or kid-less key.
        DocumentError: the pinned JWKS cannot be read or is not a JWKS.
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.ledger.signing.keys import SignerPin, load_pinned_signers

    if signers_jwks is None:
        env_jwks = _pin_env(SIGNERS_JWKS_ENV)
        signers_jwks = Path(env_jwks) if env_jwks is not None else None
    if require_signatures is None:
        env_count = _pin_env(REQUIRE_SIGNATURES_ENV)
        if env_count is not None:
            text = env_count.strip()
            if not (text.isascii() and text.isdigit()):
                raise UsageError(
                    f"{REQUIRE_SIGNATURES_ENV}: {env_count!r} is not a whole number of signers"
                )
            require_signatures = int(text)
    keys = load_pinned_signers(signers_jwks) if signers_jwks is not None else None
    return SignerPin(
        keys=keys,
        source=str(signers_jwks) if signers_jwks is not None else None,
        required=require_signatures,
    )


def check_pin_outside(pin: SignerPin, ledger_root: str) -> None:
    """Refuse a ``--signers-jwks`` inside the ledger it checks: whoever edits the ledger would
    edit the pin too, and the gate would again be controlled by the files it protects.

    Raises:
        UsageError: the pinned JWKS lies under ``ledger_root``.
    """
    from ztauth_cli.errors import UsageError

    if pin.source is None:
        return
    if Path(pin.source).resolve().is_relative_to(Path(ledger_root).resolve()):
        raise UsageError(
            f"--signers-jwks {pin.source}: the pinned signers JWKS lies inside the ledger it "
            "is meant to check, so editing the ledger would edit the pin",
            hint="keep it outside the repository (a CI secret, a protected path)",
        )
