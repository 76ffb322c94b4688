"""Plain AuthZEN requests shaped like the OpenID AuthZEN interop suite (the "Todo" app):
no authorization_model, nothing ZTAuth*-specific added to the ledger or the requests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.ledger import NOW
from tests.support.repo import write_files
from ztauth_cli.engine import Evaluator, authzen_response
from ztauth_cli.ledger import load

RICK = "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
MORTY = "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"

POLICIES = """@id("anyone-reads-todos")
permit (principal is user, action == Action::"can_read_todos", resource);

@id("owner-or-admin-deletes")
permit (principal is user, action == Action::"can_delete_todo", resource is todo)
when { principal.roles.contains("admin") || resource.ownerID == principal.email };

@id("evil-genius-creates")
permit (principal is user, action == Action::"can_create_todo", resource)
when { principal.roles.contains("evil_genius") || principal.roles.contains("admin") };
"""

USERS = [
    {
        "uid": {"type": "user", "id": RICK},
        "attrs": {"email": "rick@the-citadel.com", "roles": ["admin", "evil_genius"]},
        "parents": [],
    },
    {
        "uid": {"type": "user", "id": MORTY},
        "attrs": {"email": "morty@the-citadel.com", "roles": ["editor"]},
        "parents": [],
    },
]


@pytest.fixture(scope="module")
def todo(tmp_path_factory: pytest.TempPathFactory) -> Evaluator:
    root = tmp_path_factory.mktemp("todo") / "ledger"
    write_files(
        root,
        {
            "ztauth.yaml": (
                "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: todo}\n"
                "ledger: ztauth://todo.example/273165098782/ledgers/todo\n"
            ),
            "policies/todo.cedar": POLICIES,
            "entities/users.json": json.dumps(USERS),
        },
    )
    return Evaluator.from_ledger(load(root))


def _request(subject: str, action: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": {"type": "user", "id": subject},
        "action": {"name": action},
        "resource": resource,
        "context": {},
    }


ITEM_OF_MORTY = {
    "type": "todo",
    "id": "7240d0db-8ff0-41ec-98b2-34a096273b9f",
    "properties": {"ownerID": "morty@the-citadel.com"},
}
ITEM_OF_RICK = {
    **ITEM_OF_MORTY,
    "id": "7240d0db-8ff0-41ec",
    "properties": {"ownerID": "rick@the-citadel.com"},
}


@pytest.mark.parametrize(
    ("subject", "action", "resource", "allowed"),
    [
        (MORTY, "can_read_todos", {"type": "todo", "id": "todo-1"}, True),
        (MORTY, "can_delete_todo", ITEM_OF_MORTY, True),
        (MORTY, "can_delete_todo", ITEM_OF_RICK, False),
        (RICK, "can_delete_todo", ITEM_OF_MORTY, True),
        (MORTY, "can_create_todo", {"type": "todo", "id": "todo-1"}, False),
        (RICK, "can_create_todo", {"type": "todo", "id": "todo-1"}, True),
        ("unknown", "can_delete_todo", ITEM_OF_MORTY, False),
    ],
    ids=[
        "morty-reads",
        "morty-deletes-own",
        "morty-deletes-ricks",
        "admin-deletes",
        "editor-cannot-create",
        "evil-genius-creates",
        "unknown-user",
    ],
)
def test_interop_shaped_requests(
    todo: Evaluator, subject: str, action: str, resource: dict[str, Any], allowed: bool
) -> None:
    decision = todo.evaluate(_request(subject, action, resource), now=NOW)
    assert decision.allowed is allowed, decision.message
    assert decision.via is None
    response = authzen_response([decision], batch=False)
    assert response["decision"] is allowed


def test_interop_evaluations_endpoint(todo: Evaluator) -> None:
    body = {
        "subject": {"type": "user", "id": MORTY},
        "context": {},
        "evaluations": [
            {"action": {"name": "can_read_todos"}, "resource": {"type": "todo", "id": "t"}},
            {"action": {"name": "can_delete_todo"}, "resource": ITEM_OF_RICK},
            {"action": {"name": "can_delete_todo"}, "resource": ITEM_OF_MORTY},
        ],
    }
    decisions, batch = todo.evaluate_batch(body, now=NOW)
    assert batch
    assert [e["decision"] for e in authzen_response(decisions, batch=True)["evaluations"]] == [
        True,
        False,
        True,
    ]


def test_interop_ledger_needs_nothing_ztauth_specific(todo: Evaluator) -> None:
    # No trust documents, issuers or context.ztauth in the policies: plain Cedar semantics.
    assert todo.ztauth_fields is None
    assert todo.trust.groups == ()
    assert todo.keyring.issuers == {}
