"""The application factory in-process (httpx's ASGI transport): how search endpoints are
registered, and that a decision which cannot be audited is never returned."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.server.conftest import MORTY, TASKS_APP_LEDGER, todo
from ztauth_cli.server import AppSettings, AuditWriter, LedgerState, create_app, load_snapshot
from ztauth_cli.server.ledger import Snapshot

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def _with_client(app: Starlette, run: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await run(client)

    asyncio.run(main())


@pytest.fixture(scope="module")
def state() -> LedgerState:
    return LedgerState(load_snapshot(TASKS_APP_LEDGER, None, now=NOW))


def _subjects(snapshot: Snapshot, body: Mapping[str, Any], *, now: datetime) -> Mapping[str, Any]:
    # A real function of the registered shape: it reads the served ledger.
    return {"results": [{"type": "ledger", "id": snapshot.evaluator.ztid}], "asked": dict(body)}


def test_a_registered_search_route_is_served_and_listed(state: LedgerState) -> None:
    app = create_app(
        state,
        AppSettings(api_key="k" * 20),
        clock=lambda: NOW,
        search={"/access/v1/search/subject": _subjects},
    )

    async def run(client: httpx.AsyncClient) -> None:
        metadata = (await client.get("/.well-known/authzen-configuration")).json()
        assert metadata["search_subject_endpoint"] == "http://testserver/access/v1/search/subject"
        assert "search_resource_endpoint" not in metadata
        assert (await client.post("/access/v1/search/subject", json={})).status_code == 401
        found = await client.post(
            "/access/v1/search/subject", json={"q": 1}, headers={"Authorization": "k" * 20}
        )
        assert found.status_code == 200
        assert found.json() == {
            "results": [
                {"type": "ledger", "id": "ztauth://todo.example/273165098782/ledgers/todo"}
            ],
            "asked": {"q": 1},
        }
        assert found.headers["ztauth-revision"] == "working-tree"

    _with_client(app, run)


def test_no_served_revision_is_503_not_a_decision() -> None:
    app = create_app(LedgerState(), AppSettings(), clock=lambda: NOW)

    async def run(client: httpx.AsyncClient) -> None:
        response = await client.post("/access/v1/evaluation", json=todo(MORTY, "can_read_todos"))
        assert (response.status_code, response.json()["error"]) == (503, "not_ready")
        assert (await client.get("/readyz")).status_code == 503

    _with_client(app, run)


def test_a_decision_that_cannot_be_audited_is_not_returned(
    state: LedgerState, tmp_path: Path
) -> None:
    # The log's folder is gone: the append fails, so the allow must not reach the client.
    writer = AuditWriter(tmp_path / "missing" / "audit.jsonl")
    app = create_app(state, AppSettings(), clock=lambda: NOW, audit=writer)

    async def run(client: httpx.AsyncClient) -> None:
        response = await client.post("/access/v1/evaluation", json=todo(MORTY, "can_read_todos"))
        assert response.status_code == 500
        assert response.json() == {
            "error": "audit_failed",
            "message": "the decision could not be written to the audit log",
        }

    writer.start()  # the app's lifespan does this under uvicorn
    try:
        _with_client(app, run)
    finally:
        writer.close()
