"""Fail closed on odd input: huge numbers, out-of-range token times, a JWKS that cannot be
written, FIFOs planted in a ledger. Each gives a clear message (exit 2 or a finding), never an
"internal error", a hang, or a private key left without its public half.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.fifo import call_unblocking
from tests.support.requests import ALICE_READS, AT
from ztauth_cli.cli.main import app

ROOT = os.geteuid() == 0
needs_permissions = pytest.mark.skipif(ROOT, reason="root ignores permission bits")


# ----------------------------------------------------------------------------- huge numbers


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("r.json", '{"context":\n  {"n": ' + "7" * 5000 + "}}", "2:9"),
        ("r.yaml", "context:\n  n: " + "7" * 5000 + "\n", "2:6"),
        ("r.txt", '\n{"n": ' + "7" * 5000 + "}", "2:7"),
    ],
    ids=["json", "yaml", "sniffed-json"],
)
def test_huge_integer_in_request_file_is_a_clear_error(
    runner: CliRunner, tmp_path: Path, name: str, text: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}:{where}: integer too large (5000 digits; at most 4300)\n"
    )


def test_huge_integer_in_a_ledger_file_is_a_finding_not_a_crash(
    runner: CliRunner, sample_copy: Path
) -> None:
    level = sample_copy / "trust/zz-huge.yaml"
    level.write_text(
        "apiVersion: ztauth/v1\nkind: TrustLevel\nname: huge\nrank: " + "1" * 5000 + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["policy", "lint", str(sample_copy), "-f", "json"])
    assert result.exit_code == 1, result.stderr
    assert "internal error" not in result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert any(
        f["path"] == "trust/zz-huge.yaml" and "integer too large" in f["message"] for f in findings
    )


# ----------------------------------------------------------------------------- token times


def _unsigned(claims: str) -> str:
    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    return part('{"alg":"none"}') + "." + part(claims) + "."


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ('{"exp": 100000000000000000000}', "claim 'exp' (100000000000000000000) is not a date"),
        ('{"iat": -100000000000000000000}', "claim 'iat' (-100000000000000000000) is not a date"),
        ('{"exp": 1e300}', "claim 'exp' (1e+300) is not a date"),
        ('{"exp": 253402300800}', "claim 'exp' (253402300800) is not a date"),
        ('{"nbf": 1' + "0" * 400 + "}", "claim 'nbf' (1000000000...) is not a date"),
        ('{"exp": NaN}', "claim 'exp' (NaN) is not a date"),
        ('{"exp": Infinity}', "claim 'exp' (inf) is not a date"),
    ],
    ids=["huge-int", "huge-negative", "huge-float", "year-10000", "400-digits", "nan", "inf"],
)
def test_token_inspect_out_of_range_exp_is_a_clear_error(
    runner: CliRunner, tmp_path: Path, claims: str, message: str
) -> None:
    os.chdir(tmp_path)  # outside any ledger: the token is only decoded
    result = runner.invoke(app, ["token", "inspect", _unsigned(claims)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: malformed token: {message} (a NumericDate between years 1 and 9999)\n"
    )


def test_token_inspect_still_shows_a_far_but_valid_date(runner: CliRunner, tmp_path: Path) -> None:
    os.chdir(tmp_path)
    result = runner.invoke(app, ["token", "inspect", _unsigned('{"exp": 253402300799}')])
    assert result.exit_code == 1, result.stderr  # decoded, not verified (no ledger)
    assert "9999-12-31T23:59:59Z" in result.stdout


# ----------------------------------------------------------------------------- keys generate


def _generate(runner: CliRunner, out: Path, jwks: Path) -> Any:
    return runner.invoke(app, ["keys", "generate", "--out", str(out), "--jwks", str(jwks)])


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def disk_full_after() -> Iterator[Any]:
    """``limit(n)``: from now on, no file this process writes may grow beyond n bytes (EFBIG,
    as on a full disk); lifted at the end of the test."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


def test_keys_generate_leaves_no_private_key_when_jwks_unwritable(
    runner: CliRunner, tmp_path: Path, disk_full_after: Any
) -> None:
    """The disk fills up between the private key (119 bytes of PEM) and the JWKS."""
    out, jwks = tmp_path / "private" / "k.pem", tmp_path / "keys" / "signers.jwks.json"
    jwks.parent.mkdir()
    (tmp_path / "private").mkdir()
    disk_full_after(160)
    result = _generate(runner, out, jwks)
    disk_full_after(resource.RLIM_INFINITY)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --jwks {jwks}: cannot write: File too large")
    assert "internal error" not in result.stderr
    assert _files(tmp_path) == ["keys", "private"]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_text("{not json"), id="malformed"),
        pytest.param(lambda p: p.write_text('{"keys": 3}'), id="not-a-jwks"),
        pytest.param(lambda p: p.mkdir(), id="a-folder"),
        pytest.param(lambda p: os.mkfifo(p), id="a-fifo"),
        pytest.param(
            lambda p: (p.write_text('{"keys": []}'), p.chmod(0)),
            id="unreadable",
            marks=needs_permissions,
        ),
        pytest.param(
            lambda p: (p.write_text('{"keys": []}'), p.chmod(0o444)),
            id="read-only-file",
            marks=needs_permissions,
        ),
        pytest.param(
            lambda p: p.parent.chmod(0o555), id="read-only-folder", marks=needs_permissions
        ),
    ],
)
def test_keys_generate_refuses_a_bad_jwks_before_writing_the_private_key(
    runner: CliRunner, tmp_path: Path, make: Any
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    jwks = keys / "signers.jwks.json"
    make(jwks)
    before = _files(tmp_path)
    out = tmp_path / "k.pem"
    try:
        result = call_unblocking(lambda: _generate(CliRunner(), out, jwks), fifo=jwks)
    finally:
        keys.chmod(0o755)
    assert result.exit_code == 2
    assert f"{jwks}" in result.stderr
    assert "internal error" not in result.stderr
    assert not out.exists()
    assert _files(tmp_path) == before


def test_keys_generate_jwks_folder_is_a_file(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("not a folder")
    out = tmp_path / "k.pem"
    result = _generate(runner, out, tmp_path / "keys" / "signers.jwks.json")
    assert result.exit_code == 2
    assert not out.exists()


@needs_permissions
def test_keys_generate_out_folder_not_writable_is_a_clear_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o500)
    jwks = tmp_path / "signers.jwks.json"
    try:
        result = _generate(runner, private / "k.pem", jwks)
    finally:
        private.chmod(0o700)
    assert result.exit_code == 2
    assert "internal error" not in result.stderr
    assert not jwks.exists()


# ----------------------------------------------------------------------------- FIFOs


def _plant_fifo(ledger: Path, rel: str) -> Path:
    fifo = ledger / rel
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    return fifo


@pytest.mark.parametrize(
    "rel", ["policies/zz-planted.cedar", "trust/zz-planted.yaml", "keys/zz.jwks.json"]
)
def test_fifo_in_ledger_is_refused_not_read(sample_copy: Path, rel: str) -> None:
    fifo = _plant_fifo(sample_copy, rel)
    request = SAMPLE_LEDGER / "requests/alice-reads-q3-report.json"
    result = call_unblocking(
        lambda: CliRunner().invoke(
            app, ["eval", "--ledger", str(sample_copy), "--at", AT, str(request)]
        ),
        fifo=fifo,
    )
    assert result.exit_code == 2
    assert result.stderr == (f"error: {rel}:1:1: a FIFO, not a regular file; refusing to read it\n")


def test_fifo_in_ledger_is_a_lint_finding(sample_copy: Path) -> None:
    fifo = _plant_fifo(sample_copy, "policies/zz-planted.cedar")
    result = call_unblocking(
        lambda: CliRunner().invoke(app, ["policy", "lint", str(sample_copy), "-f", "json"]),
        fifo=fifo,
    )
    assert result.exit_code == 1, result.stderr
    messages = [(f["path"], f["message"]) for f in json.loads(result.stdout)["findings"]]
    assert (
        "policies/zz-planted.cedar",
        "a FIFO, not a regular file; refusing to read it",
    ) in messages


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["test"], id="test"),
        pytest.param(["policy", "sign", "--key", "nokey.pem"], id="sign"),
        pytest.param(["policy", "fmt", "--check"], id="fmt"),
    ],
)
def test_fifo_in_ledger_is_refused_by_every_command(sample_copy: Path, command: list[str]) -> None:
    fifo = _plant_fifo(sample_copy, "policies/zz-planted.cedar")
    result = call_unblocking(
        lambda: CliRunner().invoke(app, [*command, "--ledger", str(sample_copy)]), fifo=fifo
    )
    assert result.exit_code in {1, 2}
    assert "policies/zz-planted.cedar" in result.stderr
    assert "not a regular file" in result.stderr


def test_fifo_given_as_a_suite_or_policy_file_is_refused(sample_copy: Path) -> None:
    suite = _plant_fifo(sample_copy, "tests/zz-planted.yaml")
    result = call_unblocking(
        lambda: CliRunner().invoke(app, ["test", "--ledger", str(sample_copy), str(suite)]),
        fifo=suite,
    )
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr


def test_fifo_as_request_file_is_read_as_a_stream(runner: CliRunner, tmp_path: Path) -> None:
    """A request file may be a pipe (``ztauth eval <(make-request)``): it is read until its
    writer closes it, like stdin."""
    fifo = tmp_path / "request.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(ALICE_READS))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = call_unblocking(
        lambda: CliRunner().invoke(
            app, ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, "-f", "json", str(fifo)]
        ),
        fifo=fifo,
    )
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["decision"] is True
    assert stat.S_ISFIFO(fifo.stat().st_mode)
