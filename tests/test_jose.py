"""jose.py: real keys, real signatures, injected clock (RFC 8725 checks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ztauth_cli import jose
from ztauth_cli.jose import TokenError

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
T = int(NOW.timestamp())
ISSUER = "https://idp.acme.internal"
AUD = "ztauth://acme.internal/273165098782/ledgers/payments"


@pytest.fixture(scope="module")
def keys() -> dict[str, jose.KeyPair]:
    return {alg: jose.generate_key(alg) for alg in ("EdDSA", "ES256", "RS256", "PS256")}


@pytest.fixture(scope="module")
def ed(keys: dict[str, jose.KeyPair]) -> jose.KeyPair:
    return keys["EdDSA"]


def _claims(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISSUER, "sub": "alice", "aud": AUD, "iat": T, "exp": T + 3600}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _verify(token: str, kp: jose.KeyPair, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "keys": [kp.public_jwk],
        "algorithms": [kp.alg],
        "now": NOW,
        "audience": AUD,
        "issuer": ISSUER,
    }
    options.update(kwargs)
    return jose.verify(token, **options)


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256", "PS256"])
def test_round_trip_every_family(keys: dict[str, jose.KeyPair], alg: str) -> None:
    kp = keys[alg]
    token = jose.sign(_claims(), kp.private_pem, alg=alg, kid=kp.kid)
    header, _ = jose.decode_unverified(token)
    assert header == {"alg": alg, "kid": kp.kid, "typ": "JWT"}
    assert _verify(token, kp) == _claims()


def test_generated_key_shape_and_thumbprint(ed: jose.KeyPair) -> None:
    jwk = ed.public_jwk
    assert sorted(jwk) == ["alg", "crv", "kid", "kty", "use", "x"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    # RFC 7638 by hand: required members only, sorted, no whitespace.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"))
    assert ed.kid == _b64(hashlib.sha256(canonical.encode()).digest())
    assert jose.validate_public_jwk(jwk) is None
    assert ed.private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_rfc7638_example_thumbprint() -> None:
    # The example key and thumbprint of RFC 7638 §3.1.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
        "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
        "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
        "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    jwk = {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jose.jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_load_private_key_and_public_jwk(keys: dict[str, jose.KeyPair]) -> None:
    for alg, kp in keys.items():
        handle = jose.load_private_key_pem(kp.private_pem)
        expected = "RS256" if alg == "PS256" else alg
        assert jose.alg_for_private_key(handle) == expected
        assert jose.public_jwk_for(handle, alg=alg, kid=kp.kid) == kp.public_jwk


def test_bad_pem_is_a_token_error() -> None:
    with pytest.raises(TokenError, match="not a PEM private key"):
        jose.load_private_key_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


def test_key_must_fit_algorithm(ed: jose.KeyPair) -> None:
    with pytest.raises(TokenError, match="a EdDSA key cannot sign with algorithm 'ES256'"):
        jose.sign(_claims(), ed.private_pem, alg="ES256", kid=ed.kid)


@pytest.mark.parametrize("alg", ["none", "HS256", "RS1"], ids=["none", "hmac", "unknown"])
def test_sign_refuses_disallowed_algorithms(ed: jose.KeyPair, alg: str) -> None:
    with pytest.raises(TokenError, match=r"refused|not allowed"):
        jose.sign(_claims(), ed.private_pem, alg=alg, kid=None)


def test_expired(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(iat=T - 7200, exp=T - 60), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(
        TokenError,
        match=r"^token expired at 2026-06-01T11:59:00Z \(now 2026-06-01T12:00:00Z\)$",
    ):
        _verify(token, ed)


def test_leeway_tolerates_small_skew(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(exp=T - 10, nbf=T + 10), ed.private_pem, alg="EdDSA", kid=ed.kid)
    assert _verify(token, ed)["sub"] == "alice"
    with pytest.raises(TokenError, match="expired"):
        _verify(token, ed, leeway=timedelta(0))


def test_not_yet_valid(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(nbf=T + 600), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match=r"not valid before 2026-06-01T12:10:00Z"):
        _verify(token, ed)


def test_issued_in_the_future(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(iat=T + 600), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match=r"issued in the future at 2026-06-01T12:10:00Z"):
        _verify(token, ed)


def test_missing_exp_required_by_default(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(exp=None), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match="no 'exp' claim"):
        _verify(token, ed)
    assert _verify(token, ed, require_exp=False)["sub"] == "alice"


def test_wrong_audience(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(aud=["a", "b"]), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match=r"wrong audience: token is for a, b, expected"):
        _verify(token, ed)
    assert _verify(token, ed, audience="b")["aud"] == ["a", "b"]


def test_wrong_issuer(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(iss="https://evil"), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match="wrong issuer"):
        _verify(token, ed)


def test_alg_none_refused(ed: jose.KeyPair) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    token = f"{header}.{_b64(json.dumps(_claims()).encode())}."
    with pytest.raises(TokenError, match="algorithm 'none' refused"):
        jose.verify(token, keys=[ed.public_jwk], algorithms=["none", "EdDSA"], now=NOW)


def test_hmac_with_public_key_bytes_refused(keys: dict[str, jose.KeyPair]) -> None:
    # The key-confusion attack: HS256 keyed with the issuer's *public* key bytes.
    kp = keys["RS256"]
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public_pem = (
        jose.load_private_key_pem(kp.private_pem)
        .key.public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": kp.kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{_b64(mac)}"
    with pytest.raises(TokenError, match=r"HMAC algorithm 'HS256' refused.*key-confusion"):
        jose.verify(token, keys=[kp.public_jwk], algorithms=["HS256", "RS256"], now=NOW)


def test_algorithm_not_allowed_for_issuer(keys: dict[str, jose.KeyPair]) -> None:
    kp = keys["RS256"]
    token = jose.sign(_claims(), kp.private_pem, alg="RS256", kid=kp.kid)
    with pytest.raises(
        TokenError,
        match=rf"algorithm 'RS256' is not allowed for issuer {ISSUER} \(allowed: EdDSA, ES256\)",
    ):
        _verify(token, kp, algorithms=["EdDSA", "ES256"])


def test_unknown_kid(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(), ed.private_pem, alg="EdDSA", kid="other")
    with pytest.raises(TokenError, match=rf"unknown kid 'other' for issuer {ISSUER} \(known: "):
        _verify(token, ed)


def test_tampered_payload(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(), ed.private_pem, alg="EdDSA", kid=ed.kid)
    header, _, signature = token.split(".")
    forged = _b64(json.dumps(_claims(sub="mallory")).encode())
    with pytest.raises(TokenError, match=rf"signature does not verify with key '{ed.kid}'"):
        _verify(f"{header}.{forged}.{signature}", ed)


def test_signed_by_another_key_without_kid(ed: jose.KeyPair) -> None:
    other = jose.generate_key("EdDSA")
    token = jose.sign(_claims(), other.private_pem, alg="EdDSA", kid=None)
    with pytest.raises(TokenError, match=r"signature does not verify with any key of issuer"):
        _verify(token, ed)
    # Without a kid every key of the right type is tried.
    assert _verify(token, ed, keys=[ed.public_jwk, other.public_jwk])["sub"] == "alice"


def test_key_of_wrong_type_never_used(keys: dict[str, jose.KeyPair]) -> None:
    # A PS256 token cannot be verified by a key whose JWK pins alg RS256 (one key, one alg).
    rs = keys["RS256"]
    token = jose.sign(_claims(), rs.private_pem, alg="PS256", kid=rs.kid)
    with pytest.raises(TokenError, match="cannot verify algorithm 'PS256'"):
        _verify(token, rs, algorithms=["PS256"])


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("abc", "expected 3 dot-separated parts"),
        ("a.b.c.d.e", "encrypted JWE"),
        ("!!.e30.", "header is not base64url"),
        (f"{_b64(b'[1]')}.e30.", "header is not a JSON object"),
        (f"{_b64(b'{}')}.{_b64(b'nope')}.", "payload is not JSON"),
    ],
    ids=["parts", "jwe", "b64", "header-array", "payload-json"],
)
def test_malformed_tokens(token: str, message: str) -> None:
    with pytest.raises(TokenError, match=message):
        jose.decode_unverified(token)


def test_header_keys_by_url_refused(ed: jose.KeyPair) -> None:
    token = jose.sign(
        _claims(), ed.private_pem, alg="EdDSA", kid=ed.kid, headers={"jku": "https://x"}
    )
    with pytest.raises(TokenError, match="'jku' refused"):
        _verify(token, ed)


@pytest.mark.parametrize(
    ("jwk", "problem"),
    [
        ({"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}, "private key material ('d')"),
        ({"kty": "oct", "k": "c2VjcmV0"}, "symmetric key"),
        ({"kty": "DSA"}, "unsupported kty 'DSA'"),
        ({"kty": "EC", "crv": "P-256", "x": "AA"}, "EC key is missing 'y'"),
        ({"kty": "OKP", "crv": "X25519", "x": "AA"}, "unsupported OKP curve"),
    ],
    ids=["private", "oct", "kty", "missing", "curve"],
)
def test_validate_public_jwk_problems(jwk: dict[str, Any], problem: str) -> None:
    text = jose.validate_public_jwk(jwk)
    assert text is not None
    assert problem in text


def test_private_jwk_detected(ed: jose.KeyPair) -> None:
    assert not jose.is_private_jwk(ed.public_jwk)
    assert jose.is_private_jwk({**ed.public_jwk, "d": "secret"})
    assert jose.is_private_jwk({"kty": "oct", "k": "secret"})


def test_public_jwk_with_alg_mismatch(keys: dict[str, jose.KeyPair]) -> None:
    jwk = {**keys["ES256"].public_jwk, "alg": "RS256"}
    assert jose.validate_public_jwk(jwk) == "algorithm 'RS256' cannot be used with a EC key"


def test_non_object_jwks_entries_are_ignored(ed: jose.KeyPair) -> None:
    token = jose.sign(_claims(), ed.private_pem, alg="EdDSA", kid=None)
    keys: list[Any] = ["junk", 3, ed.public_jwk]
    assert _verify(token, ed, keys=keys)["sub"] == "alice"


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_a_time_claim_that_is_not_a_finite_number_is_refused(
    ed: jose.KeyPair, value: float
) -> None:
    # Python's JSON accepts NaN/Infinity; a NaN 'exp' would otherwise never expire.
    token = jose.sign(_claims(exp=value), ed.private_pem, alg="EdDSA", kid=ed.kid)
    with pytest.raises(TokenError, match=r"claim 'exp' is not a finite number"):
        _verify(token, ed)


# --------------------------------------------------------------------------------------------
# Public keys are built with cryptography alone where that is certain, else by PyJWK


def _public_bytes(key: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "ES384", "ES512", "RS256", "PS256"])
def test_a_key_built_without_pyjwt_is_the_key_pyjwt_builds(alg: str) -> None:
    from ztauth_cli.jose import _build_public_key, _plain_public_key

    jwk = jose.generate_key(alg).public_jwk
    plain = _plain_public_key(jwk, alg)
    assert plain is not None
    assert _public_bytes(plain) == _public_bytes(_build_public_key(jwk, alg))


def _mangled(alg: str) -> list[dict[str, object]]:
    jwk = dict(jose.generate_key(alg).public_jwk)
    field = "x" if jwk["kty"] != "RSA" else "n"
    value = str(jwk[field])
    return [
        {**jwk, field: value[:-2]},  # too short
        {**jwk, field: value + "AAAA"},  # too long
        {**jwk, field: value[:5] + "!" + value[6:]},  # not base64url
        {**jwk, field: ""},
        {**jwk, field: 12},
        {**jwk, "crv": "P-999"} if jwk["kty"] == "EC" else {**jwk, "kty": "oct"},
        {**jwk, "y": jwk.get("x", "AQAB")} if jwk["kty"] == "EC" else {**jwk, "e": "AA"},
    ]


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "ES512", "RS256"])
def test_a_key_pyjwt_would_refuse_is_never_built_without_it(alg: str) -> None:
    """Wherever the plain path builds a key, PyJWK builds the same one; otherwise PyJWK
    decides, with its own message."""
    from ztauth_cli.jose import _build_public_key, _plain_public_key

    for jwk in _mangled(alg):
        plain = _plain_public_key(jwk, alg)
        if plain is None:
            continue
        assert _public_bytes(plain) == _public_bytes(_build_public_key(jwk, alg)), jwk


def test_an_off_curve_point_is_still_refused_with_pyjwts_message() -> None:
    jwk = dict(jose.generate_key("ES256").public_jwk)
    jwk["y"] = jwk["x"]  # (x, x) is not on P-256
    problem = jose.validate_public_jwk(jwk)
    assert problem is not None
    assert problem.startswith("invalid EC key: ")
