from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.ledgers import issuer_doc, manifest, write_ledger
from ztauth_cli import jose
from ztauth_cli.errors import SuiteError
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger
from ztauth_cli.testing import IssuerKeys, mint_suite_tokens, resolve_request

AT = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
ZTID = "ztauth://acme.internal/273165098782/ledgers/demo"

MANIFEST = manifest(ZTID, name="demo")

ISSUERS = "---\n".join(
    (
        issuer_doc(
            "https://idp.example",
            jwks="keys/idp.jwks.json",
            algorithms=["ES256", "EdDSA"],
            audience="https://api.example",
            issues=["consent", "txn"],
        ),
        issuer_doc(
            "https://attest.example",
            jwks="keys/attest.jwks.json",
            algorithms=["ES384"],
            issues=["attestation"],
        ),
    )
)

SUITE = """\
apiVersion: ztauth/v1
kind: TestSuite
name: tokens
at: 2026-06-01T12:00:00Z
tokens:
  consent:
    issuer: https://idp.example
    claims: {sub: alice, scope: read}
    expires_in: 1h
  expired:
    issuer: https://idp.example
    claims: {sub: alice}
    expires_in: -5m
  later:
    issuer: https://idp.example
    claims: {sub: alice}
    not_before: 10m
  forged:
    issuer: https://idp.example
    claims: {sub: alice}
    signed_by: untrusted
  attestation:
    issuer: https://attest.example
    claims: {sub: "spiffe://example/w"}
    audience: https://attest-audience.example
  stranger:
    issuer: https://unknown.example
    claims: {sub: bob, aud: custom}
cases:
  - name: uses tokens
    request:
      subject: {type: User, id: alice}
      action: {name: read}
      resource: {type: Document, id: d}
      authorization_model:
        tokens: {consent: {$token: consent}, list: [{$token: attestation}, 3]}
    expect: {decision: allow}
"""


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    root: Path = tmp_path_factory.mktemp("ledger")
    write_ledger(root, manifest=MANIFEST, trust={"issuers": ISSUERS}, suites={"t": SUITE})
    return load(root)


@pytest.fixture(scope="module")
def keys(ledger: Ledger) -> IssuerKeys:
    return IssuerKeys.for_suites(ledger.suites, ledger=ledger)


@pytest.fixture(scope="module")
def tokens(ledger: Ledger, keys: IssuerKeys) -> dict[str, str]:
    minted = mint_suite_tokens(ledger.suites, ledger, keys=keys, now=AT + timedelta(days=9))
    return dict(minted.for_suite("tokens"))


def _verify(token: str, keys: IssuerKeys, issuer: str, **kwargs: object) -> dict[str, object]:
    key = keys.keys[issuer]
    return jose.verify(
        token,
        keys=[key.public_jwk],
        algorithms=[key.alg],
        now=kwargs.pop("now", AT),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def test_one_key_per_issuer_with_an_algorithm_the_issuer_allows(keys: IssuerKeys) -> None:
    assert sorted(keys.keys) == [
        "https://attest.example",
        "https://idp.example",
        "https://unknown.example",
    ]
    # EdDSA is preferred (fastest) when allowed; otherwise the issuer's own algorithm.
    assert keys.keys["https://idp.example"].alg == "EdDSA"
    assert keys.keys["https://attest.example"].alg == "ES384"
    assert keys.keys["https://unknown.example"].alg == "EdDSA"
    assert all(jose.validate_public_jwk(k.public_jwk) is None for k in keys.keys.values())


def test_only_declared_issuers_are_trusted(keys: IssuerKeys, ledger: Ledger) -> None:
    trusted = keys.trusted_jwks(ledger)
    assert sorted(trusted) == ["https://attest.example", "https://idp.example"]
    assert trusted["https://idp.example"] == [dict(keys.keys["https://idp.example"].public_jwk)]
    assert "https://unknown.example" in keys.trusted_jwks()


def test_minted_claims_follow_the_suite_clock(tokens: dict[str, str], keys: IssuerKeys) -> None:
    claims = _verify(tokens["consent"], keys, "https://idp.example", audience="https://api.example")
    at = int(AT.timestamp())
    assert claims == {
        "iss": "https://idp.example",
        "aud": "https://api.example",
        "iat": at,
        "exp": at + 3600,
        "sub": "alice",
        "scope": "read",
    }
    header, _ = jose.decode_unverified(tokens["consent"])
    assert header["kid"] == keys.keys["https://idp.example"].kid
    assert header["alg"] == "EdDSA"


def test_audience_defaults_to_issuer_then_ledger_and_spec_wins(
    tokens: dict[str, str], ledger: Ledger
) -> None:
    _, attestation = jose.decode_unverified(tokens["attestation"])
    assert attestation["aud"] == "https://attest-audience.example"
    _, stranger = jose.decode_unverified(tokens["stranger"])
    assert stranger["aud"] == "custom"  # claims override the defaults
    assert stranger["iss"] == "https://unknown.example"


def test_default_expiry_is_one_hour(tokens: dict[str, str]) -> None:
    _, claims = jose.decode_unverified(tokens["attestation"])
    assert claims["exp"] - claims["iat"] == 3600


def test_expired_token_is_refused(tokens: dict[str, str], keys: IssuerKeys) -> None:
    with pytest.raises(jose.TokenError, match="expired at 2026-06-01T11:55:00Z"):
        _verify(tokens["expired"], keys, "https://idp.example")


def test_not_before_is_in_the_future(tokens: dict[str, str], keys: IssuerKeys) -> None:
    with pytest.raises(jose.TokenError, match="not valid before 2026-06-01T12:10:00Z"):
        _verify(tokens["later"], keys, "https://idp.example")
    assert _verify(tokens["later"], keys, "https://idp.example", now=AT + timedelta(minutes=11))


def test_untrusted_token_does_not_verify_with_the_trusted_key(
    tokens: dict[str, str], keys: IssuerKeys
) -> None:
    header, _ = jose.decode_unverified(tokens["forged"])
    assert header["kid"] == keys.keys["https://idp.example"].kid
    with pytest.raises(jose.TokenError, match="signature does not verify"):
        _verify(tokens["forged"], keys, "https://idp.example")


def test_fresh_keys_per_run(ledger: Ledger, keys: IssuerKeys) -> None:
    again = IssuerKeys.for_suites(ledger.suites, ledger=ledger)
    # Fresh key material every run, under a fixed kid (so that reports are deterministic).
    first, second = keys.keys["https://idp.example"], again.keys["https://idp.example"]
    assert first.public_jwk != second.public_jwk
    assert first.kid == second.kid == "ztauth-test:https://idp.example"


def test_resolve_request_replaces_references_recursively(
    ledger: Ledger, tokens: dict[str, str]
) -> None:
    case = ledger.suites[0].cases[0]
    request = resolve_request(case, tokens)
    assert request["authorization_model"]["tokens"] == {
        "consent": tokens["consent"],
        "list": [tokens["attestation"], 3],
    }
    assert case.request["authorization_model"]["tokens"]["consent"] == {"$token": "consent"}


def test_resolve_request_unknown_token(ledger: Ledger, tokens: dict[str, str]) -> None:
    case = ledger.suites[0].cases[0]
    with pytest.raises(SuiteError, match="unknown token 'consent'") as info:
        resolve_request(case, {"attestation": tokens["attestation"]})
    assert str(info.value.span) == "tests/t.yaml:30:5"


def test_no_private_key_material_is_written(ledger: Ledger) -> None:
    root = Path(ledger.root)
    texts = [p.read_text() for p in root.rglob("*") if p.is_file()]
    assert not any("PRIVATE KEY" in t for t in texts)
