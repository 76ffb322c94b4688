"""``--follow REF``: new commits are gated and swapped in; a failing one is never served."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import JERRY, MORTY, TASKS_APP_LEDGER, Server, todo
from tests.support.ledgers import jwks
from tests.support.repo import LedgerRepo
from tests.support.signing import sign
from ztauth_cli import jose

POLICY = TASKS_APP_LEDGER / "policies" / "todo.cedar"
VIEWERS_CREATE = (
    '@id("viewers-create")\n'
    'permit (principal is user, action == Action::"can_create_todo", resource)\n'
    'when { principal.roles.contains("viewer") };\n'
)
_WAIT = 30.0


def _branch(repo: LedgerRepo) -> str:
    head = repo.repo.refs.read_ref(b"HEAD")
    assert head is not None
    assert head.startswith(b"ref: refs/heads/")
    return head.removeprefix(b"ref: refs/heads/").decode()


def _todo_repo(root: Path, *, manifest: str | None = None) -> LedgerRepo:
    repo = LedgerRepo(root)
    shutil.copytree(TASKS_APP_LEDGER, root, dirs_exist_ok=True)
    if manifest is not None:
        (root / "ztauth.yaml").write_text(manifest, encoding="utf-8")
    return repo


def _wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the server did not change within 30 s")


def _decide(client: httpx.Client, body: dict[str, object]) -> tuple[bool, str]:
    response = client.post("/access/v1/evaluation", json=body)
    assert response.status_code == 200, response.text
    return response.json()["decision"], response.headers["ztauth-revision"]


def test_a_new_commit_is_swapped_in(tmp_path: Path, serve: Callable[..., Server]) -> None:
    repo = _todo_repo(tmp_path / "repo")
    first = repo.commit("todo ledger")
    server = serve("--ledger", str(repo.root), "--follow", _branch(repo), "--poll-interval", "0.2")
    jerry_creates = todo(JERRY, "can_create_todo")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        assert _decide(client, jerry_creates) == (False, first)
        repo.write({"policies/viewers.cedar": VIEWERS_CREATE})
        second = repo.commit("viewers may create todos")
        _wait_for(lambda: _decide(client, jerry_creates)[1] == second)
        assert _decide(client, jerry_creates) == (True, second)
        ready = client.get("/readyz").json()
        assert (ready["status"], ready["revision"], ready["refused"]) == ("ready", second, None)
        # Every decision names its revision in the opt-in context too.
        traced = client.post(
            "/access/v1/evaluation", params={"context": "reasons"}, json=jerry_creates
        ).json()
        assert traced["context"]["ztauth"]["revision"] == second
    assert f"serving revision {second}" in server.log


def test_a_broken_commit_is_refused_and_the_previous_one_keeps_serving(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    repo = _todo_repo(tmp_path / "repo")
    first = repo.commit("todo ledger")
    server = serve("--ledger", str(repo.root), "--follow", _branch(repo), "--poll-interval", "0.2")
    morty_reads = todo(MORTY, "can_read_todos")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        repo.write({"policies/todo.cedar": POLICY.read_text() + "\npermit (principal, action"})
        broken = repo.commit("a syntax error")
        ready = _wait_for(lambda: client.get("/readyz").json()["refused"] and client.get("/readyz"))
        body = ready.json()
        assert ready.status_code == 200  # still serving: degraded, not down
        assert (body["status"], body["revision"]) == ("degraded", first)
        assert body["refused"]["revision"] == broken
        assert "ZT201 Cedar syntax error" in body["refused"]["reason"]
        assert _decide(client, morty_reads) == (True, first)
    assert f"revision {broken} refused, still serving the previous one" in server.log


def _signed_manifest(require: int) -> str:
    text = (TASKS_APP_LEDGER / "ztauth.yaml").read_text(encoding="utf-8")
    return text + f"signers: keys/signers.jwks.json\nsettings: {{require_signatures: {require}}}\n"


def test_a_tampered_revision_is_refused_until_it_is_signed(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    key = jose.generate_key("EdDSA")
    repo = _todo_repo(tmp_path / "repo", manifest=_signed_manifest(1))
    repo.write({"keys/signers.jwks.json": jwks(key.public_jwk)})
    sign(repo.root, key)
    signed = repo.commit("signed todo ledger")
    server = serve("--ledger", str(repo.root), "--follow", _branch(repo), "--poll-interval", "0.2")
    jerry_creates = todo(JERRY, "can_create_todo")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        assert _decide(client, jerry_creates) == (False, signed)
        # Someone widens the policies without a signer's key.
        repo.write({"policies/viewers.cedar": VIEWERS_CREATE})
        tampered = repo.commit("widen, unsigned")
        refused = _wait_for(lambda: client.get("/readyz").json()["refused"])
        assert refused["revision"] == tampered
        assert refused["reason"].startswith(f"revision {tampered} is refused: signatures: ")
        assert _decide(client, jerry_creates) == (False, signed)
        # A signer signs the change: now it is served.
        sign(repo.root, key)
        resigned = repo.commit("signed")
        _wait_for(lambda: _decide(client, jerry_creates)[1] == resigned)
        assert _decide(client, jerry_creates) == (True, resigned)
        assert client.get("/readyz").json()["refused"] is None


def test_a_pinned_server_refuses_a_commit_that_switches_the_manifests_gate_off(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    key = jose.generate_key("EdDSA")
    repo = _todo_repo(tmp_path / "repo", manifest=_signed_manifest(1))
    repo.write({"keys/signers.jwks.json": jwks(key.public_jwk)})
    sign(repo.root, key)
    signed = repo.commit("signed todo ledger")
    pin = tmp_path / "ci" / "signers.jwks.json"
    pin.parent.mkdir()
    pin.write_text(jwks(key.public_jwk), encoding="utf-8")
    server = serve(
        "--ledger",
        str(repo.root),
        "--follow",
        _branch(repo),
        "--poll-interval",
        "0.2",
        "--signers-jwks",
        str(pin),
    )
    jerry_creates = todo(JERRY, "can_create_todo")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        # The attack: widen the policies and set require_signatures: 0, without the key.
        repo.write(
            {
                "policies/viewers.cedar": VIEWERS_CREATE,
                "ztauth.yaml": _signed_manifest(0),
            }
        )
        tampered = repo.commit("widen and switch the gate off")
        refused = _wait_for(lambda: client.get("/readyz").json()["refused"])
        assert refused["revision"] == tampered
        assert "signatures" in refused["reason"]
        assert _decide(client, jerry_creates) == (False, signed)
