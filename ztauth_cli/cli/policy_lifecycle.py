"""`ztauth policy sign|verify|version|log`: signatures, versions and history of a Git ledger.

Each command parses its options, calls a typed ``run_<command>(...) -> int`` that asks the core
(``ledger/signing``, ``ledger/versions``, ``ledger/history``) and renders the result; no crypto
and no Git here. ``version`` is a group: alone it prints the current version; ``version list``
and ``version bump major|minor|patch`` are its commands. ``bump`` is itself a group so that
``bump auto`` (semantic diff, ``cli/policy_diff.py``) registers on :data:`bump_app`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ztauth_cli.cli._common import (
    LedgerOption,
    OutputOption,
    RequireSignaturesOption,
    RevOption,
    SignersJwksOption,
    check_format,
    check_ledger_option,
    check_output,
    check_pin_outside,
    emit,
    emit_json,
    emit_rich,
    format_option,
    group_epilog,
    key_passphrase,
    parse_at,
    resolve_ledger,
    signer_pin,
)
from ztauth_cli.cli.policy import app
from ztauth_cli.report.formats import OutputFormat

if TYPE_CHECKING:
    from ztauth_cli.ledger.history import LogEntry, VersionRow
    from ztauth_cli.ledger.signing import SignerPin
    from ztauth_cli.ledger.versions import BumpPart, BumpResult, SemVer
    from ztauth_cli.model import Ledger

__all__ = [
    "app",
    "bump_app",
    "run_log",
    "run_sign",
    "run_verify",
    "run_version",
    "run_version_bump",
    "run_version_list",
    "version_app",
]

_FORMATS = (OutputFormat.TEXT, OutputFormat.JSON)

version_app = typer.Typer(
    help="Print the ledger's version; list or create version tags (v<semver>).",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
)
bump_app = typer.Typer(
    help="Create the next version tag at HEAD, after the release gates pass.",
    epilog=group_epilog(
        ("release the next minor version", 'ztauth policy version bump minor -m "refunds"'),
        ("let the decision diff choose the part", "ztauth policy version bump auto"),
        exit_codes="0 tagged, 1 refused by a release gate, 2 usage or input error.",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
version_app.add_typer(bump_app, name="bump")
app.add_typer(version_app, name="version")

FormatOption = Annotated[OutputFormat, format_option(*_FORMATS)]


def _now() -> datetime:
    return parse_at(None)


# ----------------------------------------------------------------------------- sign


@app.command("sign")
def sign_command(
    key: Path = typer.Option(  # noqa: B008 - Typer's declaration style
        ..., "--key", help="PEM private key (EdDSA, ES256, RSA). HMAC secrets are refused."
    ),
    kid: str | None = typer.Option(
        None,
        "--kid",
        help="Key id (default: the kid of this key in the signers JWKS, else its thumbprint).",
    ),
    alg: str | None = typer.Option(
        None, "--alg", help="PS256 to sign with RSASSA-PSS (default: from the key type)."
    ),
    issuer: str | None = typer.Option(
        None, "--issuer", help="Signer identity in the payload's 'iss' (default: the kid)."
    ),
    ledger: LedgerOption = None,
) -> None:
    """Sign the ledger: add (or replace) this key's signature in .signatures.json.

    The signature covers the SHA-256 of the raw bytes of every file the evaluator loads
    (manifest, schema, policies, entities, trust, keys, wherever they sit; not the test
    suites). Other keys' signatures
    are kept, so several signers can coexist. Signs the working tree (commit the result).

    Example:

      $ ztauth keys generate --out ~/keys/release.pem --jwks keys/signers.jwks.json
      $ ztauth policy sign --key ~/keys/release.pem
      signed 14 files of ztauth://.../ledgers/payments with key 3Jx... (EdDSA); ...

    Exit codes: 0 signed, 2 bad key or ledger.
    """
    raise typer.Exit(run_sign(key_path=key, kid=kid, alg=alg, issuer=issuer, ledger_path=ledger))


def run_sign(
    *,
    key_path: Path,
    kid: str | None,
    alg: str | None,
    issuer: str | None,
    ledger_path: Path | None,
) -> int:
    """Sign the working-tree ledger and write ``.signatures.json`` atomically; returns 0.

    Raises:
        ZtauthError: unreadable or unsuitable key, unusable ledger (exit 2).
    """
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.ledger import load
    from ztauth_cli.ledger.signing import (
        load_signing_key,
        merge_signatures,
        parse_signatures,
        sign_ledger,
        signed_paths,
        signer_keys,
        write_signatures,
    )
    from ztauth_cli.model import Span

    loaded = load(resolve_ledger(ledger_path))
    try:
        data = key_path.read_bytes()
    except OSError as exc:
        raise DocumentError(
            f"cannot read the key: {exc.strerror or exc}", span=Span(path=str(key_path))
        ) from exc
    trusted = signer_keys(loaded)
    key = load_signing_key(
        data,
        path=str(key_path),
        kid=kid,
        alg=alg,
        known=trusted.keys,
        passphrase=key_passphrase(data, path=key_path),
    )
    token = sign_ledger(loaded, key, now=_now(), issuer=issuer)
    text = merge_signatures(loaded.signatures_text, token, kid=key.kid)
    target = write_signatures(Path(loaded.root), text)
    count = len(parse_signatures(text))
    files = len(signed_paths(loaded))
    typer.echo(
        f"signed {files} files of {loaded.ztid} with key {key.kid} ({key.alg}); "
        f"{target.name} holds {count} signature(s)"
    )
    if trusted.source is not None and all(k.get("kid") != key.kid for k in trusted.keys):
        typer.echo(
            f"warning: key {key.kid} is not in {trusted.source}; 'policy verify' will report "
            "it as unknown until its public JWK is added there",
            err=True,
        )
    return 0


# ----------------------------------------------------------------------------- verify


@app.command("verify")
def verify_command(
    rev: RevOption = None,
    signers_jwks: Annotated[
        Path | None,
        typer.Option(
            "--signers-jwks",
            "--jwks",
            metavar="FILE",
            help="Trust ONLY these signer keys (a JWKS kept outside the ledger) instead of the "
            "manifest's 'signers' (default: $ZTAUTH_SIGNERS_JWKS).",
            show_default=False,
        ),
    ] = None,
    require_signatures: RequireSignaturesOption = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REV",
            help="Report a manifest that lowered require_signatures or changed its signers "
            "since REV (default: HEAD for the working tree, the previous version tag for --rev).",
            show_default=False,
        ),
    ] = None,
    ledger: LedgerOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Verify the ledger's signatures against its current content.

    Recomputes every signed file's SHA-256 and checks each signature in .signatures.json:
    trusted key (the manifest's signers JWKS, or only the pinned --signers-jwks), allowed
    algorithm (never none or HMAC), this ledger's ZTID, and no file added, removed or changed
    since signing. The number of valid DISTINCT signer keys must reach
    max(--require-signatures, settings.require_signatures, 1).

    The gate itself is compared with a base revision: a manifest that lowered
    settings.require_signatures or changed its signers JWKS is a finding, unless the quorum of
    signers trusted at the base signed the new content (a base that required no signature,
    with nothing pinned, had no gate to weaken).

    Examples:

      $ ztauth policy verify
      $ ztauth policy verify --rev v1.2.0 --signers-jwks pinned-signers.jwks.json -f json
      $ ztauth policy verify --base origin/main               # CI on a pull request

    Exit codes: 0 verified, 1 not verified (or the gate was weakened), 2 usage or input error.
    """
    raise typer.Exit(
        run_verify(
            rev=rev,
            jwks_path=signers_jwks,
            ledger_path=ledger,
            fmt=fmt,
            output=output,
            require_signatures=require_signatures,
            base=base,
        )
    )


def run_verify(
    *,
    rev: str | None,
    jwks_path: Path | None,
    ledger_path: Path | None,
    fmt: OutputFormat,
    output: Path | None = None,
    require_signatures: int | None = None,
    base: str | None = None,
) -> int:
    """Verify and report; returns 0 (verified) or 1 (not verified, or the gate weakened since
    the base revision).

    Raises:
        ZtauthError: no ledger, unknown revision or --base, unreadable pin or manifest (exit 2).
    """
    from ztauth_cli.ledger import load
    from ztauth_cli.ledger.signing import gate_findings, verify_ledger, with_findings

    check_format(fmt, _FORMATS, command="ztauth policy verify")
    check_output(output)
    check_ledger_option(ledger_path)
    pin = signer_pin(jwks_path, require_signatures)
    loaded = load(ledger_path, rev, tolerant=True)
    _require_manifest(loaded)
    check_pin_outside(pin, loaded.root)
    now = _now()
    result = verify_ledger(
        loaded,
        jwks=pin.keys,
        jwks_source=pin.source or "--signers-jwks",
        require=pin.floor,
        now=now,
    )
    label = base if base is not None else _default_base(loaded, rev=rev)
    base_ledger = _base_ledger(ledger_path, label, explicit=base is not None)
    findings: tuple[str, ...] = ()
    if base_ledger is not None and label is not None:
        findings = gate_findings(loaded, base_ledger, base_label=label, floor=pin.floor, now=now)
        result = with_findings(result, findings)
    base_json = (
        {"revision": label, "commit": base_ledger.revision, "findings": list(findings)}
        if base_ledger is not None
        else None
    )
    if fmt is OutputFormat.JSON:
        emit_json(
            "ztauth policy verify",
            {
                "ledger": loaded.ztid,
                "revision": loaded.revision,
                **result.to_json(),
                "base": base_json,
            },
            output,
        )
    else:
        from ztauth_cli.report.lifecycle_text import render_verify

        where = f"{label} ({(base_ledger.revision or '')[:12]})" if base_ledger else None
        emit_rich(
            lambda console: render_verify(console, loaded, result, rev=rev, base=where), output
        )
    return 0 if result.ok else 1


def _default_base(loaded: Ledger, *, rev: str | None) -> str | None:
    """HEAD for the working tree (what is about to be committed changes what is committed);
    the previous version tag for a revision (what changed since the last release). None
    outside Git or before the first commit or release."""
    from ztauth_cli.errors import GitError
    from ztauth_cli.ledger import git
    from ztauth_cli.ledger.versions import previous_version_tag

    root = Path(loaded.root)
    if rev is None:
        repo_root = git.find_repo_root(root)
        if repo_root is None:
            return None
        repo = git.open_repo(repo_root)
        try:
            return "HEAD" if git.head_commit(repo) is not None else None
        finally:
            repo.close()
    try:
        return previous_version_tag(root, loaded.revision) if loaded.revision else None
    except GitError:
        return None


def _base_ledger(ledger_path: Path | None, label: str | None, *, explicit: bool) -> Ledger | None:
    """The ledger at the base revision; None when there is no base (a default base where the
    ledger did not exist yet). An explicit --base that cannot be read is an error."""
    from ztauth_cli.errors import LedgerNotFound
    from ztauth_cli.ledger import load

    if label is None:
        return None
    try:
        return load(ledger_path, label, tolerant=True)
    except LedgerNotFound:
        if explicit:
            raise
        return None


def _require_manifest(loaded: Ledger) -> None:
    if loaded.manifest is None:
        manifest_problems = [p for p in loaded.problems if p.span and p.span.path == "ztauth.yaml"]
        if manifest_problems:
            raise manifest_problems[0]
        from ztauth_cli.errors import DocumentError

        raise DocumentError("the manifest is unusable")


# ----------------------------------------------------------------------------- version


@version_app.callback()
def version_command(
    ctx: typer.Context,
    ledger: LedgerOption = None,
    rev: Annotated[
        str | None,
        typer.Option(
            "--rev",
            metavar="REV",
            help="Describe this Git revision or tag instead of HEAD and the working tree.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Print the ledger's current version.

    v1.4.0 at a version tag; v1.4.0+3.g1a2b3c4 three commits past it; +dirty (or .dirty)
    when the ledger's files in the working tree differ from HEAD; v0.0.0+N.g<sha> before the
    first release. With --rev, the version of that revision (never dirty).

    Examples:

      $ ztauth policy version
      v1.4.0+3.g1a2b3c4
      $ ztauth policy version --rev HEAD~2
      $ ztauth policy version list
      $ ztauth policy version bump auto

    Exit codes: 0, or 2 outside a Git repository.
    """
    if ctx.invoked_subcommand is not None:
        return
    raise typer.Exit(run_version(ledger_path=ledger, fmt=fmt, output=output, rev=rev))


def run_version(
    *,
    ledger_path: Path | None,
    fmt: OutputFormat,
    output: Path | None = None,
    rev: str | None = None,
) -> int:
    """Print the current version (of ``rev`` when given); returns 0.

    Raises:
        ZtauthError: no ledger, no repository, no commit yet, unknown revision (exit 2).
    """
    from ztauth_cli.errors import GitError
    from ztauth_cli.ledger.versions import current_version

    check_format(fmt, _FORMATS, command="ztauth policy version")
    check_output(output)
    current = current_version(resolve_ledger(ledger_path), rev=rev)
    if current is None:
        raise GitError("the repository has no commit yet, so the ledger has no version")
    if fmt is OutputFormat.JSON:
        emit_json(
            "ztauth policy version",
            {
                # "version" is the envelope's (ztauth's own): the ledger's is ledger_version.
                "ledger_version": current.version,
                "tag": current.tag,
                "distance": current.distance,
                "commit": current.commit,
                "dirty": current.dirty,
            },
            output,
        )
    else:
        emit(current.version + "\n", output)
    return 0


@version_app.command("list")
def version_list_command(
    ledger: LedgerOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """List every version tag (v<semver>, by semver) with its date, commit and signatures.

    Signatures: verified, unsigned, or invalid with the first reason, checked on the ledger
    as it was at that tag.

    Example:

      $ ztauth policy version list
      TAG     DATE                  COMMIT   SIGNATURES
      v1.0.0  2026-06-01T12:00:00Z  1a2b3c4  verified

    Exit codes: 0, or 2 outside a Git repository.
    """
    raise typer.Exit(run_version_list(ledger_path=ledger, fmt=fmt, output=output))


def run_version_list(
    *, ledger_path: Path | None, fmt: OutputFormat, output: Path | None = None
) -> int:
    """List the version tags; returns 0.

    Raises:
        ZtauthError: no ledger or no repository (exit 2).
    """
    from ztauth_cli.ledger.history import version_rows

    check_format(fmt, _FORMATS, command="ztauth policy version list")
    check_output(output)
    rows = version_rows(resolve_ledger(ledger_path), now=_now())
    if fmt is OutputFormat.JSON:
        emit_json(
            "ztauth policy version list", {"versions": [_version_json(r) for r in rows]}, output
        )
        return 0
    from ztauth_cli.report.lifecycle_text import version_table

    emit(version_table(rows), output)
    return 0


def _version_json(row: VersionRow) -> dict[str, Any]:
    return {
        "tag": row.tag.name,
        "version": str(row.tag.version),
        "commit": row.tag.commit,
        "date": row.tag.date,
        "annotated": row.tag.annotated,
        "tagger": row.tag.tagger,
        "message": row.tag.message.strip() if row.tag.message else None,
        "signatures": row.signature,
        "signatures_reason": row.signature_reason,
    }


# ----------------------------------------------------------------------------- version bump


def _bump(part: str) -> Callable[..., None]:
    def command(
        message: str | None = typer.Option(
            None, "--message", "-m", help="Tag message (default: 'ledger vX.Y.Z')."
        ),
        ledger: LedgerOption = None,
        fmt: FormatOption = OutputFormat.TEXT,
        signers_jwks: SignersJwksOption = None,
        require_signatures: RequireSignaturesOption = None,
    ) -> None:
        raise typer.Exit(
            run_version_bump(
                part=part,
                message=message,
                ledger_path=ledger,
                fmt=fmt,
                pin=signer_pin(signers_jwks, require_signatures),
            )
        )

    command.__doc__ = (
        f"Tag HEAD with the next {part} version (annotated tag, never moved once made).\n\n"
        "Only when the ledger's working tree matches HEAD, lint passes at HEAD, the test "
        "suites pass at HEAD and required signatures verify (against --signers-jwks / "
        "--require-signatures when pinned: a revision the pin does not vouch for is never "
        "tagged). Prints the new tag on stdout.\n\n"
        f"Example:\n\n  $ ztauth policy version bump {part} -m 'quarterly release'\n\n"
        "Exit codes: 0 tagged, 1 refused, 2 usage or input error."
    )
    return command


for _part in ("major", "minor", "patch"):
    bump_app.command(_part)(_bump(_part))


def run_version_bump(
    *,
    part: BumpPart | str | None,
    message: str | None,
    ledger_path: Path | None,
    fmt: OutputFormat,
    derive: Callable[[Path, SemVer | None, str], BumpPart | str] | None = None,
    explain: Sequence[str] = (),
    pin: SignerPin | None = None,
) -> int:
    """Create the next version tag after the release gates; returns 0 (tagged) or 1 (refused).

    ``derive`` picks the part from the ledger (``bump auto``); ``explain`` lines are printed
    with the result (why that part). ``pin`` fixes the signature gate from outside the ledger.

    Raises:
        ZtauthError: no ledger, no repository, no commit (exit 2).
    """
    from ztauth_cli.gates import release_gates
    from ztauth_cli.ledger.versions import bump_version

    check_format(fmt, _FORMATS, command="ztauth policy version bump")
    root = resolve_ledger(ledger_path)
    if pin is not None:
        check_pin_outside(pin, str(root))
    gates = release_gates(now=_now, pin=pin)
    result = bump_version(root, part, message=message, derive=derive, gates=gates, now=_now)
    _render_bump(result, fmt=fmt, explain=explain)
    return 0 if result.tag is not None else 1


def _render_bump(result: BumpResult, *, fmt: OutputFormat, explain: Sequence[str]) -> None:
    if fmt is OutputFormat.JSON:
        emit_json(
            "ztauth policy version bump",
            {
                "created": result.tag is not None,
                "tag": result.version,
                "previous": result.previous,
                "commit": result.tag.commit if result.tag is not None else None,
                "refused": list(result.refused),
                "reasons": list(explain),
            },
            None,
        )
        return
    for line in explain:
        typer.echo(f"  {line}", err=True)
    if result.tag is not None:
        typer.echo(result.tag.name)
        typer.echo(
            f"tagged {result.tag.commit[:7]} as {result.tag.name} "
            f"(previous: {result.previous or 'none'})",
            err=True,
        )
        return
    typer.echo(f"refused to tag {result.version}:", err=True)
    for reason in result.refused:
        typer.echo(f"  - {reason}", err=True)


# ----------------------------------------------------------------------------- log


@app.command("log")
def log_command(
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="At most N commits."),
    ledger: LedgerOption = None,
    rev: Annotated[
        str | None,
        typer.Option(
            "--rev",
            metavar="REV",
            help="Start from this Git revision or tag instead of HEAD.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.TEXT,
    output: OutputOption = None,
) -> None:
    """Show the commits that changed the ledger, newest first.

    Each with sha, author, date (RFC 3339), subject, the version tags naming it and the state
    of its signatures at that commit (verified / unsigned / invalid). Works on a ledger in a
    subfolder of a larger repository and on shallow clones.

    Example:

      $ ztauth policy log -n 5 -f json
      $ ztauth policy log --rev v1.2.0

    Exit codes: 0, or 2 outside Git.
    """
    raise typer.Exit(run_log(limit=limit, ledger_path=ledger, fmt=fmt, output=output, rev=rev))


def run_log(
    *,
    limit: int | None,
    ledger_path: Path | None,
    fmt: OutputFormat,
    output: Path | None = None,
    rev: str | None = None,
) -> int:
    """Print the ledger's history (from ``rev`` when given, else HEAD); returns 0.

    Raises:
        ZtauthError: no ledger, no repository or unknown revision (exit 2).
    """
    from ztauth_cli.ledger.history import ledger_log

    check_format(fmt, _FORMATS, command="ztauth policy log")
    check_output(output)
    entries = ledger_log(resolve_ledger(ledger_path), rev=rev, limit=limit, now=_now())
    if fmt is OutputFormat.JSON:
        emit_json("ztauth policy log", {"commits": [_log_json(e) for e in entries]}, output)
        return 0
    if not entries:
        emit("no commit has touched the ledger yet\n", output)
        return 0
    from ztauth_cli.report.lifecycle_text import render_log

    emit_rich(lambda console: render_log(console, entries), output)
    return 0


def _log_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "sha": entry.sha,
        "author": entry.author,
        "date": entry.date,
        "subject": entry.subject,
        "tags": list(entry.tags),
        "signatures": entry.signature,
        "signatures_reason": entry.signature_reason,
    }
