"""A small ledger and the four changes the diff tests look for, as file contents.

Base: alice owns q3-report; bob may read the roadmap; the chat assistant reads for a user with
the user's consent (delegation); billing workers charge and refund invoices for their customer
(elevation). Target changes, one commit:

* policy ``bob-reads-roadmap``: permit -> forbid (narrowing; "bob reads the roadmap" flips);
* group ``ai-assistants``: member ``.../assistant/mail`` added (widening);
* delegation ``user-assistant-read``: consent no longer required (widening; "without consent"
  and "mail assistant" flip deny -> allow);
* elevation ``billing-acts-for-customer``: action ``refund`` removed (narrowing; "refund" flips).
"""

from __future__ import annotations

import json

from tests.support.ledgers import issuer_doc, ledger_files, manifest

ZTID = "ztauth://acme.internal/273165098782/ledgers/docs"
IDP = "https://idp.acme.internal"
CHAT = "spiffe://acme.internal/assistant/chat"
MAIL = "spiffe://acme.internal/assistant/mail"
WORKER = "spiffe://acme.internal/billing/worker-1"

MANIFEST = manifest(ZTID, name="docs")

POLICIES = """\
@id("owner-can-read")
permit (
  principal,
  action in [Action::"read", Action::"summarize"],
  resource is Document
)
when { resource.owner == principal };

@id("bob-reads-roadmap")
permit (principal == User::"bob", action == Action::"read", resource == Document::"roadmap");

@id("customer-pays")
permit (principal, action in [Action::"charge", Action::"refund"], resource is Invoice)
when { resource.customer == principal };
"""

ENTITIES = json.dumps(
    [
        {"uid": {"type": "Role", "id": "employee"}, "attrs": {}, "parents": []},
        {
            "uid": {"type": "User", "id": "alice"},
            "attrs": {},
            "parents": [{"type": "Role", "id": "employee"}],
        },
        {"uid": {"type": "User", "id": "bob"}, "attrs": {}, "parents": []},
        {
            "uid": {"type": "Document", "id": "q3-report"},
            "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}},
            "parents": [],
        },
        {
            "uid": {"type": "Document", "id": "roadmap"},
            "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}},
            "parents": [],
        },
        {
            "uid": {"type": "Invoice", "id": "inv-1"},
            "attrs": {"customer": {"__entity": {"type": "User", "id": "alice"}}},
            "parents": [],
        },
    ],
    indent=2,
)

LEVELS = """\
apiVersion: ztauth/v1
kind: TrustLevel
name: basic
rank: 1
---
apiVersion: ztauth/v1
kind: TrustLevel
name: trusted
rank: 3
"""

GROUPS = f"""\
apiVersion: ztauth/v1
kind: SecurityGroup
name: ai-assistants
trust_level: basic
members: ["{CHAT}"]
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: billing-workers
trust_level: basic
members: ["spiffe://acme.internal/billing/worker-*"]
"""

DELEGATION = f"""\
apiVersion: ztauth/v1
kind: Delegation
id: user-assistant-read
delegator: {{type: User}}
delegate: {{group: ai-assistants}}
scope: {{actions: [read, summarize], resources: {{type: Document}}}}
consent: {{required: true, issuer: {IDP}}}
max_depth: 0
"""

ELEVATION = """\
apiVersion: ztauth/v1
kind: Elevation
id: billing-acts-for-customer
actor: {group: billing-workers}
subjects: {type: User}
actions: [charge, refund]
resources: {type: Invoice}
requires:
  min_trust_level: basic
  consent: false
"""

ISSUER = issuer_doc(
    IDP, jwks="keys/idp.jwks.json", algorithms=["EdDSA"], audience=ZTID, issues=["consent"]
)

SUITE = f"""\
apiVersion: ztauth/v1
kind: TestSuite
name: docs
at: 2026-06-01T12:00:00Z
tokens:
  alice-consent:
    issuer: {IDP}
    claims: {{sub: alice, act: "{CHAT}", scope: "read summarize"}}
defaults:
  subject: {{type: User, id: alice}}
  action: {{name: read}}
  resource: {{type: Document, id: q3-report}}
cases:
  - name: alice reads her report
    request: {{}}
    expect: {{decision: allow, policies: [owner-can-read]}}
  - name: bob reads the roadmap
    request: {{subject: {{type: User, id: bob}}, resource: {{type: Document, id: roadmap}}}}
    expect: {{decision: allow, policies: [bob-reads-roadmap]}}
  - name: assistant reads with consent
    request:
      authorization_model:
        principal: {{type: Workload, id: "{CHAT}"}}
        tokens: {{consent: {{$token: alice-consent}}}}
    expect: {{decision: allow, via: delegation/user-assistant-read}}
  - name: assistant reads without consent
    request:
      authorization_model:
        principal: {{type: Workload, id: "{CHAT}"}}
    expect: {{decision: deny, code: consent_required}}
  - name: mail assistant reads
    request:
      authorization_model:
        principal: {{type: Workload, id: "{MAIL}"}}
    expect: {{decision: deny, code: untrusted_actor}}
  - name: billing worker refunds alice
    request:
      action: {{name: refund}}
      resource: {{type: Invoice, id: inv-1}}
      authorization_model:
        principal: {{type: Workload, id: "{WORKER}"}}
    expect: {{decision: allow, via: elevation/billing-acts-for-customer}}
"""


def base_files(idp_jwks: str) -> dict[str, str | bytes]:
    """The base ledger; ``idp_jwks`` is a public JWKS generated by the test."""
    return ledger_files(
        manifest=MANIFEST,
        policies={"docs": POLICIES},
        entities={"docs": ENTITIES},
        trust={
            "levels": LEVELS,
            "groups": GROUPS,
            "delegations": DELEGATION,
            "elevations": ELEVATION,
            "issuers": ISSUER,
        },
        keys={"idp": idp_jwks},
        suites={"docs": SUITE},
    )


def changed_files() -> dict[str, str | bytes]:
    """The four changes of the target commit."""
    return {
        "policies/docs.cedar": POLICIES.replace(
            'permit (principal == User::"bob"', 'forbid (principal == User::"bob"'
        ),
        "trust/groups.yaml": GROUPS.replace(
            f'members: ["{CHAT}"]', f'members: ["{CHAT}", "{MAIL}"]'
        ),
        "trust/delegations.yaml": DELEGATION.replace("required: true", "required: false"),
        "trust/elevations.yaml": ELEVATION.replace("[charge, refund]", "[charge]"),
    }
