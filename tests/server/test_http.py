"""The AuthZEN 1.0 HTTP binding of ``ztauth serve``, over a real socket."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import JERRY, MORTY, RICK, TASKS_APP_LEDGER, Server, todo
from tests.support.schemas import assert_valid

EVALUATION = "/access/v1/evaluation"
EVALUATIONS = "/access/v1/evaluations"


@pytest.fixture
def client(todo_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=todo_server.url, timeout=30.0) as client:
        yield client


@pytest.mark.parametrize(
    ("request_body", "decision"),
    [
        (todo(MORTY, "can_read_todos"), True),
        (todo(MORTY, "can_delete_todo", "morty@the-citadel.com"), True),
        (todo(MORTY, "can_delete_todo", "rick@the-citadel.com"), False),
        (todo(RICK, "can_update_todo", "jerry@the-smiths.com"), True),
        (todo(JERRY, "can_create_todo"), False),
        (todo("nobody", "can_delete_todo", "nobody@example.com"), False),
    ],
    ids=["reads", "deletes-own", "deletes-ricks", "evil-genius-updates", "viewer", "unknown"],
)
def test_a_decision_is_the_bare_authzen_response(
    client: httpx.Client, request_body: dict[str, object], decision: bool
) -> None:
    response = client.post(EVALUATION, json=request_body)
    # A deny is 200 {"decision": false}, nothing else: interop harnesses compare it exactly.
    assert response.status_code == 200
    assert response.json() == {"decision": decision}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["ztauth-revision"] == "working-tree"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["ztauth-decision-id"])


def test_request_ids_are_echoed(client: httpx.Client) -> None:
    body = {**todo(MORTY, "can_read_todos"), "request_id": "req-42"}
    response = client.post(EVALUATION, json=body, headers={"X-Request-ID": "trace-7"})
    assert response.headers["x-request-id"] == "trace-7"
    assert response.json() == {"request_id": "req-42", "decision": True}
    # Without one the server names the request itself, for its access log.
    generated = client.post(EVALUATION, json=todo(MORTY, "can_read_todos"))
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])


def test_context_is_opt_in_per_request(client: httpx.Client) -> None:
    body = todo(MORTY, "can_delete_todo", "rick@the-citadel.com")
    reasons = client.post(EVALUATION, params={"context": "reasons"}, json=body).json()
    decision_id = reasons["context"].pop("id")
    assert re.fullmatch(r"[0-9a-f]{32}", decision_id)
    assert reasons == {
        "decision": False,
        "context": {
            "reason_admin": {"code": "policy_denied", "message": "no policy permits this request"},
            "reason_user": {"code": "policy_denied", "message": "Access denied by policy."},
            "ztauth": {
                "ledger": "ztauth://todo.example/273165098782/ledgers/todo",
                "revision": None,
                "version": None,
                "policies": [],
                "via": None,
            },
        },
    }
    traced = client.post(EVALUATION, params={"context": "trace"}, json=body).json()
    assert [step["step"] for step in traced["context"]["ztauth"]["trace"]][-1] == "policy"
    # Served or printed by `ztauth eval`, at every context level: one documented wire shape.
    for document in (reasons, traced, client.post(EVALUATION, json=body).json()):
        assert_valid(document, "evaluation-response")
    bad = client.post(EVALUATION, params={"context": "all"}, json=body)
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_request"


def test_batch_semantics_are_evals(client: httpx.Client) -> None:
    body = {
        "subject": {"type": "user", "id": MORTY},
        "action": {"name": "can_update_todo"},
        "evaluations": [
            {"resource": todo(MORTY, "x", "rick@the-citadel.com")["resource"]},
            {"resource": todo(MORTY, "x", "morty@the-citadel.com")["resource"]},
            {"resource": todo(MORTY, "x", "rick@the-citadel.com")["resource"]},
        ],
    }
    assert client.post(EVALUATIONS, json=body).json() == {
        "evaluations": [{"decision": False}, {"decision": True}, {"decision": False}]
    }
    first_permit = {**body, "options": {"evaluations_semantic": "permit_on_first_permit"}}
    assert client.post(EVALUATIONS, json=first_permit).json() == {
        "evaluations": [{"decision": False}, {"decision": True}]
    }
    # Without an evaluations array the endpoint answers like the single one.
    single = client.post(EVALUATIONS, json=todo(MORTY, "can_read_todos"))
    assert single.json() == {"decision": True}


def test_an_invalid_evaluation_in_a_batch_has_its_own_error(client: httpx.Client) -> None:
    body = {
        "subject": {"type": "user", "id": MORTY},
        "evaluations": [
            {"action": {"name": "can_read_todos"}, "resource": {"type": "todo", "id": "t"}},
            {"action": {"name": "can_read_todos"}},
        ],
    }
    response = client.post(EVALUATIONS, json=body)
    assert response.status_code == 200
    assert response.json() == {
        "evaluations": [
            {"decision": True},
            {
                "decision": False,
                "context": {
                    "error": {"status": 400, "message": "missing or not an object: resource"}
                },
            },
        ]
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"subject": ', "line 1 column 13: invalid JSON: Expecting value"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'{"action": {"name": "can_read_todos"}}', "missing or not an object: subject, resource"),
        (
            b'{"subject": {"type": "user", "id": "a"}, "action": 1, "resource": {}}',
            "missing or not an object: action",
        ),
        (
            b'{"action": {"name": "a"}, "action": {"name": "b"}, "subject": {}, "resource": {}}',
            "line 1 column 27: duplicate key 'action'",
        ),
        (b"\xff\xfe{}", "the request body is not UTF-8"),
        (b"[" * 100_000, "line 1 column 66: nesting deeper than 64 levels"),
        (
            b'{"subject": {"type": "user", "id": NaN}}',
            "line 1 column 36: NaN and Infinity are not JSON",
        ),
    ],
    ids=[
        "truncated",
        "array",
        "no-subject",
        "action-not-object",
        "duplicate-key",
        "not-utf8",
        "too-deep",
        "nan",
    ],
)
def test_malformed_requests_are_400_with_a_json_error(
    client: httpx.Client, content: bytes, message: str
) -> None:
    response = client.post(
        EVALUATION, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": message}


def test_unknown_fields_are_ignored(client: httpx.Client) -> None:
    body = {**todo(MORTY, "can_read_todos"), "x-vendor": {"anything": [1]}, "shard": 3}
    body["subject"] = {**body["subject"], "source": "keycloak"}  # type: ignore[dict-item]
    assert client.post(EVALUATION, json=body).json() == {"decision": True}


def test_a_body_over_the_limit_is_refused(client: httpx.Client) -> None:
    body = {**todo(MORTY, "can_read_todos"), "padding": "x" * (1024 * 1024)}
    response = client.post(EVALUATION, content=json.dumps(body).encode())
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_unknown_paths_and_methods_get_json_errors(client: httpx.Client) -> None:
    missing = client.get("/access/v1/nothing")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    wrong = client.get(EVALUATION)
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


def test_metadata_lists_exactly_the_endpoints_served(
    client: httpx.Client, todo_server: Server
) -> None:
    response = client.get("/.well-known/authzen-configuration")
    assert response.status_code == 200
    base = todo_server.url
    assert response.json() == {
        "policy_decision_point": base,
        "access_evaluation_endpoint": base + EVALUATION,
        "access_evaluations_endpoint": base + EVALUATIONS,
        "search_subject_endpoint": base + "/access/v1/search/subject",
        "search_resource_endpoint": base + "/access/v1/search/resource",
        "search_action_endpoint": base + "/access/v1/search/action",
    }


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (
            "subject",
            {
                "subject": {"type": "user"},
                "action": {"name": "can_read_user"},
                "resource": {"type": "user", "id": RICK},
            },
        ),
        (
            "action",
            {"subject": {"type": "user", "id": MORTY}, "resource": {"type": "user", "id": RICK}},
        ),
        (
            "resource",
            {
                "subject": {"type": "user", "id": MORTY},
                "action": {"name": "can_read_user"},
                "resource": {"type": "user"},
                "page": {"limit": 2},
            },
        ),
    ],
    ids=["who-reads-rick", "what-morty-does", "paged"],
)
def test_search_endpoints_answer_exactly_as_ztauth_search(
    client: httpx.Client, tmp_path: Path, kind: str, body: dict[str, object]
) -> None:
    from typer.testing import CliRunner

    from ztauth_cli.cli.main import app

    path = tmp_path / "search.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    cli = CliRunner().invoke(
        app, ["search", kind, str(path), "--ledger", str(TASKS_APP_LEDGER), "-f", "json"]
    )
    assert cli.exit_code == 0, cli.stderr
    response = client.post(f"/access/v1/search/{kind}", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(cli.stdout)
    assert response.json()["results"]  # the scenario grants something to find


def test_a_malformed_search_is_400(client: httpx.Client) -> None:
    response = client.post("/access/v1/search/subject", json={"subject": {"type": "user"}})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["revision"], body["refused"]) == ("ready", None, None)
    assert body["ledger"] == "ztauth://todo.example/273165098782/ledgers/todo"


def test_keep_alive_connection_serves_many_requests(todo_server: Server) -> None:
    with httpx.Client(base_url=todo_server.url, timeout=30.0) as client:
        answers = [client.post(EVALUATION, json=todo(MORTY, "can_read_todos")) for _ in range(50)]
    assert {a.json()["decision"] for a in answers} == {True}
    assert len({a.headers["ztauth-decision-id"] for a in answers}) == 50


def test_the_access_log_names_requests_not_bodies(
    client: httpx.Client, todo_server: Server
) -> None:
    body = {
        **todo(MORTY, "can_read_todos"),
        "authorization_model": {"tokens": {"txn": "SECRET.J.WT"}},
    }
    client.post(EVALUATION, json=body, headers={"X-Request-ID": "log-check-1"})
    lines = [line for line in todo_server.log.splitlines() if "request_id=log-check-1" in line]
    assert len(lines) == 1
    assert '"POST /access/v1/evaluation" 200' in lines[0]
    assert lines[0].endswith("decisions=deny")
    assert "SECRET" not in todo_server.log


def test_workers_serve_the_same_decisions(serve: Callable[..., Server]) -> None:
    # --workers 2: two uvicorn processes, each loading the ledger from the options it is
    # handed; the fixture checks the whole group stops cleanly (exit 0) on SIGTERM.
    server = serve("--ledger", str(TASKS_APP_LEDGER), "--workers", "2")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        answers = {
            client.post(EVALUATION, json=todo(MORTY, "can_delete_todo", owner)).json()["decision"]
            for owner in ("morty@the-citadel.com", "rick@the-citadel.com")
        }
    assert answers == {True, False}
