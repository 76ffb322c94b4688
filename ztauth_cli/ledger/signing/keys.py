"""Keys for ledger signatures: the signer's private key and the trusted signers' JWKS.

Only asymmetric keys sign a ledger. The verifier holds public keys from the ledger itself
(the manifest's ``signers`` JWKS) or pinned from outside it (``--signers-jwks``, see
:class:`SignerPin`); an HMAC secret would have to be shared with every verifier, so anyone
able to verify could also forge (RFC 8725 §2.1): refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from ztauth_cli import jose
from ztauth_cli.errors import DocumentError, UsageError
from ztauth_cli.model import Ledger, Span
from ztauth_cli.model.record import record

__all__ = [
    "NO_PIN",
    "SIGNING_ALGORITHMS",
    "SignerKeys",
    "SignerPin",
    "SigningKey",
    "load_jwks_file",
    "load_pinned_signers",
    "load_signing_key",
    "signer_keys",
]

# DESIGN.md "Signing and versions": EdDSA (default), ES256, RS256/PS256; never none or HMAC.
SIGNING_ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256", "PS256")


@record(frozen=True, slots=True, kw_only=True)
class SigningKey:
    """A loaded private key ready to sign: algorithm, key id and public JWK."""

    handle: jose.PrivateKeyHandle = field(repr=False)
    alg: str
    kid: str
    public_jwk: dict[str, Any]


def load_signing_key(
    data: bytes,
    *,
    path: str,
    kid: str | None = None,
    alg: str | None = None,
    known: Sequence[Mapping[str, Any]] = (),
    passphrase: bytes | None = None,
) -> SigningKey:
    """Load a PEM private key for signing a ledger (an encrypted one with ``passphrase``).

    The algorithm follows from the key type (Ed25519 -> EdDSA, P-256 -> ES256, RSA -> RS256;
    ``alg="PS256"`` picks RSASSA-PSS for an RSA key). ``kid`` and ``alg`` default to those of
    the matching public key in ``known`` (the signers JWKS); ``kid`` else to the RFC 7638
    thumbprint.

    Raises:
        DocumentError: the file is not an asymmetric PEM private key (an HMAC secret, a public
            key, an encrypted key), or its type has no allowed signing algorithm.
        UsageError: ``alg`` is not allowed for ledger signatures or does not fit the key.
    """
    where = Span(path=path)
    if b"-----BEGIN" not in data:
        raise DocumentError(
            "not a PEM private key; HMAC secrets and raw keys are refused: a ledger signature "
            "must be verifiable with a public key",
            span=where,
            hint="generate one with 'ztauth keys generate' (EdDSA by default)",
        )
    try:
        handle = jose.load_private_key_pem(data, passphrase=passphrase)
        natural = jose.alg_for_private_key(handle)
    except jose.TokenError as exc:
        raise DocumentError(exc.message, span=where, hint=exc.hint) from exc
    # The signers JWKS may pin an algorithm for this key (an RSA key listed as PS256): follow it.
    match = _matching_key(handle, natural, known)
    if alg is None and match is not None and isinstance(match.get("alg"), str):
        alg = match["alg"]
    chosen = alg or natural
    if chosen not in SIGNING_ALGORITHMS:
        allowed = ", ".join(SIGNING_ALGORITHMS)
        if alg is None:
            raise DocumentError(
                f"a {natural} key cannot sign a ledger (allowed: {allowed})", span=where
            )
        raise UsageError(f"algorithm {alg!r} is not allowed for ledger signatures ({allowed})")
    try:
        public = jose.public_jwk_for(handle, alg=chosen)
    except jose.TokenError as exc:
        raise UsageError(exc.message) from exc
    thumbprint = jose.jwk_thumbprint(public)
    if kid is None and match is not None and isinstance(match.get("kid"), str):
        kid = match["kid"]
    final_kid = kid if kid is not None else thumbprint
    public["kid"] = final_kid
    return SigningKey(handle=handle, alg=chosen, kid=final_kid, public_jwk=public)


def _matching_key(
    handle: jose.PrivateKeyHandle, natural: str, known: Sequence[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The JWK in ``known`` holding this private key's public half, if any."""
    if not known:
        return None
    try:
        thumbprint = jose.jwk_thumbprint(jose.public_jwk_for(handle, alg=natural))
    except jose.TokenError:
        return None
    for candidate in known:
        try:
            if jose.jwk_thumbprint(candidate) == thumbprint:
                return candidate
        except jose.TokenError:
            continue
    return None


def load_jwks_file(path: Path) -> tuple[dict[str, Any], ...]:
    """Read a JWKS file (``{"keys": [...]}``) given on the command line.

    Raises:
        DocumentError: unreadable file, invalid JSON, or not a JWKS.
    """
    where = Span(path=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise DocumentError(f"cannot read the JWKS: {reason}", span=where) from exc
    try:
        # A key set given on the command line is a trust anchor: a member named twice would be
        # read one way here and another way by other tools, so it is refused.
        data = json.loads(text, object_pairs_hook=jose.unique_object)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"invalid JSON: {exc.msg}",
            span=Span(path=str(path), line=exc.lineno, column=exc.colno),
        ) from exc
    except jose.DuplicateKeyError as exc:
        raise DocumentError(f"duplicate key {exc.args[0]!r}", span=where) from None
    except RecursionError:
        raise DocumentError("JSON nested too deeply", span=where) from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise DocumentError('a JWKS file must be {"keys": [<JWK>, ...]}', span=where)
    return tuple(keys)


@record(frozen=True, slots=True, kw_only=True)
class SignerPin:
    """The signature gate pinned from outside the ledger (DESIGN.md, threat model).

    A ledger's manifest names its own signers and its own ``require_signatures``, so whoever
    edits the ledger could switch the gate off or vouch for themselves. A pin comes from the
    command line or the CI environment instead and the manifest can only tighten it:

    * ``keys`` (``--signers-jwks``): when given, the ONLY keys trusted to sign; the manifest's
      ``signers`` JWKS is ignored.
    * ``required`` (``--require-signatures``): a floor; the requirement is
      ``max(required, settings.require_signatures)``. Pinned keys with no count mean at least 1.
    """

    keys: tuple[dict[str, Any], ...] | None = None
    source: str | None = None
    required: int | None = None

    @property
    def pinned(self) -> bool:
        """True when anything is pinned (keys or a count)."""
        return self.keys is not None or self.required is not None

    @property
    def floor(self) -> int:
        """The pinned minimum number of signers: the count, else 1 with pinned keys, else 0."""
        if self.required is not None:
            return self.required
        return 1 if self.keys is not None else 0

    def requirement(self, ledger: Ledger) -> int:
        """The effective requirement: ``max(pinned floor, settings.require_signatures)``."""
        manifest = ledger.manifest.settings.require_signatures if ledger.manifest else 0
        return max(self.floor, manifest)


NO_PIN = SignerPin()


def load_pinned_signers(path: Path) -> tuple[dict[str, Any], ...]:
    """The public keys of a pinned signers JWKS file (``--signers-jwks``).

    A pin is the trust anchor of every signature check, so a bad one is a usage error (exit
    2), never a quietly smaller key set.

    Raises:
        DocumentError: unreadable file, invalid JSON, or not a JWKS.
        UsageError: a key holds private material, is symmetric, or has no ``kid``.
    """
    keys = load_jwks_file(path)
    for index, jwk in enumerate(keys):
        problem = jose.validate_public_jwk(jwk)
        if problem is None and not isinstance(jwk.get("kid"), str):
            problem = "it has no 'kid' (signatures name their key by kid)"
        if problem is not None:
            raise UsageError(f"keys[{index}]: {problem}", span=Span(path=str(path)))
    return keys


@record(frozen=True, slots=True, kw_only=True)
class SignerKeys:
    """The public keys trusted to sign a ledger, where they came from, and refused keys."""

    source: str | None
    keys: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]


def signer_keys(
    ledger: Ledger,
    *,
    jwks: Sequence[Mapping[str, Any]] | None = None,
    jwks_source: str = "--jwks",
) -> SignerKeys:
    """The usable signer keys: ``jwks`` when given, else the manifest's ``signers`` JWKS.

    A key that is not a valid public signing key (private material, HMAC, unknown type) is
    left out and named in ``problems``; it can never make a signature valid.
    """
    raw: Sequence[Mapping[str, Any]]
    if jwks is not None:
        raw, source = jwks, jwks_source
    else:
        manifest = ledger.manifest
        if manifest is None or manifest.signers is None:
            return SignerKeys(
                source=None,
                keys=(),
                problems=("the manifest names no 'signers' JWKS and no --jwks was given",),
            )
        source = manifest.signers
        key_set = ledger.key_set(source)
        if key_set is None:
            return SignerKeys(
                source=source,
                keys=(),
                problems=(f"signers JWKS {source} is missing or unreadable",),
            )
        raw = key_set.keys
    usable: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, jwk in enumerate(raw):
        problem = jose.validate_public_jwk(jwk)
        name = jwk.get("kid", f"#{index + 1}")
        if problem is not None:
            problems.append(f"signer key {name!r} in {source} refused: {problem}")
        elif not isinstance(jwk.get("kid"), str):
            problems.append(f"signer key #{index + 1} in {source} refused: it has no 'kid'")
        else:
            usable.append(dict(jwk))
    return SignerKeys(source=source, keys=tuple(usable), problems=tuple(sorted(problems)))
