"""Who may ask: the API key on every access endpoint, loopback by default, refusals at start."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.server.conftest import MORTY, TASKS_APP_LEDGER, Server, todo
from ztauth_cli.cli.main import app

KEY = "k3y-0f-the-pdp-Zx81-qq"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "pdp.key"
    path.write_text(KEY + "\n", encoding="utf-8")
    return path


def test_every_access_endpoint_requires_the_key(
    serve: Callable[..., Server], key_file: Path
) -> None:
    server = serve("--ledger", str(TASKS_APP_LEDGER), "--api-key-file", str(key_file))
    body = todo(MORTY, "can_read_todos")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for path in ("/access/v1/evaluation", "/access/v1/evaluations"):
            missing = client.post(path, json=body)
            assert missing.status_code == 401
            assert missing.json() == {
                "error": "unauthorized",
                "message": "missing or wrong API key in the Authorization header",
            }
            wrong = client.post(path, json=body, headers={"Authorization": KEY + "x"})
            assert wrong.status_code == 401
            # The AuthZEN interop harness sends the bare key; OAuth-style clients "Bearer".
            for value in (KEY, f"Bearer {KEY}"):
                ok = client.post(path, json=body, headers={"Authorization": value})
                assert (ok.status_code, ok.json()) == (200, {"decision": True})
        # Probes and discovery stay open: a load balancer has no key.
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        assert client.get("/.well-known/authzen-configuration").status_code == 200
    assert KEY not in server.log


def _serve(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["serve", "--ledger", str(TASKS_APP_LEDGER), *args])
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--host", "0.0.0.0"],  # noqa: S104 - the refusal under test
            "error: --host 0.0.0.0 is not a loopback address and no --api-key-file is given",
        ),
        (
            ["--host", "192.0.2.10"],
            "error: --host 192.0.2.10 is not a loopback address and no --api-key-file is given",
        ),
        (
            ["--rev", "HEAD", "--follow", "main"],
            "error: --rev and --follow exclude each other: pin a revision or follow a ref",
        ),
        (["--workers", "0"], "error: --workers 0: at least 1"),
        (["--port", "70000"], "error: --port 70000: expected 0-65535"),
        (["--context", "all"], "error: --context 'all': expected one of none, reasons, trace"),
    ],
    ids=["any-address", "lan-address", "rev-and-follow", "workers", "port", "context"],
)
def test_bad_options_are_refused_before_listening(
    runner: CliRunner, args: list[str], message: str
) -> None:
    code, stderr = _serve(runner, *args)
    assert code == 2
    assert stderr.splitlines()[0] == message


def test_a_short_or_empty_key_file_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_text("abc\n", encoding="utf-8")
    code, stderr = _serve(runner, "--api-key-file", str(short))
    assert code == 2
    assert stderr.splitlines()[0] == (
        f"error: --api-key-file {short}: the key is shorter than 16 characters"
    )
    assert "abc" not in stderr.replace(str(short), "")
    empty = tmp_path / "empty.key"
    empty.write_text("", encoding="utf-8")
    code, stderr = _serve(runner, "--api-key-file", str(empty))
    assert (code, stderr.splitlines()[0]) == (
        2,
        f"error: --api-key-file {empty}: the file is empty",
    )


def test_a_missing_extra_says_how_to_install_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_uvicorn(name: str, *args: object) -> object:
        return None if name == "uvicorn" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_uvicorn)
    code, stderr = _serve(runner)
    assert code == 2
    assert stderr.splitlines() == [
        "error: ztauth serve needs uvicorn, which is not installed",
        "hint: install the extra: python -m pip install 'ztauth[serve]'",
    ]


def test_a_ledger_that_does_not_lint_is_not_served(runner: CliRunner, tmp_path: Path) -> None:
    import shutil

    ledger = tmp_path / "ledger"
    shutil.copytree(TASKS_APP_LEDGER, ledger)
    (ledger / "policies" / "broken.cedar").write_text(
        '@id("broken")\npermit (principal, action, resource) when { ;\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["serve", "--ledger", str(ledger)])
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        "error: the working tree is refused: lint: 1 error(s), first: policies/broken.cedar:"
    )
    assert "ZT201 Cedar syntax error" in first
