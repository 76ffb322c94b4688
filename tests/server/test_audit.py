"""``--audit-log``: every decision of a busy server is logged once, chained, under its id."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.server.conftest import JERRY, MORTY, TASKS_APP_LEDGER, Server, todo
from ztauth_cli.audit import read_log, verify_log

_CLIENTS = 8
_EACH = 20


def test_concurrent_decisions_keep_the_chain_intact(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    log = tmp_path / "decisions.jsonl"
    server = serve("--ledger", str(TASKS_APP_LEDGER), "--audit-log", str(log))
    body = {
        "subject": {"type": "user", "id": JERRY},
        "action": {"name": "can_read_todos"},
        "evaluations": [
            {"resource": {"type": "todo", "id": "a"}},
            {"action": {"name": "can_create_todo"}, "resource": {"type": "todo", "id": "b"}},
        ],
    }

    def client_run(index: int) -> list[tuple[str, bool]]:
        seen = []
        with httpx.Client(base_url=server.url, timeout=60.0) as client:
            for n in range(_EACH):
                if n % 2:
                    response = client.post(
                        "/access/v1/evaluations", params={"context": "reasons"}, json=body
                    )
                    items = response.json()["evaluations"]
                    seen += [(e["context"]["id"], e["decision"]) for e in items]
                else:
                    response = client.post(
                        "/access/v1/evaluation",
                        json={**todo(MORTY, "can_read_todos"), "request_id": f"c{index}-{n}"},
                    )
                    seen.append(
                        (response.headers["ztauth-decision-id"], response.json()["decision"])
                    )
        return seen

    with ThreadPoolExecutor(_CLIENTS) as pool:
        answered = [pair for result in pool.map(client_run, range(_CLIENTS)) for pair in result]

    assert len(answered) == _CLIENTS * (_EACH // 2) * 3
    verification = verify_log(log)
    assert (verification.ok, verification.lines) == (True, len(answered))
    logged = {line["id"]: line for line in read_log(log)}
    # Each decision is on disk before its response is sent, under the id the client got.
    assert dict(answered) == {i: line["decision"] for i, line in logged.items()}
    single = [line for line in logged.values() if "request_id" in line["request"]]
    assert len(single) == _CLIENTS * (_EACH // 2)
    assert all(line["revision"] is None and line["code"] == "allowed" for line in single)
