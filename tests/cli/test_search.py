"""`ztauth search` through the CLI: AuthZEN searches and principal search on the sample
ledger, output against the schemas, paging, and malformed requests (exit 2, file named).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO_ROOT, SAMPLE_LEDGER
from tests.support.schemas import assert_valid
from ztauth_cli.cli.main import app

AT = "2026-06-01T12:00:00Z"
INTEROP = REPO_ROOT / "tests" / "fixtures" / "authzen-search"
ASSISTANTS = "spiffe://acme.internal/assistant/*"
GATEWAY = "spiffe://acme.internal/gateway/edge"
IDP = "https://idp.acme.internal"
ATTEST = "https://attest.acme.internal"


def _search(
    runner: CliRunner, kind: str, body: Any, *args: str, ledger: Path = SAMPLE_LEDGER
) -> Any:
    return runner.invoke(
        app,
        ["search", kind, "-", "--ledger", str(ledger), "--at", AT, *args],
        input=json.dumps(body),
    )


def test_subject_search_prints_the_authzen_response(runner: CliRunner) -> None:
    body = {
        "subject": {"type": "User"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
    }
    result = _search(runner, "subject", body, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "page": {"next_token": "", "count": 3, "total": 3},
        "results": [
            {"type": "User", "id": "alice"},
            {"type": "User", "id": "bob"},
            {"type": "User", "id": "carol"},
        ],
    }
    assert_valid(document, "search-response")


def test_action_search_text_is_a_table(runner: CliRunner) -> None:
    body = {
        "subject": {"type": "User", "id": "alice"},
        "resource": {"type": "Document", "id": "q3-report"},
    }
    result = _search(runner, "action", body, "-f", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "ACTION\ndelete\nread\nshare\nsummarize\nwrite\n"
        "5 of 5 permitted action(s) shown (8 candidate(s) evaluated)\n"
    )


def test_resource_search_pages_through_the_cli(runner: CliRunner) -> None:
    body: dict[str, Any] = {
        "subject": {"type": "user", "id": "bob"},
        "action": {"name": "view"},
        "resource": {"type": "record"},
        "page": {"limit": 4},
    }
    ids: list[str] = []
    while True:
        result = _search(runner, "resource", body, "-f", "json", ledger=INTEROP)
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)
        assert_valid(document, "search-response")
        ids += [r["id"] for r in document["results"]]
        if not document["page"]["next_token"]:
            break
        body["page"] = {"limit": 4, "token": document["page"]["next_token"]}
    # bob (Legal, employee) views the records he owns and those of Legal.
    assert ids == ["101", "102", "103", "105", "108", "112", "114", "116", "117", "119", "120"]


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "action",
            {
                "subject": {"type": "User", "id": "alice"},
                "action": {"name": "read"},
                "resource": {"type": "Document", "id": "q3-report"},
            },
            "has no 'action'",
        ),
        (
            "subject",
            {"subject": {"type": "User"}, "resource": {"type": "Document", "id": "x"}},
            "action must be an object",
        ),
        ("principal", {"subject": {"type": "User", "id": "alice"}}, "resource must be an object"),
    ],
    ids=["action-in-action-search", "no-action", "principal-without-resource"],
)
def test_malformed_requests_exit_2_naming_the_input(
    runner: CliRunner, kind: str, body: Any, message: str
) -> None:
    result = _search(runner, kind, body)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: <stdin>:1:1: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_request_file_that_is_not_json_names_file_and_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "q.json"
    path.write_text('{"subject": {"type": "User"},\n  "action": [\n', encoding="utf-8")
    result = runner.invoke(app, ["search", "subject", str(path), "--ledger", str(SAMPLE_LEDGER)])
    assert result.exit_code == 2
    assert f"{path}:" in result.stderr


def test_who_may_act_for_alice_lists_groups_patterns_and_what_they_must_present(
    runner: CliRunner,
) -> None:
    body = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "read"},
        "resource": {"type": "Document", "id": "q3-report"},
    }
    result = _search(runner, "principal", body, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert_valid(document, "search-principal")
    rows = [
        (r["actor"], r["pattern"], r["group"], r["via"], r["max_depth"])
        for r in document["results"]
    ]
    assert rows == [
        (ASSISTANTS, True, "ai-assistants", "delegation/user-assistant-read", 1),
        (GATEWAY, False, "edge-gateways", "delegation/user-gateway-session", 3),
    ]
    assert document["results"][0]["requires"] == {
        "trust_level": "attested",
        "attestation": {"issuer": ATTEST, "max_age_seconds": 600},
        "consent": {"issuer": IDP},
        "txn_token": False,
        "condition": None,
    }


def test_an_elevation_condition_is_part_of_the_question(runner: CliRunner) -> None:
    body: dict[str, Any] = {
        "subject": {"type": "User", "id": "alice"},
        "action": {"name": "charge"},
        "resource": {"type": "Invoice", "id": "inv-1001"},
        "context": {"channel": "orders-queue"},
    }
    queue = json.loads(_search(runner, "principal", body, "-f", "json").stdout)
    assert [r["via"] for r in queue["results"]] == [
        "elevation/billing-acts-for-customer",
        "delegation/user-gateway-session",
    ]
    assert queue["results"][0]["requires"]["condition"] == 'context.channel == "orders-queue"'
    body["context"] = {"channel": "chat"}  # no-payments-from-chat forbids every charge
    chat = json.loads(_search(runner, "principal", body, "-f", "json").stdout)
    assert chat["results"] == []


def test_what_a_billing_worker_may_do_and_for_whom(runner: CliRunner) -> None:
    body = {
        "authorization_model": {
            "principal": {"type": "Workload", "id": "spiffe://acme.internal/billing/worker-7"}
        },
        "context": {"channel": "orders-queue"},
    }
    result = _search(runner, "principal", body, "-f", "text")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "what spiffe://acme.internal/billing/worker-7 may do, and on whose behalf"
    table = [line.split()[:4] for line in lines[3:6]]
    assert table == [
        ['User::"alice"', "charge", 'Invoice::"inv-1001"', "elevation/billing-acts-for-customer"],
        ['User::"carol"', "refund", 'Invoice::"inv-1002"', "elevation/billing-acts-for-customer"],
        ['User::"dave"', "charge", 'Invoice::"inv-1003"', "elevation/billing-acts-for-customer"],
    ]
    assert lines[-1] == "3 grant(s) confirmed by 32 full evaluation(s)"


def test_a_revoked_workload_may_act_for_nobody(runner: CliRunner) -> None:
    body = {
        "authorization_model": {
            "principal": {"type": "Workload", "id": "spiffe://acme.internal/assistant/legacy"}
        }
    }
    result = _search(runner, "principal", body, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"] == []


def test_rev_searches_the_ledger_as_committed(runner: CliRunner, sample_repo: Any) -> None:
    body = {
        "subject": {"type": "User", "id": "dave"},
        "action": {"name": "read"},
        "resource": {"type": "Document"},
    }
    policies = sample_repo.root / "policies" / "documents.cedar"
    text = policies.read_text(encoding="utf-8")
    public = text.index('@id("anyone-reads-public")')
    end = text.index("@id(", public + 5)
    policies.write_text(text[:public] + text[end:], encoding="utf-8")  # working tree only

    def ids(*args: str) -> list[str]:
        result = _search(runner, "resource", body, "-f", "json", *args, ledger=sample_repo.root)
        assert result.exit_code == 0, result.stderr
        return [r["id"] for r in json.loads(result.stdout)["results"]]

    assert ids("--rev", "HEAD") == ["handbook"]
    assert ids() == []
