"""End-to-end checks of sample-ledger/: it loads, its keys are public, its policies validate,
and (through the CLI) it lints clean, its requests evaluate as documented and its suites pass."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE_LEDGER
from ztauth_cli.ledger import load
from ztauth_cli.model import Ledger

ZTID = "ztauth://acme.internal/273165098782/ledgers/acme-documents"


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return load(SAMPLE_LEDGER, tolerant=True)


def test_loads_without_problems(ledger: Ledger) -> None:
    assert ledger.problems == ()
    assert ledger.manifest is not None
    assert ledger.manifest.ledger == ZTID
    assert ledger.manifest.settings.require_signatures == 0
    assert sorted(g.name for g in ledger.groups) == [
        "ai-assistants",
        "billing-workers",
        "edge-gateways",
        "reporting-exporters",
    ]
    assert [(t.name, t.rank) for t in sorted(ledger.trust_levels, key=lambda t: t.rank)] == [
        ("basic", 1),
        ("attested", 2),
        ("trusted", 3),
    ]


def test_every_issuer_points_at_a_loaded_jwks(ledger: Ledger) -> None:
    for issuer in ledger.issuers:
        key_set = ledger.key_set(issuer.jwks)
        assert key_set is not None, issuer.name
        assert key_set.keys, issuer.name
        assert issuer.audience == ZTID


def test_keys_are_public_only(ledger: Ledger) -> None:
    from ztauth_cli import jose

    assert ledger.key_sets
    for key_set in ledger.key_sets:
        for jwk in key_set.keys:
            assert not jose.is_private_jwk(jwk), key_set.span.path
            assert jose.validate_public_jwk(jwk) is None, key_set.span.path
            assert jwk["kid"] == jose.jwk_thumbprint(jwk)


def test_no_private_key_file_is_committed() -> None:
    for path in SAMPLE_LEDGER.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_policies_parse_with_ids_and_validate_against_the_schema(ledger: Ledger) -> None:
    from ztauth_cli.engine.cedar import parse_policy_files, validate_against_schema

    policies, errors = parse_policy_files(ledger.policy_files)
    assert errors == ()
    ids = [p.id for p in policies]
    assert None not in ids
    assert len(set(ids)) == len(ids) >= 8
    assert {p.effect for p in policies} == {"permit", "forbid"}
    assert ledger.schema_text is not None
    assert (
        validate_against_schema(policies, ledger.schema_text, schema_path="schema.cedarschema")
        == ()
    )


def test_requests_are_valid_json() -> None:
    requests = sorted((SAMPLE_LEDGER / "requests").iterdir())
    assert [p.name for p in requests] == [
        "alice-reads-q3-report.json",
        "bob-document-batch.json",
        "stream.jsonl",
    ]
    for path in requests:
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in lines:
            assert isinstance(json.loads(line)["subject"], dict)


def test_suites_load(ledger: Ledger) -> None:
    names = sorted(s.name for s in ledger.suites)
    assert "assistant-delegation" in names
    assert all(s.at is not None for s in ledger.suites)
