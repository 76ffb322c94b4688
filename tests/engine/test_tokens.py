"""The keyring verifies each distinct token once per clock instant, and trusts nothing else.

Real keys and real signatures; the cache is observed through what a user would notice: a
token served from it is exactly one the keyring verified, and any change to the token or the
clock is verified in full again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ztauth_cli import jose
from ztauth_cli.engine.tokens import Keyring
from ztauth_cli.model.documents import Issuer
from ztauth_cli.model.span import Span

IDP = "https://idp.acme.internal"
AUDIENCE = "ztauth://acme.internal/273165098782/ledgers/mini"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def _keyring(key: jose.KeyPair) -> Keyring:
    issuer = Issuer(
        span=Span(path="trust/issuers.yaml"),
        name=IDP,
        jwks="keys/idp.jwks.json",
        algorithms=("ES256",),
        audience=AUDIENCE,
        issues=("consent", "txn"),
    )
    return Keyring([issuer], {IDP: [key.public_jwk]})


def _token(key: jose.KeyPair, *, expires: datetime, subject: str = "alice") -> str:
    claims = {
        "iss": IDP,
        "aud": AUDIENCE,
        "sub": subject,
        "act": "spiffe://acme.internal/assistant/chat",
        "scope": "read",
        "iat": int(NOW.timestamp()) - 60,
        "exp": int(expires.timestamp()),
    }
    return jose.sign(claims, key.private_pem, alg="ES256", kid=key.kid)


@pytest.fixture(scope="module")
def key() -> jose.KeyPair:
    return jose.generate_key("ES256", kid="idp-1")


def test_an_identical_token_at_the_same_instant_gives_the_same_verified_claims(
    key: jose.KeyPair,
) -> None:
    keyring = _keyring(key)
    token = _token(key, expires=NOW + timedelta(hours=1))
    first = keyring.verify("consent", token, now=NOW)
    again = keyring.verify("consent", token, now=NOW)
    assert again == first
    assert again.claims["sub"] == "alice"


def test_a_refused_token_is_refused_with_the_same_message_every_time(key: jose.KeyPair) -> None:
    keyring = _keyring(key)
    expired = _token(key, expires=NOW - timedelta(hours=1))
    messages = set()
    for _ in range(3):
        with pytest.raises(jose.TokenError, match="token expired at") as refused:
            keyring.verify("consent", expired, now=NOW)
        messages.add(refused.value.message)
    assert len(messages) == 1


def test_a_token_refused_as_not_yet_valid_verifies_once_the_clock_reaches_it(
    key: jose.KeyPair,
) -> None:
    # A remembered refusal belongs to its instant: it never outlives the clock it was made at.
    keyring = _keyring(key)
    claims = {"iss": IDP, "aud": AUDIENCE, "sub": "alice", "exp": int(NOW.timestamp()) + 7200}
    early = jose.sign(
        {**claims, "nbf": int(NOW.timestamp()) + 3600}, key.private_pem, alg="ES256", kid=key.kid
    )
    with pytest.raises(jose.TokenError, match="not valid before"):
        keyring.verify("consent", early, now=NOW)
    later = NOW + timedelta(hours=1, minutes=1)
    assert keyring.verify("consent", early, now=later).claims["sub"] == "alice"


def test_a_later_clock_re_verifies_and_sees_the_expiry(key: jose.KeyPair) -> None:
    keyring = _keyring(key)
    token = _token(key, expires=NOW + timedelta(minutes=5))
    assert keyring.verify("consent", token, now=NOW).claims["sub"] == "alice"
    with pytest.raises(jose.TokenError, match="token expired at 2026-06-01T12:05:00Z"):
        keyring.verify("consent", token, now=NOW + timedelta(hours=1))


def test_a_tampered_payload_under_the_same_header_is_not_served_from_the_cache(
    key: jose.KeyPair,
) -> None:
    keyring = _keyring(key)
    genuine = _token(key, expires=NOW + timedelta(hours=1))
    keyring.verify("consent", genuine, now=NOW)
    header, _payload, signature = genuine.split(".")
    # Same header and signature, the payload of another subject's token: a forgery.
    other = _token(key, expires=NOW + timedelta(hours=1), subject="mallory").split(".")[1]
    with pytest.raises(jose.TokenError, match="signature does not verify with key 'idp-1'"):
        keyring.verify("consent", f"{header}.{other}.{signature}", now=NOW)


def test_a_tampered_signature_is_not_served_from_the_cache(key: jose.KeyPair) -> None:
    keyring = _keyring(key)
    genuine = _token(key, expires=NOW + timedelta(hours=1))
    keyring.verify("consent", genuine, now=NOW)
    header, payload, signature = genuine.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    with pytest.raises(jose.TokenError, match="signature does not verify"):
        keyring.verify("consent", f"{header}.{payload}.{flipped}", now=NOW)


def test_a_token_verified_by_another_keyring_is_not_trusted(key: jose.KeyPair) -> None:
    impostor = jose.generate_key("ES256", kid="idp-1")  # same kid, another key
    forged = _token(impostor, expires=NOW + timedelta(hours=1))
    _keyring(impostor).verify("consent", forged, now=NOW)  # trusted where its key is listed
    with pytest.raises(jose.TokenError, match="signature does not verify with key 'idp-1'"):
        _keyring(key).verify("consent", forged, now=NOW)


def test_a_token_verified_as_one_kind_is_checked_again_for_another(key: jose.KeyPair) -> None:
    keyring = _keyring(key)
    token = _token(key, expires=NOW + timedelta(hours=1))
    keyring.verify("consent", token, now=NOW)
    with pytest.raises(jose.TokenError, match="may not issue attestation tokens"):
        keyring.verify("attestation", token, now=NOW)
