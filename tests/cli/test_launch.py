"""The fast lane of `ztauth eval` answers exactly as the Typer app does, and hands Typer
everything it does not read itself.

Each command line runs through both entry points in this process, ``launch.main`` (the
console script) and ``cli.main.main`` (Typer always), and what a user sees is compared:
stdout, stderr, the exit code and any file written. Decision ids are random per run, so they
are the one thing blanked before comparing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from tests.conftest import REPO_ROOT, SAMPLE_LEDGER
from ztauth_cli.cli import launch
from ztauth_cli.cli import main as typer_cli
from ztauth_cli.cli.launch import eval_command_line

AT = "2026-06-01T12:00:00Z"
REQUESTS = SAMPLE_LEDGER / "requests"
_ID = re.compile(r'"id": ?"[0-9a-f]{32}"')


def _seen(entry: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    run = launch.main if entry == "fast" else typer_cli.main
    code = run(argv)
    captured = capsys.readouterr()
    return code, _ID.sub('"id": "…"', captured.out), captured.err


def _same_through_both(
    argv: list[str], capsys: pytest.CaptureFixture[str], output: Path | None = None
) -> tuple[int, str, str]:
    fast = _seen("fast", argv, capsys)
    written = output.read_text() if output is not None else None
    if output is not None:
        output.unlink()
    typed = _seen("typer", argv, capsys)
    assert fast == typed
    if output is not None:
        assert written is not None
        assert _ID.sub("", written) == _ID.sub("", output.read_text())
    return fast


PLAIN = [
    ["--format", "json", str(REQUESTS / "alice-reads-q3-report.json")],
    ["-f", "text", str(REQUESTS / "alice-reads-q3-report.json")],
    [str(REQUESTS / "alice-reads-q3-report.json"), "--explain"],
    ["--format=json", "--fail-on-deny", str(REQUESTS / "bob-document-batch.json")],
    ["--subject", "User:alice", "--action", "read", "--resource", "Document:q3-report"],
    ["--subject=User:bob", "--action=delete", "--resource=Document:q3-report", "-f", "json"],
    ["--require-signatures", "0", "--format", "json", str(REQUESTS / "alice-reads-q3-report.json")],
]


@pytest.mark.parametrize("args", PLAIN, ids=lambda a: " ".join(Path(w).name for w in a))
def test_a_plain_eval_reads_the_same_through_the_fast_lane(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, *args]
    assert eval_command_line(argv) is not None  # this lane really ran
    code, out, _err = _same_through_both(argv, capsys)
    assert code in (0, 1)
    assert '"decision"' in out or "ALLOW" in out or "DENY" in out


def test_the_root_options_come_before_eval_in_both(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--color", "never", "--debug", "eval", "--ledger", str(SAMPLE_LEDGER)]
    argv += ["--at", AT, "--explain", str(REQUESTS / "alice-reads-q3-report.json")]
    line = eval_command_line(argv)
    assert line is not None
    assert line.debug
    assert line.color == "never"
    code, out, _ = _same_through_both(argv, capsys)
    assert code == 0
    assert "\x1b[" not in out


def test_output_to_a_file_is_the_same_file_and_the_same_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "response.json"
    argv = ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, "-o", str(target)]
    argv.append(str(REQUESTS / "alice-reads-q3-report.json"))
    code, out, err = _same_through_both(argv, capsys, output=target)
    assert (code, out) == (0, "")
    assert err == f"1 request: 1 allowed, 0 denied (written to {target})\n"


def test_a_stream_is_the_same_line_for_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (REQUESTS / "stream.jsonl").read_text().splitlines()
    stream = tmp_path / "requests.jsonl"
    stream.write_text("\n".join([*lines, "not json"]) + "\n")
    argv = ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, str(stream)]
    code, out, _ = _same_through_both(argv, capsys)
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == len(lines) + 1
    assert answers[-1]["decision"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--ledger", "no-such-folder", "x.json"],
            "error: --ledger no-such-folder: no such folder",
        ),
        (
            ["--ledger", str(SAMPLE_LEDGER), "missing.json"],
            "missing.json:1:1: cannot read the request",
        ),
        (["--ledger", str(SAMPLE_LEDGER), "--at", "yesterday", "x.json"], "--at: 'yesterday'"),
        (["--ledger", str(SAMPLE_LEDGER), "--subject", "alice"], "needs --subject, --action"),
        (["--format", "sarif", "x.json"], "error: ztauth eval does not support --format sarif"),
    ],
)
def test_a_mistake_the_fast_lane_reads_gets_the_same_one_line_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", *args]
    assert eval_command_line(argv) is not None
    code, out, err = _same_through_both(argv, capsys)
    assert (code, out) == (2, "")
    assert message in err
    assert len(err.strip().splitlines()) <= 2
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--help"],
        ["eval", "-h"],
        ["--version"],
        ["eval", "--bogus"],
        ["eval", "a.json", "b.json"],
        ["eval", "--format", "yaml", "a.json"],
        ["eval", "--require-signatures", "-1", "a.json"],
        ["eval", "--require-signatures", "two", "a.json"],
        ["eval", "--ledger"],
        ["eval", "--ledger", "a", "--ledger", "b", "x.json"],
        ["eval", "--explain=yes", "x.json"],
        ["eval", "-fjson", "x.json"],
        ["eval", "--", "x.json"],
        ["--color", "sometimes", "eval", "x.json"],
        ["policy", "lint", "--ledger", "nowhere"],
        [],
    ],
    ids=lambda a: " ".join(a) or "(nothing)",
)
def test_anything_else_is_left_to_typer(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert eval_command_line(argv) is None
    _same_through_both(argv, capsys)


def test_shell_completion_is_left_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_ZTAUTH_COMPLETE", "bash_complete")
    assert eval_command_line(["eval", "--ledger", str(SAMPLE_LEDGER), "x.json"]) is None


def test_the_fast_lane_knows_every_option_eval_declares() -> None:
    # An option added to `ztauth eval` must be added here too, or eval_main would miss it.
    command = typer.main.get_command(typer_cli._branch("eval"))
    assert isinstance(command, click.Group)
    declared: dict[str, tuple[str, bool]] = {}
    for param in command.commands["eval"].params:
        if isinstance(param, click.Option):
            for name in param.opts:
                declared[name] = (str(param.name), bool(param.is_flag))
    lane = {name: (param, kind == "flag") for name, (param, kind) in launch._EVAL_OPTIONS.items()}
    assert declared == lane


def test_a_plain_eval_imports_neither_typer_nor_click(tmp_path: Path) -> None:
    snippet = (
        "import sys\n"
        "from ztauth_cli.cli.launch import main\n"
        f"code = main(['eval', '--ledger', {str(SAMPLE_LEDGER)!r}, '--format', 'json', "
        f"{str(REQUESTS / 'alice-reads-q3-report.json')!r}])\n"
        "print('EXIT', code, sorted(m for m in ('typer', 'click', 'rich') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )
    assert done.stdout.splitlines()[-1] == "EXIT 0 []", done.stderr


def test_a_reader_that_leaves_early_ends_the_stream_quietly(tmp_path: Path) -> None:
    line = (REQUESTS / "alice-reads-q3-report.json").read_text().replace("\n", " ")
    stream = tmp_path / "many.jsonl"
    stream.write_text((line + "\n") * 20_000)
    command = [sys.executable, "-m", "ztauth_cli", "eval", "--ledger", str(SAMPLE_LEDGER)]
    with subprocess.Popen(
        [*command, "--at", AT, str(stream)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert b'"decision"' in process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert (code, err) == (1, "")
