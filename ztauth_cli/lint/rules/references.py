"""ZT1xx: cross-references between trust documents, identifiers and key files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ztauth_cli.lint.context import LintContext
from ztauth_cli.lint.registry import Hit, field_span, repeats, rule
from ztauth_cli.model.documents import Delegation
from ztauth_cli.model.findings import Severity
from ztauth_cli.model.ids import parse_ztid
from ztauth_cli.model.span import Span

__all__ = [
    "actor_group_unknown",
    "duplicate_rank",
    "invalid_identifier",
    "invalid_public_key",
    "issuer_algorithm_unusable",
    "issuer_role_missing",
    "issuer_unknown",
    "key_file_missing",
    "min_trust_level_unknown",
    "private_key_in_ledger",
    "trust_level_unknown",
]


def _consent_issuer_at(delegation: Delegation) -> Span:
    return field_span(delegation, "consent.issuer", "consent")


def _names(items: Any) -> str:
    names = sorted(items)
    return ", ".join(names) if names else "none defined"


def _dangling(
    refs: Iterable[tuple[str, str | None, Span]],
    known: set[str],
    *,
    message: str,
    listed: str = "defined",
) -> Iterator[Hit]:
    """One hit per reference ``(owner, name, span)`` whose name is set but not in ``known``.

    ``message`` is formatted with ``owner`` and ``name``; the names that do exist follow it,
    so a typo is one look away from its fix.
    """
    for owner, name, span in refs:
        if name is not None and name not in known:
            yield Hit(
                message=message.format(owner=owner, name=name) + f" ({listed}: {_names(known)})",
                span=span,
            )


@rule(
    "ZT101",
    "trust-level-unknown",
    Severity.ERROR,
    summary="A security group names a trust level that does not exist.",
    help=(
        "Every SecurityGroup's trust_level must name a TrustLevel document of the ledger; "
        "otherwise no member of the group can ever be trusted."
    ),
)
def trust_level_unknown(ctx: LintContext) -> Iterator[Hit]:
    """Groups whose ``trust_level`` is not a TrustLevel."""
    yield from _dangling(
        ((g.name, g.trust_level, field_span(g, "trust_level")) for g in ctx.ledger.groups),
        {t.name for t in ctx.ledger.trust_levels},
        message="security group {owner!r} has unknown trust level {name!r}",
    )


@rule(
    "ZT102",
    "group-unknown",
    Severity.ERROR,
    summary="An elevation's actor or a delegation's delegate names an unknown security group.",
    help=(
        "Elevation.actor.group and Delegation.delegate.group must name a SecurityGroup of the "
        "ledger. A typo here silently disables the elevation or delegation."
    ),
)
def actor_group_unknown(ctx: LintContext) -> Iterator[Hit]:
    """Elevation actors and delegation delegates that name no security group."""
    groups = {g.name for g in ctx.ledger.groups}
    yield from _dangling(
        (
            (e.id, e.actor.group, field_span(e, "actor.group", "actor"))
            for e in ctx.ledger.elevations
        ),
        groups,
        message="elevation {owner!r}: actor group {name!r} does not exist",
    )
    yield from _dangling(
        (
            (d.id, d.delegate.group, field_span(d, "delegate.group", "delegate"))
            for d in ctx.ledger.delegations
        ),
        groups,
        message="delegation {owner!r}: delegate group {name!r} does not exist",
    )


@rule(
    "ZT103",
    "issuer-unknown",
    Severity.ERROR,
    summary="A consent or attestation issuer is not declared as an Issuer.",
    help=(
        "Delegation.consent.issuer and TrustLevel.requires.attestation.issuer must name an "
        "Issuer document, whose JWKS is used to verify the consent or attestation token."
    ),
)
def issuer_unknown(ctx: LintContext) -> Iterator[Hit]:
    """Consent and attestation issuers that are not Issuer documents."""
    issuers = {i.name for i in ctx.ledger.issuers}
    yield from _dangling(
        ((d.id, d.consent_issuer, _consent_issuer_at(d)) for d in ctx.ledger.delegations),
        issuers,
        message="delegation {owner!r}: consent issuer {name!r} is not declared",
        listed="issuers",
    )
    yield from _dangling(
        _attestation_issuers(ctx),
        issuers,
        message="trust level {owner!r}: attestation issuer {name!r} is not declared",
        listed="issuers",
    )


def _attestation_issuers(ctx: LintContext) -> Iterator[tuple[str, str, Span]]:
    for level in ctx.ledger.trust_levels:
        if level.attestation is not None:
            span = field_span(level, "requires.attestation.issuer", "requires.attestation")
            yield level.name, level.attestation.issuer, span


@rule(
    "ZT104",
    "min-trust-level-unknown",
    Severity.ERROR,
    summary="An elevation requires a minimum trust level that does not exist.",
    help="Elevation.requires.min_trust_level must name a TrustLevel document of the ledger.",
)
def min_trust_level_unknown(ctx: LintContext) -> Iterator[Hit]:
    """Elevations whose ``min_trust_level`` is not a TrustLevel."""
    yield from _dangling(
        (
            (e.id, e.min_trust_level, field_span(e, "requires.min_trust_level"))
            for e in ctx.ledger.elevations
        ),
        {t.name for t in ctx.ledger.trust_levels},
        message="elevation {owner!r}: min trust level {name!r} does not exist",
    )


@rule(
    "ZT105",
    "duplicate-rank",
    Severity.ERROR,
    summary="Two trust levels have the same rank.",
    help=(
        "Trust-level ranks order assurance tiers (higher = more trusted) and must be unique, "
        "or 'at least level X' becomes ambiguous."
    ),
)
def duplicate_rank(ctx: LintContext) -> Iterator[Hit]:
    """Trust levels sharing a rank (reported at every level after the first)."""
    for level, other in repeats(ctx.ledger.trust_levels, lambda t: t.rank):
        yield Hit(
            message=f"trust level {level.name!r} has rank {level.rank}, already used by "
            f"{other.name!r} ({other.span})",
            span=field_span(level, "rank"),
        )


@rule(
    "ZT106",
    "invalid-identifier",
    Severity.ERROR,
    summary="A ZTID (ledger id or issuer audience) breaks the protocol's identifier rules.",
    help=(
        "A ZTID is ztauth://<domain>/<zone>/<path>: the domain matches [a-z0-9._-]+ (no "
        "uppercase, port, userinfo or percent-encoding), the zone is an integer from "
        "100000000000 to 999999999999, path segments match [A-Za-z0-9._-]+ with no '.' or '..' "
        "segment and no trailing '/'. Identifiers are rejected, never normalised."
    ),
)
def invalid_identifier(ctx: LintContext) -> Iterator[Hit]:
    """The manifest's ZTID (checked by the loader) and ``ztauth://`` issuer audiences."""
    for problem in ctx.ledger.problems:
        if problem.message.startswith("ZTID "):
            yield Hit(message=problem.message, span=problem.span)
    for issuer in ctx.ledger.issuers:
        audience = issuer.audience
        if audience is not None and audience.startswith("ztauth:"):
            try:
                parse_ztid(audience)
            except ValueError as exc:
                yield Hit(
                    message=f"issuer {issuer.name!r}: audience {exc}",
                    span=field_span(issuer, "audience"),
                )


@rule(
    "ZT107",
    "key-file-missing",
    Severity.ERROR,
    summary="An issuer's jwks or the manifest's signers file is not a JWKS file of the ledger.",
    help=(
        "Issuer.jwks and the manifest's signers must name a keys/**/*.jwks.json file of the "
        "ledger (the loader reads no other key files)."
    ),
)
def key_file_missing(ctx: LintContext) -> Iterator[Hit]:
    """Key references that do not resolve to a loaded JWKS file."""
    present = {f.path for f in ctx.ledger.files}
    refs: list[tuple[str, str, Span]] = [
        (f"issuer {i.name!r}", i.jwks, field_span(i, "jwks")) for i in ctx.ledger.issuers
    ]
    manifest = ctx.ledger.manifest
    if manifest is not None and manifest.signers is not None:
        refs.append(("the manifest's signers", manifest.signers, field_span(manifest, "signers")))
    for who, path, span in refs:
        if ctx.ledger.key_set(path) is not None:
            continue
        if path in present:
            continue  # read but unparsable: reported by ZT001 at the key file itself
        if not (path.startswith("keys/") and path.endswith(".jwks.json")):
            yield Hit(
                message=f"{who}: key file {path!r} is not under keys/ with suffix .jwks.json",
                span=span,
                hint="move it to keys/<name>.jwks.json",
            )
        else:
            yield Hit(message=f"{who}: key file {path!r} does not exist", span=span)


def _keys(ctx: LintContext) -> Iterator[tuple[int, Any, str]]:
    """Every key of every JWKS file: its index in the file, the JWK, and the file's path."""
    for key_set in ctx.ledger.key_sets:
        for index, jwk in enumerate(key_set.keys):
            yield index, jwk, key_set.span.path


def _key_span(ctx: LintContext, path: str, jwk: Any, index: int) -> Span:
    """The line of a key inside its JWKS file: where its ``kid`` is, else its opening brace."""
    key_set = ctx.ledger.key_set(path)
    text = key_set.text if key_set is not None else ""
    kid = jwk.get("kid") if isinstance(jwk, dict) else None
    if isinstance(kid, str):
        match = re.search(r'"kid"\s*:\s*"' + re.escape(kid) + '"', text)
        if match is not None:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            return Span(path=path, line=line, column=column)
    braces = [m.start() for m in re.finditer(r"\{", text)]
    # braces[0] opens the JWKS object itself; key ``index`` opens one of the following ones.
    if len(braces) > index + 1:
        offset = braces[index + 1]
        line = text.count("\n", 0, offset) + 1
        return Span(path=path, line=line, column=offset - (text.rfind("\n", 0, offset) + 1) + 1)
    return Span(path=path)


@rule(
    "ZT108",
    "invalid-public-key",
    Severity.ERROR,
    summary="A JWKS file holds a key that is not a usable public signing key.",
    help=(
        "Keys in keys/**/*.jwks.json must be public EC (P-256/384/521), OKP (Ed25519/Ed448) or "
        "RSA (>= 2048 bits) signing keys, with an allowed alg (never none or HS*)."
    ),
)
def invalid_public_key(ctx: LintContext) -> Iterator[Hit]:
    """Keys that ``jose.validate_public_jwk`` rejects (private material is ZT109)."""
    from ztauth_cli import jose

    for index, jwk, path in _keys(ctx):
        if jose.is_private_jwk(jwk):
            continue
        problem = jose.validate_public_jwk(jwk)
        if problem is not None:
            yield Hit(
                message=f"key {index} ({jwk.get('kid', 'no kid')}): {problem}",
                span=_key_span(ctx, path, jwk, index),
            )


@rule(
    "ZT109",
    "private-key-in-ledger",
    Severity.ERROR,
    summary="A JWKS file of the ledger holds private or secret key material.",
    help=(
        "A ledger is public, reviewed and replicated: it must only hold public keys. A private "
        "key ('d', RSA primes) or a symmetric secret ('k') committed here is compromised: "
        "remove it, rotate the key and publish only the public half."
    ),
)
def private_key_in_ledger(ctx: LintContext) -> Iterator[Hit]:
    """Keys with private members."""
    from ztauth_cli import jose

    for index, jwk, path in _keys(ctx):
        if jose.is_private_jwk(jwk):
            problem = jose.validate_public_jwk(jwk) or "private key material"
            yield Hit(
                message=f"key {index} ({jwk.get('kid', 'no kid')}): {problem}",
                span=_key_span(ctx, path, jwk, index),
                hint="remove the key, rotate it, and publish only its public half",
            )


@rule(
    "ZT110",
    "issuer-role-missing",
    Severity.ERROR,
    summary="An issuer is used for tokens it is not declared to issue.",
    help=(
        "An issuer named as a delegation's consent issuer must list 'consent' in issues; one "
        "named as a trust level's attestation issuer must list 'attestation'. Otherwise every "
        "such token is refused at evaluation time."
    ),
)
def issuer_role_missing(ctx: LintContext) -> Iterator[Hit]:
    """Consent/attestation issuers that do not declare that token type."""
    issuers = {i.name: i for i in ctx.ledger.issuers}
    uses = (
        (
            "consent",
            (
                (f"delegation {d.id!r}", d.consent_issuer, _consent_issuer_at(d))
                for d in ctx.ledger.delegations
            ),
        ),
        ("attestation", ((f"trust level {o!r}", n, s) for o, n, s in _attestation_issuers(ctx))),
    )
    for kind, refs in uses:
        for owner, name, span in refs:
            issuer = issuers.get(name or "")
            if issuer is not None and kind not in issuer.issues:
                yield Hit(
                    message=f"{owner}: issuer {issuer.name!r} does not issue {kind} tokens "
                    f"(issues: {', '.join(sorted(issuer.issues))})",
                    span=span,
                )


@rule(
    "ZT111",
    "issuer-algorithm-unusable",
    Severity.ERROR,
    summary="An issuer allows an algorithm that none of its keys can verify.",
    help=(
        "Each algorithm in Issuer.algorithms needs at least one key of the matching type in the "
        "issuer's JWKS (EdDSA: OKP, ES*: EC, RS*/PS*: RSA); otherwise tokens signed that way "
        "can never verify."
    ),
)
def issuer_algorithm_unusable(ctx: LintContext) -> Iterator[Hit]:
    """Issuer algorithms without a key of the right type."""
    for issuer in ctx.ledger.issuers:
        key_set = ctx.ledger.key_set(issuer.jwks)
        if key_set is None:
            continue
        types = {k.get("kty") for k in key_set.keys}
        for index, alg in enumerate(issuer.algorithms):
            kty = "OKP" if alg == "EdDSA" else "EC" if alg.startswith("ES") else "RSA"
            if kty not in types:
                yield Hit(
                    message=f"issuer {issuer.name!r} allows {alg} but {issuer.jwks} has no "
                    f"{kty} key",
                    span=field_span(issuer, f"algorithms.{index}", "algorithms"),
                )
