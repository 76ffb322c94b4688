"""Delegation chains fail closed: every hop's authority comes from a signed token that links it
to the previous and the next party (docs/readme/30-eval.md, "What binds each hop").

Each test is an attack on the sample ledger's gateway -> assistant -> billing chain, run
through ``ztauth eval`` with real tokens (keys generated here, trusted with ``--jwks``), next
to the legitimate request it imitates, which must still be allowed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from ztauth_cli import jose
from ztauth_cli.cli.main import app

AT = "2026-06-01T12:00:00Z"
NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
ZTID = "ztauth://acme.internal/273165098782/ledgers/acme-documents"
IDP = "https://idp.acme.internal"
TXN = "https://txn.acme.internal"
ATTEST = "https://attest.acme.internal"
GATEWAY = "spiffe://acme.internal/gateway/edge"
CHAT = "spiffe://acme.internal/assistant/chat"
EXPORT = "spiffe://acme.internal/reporting/export"  # security group at level basic: no proof
WORKER = "spiffe://acme.internal/billing/worker-7"


class Tokens:
    """Fresh keys for the sample ledger's issuers (public halves in one ``--jwks`` file)."""

    def __init__(self, folder: Path) -> None:
        self.signer = jose.generate_key("EdDSA")  # IdP and transaction token service
        self.attester = jose.generate_key("ES256")
        self.jwks = folder / "trusted.jwks.json"
        self.jwks.write_text(
            json.dumps({"keys": [self.signer.public_jwk, self.attester.public_jwk]}),
            encoding="utf-8",
        )

    def _sign(self, key: jose.KeyPair, claims: dict[str, Any], *, age: int = 60) -> str:
        issued = int((NOW - timedelta(seconds=age)).timestamp())
        payload = {"aud": ZTID, "iat": issued, "exp": issued + 3600, **claims}
        return jose.sign(payload, key.private_pem, alg=key.alg, kid=key.kid)

    def attestation(self, workload: str, *, age: int = 60) -> str:
        return self._sign(self.attester, {"iss": ATTEST, "sub": workload}, age=age)

    def consent(self, delegator: str, delegate: str, scope: str) -> str:
        return self._sign(
            self.signer, {"iss": IDP, "sub": delegator, "act": delegate, "scope": scope}
        )

    def txn(self, *actors: str, scope: str) -> str:
        """alice's transaction token; ``actors`` current first (RFC 8693 §4.1 nesting)."""
        act: dict[str, Any] | None = None
        for actor in reversed(actors):
            act = {"sub": actor, **({"act": act} if act is not None else {})}
        return self._sign(self.signer, {"iss": TXN, "sub": "alice", "act": act, "scope": scope})


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(tmp_path_factory.mktemp("chain-keys"))


def _hop(workload: str, scope: list[str] | None, **tokens: str) -> dict[str, Any]:
    hop: dict[str, Any] = {"principal": {"type": "Workload", "id": workload}, "tokens": tokens}
    if scope is not None:
        hop["scope"] = scope
    return hop


def _charge(actor: str, tokens: dict[str, str], chain: list[dict[str, Any]]) -> dict[str, Any]:
    """alice's invoice inv-1001 charged by ``actor`` from the web (no elevation applies)."""
    return {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "charge"},
        "resource": {"type": "Invoice", "id": "inv-1001"},
        "context": {"channel": "web"},
        "authorization_model": {
            "ledger": ZTID,
            "principal": {"type": "Workload", "id": actor},
            "tokens": tokens,
            "chain": chain,
        },
    }


def _read(tokens: Tokens, chain: list[dict[str, Any]] | None, **extra: str) -> dict[str, Any]:
    """The assistant reads alice's report with her own consent (allowed without a chain)."""
    model: dict[str, Any] = {
        "principal": {"type": "Workload", "id": CHAT},
        "tokens": {
            "attestation": tokens.attestation(CHAT),
            "consent": tokens.consent("alice", CHAT, "read summarize"),
            **extra,
        },
    }
    if chain is not None:
        model["chain"] = chain
    return {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
        "context": {"channel": "web"},
        "authorization_model": model,
    }


def _gateway(tokens: Tokens, scope: list[str] | None = None) -> dict[str, Any]:
    """The gateway hop as the gateway really sent it: alice's consent and its attestation."""
    return _hop(
        GATEWAY,
        scope if scope is not None else ["read", "summarize", "charge"],
        consent=tokens.consent("alice", GATEWAY, "read summarize charge"),
        attestation=tokens.attestation(GATEWAY),
    )


def _eval(tokens: Tokens, tmp_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    options = ["--ledger", str(SAMPLE_LEDGER), "--at", AT, "--jwks", str(tokens.jwks)]
    result = CliRunner().invoke(app, ["eval", *options, "-f", "json", str(path)])
    assert result.exit_code == 0, result.stderr
    response: dict[str, Any] = json.loads(result.stdout)
    return response


def _outcome(response: dict[str, Any]) -> tuple[bool, str]:
    return response["decision"], response["context"]["reason_admin"]["code"]


def _message(response: dict[str, Any]) -> str:
    message: str = response["context"]["reason_admin"]["message"]
    return message


def test_assistant_cannot_copy_gateway_consent_to_claim_charge_scope(
    tokens: Tokens, tmp_path: Path
) -> None:
    # The assistant received the gateway's hop (alice's consent to the gateway, the gateway's
    # attestation) and replays it as the origin of a chain that "passed on" charge to itself.
    forged = _charge(
        CHAT, {"attestation": tokens.attestation(CHAT)}, [_gateway(tokens, ["charge"])]
    )
    response = _eval(tokens, tmp_path, forged)
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response).startswith(f"the actor ({CHAT}) is not linked to hop 1 ({GATEWAY})")
    # Putting alice's consent to the gateway in its own tokens proves nothing either.
    copied = _charge(
        CHAT,
        {
            "attestation": tokens.attestation(CHAT),
            "consent": tokens.consent("alice", GATEWAY, "read summarize charge"),
        },
        [_gateway(tokens, ["charge"])],
    )
    assert not _eval(tokens, tmp_path, copied)["decision"]
    # What the gateway really does: its transaction token service hands the assistant a txn
    # token naming the gateway as the prior actor, scoped to charge.
    real = _charge(
        CHAT,
        {
            "attestation": tokens.attestation(CHAT),
            "txn": tokens.txn(CHAT, GATEWAY, scope="charge"),
        },
        [_gateway(tokens, ["charge"])],
    )
    response = _eval(tokens, tmp_path, real)
    assert _outcome(response) == (True, "allowed"), _message(response)
    assert response["context"]["ztauth"]["via"] == "delegation/user-gateway-session"


def test_basic_workload_cannot_become_actor_of_chain_redelegated_from_gateway(
    tokens: Tokens, tmp_path: Path
) -> None:
    # The export job's level (basic) needs no proof at all: it names itself as the actor of a
    # chain whose origin is the gateway's genuine hop.
    forged = _charge(EXPORT, {}, [_gateway(tokens)])
    response = _eval(tokens, tmp_path, forged)
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response).startswith(f"the actor ({EXPORT}) is not linked to hop 1")


def test_claimed_hop_scope_without_signed_token_breaks_chain(
    tokens: Tokens, tmp_path: Path
) -> None:
    # The assistant reads alice's report with her own consent, and dresses the call up as
    # coming through the gateway: a hop with a claimed scope and nothing signed behind it.
    read = _read(tokens, [_hop(GATEWAY, ["read"], attestation=tokens.attestation(GATEWAY))])
    response = _eval(tokens, tmp_path, read)
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response).startswith(f"hop 1 ({GATEWAY}) is not linked to the subject")
    # A signed token that grants less than the hop claims does not cover the claim: the export
    # job's txn token from the gateway says read, its hop says charge.
    narrow = _charge(
        WORKER,
        {
            "attestation": tokens.attestation(WORKER),
            "txn": tokens.txn(WORKER, EXPORT, GATEWAY, scope="charge"),
        },
        [_gateway(tokens), _hop(EXPORT, ["charge"], txn=tokens.txn(EXPORT, GATEWAY, scope="read"))],
    )
    response = _eval(tokens, tmp_path, narrow)
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response) == (
        f"hop 2 ({EXPORT}) claims charge, which its txn token does not grant (read); "
        "a claimed scope needs a signed token"
    )


def test_changing_entity_type_does_not_dodge_loop_detection(tokens: Tokens, tmp_path: Path) -> None:
    # The gateway appears twice, once as a Workload and once as a "Service": trust is judged
    # on the workload id, so it is the same party and the chain loops.
    again = _hop(GATEWAY, ["charge"], attestation=tokens.attestation(GATEWAY))
    again["principal"]["type"] = "Service"
    looped = _charge(
        CHAT,
        {"attestation": tokens.attestation(CHAT), "consent": tokens.consent("alice", CHAT, "read")},
        [_gateway(tokens), again],
    )
    response = _eval(tokens, tmp_path, looped)
    assert _outcome(response) == (False, "chain_broken")
    assert "may not loop" in _message(response)
    # The subject is party 0: it cannot reappear as a hop under another type either.
    subject_hop = _hop("alice", None)
    subject_hop["principal"]["type"] = "Workload"
    read = _read(tokens, [subject_hop])
    response = _eval(tokens, tmp_path, read)
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response) == (
        "'alice' appears as the subject (alice) and again as hop 1 (alice); a chain may not loop"
    )


def test_hop_attestation_must_belong_to_the_hops_workload(tokens: Tokens, tmp_path: Path) -> None:
    # The export job (level basic: no attestation needed) is a properly linked middle hop but
    # carries the gateway's attestation: a presented token is never ignored, and an
    # attestation proves only its own workload.
    def chain(export_attestation: str) -> dict[str, Any]:
        return _charge(
            WORKER,
            {
                "attestation": tokens.attestation(WORKER),
                "txn": tokens.txn(WORKER, EXPORT, GATEWAY, scope="charge"),
            },
            [
                _gateway(tokens),
                _hop(
                    EXPORT,
                    ["charge"],
                    txn=tokens.txn(EXPORT, GATEWAY, scope="charge"),
                    attestation=export_attestation,
                ),
            ],
        )

    response = _eval(tokens, tmp_path, chain(tokens.attestation(GATEWAY, age=120)))
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response) == (
        f"hop 2 ({EXPORT}) presents an attestation about {GATEWAY!r}; "
        "an attestation proves only its own workload"
    )
    # With its own attestation the same chain is legitimate.
    response = _eval(tokens, tmp_path, chain(tokens.attestation(EXPORT)))
    assert _outcome(response) == (True, "allowed"), _message(response)


def test_gateway_tokens_copied_into_a_later_hop_do_not_prove_that_hop(
    tokens: Tokens, tmp_path: Path
) -> None:
    gateway = _gateway(tokens)
    copy = _hop(EXPORT, ["charge"], **gateway["tokens"])
    response = _eval(
        tokens,
        tmp_path,
        _charge(WORKER, {"attestation": tokens.attestation(WORKER)}, [gateway, copy]),
    )
    assert _outcome(response) == (False, "chain_broken")
    assert _message(response).startswith(
        "chain[1] attestation token is the chain[0] attestation token again"
    )


def test_txn_token_naming_another_prior_actor_does_not_link_the_hop(
    tokens: Tokens, tmp_path: Path
) -> None:
    # A txn token the assistant got on another path (from the export job) is no proof that the
    # gateway passed anything on to it.
    other_path = _charge(
        CHAT,
        {"attestation": tokens.attestation(CHAT), "txn": tokens.txn(CHAT, EXPORT, scope="charge")},
        [_gateway(tokens, ["charge"])],
    )
    response = _eval(tokens, tmp_path, other_path)
    assert _outcome(response) == (False, "chain_broken")
    assert f"names {EXPORT!r} as the prior actor, not {GATEWAY!r}" in _message(response)


def test_a_txn_token_naming_prior_actors_cannot_hide_its_chain(
    tokens: Tokens, tmp_path: Path
) -> None:
    # The assistant was reached through the (since revoked, say) gateway; leaving the chain out
    # of the request would skip its re-check. The txn token says where it came from.
    hidden = _read(tokens, None, txn=tokens.txn(CHAT, GATEWAY, scope="read"))
    response = _eval(tokens, tmp_path, hidden)
    assert _outcome(response) == (False, "chain_broken")
    assert "the request lists no such hop" in _message(response)
