"""Request data never rewrites the ledger's facts (DESIGN.md "Request data and the ledger").

Each test replays an attack through ``ztauth eval`` (the CLI, real tokens, real Cedar): a PEP,
or whoever can shape the request, tries to change who is in a role, who owns a document or how
large an invoice is, or to smuggle Cedar's ``__entity`` / ``__extn`` escapes into plain data.
The ledger's answer must come back unchanged, and the trace must say what was ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.test_eval import AT, CHAT, ZTID, Issuers
from tests.conftest import SAMPLE_LEDGER
from tests.support.ledgers import manifest, write_ledger
from ztauth_cli.cli.main import app

WORKER = "spiffe://acme.internal/billing/worker-1"
LOCAL_ZTID = "ztauth://acme.test/273165098782/ledgers/local"


@pytest.fixture(scope="module")
def issuers(tmp_path_factory: pytest.TempPathFactory) -> Issuers:
    return Issuers(tmp_path_factory.mktemp("keys"))


def _eval(
    runner: CliRunner, tmp_path: Path, request: Any, *, ledger: Path = SAMPLE_LEDGER, jwks: Path
) -> list[dict[str, Any]]:
    """Evaluate ``request`` with ``ztauth eval``: one response per evaluation."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    result = runner.invoke(
        app,
        ["eval", "--ledger", str(ledger), "--at", AT, "--jwks", str(jwks), str(path), "-f", "json"],
    )
    assert result.exit_code == 0, result.stderr
    response: dict[str, Any] = json.loads(result.stdout)
    return list(response.get("evaluations", [response]))


def _answer(response: dict[str, Any]) -> tuple[bool, str, list[str]]:
    ztauth = response["context"]["ztauth"]
    return response["decision"], response["context"]["reason_admin"]["code"], ztauth["policies"]


def _notes(response: dict[str, Any]) -> list[str]:
    """The trace notes of the request step (what the engine ignored or left out)."""
    trace = response["context"]["ztauth"]["trace"]
    step = next(s for s in trace if s["step"] == "request")
    return [child["detail"] for child in step.get("children", [])]


def _assistant_for_alice(issuers: Issuers, resource: str) -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": resource},
        "context": {"channel": "chat"},
        "authorization_model": {
            "ledger": ZTID,
            "principal": {"type": "Workload", "id": CHAT},
            "tokens": {
                "attestation": issuers.attestation(CHAT),
                "consent": issuers.consent(CHAT, "read summarize"),
            },
        },
    }


# ----------------------------------------------------------------------------- role membership


def test_assistant_cannot_join_finance_admin_role_by_sending_a_parent(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    request = _assistant_for_alice(issuers, "budget-2025")
    honest = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(honest) == (False, "policy_denied", [])  # alice is no finance admin
    request["authorization_model"]["entities"] = [
        {
            "uid": {"type": "User", "id": "alice"},
            "attrs": {"department": "finance"},
            "parents": [{"type": "Role", "id": "finance-admin"}],
        }
    ]
    response = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", [])
    assert _notes(response) == [
        'authorization_model.entities[0]: User::"alice" is defined by the ledger; the '
        'request\'s attributes (department) and parents (Role::"finance-admin") are ignored'
    ]


def test_request_cannot_add_a_new_user_to_a_role_unless_the_manifest_opts_in(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    # mallory is unknown to the ledger: the request may describe her, but not her roles.
    request = {
        "subject": {"type": "User", "id": "mallory", "properties": {"department": "finance"}},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "budget-2025"},
        "authorization_model": {
            "entities": [
                {
                    "uid": {"type": "User", "id": "mallory"},
                    "attrs": {"email": "mallory@acme.example"},
                    "parents": [{"type": "Role", "id": "finance-admin"}],
                }
            ]
        },
    }
    response = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", [])
    assert _notes(response) == [
        'authorization_model.entities[0]: parents of User::"mallory" (Role::"finance-admin") '
        "are ignored: settings.request_entities does not let a request give User entities parents"
    ]


# ----------------------------------------------------------------------------- ownership


@pytest.mark.parametrize(
    "owner",
    [{"type": "User", "id": "alice"}, {"__entity": {"type": "User", "id": "alice"}}],
    ids=["schema-form", "entity-escape"],
)
def test_request_cannot_make_alice_owner_of_bobs_roadmap(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, owner: dict[str, Any]
) -> None:
    request = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "roadmap", "properties": {"owner": owner}},
    }
    response = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", ["restricted-owner-only"])
    assert _notes(response) == [
        'resource.properties: Document::"roadmap" is defined by the ledger; the request\'s '
        "attributes (owner) are ignored"
    ]


def test_request_cannot_rewrite_bobs_roadmap_through_authorization_model_entities(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    request = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "roadmap"},
        "authorization_model": {
            "entities": [
                {
                    "uid": {"type": "Document", "id": "roadmap"},
                    "attrs": {
                        "owner": {"__entity": {"type": "User", "id": "alice"}},
                        "classification": "public",
                    },
                    "parents": [],
                }
            ]
        },
    }
    response = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", ["restricted-owner-only"])


def test_batch_items_cannot_rewrite_ledger_entities_either(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    request = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
        "evaluations": [
            {},
            {
                "resource": {
                    "type": "Document",
                    "id": "roadmap",
                    "properties": {"classification": "public"},
                }
            },
            {"subject": {"type": "User", "id": "dave", "properties": {"department": "x"}}},
        ],
    }
    answers = [_answer(r) for r in _eval(runner, tmp_path, request, jwks=issuers.jwks)]
    assert answers == [
        (True, "allowed", ["department-reads-internal", "owner-can-read"]),
        (False, "policy_denied", ["restricted-owner-only"]),
        (False, "policy_denied", []),
    ]


# ----------------------------------------------------------------------------- amounts


def test_billing_worker_cannot_shrink_invoice_amount_to_refund_it(
    runner: CliRunner, tmp_path: Path, issuers: Issuers
) -> None:
    request = {
        "subject": {"type": "User", "id": "carol"},
        "action": {"name": "refund"},
        "resource": {"type": "Invoice", "id": "inv-1004"},
        "context": {"channel": "orders-queue"},
        "authorization_model": {
            "ledger": ZTID,
            "principal": {"type": "Workload", "id": WORKER},
            "tokens": {"attestation": issuers.attestation(WORKER)},
        },
    }
    honest = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(honest) == (False, "policy_denied", ["no-automated-large-refunds"])
    request["resource"]["properties"] = {"amount": 100}
    response = _eval(runner, tmp_path, request, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", ["no-automated-large-refunds"])
    assert _notes(response) == [
        'resource.properties: Invoice::"inv-1004" is defined by the ledger; the request\'s '
        "attributes (amount) are ignored"
    ]


# ----------------------------------------------------------------------------- escapes

BARE_POLICIES = """@id("owner-reads")
permit (principal, action == Action::"read", resource)
when { resource.owner == principal };

@id("approver-reads")
permit (principal, action == Action::"approve", resource)
when { context.approver == principal };

@id("office-network")
permit (principal, action == Action::"connect", resource)
when { context.src.isInRange(ip("10.0.0.0/8")) };

@id("small-discounts")
permit (principal, action == Action::"discount", resource)
when { resource.rate.lessThan(decimal("0.2")) };

@id("soft-actions")
permit (principal, action, resource)
when { action has soft && action.soft };
"""


@pytest.fixture
def bare_ledger(tmp_path: Path) -> Path:
    """A ledger without a Cedar schema: nothing but the engine stands between a request's
    JSON and Cedar's value syntax.
    """
    return write_ledger(
        tmp_path / "bare",
        manifest=manifest(LOCAL_ZTID, name="bare"),
        policies={"main": BARE_POLICIES},
        entities={
            "people": [
                {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": []},
                {
                    "uid": {"type": "Action", "id": "archive"},
                    "attrs": {"soft": False},
                    "parents": [],
                },
            ]
        },
    )


def _alice(action: str, resource: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": action},
        "resource": resource,
        "context": context,
    }


def test_entity_escape_in_property_does_not_become_an_entity_reference(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, bare_ledger: Path
) -> None:
    escape = {"__entity": {"type": "User", "id": "alice"}}
    new_doc = {"type": "Document", "id": "new", "properties": {"owner": escape}}
    response = _eval(
        runner, tmp_path, _alice("read", new_doc, {}), ledger=bare_ledger, jwks=issuers.jwks
    )[0]
    assert _answer(response) == (False, "policy_denied", [])
    assert _notes(response) == [
        "resource.properties.owner: a JSON object with the key __entity is Cedar escape "
        "syntax, not plain data; left out"
    ]
    # The same escape through authorization_model.entities and in the context.
    described = _alice("read", {"type": "Document", "id": "new"}, {})
    described["authorization_model"] = {
        "entities": [{"uid": {"type": "Document", "id": "new"}, "attrs": {"owner": escape}}]
    }
    approve = _alice("approve", {"type": "Document", "id": "new"}, {"approver": escape})
    for request in (described, approve):
        answer = _eval(runner, tmp_path, request, ledger=bare_ledger, jwks=issuers.jwks)[0]
        assert _answer(answer) == (False, "policy_denied", []), request


def test_extn_escape_does_not_become_an_ip_or_decimal(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, bare_ledger: Path
) -> None:
    ip = {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}
    decimal = {"__extn": {"fn": "decimal", "arg": "0.1"}}
    connect = _alice("connect", {"type": "Host", "id": "db"}, {"src": ip})
    discount = _alice(
        "discount", {"type": "Offer", "id": "o1", "properties": {"rate": decimal}}, {}
    )
    for request in (connect, discount):
        response = _eval(runner, tmp_path, request, ledger=bare_ledger, jwks=issuers.jwks)[0]
        assert _answer(response) == (False, "policy_denied", []), request
        assert any("__extn" in note for note in _notes(response))


# ----------------------------------------------------------------------------- wire fidelity


def test_a_fractional_number_reaches_cedar_as_a_decimal(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, bare_ledger: Path
) -> None:
    def discount(rate: Any) -> dict[str, Any]:
        offer = {"type": "Offer", "id": "o1", "properties": {"rate": rate}}
        return _alice("discount", offer, {})

    def answer(rate: Any) -> tuple[bool, str, list[str]]:
        request = discount(rate)
        return _answer(_eval(runner, tmp_path, request, ledger=bare_ledger, jwks=issuers.jwks)[0])

    assert answer(0.15) == (True, "allowed", ["small-discounts"])
    assert answer(0.25) == (False, "policy_denied", [])
    # 5 decimal places is more than a Cedar decimal holds: left out, the policy cannot hold.
    response = _eval(runner, tmp_path, discount(0.12345), ledger=bare_ledger, jwks=issuers.jwks)
    assert _answer(response[0]) == (False, "policy_denied", [])
    assert _notes(response[0]) == [
        "resource.properties.rate: 0.12345 has more than 4 decimal places, more than a Cedar "
        "decimal holds; left out"
    ]


def test_null_and_huge_numbers_are_absent_and_sink_nothing_else(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, bare_ledger: Path
) -> None:
    own = {"type": "Document", "id": "new", "properties": {"owner": "x", "note": None}}
    request = {
        **_alice("discount", {"type": "Offer", "id": "o1"}, {"ticket": None, "n": 2**64}),
        "evaluations": [
            {"resource": {"type": "Offer", "id": "o1", "properties": {"rate": 0.1, "x": 2**70}}},
            {"action": {"name": "read"}, "resource": own},
        ],
    }
    responses = _eval(runner, tmp_path, request, ledger=bare_ledger, jwks=issuers.jwks)
    assert [_answer(r) for r in responses] == [
        (True, "allowed", ["small-discounts"]),
        (False, "policy_denied", []),
    ]
    assert _notes(responses[0]) == [
        "context.n: 18446744073709551616 is outside Cedar's 64-bit integer range; left out",
        "context.ticket: null is not a Cedar value; left out",
        "resource.properties.x: 1180591620717411303424 is outside Cedar's 64-bit integer "
        "range; left out",
    ]


def test_action_properties_reach_cedar_but_never_rewrite_a_ledger_action(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, bare_ledger: Path
) -> None:
    def answer(action: dict[str, Any]) -> dict[str, Any]:
        request = {**_alice("x", {"type": "Document", "id": "new"}, {}), "action": action}
        return _eval(runner, tmp_path, request, ledger=bare_ledger, jwks=issuers.jwks)[0]

    assert _answer(answer({"name": "ping", "properties": {"soft": True}})) == (
        True,
        "allowed",
        ["soft-actions"],
    )
    assert _answer(answer({"name": "ping"}))[0] is False
    # The ledger defines Action::"archive" (soft: false): the request cannot make it soft.
    rewritten = answer({"name": "archive", "properties": {"soft": True}})
    assert _answer(rewritten) == (False, "policy_denied", [])
    assert _notes(rewritten) == [
        'action.properties: Action::"archive" is defined by the ledger; the request\'s '
        "attributes (soft) are ignored"
    ]


# ----------------------------------------------------------------------------- the opt-in


def _opt_in(ledger: Path, setting: str) -> None:
    manifest_path = ledger / "ztauth.yaml"
    text = manifest_path.read_text(encoding="utf-8")
    manifest_path.write_text(
        text.replace(
            "  max_chain_depth: 4\n", f"  max_chain_depth: 4\n  request_entities: {setting}\n"
        ),
        encoding="utf-8",
    )


def test_opted_in_parents_describe_new_users_but_never_the_ledgers(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, sample_copy: Path
) -> None:
    _opt_in(sample_copy, "{User: [attributes, parents], Document: attributes}")
    mallory = {
        "subject": {"type": "User", "id": "mallory"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "budget-2025"},
        "authorization_model": {
            "entities": {
                "schema": "cedar",
                "items": [
                    {
                        "uid": {"type": "User", "id": "mallory"},
                        "attrs": {"department": "finance", "email": "m@acme.example"},
                        "parents": [{"type": "Role", "id": "finance-admin"}],
                    }
                ],
            }
        },
    }
    # The manifest lets the PEP say which role a user it knows (and the ledger does not) has.
    response = _eval(runner, tmp_path, mallory, ledger=sample_copy, jwks=issuers.jwks)[0]
    assert _answer(response) == (True, "allowed", ["finance-admin-reads-documents"])
    # ...but alice is the ledger's: even opted in, the request cannot change her roles.
    alice = _assistant_for_alice(issuers, "budget-2025")
    alice["authorization_model"]["entities"] = [
        {
            "uid": {"type": "User", "id": "alice"},
            "parents": [{"type": "Role", "id": "finance-admin"}],
        }
    ]
    response = _eval(runner, tmp_path, alice, ledger=sample_copy, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", [])
    # Types the setting does not name may not be described at all once it is given.
    invoice = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "charge"},
        "resource": {"type": "Invoice", "id": "inv-new", "properties": {"status": "open"}},
    }
    response = _eval(runner, tmp_path, invoice, ledger=sample_copy, jwks=issuers.jwks)[0]
    assert response["decision"] is False
    assert _notes(response) == [
        'resource.properties: attributes of Invoice::"inv-new" (status) are ignored: '
        "settings.request_entities does not let a request describe Invoice entities"
    ]


def test_request_cannot_nest_a_role_the_ledger_names_into_finance_admin(
    runner: CliRunner, tmp_path: Path, issuers: Issuers, sample_copy: Path
) -> None:
    # erin is in Role::"contractors", which the ledger names but never defines: describing
    # that role's parents would make erin a finance admin through the ledger's own fact.
    _opt_in(sample_copy, "{'*': [attributes, parents]}")
    people = json.loads((sample_copy / "entities/people.json").read_text(encoding="utf-8"))
    people.append(
        {
            "uid": {"type": "User", "id": "erin"},
            "attrs": {"department": "finance", "email": "erin@acme.example"},
            "parents": [{"type": "Role", "id": "contractors"}],
        }
    )
    (sample_copy / "entities/people.json").write_text(json.dumps(people), encoding="utf-8")
    request = {
        "subject": {"type": "User", "id": "erin"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "budget-2025"},
        "authorization_model": {
            "entities": [
                {
                    "uid": {"type": "Role", "id": "contractors"},
                    "parents": [{"type": "Role", "id": "finance-admin"}],
                }
            ]
        },
    }
    response = _eval(runner, tmp_path, request, ledger=sample_copy, jwks=issuers.jwks)[0]
    assert _answer(response) == (False, "policy_denied", [])
    assert _notes(response) == [
        'authorization_model.entities[0]: Role::"contractors" is defined by the ledger; the '
        'request\'s parents (Role::"finance-admin") are ignored'
    ]


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        (
            "{Document: [owners]}",
            "settings/request_entities/Document/0: 'owners' is not one of "
            "['attributes', 'parents']",
        ),
        (
            "{Action: [attributes, parents]}",
            "settings.request_entities.Action: a request may never give actions parents",
        ),
        ("{'not a type': attributes}", "settings/request_entities: 'not a type' does not match"),
    ],
    ids=["unknown-permission", "action-parents", "bad-type-name"],
)
def test_a_malformed_request_entities_setting_is_refused(
    runner: CliRunner, tmp_path: Path, sample_copy: Path, setting: str, complaint: str
) -> None:
    _opt_in(sample_copy, setting)
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"subject": {"type": "User", "id": "alice"}}), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--ledger", str(sample_copy), str(path)])
    assert result.exit_code == 2
    assert "ztauth.yaml:" in result.stderr
    assert complaint in result.stderr
    lint = runner.invoke(app, ["policy", "lint", "--ledger", str(sample_copy), "-f", "json"])
    assert lint.exit_code == 1, lint.stdout
