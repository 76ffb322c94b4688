"""`ztauth token`: decode and verify a token against the ledger's issuers, mint test tokens."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ztauth_cli.cli._common import (
    LedgerOption,
    OutputOption,
    RevOption,
    check_format,
    check_ledger_option,
    check_output,
    emit_json,
    emit_rich,
    format_option,
    group_epilog,
    key_passphrase,
    parse_at,
    read_public_jwks,
)
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from rich.console import Console

    from ztauth_cli.model.ledger import Ledger

__all__ = ["app", "inspect_command", "mint_command", "run_inspect", "run_mint"]

app = typer.Typer(
    help="Decode, verify and mint JWTs (transaction, consent, attestation tokens).",
    epilog=group_epilog(
        (
            "is this token one the ledger accepts?",
            'ztauth token inspect "$TOKEN" --ledger sample-ledger',
        ),
        (
            "a test token",
            "ztauth token mint --issuer https://idp.acme.internal --key idp.pem --claim sub=alice",
        ),
        exit_codes="0 verified or minted, 1 the token does not verify, 2 malformed token, "
        "bad key or option.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_FORMATS = (OutputFormat.TEXT, OutputFormat.JSON)
_TIME_CLAIMS = ("iat", "nbf", "exp")


@app.command("inspect")
def inspect_command(
    token: str = typer.Argument(..., help="The JWT, or '-' to read it from stdin."),
    ledger: LedgerOption = None,
    rev: RevOption = None,
    at: str | None = typer.Option(
        None,
        "--at",
        metavar="TIME",
        help="Clock (RFC 3339) to check exp/nbf/iat against (default: now).",
    ),
    kind: str | None = typer.Option(
        None,
        "--kind",
        metavar="KIND",
        help="txn, consent, attestation or subject: the issuer must list this kind in its "
        "'issues' (default: any kind it issues).",
        show_default=False,
    ),
    jwks: Path | None = typer.Option(  # noqa: B008
        None,
        "--jwks",
        help="Extra public keys (JWKS file) trusted for every token issuer, as in eval.",
    ),
    fmt: Annotated[OutputFormat, format_option(*_FORMATS)] = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Decode a token and check it against the ledger issuer named by its 'iss'.

    The engine's own check, so the verdict is the one eval gives: the issuer's JWKS (by kid),
    its allowed algorithms, its audience, the kinds it issues (--kind) and the token's
    exp/nbf/iat. Outside a ledger (and without --ledger) the token is only decoded. --jwks
    trusts more public keys for every issuer, exactly as 'ztauth eval --jwks' does, so a token
    eval accepts with --jwks also verifies here.

    Examples:

      $ ztauth token inspect eyJhbGciOiJFZERTQSIs... --ledger sample-ledger
      $ pbpaste | ztauth token inspect - -f json
      $ ztauth token inspect "$CONSENT" --kind consent
      $ ztauth token inspect "$TXN" --jwks staging-idp.jwks.json

    Exit codes: 0 verifies, 1 does not verify (or no ledger), 2 malformed token or bad option.
    """
    raise typer.Exit(
        run_inspect(
            token=token,
            ledger_path=ledger,
            rev=rev,
            at=at,
            fmt=fmt,
            output=output,
            kind=kind,
            jwks_path=jwks,
        )
    )


@app.command("mint")
def mint_command(
    issuer: str = typer.Option(..., "--issuer", help="The 'iss' claim (an Issuer's name)."),
    key: Path = typer.Option(..., "--key", help="Private key PEM to sign with."),  # noqa: B008
    kid: str | None = typer.Option(
        None, "--kid", help="Key id for the header (default: the key's RFC 7638 thumbprint)."
    ),
    alg: str | None = typer.Option(
        None, "--alg", help="Signing algorithm (default: EdDSA, ES256/384/512 or RS256 by key)."
    ),
    claims: list[str] = typer.Option(  # noqa: B008
        [], "--claim", help="k=v claim; v is parsed as JSON when it parses (repeatable)."
    ),
    scope: str | None = typer.Option(None, "--scope", help='The scope claim, e.g. "read write".'),
    audience: str | None = typer.Option(None, "--audience", help="The 'aud' claim."),
    expires_in: str = typer.Option(
        "1h", "--expires-in", help="Lifetime (90s, 10m, 1h, 7d; negative = already expired)."
    ),
    at: str | None = typer.Option(
        None, "--at", metavar="TIME", help="Issue time (RFC 3339; default: now)."
    ),
) -> None:
    """Mint a signed JWT (for tests and demos) and print it on stdout.

    Example:

      $ ztauth keys generate --out idp.pem --jwks keys/idp.jwks.json
      $ ztauth token mint --issuer https://idp.acme.internal --key idp.pem \\
          --claim sub=alice --scope "reports:read" --expires-in 10m

    Exit codes: 0 printed, 2 bad key, algorithm, claim or option.
    """
    raise typer.Exit(
        run_mint(
            issuer=issuer,
            key_path=key,
            kid=kid,
            alg=alg,
            claims=claims,
            scope=scope,
            audience=audience,
            expires_in=expires_in,
            at=at,
        )
    )


# --------------------------------------------------------------------------------------------


def _relative(seconds: float) -> str:
    """'in 59m 30s' / '2h 5m ago' / 'now'."""
    total = round(abs(seconds))
    if total == 0:
        return "now"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    text = " ".join(parts[:2])
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _moment(name: str, value: Any, *, now: datetime) -> dict[str, Any]:
    """A time claim shown as a date; one no date can hold is a malformed token (exit 2)."""
    from ztauth_cli import jose

    try:
        if not math.isfinite(value):
            raise ValueError(name)
        return {
            "value": value,
            "time": jose.format_time(value),
            "relative": _relative(float(value) - now.timestamp()),
        }
    except (OverflowError, OSError, ValueError):
        # NaN, infinities, years outside 1-9999, integers beyond a float: shown as text, cut
        # (a 400-digit number is not worth 400 columns).
        shown = "NaN" if isinstance(value, float) and math.isnan(value) else str(value)
        shown = shown if len(shown) <= 24 else shown[:10] + "..."
        raise jose.TokenError(
            f"malformed token: claim {name!r} ({shown}) is not a date "
            "(a NumericDate between years 1 and 9999)"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Inspection:
    header: dict[str, Any]
    claims: dict[str, Any]
    times: dict[str, dict[str, Any]]
    verified: bool
    reason: str | None
    issuer: str | None = None
    ledger: str | None = None
    revision: str | None = None
    checks: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "claims": self.claims,
            "times": self.times,
            "verified": self.verified,
            "reason": self.reason,
            "issuer": self.issuer,
            "ledger": self.ledger,
            "revision": self.revision,
            "checks": list(self.checks),
        }


def run_inspect(
    *,
    token: str,
    ledger_path: Path | None,
    rev: str | None,
    at: str | None,
    fmt: OutputFormat,
    output: Path | None = None,
    kind: str | None = None,
    jwks_path: Path | None = None,
) -> int:
    """Decode and verify ``token`` (as a token of ``kind`` when given); print the result.
    ``jwks_path`` adds public keys trusted for every issuer (``eval --jwks``).
    Returns 0 (verifies) or 1.

    Raises:
        ZtauthError: malformed token, unreadable ledger, bad option (exit 2).
    """
    from ztauth_cli import jose
    from ztauth_cli.engine.request import TOKEN_KINDS
    from ztauth_cli.errors import LedgerNotFound, UsageError
    from ztauth_cli.ledger import load

    check_format(fmt, _FORMATS, command="ztauth token inspect")
    check_output(output)
    check_ledger_option(ledger_path)
    if kind is not None and kind not in TOKEN_KINDS:
        raise UsageError(f"--kind {kind!r}: expected one of {', '.join(TOKEN_KINDS)}")
    extra_keys = read_public_jwks(jwks_path) if jwks_path is not None else ()
    if token == "-":  # noqa: S105 - the stdin marker, not a secret
        if sys.stdin.isatty():
            # Waiting for a paste nobody knows is expected looks like a hang.
            raise UsageError(
                "'-' reads the token from stdin, but stdin is a terminal",
                hint='pipe it in (echo "$TOKEN" | ztauth token inspect -) or pass it as '
                "the argument",
            )
        token = sys.stdin.read()
    token = token.strip()
    if not token:
        raise UsageError("no token given (pass the JWT or '-' with the JWT on stdin)")
    now = parse_at(at)
    header, claims = jose.decode_unverified(token)
    times = {
        name: _moment(name, claims[name], now=now)
        for name in _TIME_CLAIMS
        if isinstance(claims.get(name), (int, float)) and not isinstance(claims[name], bool)
    }
    base = _Inspection(
        header=header, claims=claims, times=times, verified=False, reason="no ledger"
    )
    ledger: Ledger | None
    try:
        ledger = load(ledger_path, rev)
    except LedgerNotFound:
        if ledger_path is not None or rev is not None:
            raise  # asked for a ledger explicitly: that is an input error
        ledger = None
    result = (
        base
        if ledger is None
        else _verify_with_ledger(
            token,
            ledger,
            now=now,
            base=base,
            kind=kind,
            extra=_ExtraKeys(keys=extra_keys, source=str(jwks_path)) if extra_keys else None,
        )
    )
    _render(result, fmt, now=now, output=output)
    return 0 if result.verified else 1


@dataclass(frozen=True, slots=True, kw_only=True)
class _ExtraKeys:
    """The ``--jwks`` keys and the file they came from (named in the checks)."""

    keys: tuple[dict[str, Any], ...]
    source: str


def _verify_with_ledger(
    token: str,
    ledger: Ledger,
    *,
    now: datetime,
    base: _Inspection,
    kind: str | None,
    extra: _ExtraKeys | None = None,
) -> _Inspection:
    from ztauth_cli import jose
    from ztauth_cli.engine.tokens import ledger_key_sets, verify_with_ledger_issuers

    base = replace(base, ledger=ledger.ztid, revision=ledger.revision, reason=None)
    issuers = {i.name: i for i in ledger.issuers}
    iss = base.claims.get("iss")
    try:
        verified = verify_with_ledger_issuers(
            token,
            issuers=issuers,
            key_sets=ledger_key_sets(ledger),
            now=now,
            kind=kind,
            extra_keys=extra.keys if extra is not None else (),
        )
    except jose.TokenError as exc:
        named = iss if isinstance(iss, str) and iss in issuers else None
        return replace(base, issuer=named, reason=exc.message)
    issuer = issuers[verified.issuer]
    kid = base.header.get("kid")
    from_extra = extra is not None and any(k.get("kid") == kid for k in extra.keys)
    in_ledger = any(k.get("kid") == kid for k in ledger_key_sets(ledger).get(issuer.name, ()))
    where = extra.source if extra is not None and from_extra and not in_ledger else issuer.jwks
    checks = [
        f"signature by key {kid if kid is not None else '(no kid)'} of {where}",
        f"algorithm {base.header.get('alg')} allowed ({', '.join(issuer.algorithms)})",
        "exp/nbf/iat valid at " + jose.format_time(now),
    ]
    if kind is not None:
        checks.append(f"issuer may issue {kind} tokens ({', '.join(sorted(issuer.issues))})")
    if issuer.audience is not None:
        checks.append(f"audience {issuer.audience}")
    return replace(base, issuer=issuer.name, verified=True, checks=tuple(checks))


def _render(result: _Inspection, fmt: OutputFormat, *, now: datetime, output: Path | None) -> None:
    if fmt is OutputFormat.JSON:
        from ztauth_cli.report.envelope import sorted_members

        emit_json("ztauth token inspect", sorted_members(result.to_json()), output)
        return
    emit_rich(lambda console: _render_text(console, result, now=now), output)


def _render_text(console: Console, result: _Inspection, *, now: datetime) -> None:
    from ztauth_cli import jose

    console.print("header", style="bold")
    for name, value in sorted(result.header.items()):
        console.print(f"  {name}: {json.dumps(value)}", markup=False)
    console.print("claims", style="bold")
    for name, value in sorted(result.claims.items()):
        line = f"  {name}: {json.dumps(value, sort_keys=True)}"
        if name in result.times:
            moment = result.times[name]
            line += f"  ({moment['time']}, {moment['relative']})"
        console.print(line, markup=False)
    console.print(f"now: {jose.format_time(now)}", markup=False)
    if result.ledger is not None:
        revision = f" at {result.revision[:12]}" if result.revision else ""
        console.print(f"ledger: {result.ledger}{revision}", markup=False)
    if result.verified:
        console.print(f"verified: issuer {result.issuer}", style="bold green", markup=False)
        for check in result.checks:
            console.print(f"  ok: {check}", markup=False)
    else:
        console.print(f"not verified: {result.reason}", style="bold red", markup=False)


# --------------------------------------------------------------------------------------------


def _parse_claim(text: str) -> tuple[str, Any]:
    from ztauth_cli.errors import UsageError

    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--claim {text!r}: expected NAME=VALUE")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw  # not JSON: a plain string
    return name, value


def run_mint(
    *,
    issuer: str,
    key_path: Path,
    kid: str | None,
    alg: str | None,
    claims: list[str],
    scope: str | None,
    audience: str | None,
    expires_in: str,
    at: str | None,
) -> int:
    """Sign a JWT with the private key at ``key_path`` and print it. Returns 0.

    Raises:
        ZtauthError: unreadable key, disallowed algorithm, bad claim or option (exit 2).
    """
    from ztauth_cli import jose
    from ztauth_cli.errors import DocumentError, UsageError
    from ztauth_cli.ledger.load import parse_duration
    from ztauth_cli.model.span import Span

    now = parse_at(at)
    try:
        lifetime = parse_duration(expires_in)
    except ValueError as exc:
        raise UsageError(f"--expires-in: {exc}") from exc
    try:
        pem = key_path.read_bytes()
    except OSError as exc:
        raise DocumentError(
            f"cannot read the private key: {exc.strerror or exc}", span=Span(path=str(key_path))
        ) from exc
    try:
        handle = jose.load_private_key_pem(pem, passphrase=key_passphrase(pem, path=key_path))
    except jose.TokenError as exc:
        raise jose.TokenError(
            exc.message,
            span=Span(path=str(key_path)),
            hint=exc.hint or "generate one with 'ztauth keys generate' (EdDSA by default)",
        ) from exc
    alg = alg or jose.alg_for_private_key(handle)
    if kid is None:
        kid = jose.public_jwk_for(handle, alg=alg)["kid"]
    issued = int(now.timestamp())
    payload: dict[str, Any] = {
        "iss": issuer,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
    }
    if scope is not None:
        payload["scope"] = scope
    if audience is not None:
        payload["aud"] = audience
    # Explicit --claim values win over the defaults above (e.g. to craft an odd 'exp').
    payload.update(_parse_claim(text) for text in claims)
    typer.echo(jose.sign(payload, handle, alg=alg, kid=kid))
    return 0
