"""JOSE for ztauth: JWS/JWT signing and verification, JWKs and key generation.

This is the only module that imports ``jwt`` (pyjwt) and ``cryptography`` (STYLE.md rule 4).
The imports happen inside the functions that need them, so importing this module stays cheap
and ``ztauth --version`` never loads either library.

Security choices follow RFC 8725 (JSON Web Token Best Current Practices):

* an explicit allow-list of asymmetric algorithms (:data:`ALLOWED_ALGORITHMS`); the token's
  header never chooses the algorithm on its own (RFC 8725 §3.1);
* ``none`` is refused: an unsigned token proves nothing (RFC 8725 §2.1);
* HMAC (``HS*``) is refused: verifying an HMAC token with a *public* key as the secret is the
  classic key-confusion attack (RFC 8725 §2.1, §3.1), and ledgers only publish public keys;
* a key is used only for the algorithm family (and curve) it belongs to (RFC 8725 §3.1);
* the clock is injected: ``exp``/``nbf``/``iat`` are checked here against ``now`` with
  :data:`LEEWAY`, and pyjwt is never allowed to read the wall clock (RFC 7519 §4.1.4-6).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime, timedelta, timezone
from typing import Any

from ztauth_cli.errors import ZtauthError
from ztauth_cli.model.record import record

__all__ = [
    "ALLOWED_ALGORITHMS",
    "LEEWAY",
    "DuplicateKeyError",
    "KeyPair",
    "PrivateKeyHandle",
    "TokenError",
    "alg_for_private_key",
    "decode_unverified",
    "encrypt_private_pem",
    "format_time",
    "generate_key",
    "is_encrypted_pem",
    "is_private_jwk",
    "jwk_thumbprint",
    "load_private_key_pem",
    "public_jwk_for",
    "sign",
    "unique_object",
    "validate_public_jwk",
    "verify",
]

# RFC 8725 §3.1: verifiers must use an explicit allow-list. Only asymmetric algorithms: a
# ledger publishes public keys, so a symmetric (HS*) or unsigned (none) token can never be
# trusted by it.
ALLOWED_ALGORITHMS: tuple[str, ...] = (
    "EdDSA",
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
)

# Clock skew tolerated between the token issuer and the evaluator (RFC 7519 §4.1.4 allows
# "some small leeway"); 30 seconds is the customary value.
LEEWAY = timedelta(seconds=30)

# Which JWK key type (and curves) each algorithm may be used with (RFC 7518 §3.1, RFC 8037).
_KTY_FOR_ALG: dict[str, str] = {
    "EdDSA": "OKP",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
}
_CURVES_FOR_ALG: dict[str, tuple[str, ...]] = {
    "EdDSA": ("Ed25519", "Ed448"),
    "ES256": ("P-256",),
    "ES384": ("P-384",),
    "ES512": ("P-521",),
}
# RFC 7638 §3.2: the required members, in lexicographic order, that make up the thumbprint.
_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
# Members that carry private or secret key material (RFC 7517 §9.2, RFC 7518 §6.2.2, §6.3.2,
# §6.4.1, RFC 8037 §2).
_PRIVATE_MEMBERS: tuple[str, ...] = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# NIST SP 800-131A / RFC 7518 §3.3: RSA keys must be at least 2048 bits.
_MIN_RSA_BITS = 2048


class TokenError(ZtauthError):
    """A token or key is malformed, or a token does not verify; the message says why."""


@record(frozen=True, slots=True)
class PrivateKeyHandle:
    """An opaque, loaded private key (a ``cryptography`` key object). Never printed."""

    key: Any = field(repr=False)


@record(frozen=True, slots=True, kw_only=True)
class KeyPair:
    """A freshly generated key: the private key as PKCS#8 PEM and its public JWK."""

    private_pem: bytes = field(repr=False)
    public_jwk: dict[str, Any]
    kid: str
    alg: str


# --------------------------------------------------------------------------------------------
# Small helpers


def format_time(value: float | datetime) -> str:
    """Render a NumericDate (seconds since the epoch) or a datetime as RFC 3339 UTC (``...Z``)."""
    if isinstance(value, datetime):
        moment = _aware(value)
    else:
        moment = datetime.fromtimestamp(value, tz=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat()
    return text.replace("+00:00", "Z")


def _aware(moment: datetime) -> datetime:
    # A naive datetime is read as UTC: .timestamp() on a naive value would use local time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _b64url_decode(segment: str, *, what: str) -> bytes:
    if _B64URL_SEGMENT.fullmatch(segment) is None:
        raise TokenError(f"malformed token: the {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenError(f"malformed token: the {what} is not base64url") from exc


# The base64url alphabet only (RFC 4648 §5, no padding): the stdlib decoder would otherwise
# skip stray characters, so two different strings could decode to the same bytes.
_B64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice (``args[0]`` is the key)."""


def unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A ``json.loads`` ``object_pairs_hook`` that refuses duplicate keys (tokens, JWKS).

    Raises:
        DuplicateKeyError: naming the first key seen twice.
    """
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def _json_object(data: bytes, *, what: str) -> dict[str, Any]:
    # RFC 7515 §4 and RFC 7519 §4: a header or claims set with duplicate member names must be
    # rejected. Parsers disagree on which duplicate wins (pyjwt's json.loads keeps the last,
    # others the first), so a token could say one thing to us and another to the PEP: refused,
    # at every depth (an 'act' object too), as requests are.
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=unique_object)
    except DuplicateKeyError as exc:
        raise TokenError(
            f"malformed token: the {what} names {exc.args[0]!r} twice (duplicate JSON keys "
            "are refused: parsers disagree on which one wins)"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TokenError(f"malformed token: the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise TokenError(f"malformed token: the {what} is not a JSON object")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # RFC 7519 §2: a NumericDate is a JSON number; bool is an int subclass in Python.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenError(f"malformed token: claim '{name}' is not a number (NumericDate)")
    # Python's JSON parser accepts NaN and Infinity; an 'exp' of NaN compares false with
    # everything and so would never expire. Refuse anything but a finite number.
    if not math.isfinite(value):
        raise TokenError(f"malformed token: claim '{name}' is not a finite number")
    return float(value)


def _describe_keys(keys: Sequence[Mapping[str, Any]]) -> str:
    kids = sorted(str(k.get("kid")) for k in keys if k.get("kid") is not None)
    return ", ".join(kids) if kids else "no kids"


# --------------------------------------------------------------------------------------------
# JWKs


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding.

    Raises TokenError when the key type is unsupported or a required member is missing.
    """
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise TokenError(f"unsupported kty {kty!r} (expected EC, OKP or RSA)")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise TokenError(f"{kty} key is missing {', '.join(repr(m) for m in missing)}")
    import hashlib  # here: loading OpenSSL's digests is not free, and few commands hash

    # RFC 7638 §3: required members only, sorted, no whitespace.
    canonical = json.dumps({m: jwk[m] for m in members}, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def is_private_jwk(jwk: Mapping[str, Any]) -> bool:
    """True when the JWK holds private or secret key material (``d``, RSA primes, ``k``)."""
    return any(member in jwk for member in _PRIVATE_MEMBERS)


def validate_public_jwk(jwk: Mapping[str, Any]) -> str | None:
    """Return the problem with a JWK meant for a public JWKS, or None when it is usable.

    Never raises: the problem is returned as text so that lint can report it as a finding.
    """
    # Raw JSON may hold anything, whatever the annotation says: check at runtime.
    if not isinstance(jwk, Mapping):
        return "a JWK must be a JSON object"  # type: ignore[unreachable]
    kty = jwk.get("kty")
    if kty == "oct" or "k" in jwk:
        # A symmetric secret can never be published, and HMAC is refused (RFC 8725 §2.1).
        return "symmetric key (kty 'oct') in a public JWKS: HMAC keys are refused"
    private = sorted(m for m in _PRIVATE_MEMBERS if m in jwk)
    if private:
        names = ", ".join(f"'{m}'" for m in private)
        return f"private key material ({names}) in a public JWKS"
    if kty not in _THUMBPRINT_MEMBERS:
        return f"unsupported kty {kty!r} (expected EC, OKP or RSA)"
    missing = [m for m in _THUMBPRINT_MEMBERS[kty] if not isinstance(jwk.get(m), str)]
    if missing:
        return f"{kty} key is missing {', '.join(repr(m) for m in missing)}"
    use = jwk.get("use")
    if use is not None and use != "sig":
        return f"key use {use!r} is not 'sig'"
    alg = jwk.get("alg")
    if alg is not None:
        if alg not in ALLOWED_ALGORITHMS:
            return f"algorithm {alg!r} is not allowed (allowed: {', '.join(ALLOWED_ALGORITHMS)})"
        if _KTY_FOR_ALG[alg] != kty:
            return f"algorithm {alg!r} cannot be used with a {kty} key"
    crv = jwk.get("crv")
    if kty == "OKP" and crv not in _CURVES_FOR_ALG["EdDSA"]:
        return f"unsupported OKP curve {crv!r} (expected Ed25519 or Ed448)"
    if kty == "EC":
        allowed_curves = ("P-256", "P-384", "P-521")
        if crv not in allowed_curves:
            return f"unsupported EC curve {crv!r} (expected {', '.join(allowed_curves)})"
        if isinstance(alg, str) and crv not in _CURVES_FOR_ALG[alg]:
            return f"algorithm {alg!r} cannot be used with curve {crv!r}"
    try:
        key = _public_key_from_jwk(jwk, alg=_default_alg(jwk))
    except TokenError as exc:
        return exc.message
    if kty == "RSA" and key.key_size < _MIN_RSA_BITS:
        return f"RSA key of {key.key_size} bits is too short (at least {_MIN_RSA_BITS})"
    return None


def _default_alg(jwk: Mapping[str, Any]) -> str:
    alg = jwk.get("alg")
    if isinstance(alg, str) and alg in ALLOWED_ALGORITHMS:
        return alg
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP":
        return "EdDSA"
    if kty == "EC":
        return {"P-384": "ES384", "P-521": "ES512"}.get(str(crv), "ES256")
    return "RS256"


def _public_key_from_jwk(jwk: Mapping[str, Any], *, alg: str) -> Any:
    """Build a cryptography public key from a JWK, ignoring any private members.

    Raises:
        TokenError: when the JWK does not make a key for ``alg``.
    """
    # Only the public members: a private member would make pyjwt build a private key, and a
    # verifier has no business holding one.
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
    try:
        canonical = json.dumps(public, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return _build_public_key(public, alg)  # not JSON data: build it (and fail) uncached
    return _cached_public_key(canonical, alg)


# Building a key (PyJWK: parse, point-on-curve check) costs more than verifying with it. A key
# is a pure function of its JWK's public members and the algorithm, so it is built once per
# distinct (JWK, alg) and shared: loading the ledger (validate_public_jwk) builds the keys
# that verification then reuses. Only keys that were built are cached, never a failure.
@functools.lru_cache(maxsize=1024)
def _cached_public_key(canonical: str, alg: str) -> Any:
    public = json.loads(canonical)
    key = _plain_public_key(public, alg)
    return key if key is not None else _build_public_key(public, alg)


# The curves, coordinate sizes and algorithm families PyJWK accepts for the keys built below.
_EC_CURVES = {"P-256": ("SECP256R1", 32), "P-384": ("SECP384R1", 48), "P-521": ("SECP521R1", 66)}
_FAMILY = {"ES": "EC", "Ed": "OKP", "RS": "RSA", "PS": "RSA"}


def _strict_b64url(value: Any) -> bytes | None:
    if not isinstance(value, str) or _B64URL_SEGMENT.fullmatch(value) is None:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _plain_public_key(public: Mapping[str, Any], alg: str) -> Any:
    """The key PyJWK would build, made with cryptography alone (importing pyjwt costs more
    than loading a ledger); None whenever this is not certain, and PyJWK then decides (and
    words the error). Stricter than PyJWK, never looser: exact coordinate sizes, strict
    base64url, and cryptography's own point-on-curve and size checks."""
    kty = public.get("kty")
    if _FAMILY.get(alg[:2]) != kty:
        return None
    try:
        if kty == "EC":
            from cryptography.hazmat.primitives.asymmetric import ec

            curve, size = _EC_CURVES.get(str(public.get("crv")), ("", 0))
            x, y = _strict_b64url(public.get("x")), _strict_b64url(public.get("y"))
            if not curve or x is None or y is None or not len(x) == len(y) == size:
                return None
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), getattr(ec, curve)()
            )
            return numbers.public_key()
        if kty == "OKP":
            from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

            raw = _strict_b64url(public.get("x"))
            if raw is None:
                return None
            if public.get("crv") == "Ed25519":
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
            if public.get("crv") == "Ed448":
                return ed448.Ed448PublicKey.from_public_bytes(raw)
            return None
        from cryptography.hazmat.primitives.asymmetric import rsa

        n, e = _strict_b64url(public.get("n")), _strict_b64url(public.get("e"))
        if n is None or e is None or "oth" in public:
            return None
        return rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
    except (ValueError, TypeError):
        return None  # cryptography refused it: PyJWK reports why


def _build_public_key(public: Mapping[str, Any], alg: str) -> Any:
    import jwt

    try:
        return jwt.PyJWK(dict(public), algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise TokenError(f"invalid {public.get('kty')} key: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Private keys


def generate_key(alg: str = "EdDSA", *, kid: str | None = None) -> KeyPair:
    """Generate a signing key pair for ``alg``; ``kid`` defaults to the RFC 7638 thumbprint.

    Raises TokenError for an algorithm outside :data:`ALLOWED_ALGORITHMS`.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    _check_allowed(alg)
    key: Any
    if alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif alg.startswith("ES"):
        curves: dict[str, ec.EllipticCurve] = {
            "ES256": ec.SECP256R1(),
            "ES384": ec.SECP384R1(),
            "ES512": ec.SECP521R1(),
        }
        key = ec.generate_private_key(curves[alg])
    else:
        # 65537 and 2048 bits: the NIST SP 800-131A minimum, fast enough for tests.
        key = rsa.generate_private_key(public_exponent=65537, key_size=_MIN_RSA_BITS)
    handle = PrivateKeyHandle(key)
    jwk = public_jwk_for(handle, kid=kid, alg=alg)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return KeyPair(private_pem=pem, public_jwk=jwk, kid=jwk["kid"], alg=alg)


def is_encrypted_pem(data: bytes) -> bool:
    """True for a passphrase-protected PEM private key (PKCS#8 or the older Proc-Type form)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data


def encrypt_private_pem(data: bytes, passphrase: bytes) -> bytes:
    """``data`` (an unencrypted PEM private key) as PKCS#8 encrypted with ``passphrase``.

    Raises TokenError when the data is not a private key or the passphrase is empty.
    """
    from cryptography.hazmat.primitives import serialization

    if not passphrase:
        raise TokenError("an empty passphrase protects nothing")
    key = load_private_key_pem(data).key
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def load_private_key_pem(data: bytes, *, passphrase: bytes | None = None) -> PrivateKeyHandle:
    """Load a PEM private key (Ed25519/Ed448, EC P-256/384/521, RSA >= 2048); an encrypted
    one with ``passphrase``.

    Raises TokenError when the data is not such a key, or the passphrase is missing or wrong.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    encrypted = is_encrypted_pem(data)
    try:
        key = load_pem_private_key(data, password=passphrase if encrypted else None)
    except TypeError as exc:
        raise TokenError(
            "the private key is encrypted and no passphrase was given",
            hint="set ZTAUTH_KEY_PASSPHRASE, or run on a terminal to be asked for it",
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if encrypted:
            raise TokenError("wrong passphrase for the encrypted private key") from exc
        public = b"PUBLIC KEY-----" in data
        raise TokenError(
            "not a PEM private key "
            + (
                "(this is a public key: signing needs its private half)"
                if public
                else "(expected a PKCS#8, PKCS#1 or SEC1 PEM)"
            )
        ) from exc
    handle = PrivateKeyHandle(key)
    alg_for_private_key(handle)  # rejects unsupported key types now, not at signing time
    return handle


def alg_for_private_key(handle: PrivateKeyHandle) -> str:
    """The default signing algorithm for a private key (EdDSA, ES256/384/512 or RS256).

    Raises TokenError for key types ztauth does not sign with.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key = handle.key
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        alg = by_curve.get(key.curve.name)
        if alg is None:
            raise TokenError(f"unsupported EC curve {key.curve.name!r}")
        return alg
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < _MIN_RSA_BITS:
            raise TokenError(f"RSA key of {key.key_size} bits is too short")
        return "RS256"
    raise TokenError(f"unsupported private key type {type(key).__name__}")


def _check_key_fits(handle: PrivateKeyHandle, alg: str) -> None:
    natural = alg_for_private_key(handle)
    if natural == alg:
        return
    if natural.startswith("RS") and _KTY_FOR_ALG[alg] == "RSA":
        return  # one RSA key signs RS* and PS*
    raise TokenError(f"a {natural} key cannot sign with algorithm {alg!r}")


def public_jwk_for(
    handle: PrivateKeyHandle, *, kid: str | None = None, alg: str | None = None
) -> dict[str, Any]:
    """The public JWK of a private key, with ``use: sig``, ``alg`` and ``kid`` (thumbprint).

    Raises TokenError when ``alg`` does not fit the key.
    """
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    alg = alg or alg_for_private_key(handle)
    _check_allowed(alg)
    _check_key_fits(handle, alg)
    public = handle.key.public_key()
    kty = _KTY_FOR_ALG[alg]
    converter: Any = {"OKP": OKPAlgorithm, "EC": ECAlgorithm, "RSA": RSAAlgorithm}[kty]
    jwk: dict[str, Any] = dict(converter.to_jwk(public, as_dict=True))
    jwk = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
    jwk["kid"] = kid if kid is not None else jwk_thumbprint(jwk)
    jwk["alg"] = alg
    jwk["use"] = "sig"
    return dict(sorted(jwk.items()))


def _check_allowed(alg: str) -> None:
    if alg.lower() == "none":
        raise TokenError("algorithm 'none' refused: an unsigned token proves nothing (RFC 8725)")
    if alg.upper().startswith("HS"):
        raise TokenError(
            f"HMAC algorithm {alg!r} refused: ledgers publish public keys, and an HMAC token "
            "checked with a public key as its secret is the key-confusion attack (RFC 8725 §2.1)"
        )
    if alg not in ALLOWED_ALGORITHMS:
        raise TokenError(
            f"algorithm {alg!r} is not allowed (allowed: {', '.join(ALLOWED_ALGORITHMS)})"
        )


# --------------------------------------------------------------------------------------------
# Tokens


def sign(
    payload: Mapping[str, Any],
    private_key: PrivateKeyHandle | bytes,
    *,
    alg: str,
    kid: str | None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a compact JWS (a JWT when the payload is a claims set).

    Raises TokenError for a disallowed algorithm, a key that does not fit it, or a payload
    that is not JSON-serialisable.
    """
    import jwt

    _check_allowed(alg)
    if isinstance(private_key, PrivateKeyHandle):
        handle = private_key
    else:
        handle = load_private_key_pem(private_key)
    _check_key_fits(handle, alg)
    extra: dict[str, Any] = dict(headers or {})
    extra.setdefault("typ", "JWT")
    if kid is not None:
        extra["kid"] = kid
    try:
        return jwt.encode(dict(payload), handle.key, algorithm=alg, headers=extra)
    except (TypeError, ValueError) as exc:
        raise TokenError(f"cannot sign the payload: {exc}") from exc


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a compact JWS into its (header, claims) WITHOUT checking anything.

    Only for display and for choosing the verification key; never trust the result.
    Raises TokenError when the token is not a compact JWS with JSON-object header and payload.
    """
    if not isinstance(token, str):
        raise TokenError("malformed token: expected a string")
    parts = token.strip().split(".")
    if len(parts) == 5:
        raise TokenError("malformed token: this is an encrypted JWE, not a signed JWT")
    if len(parts) != 3:
        raise TokenError(
            f"malformed token: expected 3 dot-separated parts (header.payload.signature), "
            f"found {len(parts)}"
        )
    header = _json_object(_b64url_decode(parts[0], what="header"), what="header")
    claims = _json_object(_b64url_decode(parts[1], what="payload"), what="payload")
    if parts[2]:
        _b64url_decode(parts[2], what="signature")
    return header, claims


def _check_header_alg(header: Mapping[str, Any], algorithms: Sequence[str], who: str) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise TokenError("malformed token: header has no 'alg'")
    # RFC 8725 §3.1: refuse 'none' and HMAC explicitly, whatever the caller allows.
    _check_allowed(alg)
    if alg not in algorithms:
        allowed = ", ".join(a for a in algorithms if a in ALLOWED_ALGORITHMS) or "none listed"
        raise TokenError(f"algorithm {alg!r} is not allowed for {who} (allowed: {allowed})")
    # RFC 7515 §4.1.11: a critical extension we do not understand must make us reject; we
    # understand none (b64=false, RFC 7797, would change what is signed).
    if "crit" in header or "b64" in header:
        raise TokenError("unsupported critical header parameters ('crit'/'b64')")
    # RFC 8725 §3.10: keys named by URL in the header are never fetched or trusted.
    for name in ("jku", "x5u", "jwk", "x5c"):
        if name in header:
            raise TokenError(f"header parameter {name!r} refused: keys come from the ledger only")
    return alg


def _candidate_keys(
    header: Mapping[str, Any], keys: Sequence[Mapping[str, Any]], alg: str, who: str
) -> list[Mapping[str, Any]]:
    kid = header.get("kid")
    kty = _KTY_FOR_ALG[alg]
    # A JWKS is raw input: anything that is not a JSON object is simply not a key.
    raw: Sequence[Any] = keys
    keys = [k for k in raw if isinstance(k, Mapping)]
    if kid is not None:
        named = [k for k in keys if k.get("kid") == kid]
        if not named:
            raise TokenError(f"unknown kid {kid!r} for {who} (known: {_describe_keys(keys)})")
        fitting = [k for k in named if _key_fits_alg(k, alg)]
        if not fitting:
            found = named[0]
            raise TokenError(
                f"key {kid!r} of {who} ({found.get('kty')}, alg {found.get('alg', '-')}) "
                f"cannot verify algorithm {alg!r}"
            )
        return fitting
    # No kid: try every key of the right type (RFC 7515 §4.1.4 makes kid optional).
    fitting = [k for k in keys if _key_fits_alg(k, alg)]
    if not fitting:
        raise TokenError(f"{who} has no {kty} key for algorithm {alg!r}")
    return fitting


def _key_fits_alg(jwk: Mapping[str, Any], alg: str) -> bool:
    # A key is bound to one algorithm family (RFC 8725 §3.1): an RSA key never verifies an
    # EdDSA token, a key whose JWK names an "alg" only verifies that alg, and curves must match.
    if jwk.get("kty") != _KTY_FOR_ALG[alg]:
        return False
    key_alg = jwk.get("alg")
    if key_alg is not None and key_alg != alg:
        return False
    if jwk.get("use") not in (None, "sig"):
        return False
    curves = _CURVES_FOR_ALG.get(alg)
    return curves is None or jwk.get("crv") in curves


def verify(
    token: str,
    *,
    keys: Sequence[Mapping[str, Any]],
    algorithms: Sequence[str],
    now: datetime,
    audience: str | None = None,
    issuer: str | None = None,
    leeway: timedelta = LEEWAY,
    require_exp: bool = True,
) -> dict[str, Any]:
    """Verify a compact JWT and return its claims.

    Checks, in order: shape; header ``alg`` in ``algorithms`` and :data:`ALLOWED_ALGORITHMS`
    (``none`` and HMAC always refused); the key (by ``kid``, else each key of the right type);
    the signature; ``exp``/``nbf``/``iat`` against ``now`` with ``leeway``; ``aud`` when
    ``audience`` is given; ``iss`` when ``issuer`` is given.
    Raises TokenError saying exactly which check failed.
    """
    import jwt

    who = f"issuer {issuer}" if issuer else "the issuer"
    header, _ = decode_unverified(token)
    alg = _check_header_alg(header, algorithms, who)
    candidates = _candidate_keys(header, keys, alg, who)

    claims: dict[str, Any] | None = None
    problems: list[str] = []
    for jwk in candidates:
        try:
            public_key = _public_key_from_jwk(jwk, alg=alg)
        except TokenError as exc:
            problems.append(exc.message)
            continue
        try:
            # Signature only: pyjwt's JWS layer reads no clock and no claims; the algorithm list
            # is the single one already checked above, so the header cannot pick another.
            verified = jwt.PyJWS().decode_complete(token.strip(), public_key, algorithms=[alg])
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            problems.append(str(exc))
            continue
        claims = _json_object(verified["payload"], what="payload")
        break
    if claims is None:
        detail = f" ({'; '.join(sorted(set(problems)))})" if problems else ""
        kid = header.get("kid")
        if kid is not None:
            raise TokenError(f"signature does not verify with key {kid!r} of {who}{detail}")
        raise TokenError(f"signature does not verify with any key of {who}{detail}")

    _check_times(claims, now=_aware(now), leeway=leeway, require_exp=require_exp)
    if audience is not None:
        _check_audience(claims, audience)
    if issuer is not None and claims.get("iss") != issuer:
        raise TokenError(f"wrong issuer: token says {claims.get('iss')!r}, expected {issuer!r}")
    return claims


def _check_times(
    claims: Mapping[str, Any], *, now: datetime, leeway: timedelta, require_exp: bool
) -> None:
    current = now.timestamp()
    slack = leeway.total_seconds()
    exp = _numeric_date(claims, "exp")
    if exp is None:
        if require_exp:
            # RFC 8725 §3.10 spirit: a bearer token that never expires is refused.
            raise TokenError("token has no 'exp' claim (an expiry is required)")
    elif current >= exp + slack:
        raise TokenError(f"token expired at {format_time(exp)} (now {format_time(now)})")
    nbf = _numeric_date(claims, "nbf")
    if nbf is not None and current + slack < nbf:
        raise TokenError(f"token not valid before {format_time(nbf)} (now {format_time(now)})")
    iat = _numeric_date(claims, "iat")
    if iat is not None and current + slack < iat:
        raise TokenError(
            f"token issued in the future at {format_time(iat)} (now {format_time(now)})"
        )


def _check_audience(claims: Mapping[str, Any], audience: str) -> None:
    aud = claims.get("aud")
    if aud is None:
        raise TokenError(f"token has no 'aud' claim (expected {audience!r})")
    # RFC 7519 §4.1.3: a string or an array of strings.
    if isinstance(aud, str):
        values = [aud]
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        values = list(aud)
    else:
        raise TokenError("malformed token: claim 'aud' is neither a string nor a string list")
    if audience not in values:
        raise TokenError(
            f"wrong audience: token is for {', '.join(sorted(values)) or 'nobody'}, "
            f"expected {audience!r}"
        )
