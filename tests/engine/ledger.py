"""A self-contained test ledger for the engine, with issuer keys generated at test time.

No private key is ever written to disk: only the public JWKS files land in the ledger folder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.support.repo import write_files
from ztauth_cli import jose

ZTID = "ztauth://acme.test/273165098782/ledgers/engine"
IDP = "https://idp.acme.test"
ATTEST = "https://attest.acme.test"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)

ASSISTANT = "spiffe://acme.test/assistant/chat"
HELPER = "spiffe://acme.test/assistant/helper"
LEGACY = "spiffe://acme.test/assistant/legacy"
BILLING = "spiffe://acme.test/billing/worker-1"
EXPORT = "spiffe://acme.test/export"
GATEWAY = "spiffe://acme.test/gateway"
STRANGER = "spiffe://elsewhere.test/bot"

MANIFEST = f"""apiVersion: ztauth/v1
kind: Ledger
metadata: {{name: engine-tests}}
ledger: {ZTID}
schema: schema.cedarschema
settings: {{require_txn_token: false, require_signatures: 0, max_chain_depth: 4}}
"""

# context.ztauth as a schema declares it (docs/readme/30-eval.md).
ZTAUTH_TYPE = (
    "{ actor: String, actor_type: String, delegated: Bool, trust_level: String, "
    "trust_rank: Long, groups: Set<String>, via: String, chain: Set<String>, depth: Long }"
)

# Cedar validates every request against the schema: the context each action accepts is declared.
SCHEMA = """type Context = { channel?: String, ticket?: { approved?: Bool } };
entity Role;
entity User in [Role] { department: String };
entity Workload;
entity Document { owner: User, classification: String };
entity Invoice { customer: User };
action read, summarize, share, archive appliesTo {
  principal: [User], resource: [Document], context: Context
};
action charge, refund appliesTo { principal: [User], resource: [Invoice], context: Context };
"""

POLICIES = """@id("owner-can-read")
permit (principal, action in [Action::"read", Action::"summarize", Action::"share"], resource)
when { resource has owner && resource.owner == principal };

@id("customer-pays")
permit (principal, action == Action::"charge", resource is Invoice)
when { resource.customer == principal };

@id("no-restricted")
forbid (principal, action, resource is Document)
when { resource.classification == "restricted" };

@id("no-payments-from-chat")
forbid (principal, action == Action::"charge", resource)
when { context has channel && context.channel == "chat" };

@id("anyone-archives")
permit (principal, action == Action::"archive", resource);

// Cedar skips a policy whose evaluation errors: without a ticket this forbid errors.
@id("archive-needs-approval")
forbid (principal, action == Action::"archive", resource)
when { context.ticket.approved == false };
"""

ENTITIES = [
    {"uid": {"type": "User", "id": "alice"}, "attrs": {"department": "fin"}, "parents": []},
    {"uid": {"type": "User", "id": "bob"}, "attrs": {"department": "eng"}, "parents": []},
    {
        "uid": {"type": "Document", "id": "q3"},
        "attrs": {
            "owner": {"__entity": {"type": "User", "id": "alice"}},
            "classification": "internal",
        },
        "parents": [],
    },
    {
        "uid": {"type": "Document", "id": "secret"},
        "attrs": {
            "owner": {"__entity": {"type": "User", "id": "alice"}},
            "classification": "restricted",
        },
        "parents": [],
    },
    {
        "uid": {"type": "Invoice", "id": "inv-1"},
        "attrs": {"customer": {"__entity": {"type": "User", "id": "alice"}}},
        "parents": [],
    },
]

TRUST = f"""apiVersion: ztauth/v1
kind: TrustLevel
name: basic
rank: 1
---
apiVersion: ztauth/v1
kind: TrustLevel
name: attested
rank: 2
requires:
  attestation: {{max_age: 10m, issuer: "{ATTEST}"}}
---
apiVersion: ztauth/v1
kind: TrustLevel
name: trusted
rank: 3
requires:
  attestation: {{max_age: 5m, issuer: "{ATTEST}"}}
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: ai-assistants
trust_level: attested
members: ["spiffe://acme.test/assistant/*"]
revoked: ["{LEGACY}"]
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: billing-workers
trust_level: attested
members: ["spiffe://acme.test/billing/worker-*"]
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: exporters
trust_level: basic
members: ["{EXPORT}"]
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: gateways
trust_level: trusted
members: ["{GATEWAY}"]
---
apiVersion: ztauth/v1
kind: Elevation
id: billing-for-customer
actor: {{group: billing-workers}}
subjects: {{type: User}}
actions: [charge, refund]
resources: {{type: Invoice}}
requires:
  min_trust_level: attested
  consent: false
  condition: 'context.channel == "orders-queue"'
---
apiVersion: ztauth/v1
kind: Elevation
id: export-reads-documents
actor: {{group: exporters}}
subjects: {{type: User}}
actions: [read]
resources: {{type: Document}}
requires: {{min_trust_level: attested}}
---
apiVersion: ztauth/v1
kind: Delegation
id: user-assistant-read
delegator: {{type: User}}
delegate: {{group: ai-assistants}}
scope: {{actions: [read, summarize], resources: {{type: Document}}}}
valid: {{from: 2026-01-01T00:00:00Z, until: 2027-01-01T00:00:00Z}}
consent: {{required: true, issuer: "{IDP}"}}
max_depth: 1
---
apiVersion: ztauth/v1
kind: Delegation
id: user-gateway-session
delegator: {{type: User}}
delegate: {{group: gateways}}
scope: {{actions: [read, summarize, charge]}}
consent: {{required: true, issuer: "{IDP}"}}
max_depth: 3
---
apiVersion: ztauth/v1
kind: Delegation
id: bob-old-export
delegator: {{type: User, id: bob}}
delegate: {{workload: "{EXPORT}"}}
scope: {{actions: [summarize]}}
valid: {{until: 2026-02-01T00:00:00Z}}
consent: {{required: false}}
---
apiVersion: ztauth/v1
kind: Issuer
name: "{IDP}"
jwks: keys/idp.jwks.json
algorithms: [EdDSA]
audience: "{ZTID}"
issues: [consent, subject, txn]
---
apiVersion: ztauth/v1
kind: Issuer
name: "{ATTEST}"
jwks: keys/attest.jwks.json
algorithms: [ES256]
audience: "{ZTID}"
issues: [attestation]
"""


@dataclass(frozen=True)
class Keys:
    """Issuer keys generated for one test module (private halves stay in memory)."""

    idp: jose.KeyPair
    attest: jose.KeyPair
    # Same kid as ``idp`` but another private key: its signatures must not verify.
    impostor: jose.KeyPair

    @classmethod
    def generate(cls) -> Keys:
        idp = jose.generate_key("EdDSA")
        return cls(
            idp=idp,
            attest=jose.generate_key("ES256"),
            impostor=jose.generate_key("EdDSA", kid=idp.kid),
        )


def write_ledger(root: Path, keys: Keys, *, manifest: str = MANIFEST) -> Path:
    """Write the engine test ledger (public JWKS only) under ``root``."""
    write_files(
        root,
        {
            "ztauth.yaml": manifest,
            "schema.cedarschema": SCHEMA,
            "policies/main.cedar": POLICIES,
            "entities/main.json": json.dumps(ENTITIES, indent=2),
            "trust/trust.yaml": TRUST,
            "keys/idp.jwks.json": json.dumps({"keys": [keys.idp.public_jwk]}),
            "keys/attest.jwks.json": json.dumps({"keys": [keys.attest.public_jwk]}),
        },
    )
    return root


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def mint(
    key: jose.KeyPair,
    claims: dict[str, Any],
    *,
    issuer: str = IDP,
    expires_in: timedelta | None = timedelta(hours=1),
    issued: datetime = NOW,
    audience: str | None = ZTID,
) -> str:
    """Sign a JWT with ``key`` (iss, aud, iat and exp filled in unless given)."""
    payload: dict[str, Any] = {"iss": issuer, "iat": _ts(issued), **claims}
    if audience is not None:
        payload.setdefault("aud", audience)
    if expires_in is not None:
        payload.setdefault("exp", _ts(issued + expires_in))
    return jose.sign(payload, key.private_pem, alg=key.alg, kid=key.kid)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token (RFC 7519 §6): header.payload. with an empty signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hmac_with_public_key(key: jose.KeyPair, claims: dict[str, Any]) -> str:
    """The key-confusion attack: HS256 keyed with the issuer's PUBLIC key bytes."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(json.dumps(claims).encode())
    secret = json.dumps(key.public_jwk, sort_keys=True).encode()
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def attestation(keys: Keys, workload: str, *, age: timedelta = timedelta(minutes=1)) -> str:
    """A fresh (by default) attestation for ``workload``."""
    return mint(keys.attest, {"sub": workload}, issuer=ATTEST, issued=NOW - age, expires_in=None)


def consent(
    keys: Keys,
    *,
    subject: str = "alice",
    delegate: str = ASSISTANT,
    scope: str = "read summarize",
    act_object: bool = False,
    **kwargs: Any,
) -> str:
    """A consent token: ``subject`` lets ``delegate`` use ``scope``."""
    act: Any = {"sub": delegate} if act_object else delegate
    return mint(keys.idp, {"sub": subject, "act": act, "scope": scope}, **kwargs)


def link(keys: Keys, *actors: str, scope: str, subject: str = "alice") -> str:
    """A txn token linking ``actors[0]`` to the prior actor ``actors[1]`` (and so on back),
    nested as RFC 8693 §4.1 ``act`` claims: the signed link of one chain hop.
    """
    act: dict[str, Any] | None = None
    for actor in reversed(actors):
        act = {"sub": actor, **({"act": act} if act is not None else {})}
    return mint(keys.idp, {"sub": subject, "act": act, "scope": scope})


def req(
    *,
    subject: str = "alice",
    action: str = "read",
    resource: tuple[str, str] = ("Document", "q3"),
    actor: str | None = None,
    tokens: dict[str, str] | None = None,
    chain: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An AuthZEN request; with ``actor`` a workload acts for the subject."""
    body: dict[str, Any] = {
        "subject": {"type": "User", "id": subject},
        "action": {"name": action},
        "resource": {"type": resource[0], "id": resource[1]},
        "context": context or {},
    }
    model: dict[str, Any] = {}
    if actor is not None:
        model["principal"] = {"type": "Workload", "id": actor}
    if tokens:
        model["tokens"] = tokens
    if chain is not None:
        model["chain"] = chain
    if model:
        body["authorization_model"] = model
    return body
