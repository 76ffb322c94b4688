"""A real ``ztauth serve`` process on a free loopback port, and a real HTTP client (httpx).

Starlette's TestClient would skip uvicorn, the sockets and the process boundary: these tests
start the command a user starts and talk HTTP to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT

TASKS_APP_LEDGER = REPO_ROOT / "tests" / "fixtures" / "authzen-todo"
RICK = "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
MORTY = "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
JERRY = "CiRmZDQ2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"
_START_TIMEOUT = 60.0


def todo(subject: str, action: str, owner: str | None = None) -> dict[str, object]:
    """An AuthZEN request of the Todo interop scenario."""
    resource: dict[str, object] = {"type": "todo", "id": "7240d0db-8ff0-41ec-98b2-34a096273b91"}
    if owner is not None:
        resource["properties"] = {"ownerID": owner}
    return {
        "subject": {"type": "user", "id": subject},
        "action": {"name": action},
        "resource": resource,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``ztauth serve``: its base URL, process and log (stderr)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM (what a supervisor sends), then the exit code of a graceful shutdown."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(args: list[str], *, log_path: Path, cwd: Path = REPO_ROOT) -> Server:
    """Start ``ztauth serve ARGS`` on a free port; returns once /healthz answers."""
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ztauth_cli", "serve", "--port", str(port), *args],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ztauth serve exited with {process.returncode}:\n{server.log}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"ztauth serve did not start:\n{server.log}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers for one test; each is stopped (and must stop cleanly) at the end."""
    started: list[Server] = []

    def run(*args: str, cwd: Path = REPO_ROOT) -> Server:
        server = start_server(list(args), log_path=tmp_path / f"serve-{len(started)}.log", cwd=cwd)
        started.append(server)
        return server

    yield run
    for server in started:
        assert server.stop() == 0, server.log


@pytest.fixture(scope="module")
def todo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server on the Todo ledger (working tree), shared by a module's read-only tests."""
    folder = tmp_path_factory.mktemp("todo-server")
    ledger = folder / "ledger"
    shutil.copytree(TASKS_APP_LEDGER, ledger)
    server = start_server(["--ledger", str(ledger)], log_path=folder / "serve.log")
    yield server
    assert server.stop() == 0, server.log
