"""`ztauth keys`: generate signing keys; the public half goes into a ledger JWKS."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ztauth_cli.fileio import StagedFile
from ztauth_cli.cli._common import group_epilog

__all__ = ["app", "generate_command", "run_generate"]

app = typer.Typer(
    help="Generate signing keys for issuers and ledger signers.",
    epilog=group_epilog(
        (
            "a signer key: private PEM outside the ledger, public JWK in it",
            "ztauth keys generate --out ~/keys/release.pem --jwks keys/signers.jwks.json",
        ),
        exit_codes="0 written, 2 bad option or an existing key file.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# The algorithms `keys generate` offers: one per key family (DESIGN.md, "Signing").
_GENERATE_ALGS = ("EdDSA", "ES256", "ES384", "ES512", "RS256", "PS256")


@app.command("generate")
def generate_command(
    out: Path = typer.Option(  # noqa: B008 - Typer's declaration style
        ...,
        "--out",
        help="Where to write the private key (PEM, mode 0600; missing folders are made 0700).",
    ),
    alg: str = typer.Option("EdDSA", "--alg", help="EdDSA, ES256, ES384, ES512, RS256 or PS256."),
    kid: str | None = typer.Option(
        None, "--kid", help="Key id (default: the RFC 7638 thumbprint of the public key)."
    ),
    jwks: Path | None = typer.Option(  # noqa: B008
        None, "--jwks", help="Add the public key to this JWKS file (created if absent)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing private key file."),
    encrypt: bool = typer.Option(
        False,
        "--encrypt",
        help="Encrypt the private key with a passphrase ($ZTAUTH_KEY_PASSPHRASE, else asked "
        "twice on the terminal).",
    ),
) -> None:
    """Generate a key pair: private PEM to --out, public JWK into --jwks; prints the kid.

    A key with the same kid in the JWKS is replaced. Keep the private key out of the ledger
    (a warning says so when --out is inside one).

    Examples:

      $ ztauth keys generate --out ~/keys/release.pem --jwks keys/signers.jwks.json
      $ ztauth keys generate --alg ES256 --out idp.pem --jwks keys/idp.jwks.json --kid idp-2026
      $ ztauth keys generate --encrypt --out ~/keys/release.pem   # passphrase-protected

    Nothing is written unless both halves can be: a JWKS that cannot be read, parsed or
    written (or a full disk) leaves no private key behind.

    Exit codes: 0 written, 2 bad option, the private key file exists (without --force), or
    a file that cannot be read or written.
    """
    raise typer.Exit(
        run_generate(out=out, alg=alg, kid=kid, jwks=jwks, force=force, encrypt=encrypt)
    )


def _new_passphrase() -> bytes:
    """The passphrase for ``--encrypt``: from the environment, else typed twice (no echo).

    Raises:
        UsageError: none available, or the two entries differ.
    """
    import getpass
    import sys

    from ztauth_cli.cli._common import PASSPHRASE_ENV
    from ztauth_cli.errors import UsageError

    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given.encode()
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"--encrypt needs a passphrase: set {PASSPHRASE_ENV} or run on a terminal")
    first = getpass.getpass("new passphrase: ", stream=sys.stderr)
    if first != getpass.getpass("again: ", stream=sys.stderr):
        raise UsageError("the two passphrases differ; nothing was written")
    return first.encode()


def run_generate(
    *,
    out: Path,
    alg: str,
    kid: str | None,
    jwks: Path | None,
    force: bool,
    encrypt: bool = False,
) -> int:
    """Generate the key, write both halves and print the kid. Returns 0.

    Both files are written beside their targets first and put in place only when both were
    written: a JWKS that cannot be read, parsed or written never leaves a private key behind.

    Raises:
        ZtauthError: bad algorithm, existing key without ``force``, a JWKS that cannot be
            read or written, a folder that cannot be written (exit 2).
    """
    from ztauth_cli import jose
    from ztauth_cli.errors import LedgerNotFound, UsageError
    from ztauth_cli.ledger import find_ledger_root

    if alg not in _GENERATE_ALGS:
        raise UsageError(f"--alg {alg!r}: expected one of {', '.join(_GENERATE_ALGS)}")
    if out.exists() and not force:
        raise UsageError(
            f"{out} already exists; refusing to overwrite a private key", hint="pass --force"
        )
    if out.parent.exists() and not out.parent.is_dir():
        raise UsageError(f"--out: {out.parent} is not a folder")
    document = _read_jwks(jwks) if jwks is not None else None
    passphrase = _new_passphrase() if encrypt else None
    if jwks is not None:
        # Prepare the JWKS folder before the private key is written, so a bad --jwks never
        # leaves a private key behind without its public half.
        _make_public_folder(jwks.parent)
        _check_writable(jwks)

    pair = jose.generate_key(alg, kid=kid)
    pem = (
        jose.encrypt_private_pem(pair.private_pem, passphrase)
        if passphrase is not None
        else pair.private_pem
    )
    _make_private_folder(out.parent)
    key = _stage(out, pem, mode=0o600, option="--out")
    public = None
    try:
        if jwks is not None and document is not None:
            text = _jwks_text(document, pair.public_jwk)
            public = _stage(jwks, text.encode("utf-8"), mode=None, option="--jwks")
        _commit_private_key(key, out, force=force)
    except BaseException:
        key.discard()
        if public is not None:
            public.discard()
        raise
    state = "encrypted, " if passphrase is not None else ""
    typer.echo(f"wrote private key {out} ({state}mode 0600)", err=True)
    if public is not None and jwks is not None:
        try:
            public.commit()
        except OSError as exc:
            # The private key is useless without its public half: take it back.
            out.unlink(missing_ok=True)
            raise UsageError(
                f"--jwks {jwks}: cannot write: {exc.strerror or exc}; "
                f"the private key {out} was removed"
            ) from None
        typer.echo(f"added public key {pair.kid} to {jwks}", err=True)
    try:
        root = find_ledger_root(out.parent)
    except LedgerNotFound:
        root = None
    if root is not None:
        # A private key inside the ledger is one `git add` away from being published.
        typer.echo(
            f"warning: {out} is inside the ledger at {root}; a private key must never be "
            "committed - move it out of the ledger",
            err=True,
        )
    typer.echo(pair.kid)
    return 0


def _stage(path: Path, data: bytes, *, mode: int | None, option: str) -> StagedFile:
    """``data`` written beside ``path`` (fsynced, not yet in place).

    Raises:
        UsageError: the folder is not writable or the disk is full (nothing is left behind).
    """
    from ztauth_cli.errors import UsageError
    from ztauth_cli.fileio import stage_bytes

    try:
        return stage_bytes(path, data, mode=mode)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


def _commit_private_key(staged: StagedFile, out: Path, *, force: bool) -> None:
    from ztauth_cli.errors import UsageError

    # The key was born 0600 (never readable by others, not even for an instant) in a temp file
    # next to the target; now it moves into place. Without --force a key that appeared
    # meanwhile is never clobbered.
    try:
        staged.commit(overwrite=force)
    except FileExistsError as exc:
        raise UsageError(
            f"{out} already exists; refusing to overwrite a private key", hint="pass --force"
        ) from exc
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def _check_writable(jwks: Path) -> None:
    """Refuse a JWKS file the user made read-only (replacing it by rename would ignore that)."""
    from ztauth_cli.errors import UsageError

    if jwks.exists() and not os.access(jwks, os.W_OK):
        raise UsageError(f"--jwks {jwks}: the file is read-only; refusing to replace it")
    folder = jwks.parent if str(jwks.parent) else Path(".")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--jwks {jwks}: folder {folder} is not writable")


def _make_public_folder(folder: Path) -> None:
    """Create the folder of the JWKS file when missing; it must be a folder."""
    from ztauth_cli.errors import UsageError

    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--jwks: {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--jwks: cannot create {folder}: {exc.strerror or exc}") from exc


def _make_private_folder(folder: Path) -> None:
    """Create the missing folders of a private key's path, each 0700 (not world-readable)."""
    from ztauth_cli.errors import UsageError

    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
            os.chmod(path, 0o700)  # mkdir's mode is reduced by the umask
        except OSError as exc:
            raise UsageError(f"--out: cannot create folder {path}: {exc.strerror or exc}") from None


def _read_jwks(path: Path) -> dict[str, Any]:
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.fileio import read_limited
    from ztauth_cli.ledger.load import MAX_FILE_BYTES
    from ztauth_cli.model.span import Span

    if not path.exists() and not path.is_symlink():
        return {"keys": []}
    try:
        # A regular file only: this file is about to be replaced, and a FIFO would hang us.
        data = read_limited(path, limit=MAX_FILE_BYTES, regular_only=True)
        if len(data) > MAX_FILE_BYTES:
            raise DocumentError(
                f"the JWKS is larger than {MAX_FILE_BYTES} bytes", span=Span(path=str(path))
            )
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DocumentError(f"cannot read the JWKS: {reason}", span=Span(path=str(path))) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"the JWKS is not JSON: {exc.msg}",
            span=Span(path=str(path), line=exc.lineno, column=exc.colno),
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise DocumentError('not a JWKS: expected {"keys": [...]}', span=Span(path=str(path)))
    return document


def _jwks_text(document: dict[str, Any], jwk: dict[str, Any]) -> str:
    """The JWKS with ``jwk`` added (replacing a key of the same kid), keys sorted by kid."""
    others = [
        k for k in document["keys"] if not (isinstance(k, dict) and k.get("kid") == jwk["kid"])
    ]
    keys = sorted(
        [*others, jwk], key=lambda k: str(k.get("kid", "")) if isinstance(k, dict) else ""
    )
    return json.dumps({**document, "keys": keys}, indent=2, sort_keys=True) + "\n"
