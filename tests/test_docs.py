"""The README's promises, checked: the quick start is what CI runs, every documented command
exists, and the examples of the intro and the sample-ledger sections print what they show.

The README is assembled from ``docs/readme/*.md``; these tests read those sections.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import REPO_ROOT
from ztauth_cli.cli.main import app

DOCS = REPO_ROOT / "docs" / "readme"
INTRO = DOCS / "00-intro.md"
CI_SCRIPT = REPO_ROOT / ".ci" / "run"
# Sections whose console examples are run against sample-ledger/ and compared line by line.
EXAMPLE_SECTIONS = ("00-intro.md", "10-sample-ledger.md")

_FENCE = re.compile(r"^```(\w*)\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
# "ztauth" as a command word: not the ztauth:// ZTID scheme, not ztauth_cli.
_MENTION = re.compile(r"(?:^|(?<=[\s`'\"(/]))ztauth((?:[ \t]+[^\s|;&]+|[ \t]+\|[ \t]+\S+)*)")
_WORD = re.compile(r"[a-z][a-z0-9-]*")
_VERSION_SUFFIX = re.compile(r"^(  ledger: \S+) \([^)]*\)$", re.MULTILINE)


def _root() -> click.Group:
    command = typer.main.get_command(app)
    assert isinstance(command, click.Group)
    return command


def _fences(text: str) -> Iterator[tuple[str, str]]:
    for match in _FENCE.finditer(text):
        yield match.group(1), match.group(2)


def _quick_start_commands() -> list[str]:
    text = INTRO.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [body.strip() for lang, body in _fences(section) if lang == "bash"]
    return commands[:2]


def _ci_command() -> str:
    lines = CI_SCRIPT.read_text(encoding="utf-8").splitlines()
    commands = [
        line.strip()
        for line in lines
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert len(commands) == 1, f".ci/run should run one command, found {commands}"
    return commands[0]


def test_quick_start_has_two_commands() -> None:
    install, test = _quick_start_commands()
    assert "\n" not in install, "each quick-start command is one line"
    assert "\n" not in test, "each quick-start command is one line"
    assert install.startswith("python3 -m venv .venv && ")
    assert test.startswith("python3 -m venv .venv && ")
    assert "pip install -q . " in install
    assert "'.[test]'" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test = _quick_start_commands()
    assert _ci_command() == test


def test_quick_start_ztauth_commands_succeed(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    install, _ = _quick_start_commands()
    steps = [shlex.split(step) for step in install.split("&&")]
    ztauth_steps = [argv[1:] for argv in steps if argv[0].endswith("/ztauth")]
    assert [argv[:2] for argv in ztauth_steps] == [["policy", "lint"], ["test", "sample-ledger"]]
    monkeypatch.chdir(REPO_ROOT)
    for argv in ztauth_steps:
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output)


def _mentions() -> Iterator[tuple[str, str]]:
    """(section, text after 'ztauth') for every mention in code spans and code blocks."""
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        chunks = [body for _, body in _fences(text)]
        chunks += _CODE_SPAN.findall(_FENCE.sub("", text))
        for chunk in chunks:
            for line in chunk.splitlines():
                for match in _MENTION.finditer(line):
                    yield path.name, match.group(1)


def _command_paths(mention: str) -> list[tuple[str, ...]]:
    """The sub-command path(s) a mention names; 'policy init | lint' names two."""
    parts = [part.split() for part in mention.split(" | ")]
    head = [token.rstrip(":,.;)'\"") for token in parts[0]]
    alternatives = parts[1:]
    if alternatives and all(len(p) == 1 and _WORD.fullmatch(p[0]) for p in alternatives):
        heads = [head] + [head[:-1] + p for p in alternatives]
    else:
        heads = [head]
    return [_walk(tokens, mention) for tokens in heads]


def _walk(tokens: list[str], mention: str) -> tuple[str, ...]:
    group: click.Command = _root()
    path: list[str] = []
    ctx = click.Context(group)
    for token in tokens:
        if not isinstance(group, click.Group) or not _WORD.fullmatch(token):
            break
        sub = group.get_command(ctx, token)
        assert sub is not None, f"'ztauth{mention}': no command {' '.join([*path, token])!r}"
        path.append(token)
        group = sub
    return tuple(path)


def _documented_paths() -> dict[tuple[str, ...], str]:
    found: dict[tuple[str, ...], str] = {}
    for section, mention in _mentions():
        for path in _command_paths(mention):
            found.setdefault(path, f"{section}: ztauth{mention}")
    return found


def test_docs_mention_commands() -> None:
    paths = _documented_paths()
    # The docs cover every command group and the lifecycle commands.
    for expected in [("policy", "lint"), ("eval",), ("test",), ("token",), ("keys",), ("audit",)]:
        assert expected in paths


@pytest.mark.parametrize("path", sorted(_documented_paths()), ids=" ".join)
def test_documented_command_exists(runner: CliRunner, path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_mention_parser_catches_an_unknown_command() -> None:
    with pytest.raises(AssertionError, match="no command 'policy lnt'"):
        _command_paths(" policy lnt --ledger x")
    assert _command_paths(" token | keys | audit") == [("token",), ("keys",), ("audit",)]
    assert _command_paths(" policy version bump minor") == [("policy", "version", "bump", "minor")]
    assert _command_paths(' policy diff",') == [("policy", "diff")]
    assert _command_paths(" token inspect x | tail -1") == [("token", "inspect")]


def _console_examples() -> Iterator[tuple[str, str, str]]:
    """(section, command line, shown output) for each `$ ztauth` line of a console block."""
    for name in EXAMPLE_SECTIONS:
        text = (DOCS / name).read_text(encoding="utf-8")
        for lang, body in _fences(text):
            if lang != "console":
                continue
            blocks = re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]
            for block in blocks:
                command, _, output = block.partition("\n")
                yield name, command, output


_EXAMPLES = list(_console_examples())


@pytest.mark.parametrize(
    ("section", "command", "shown"),
    _EXAMPLES,
    ids=[f"{section}:{index}" for index, (section, _, _) in enumerate(_EXAMPLES)],
)
def test_console_example_prints_what_the_docs_show(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    section: str,
    command: str,
    shown: str,
) -> None:
    argv = shlex.split(command)
    assert argv[0].endswith("ztauth"), f"{section}: only ztauth examples here: {command}"
    monkeypatch.chdir(REPO_ROOT)
    result = runner.invoke(app, argv[1:])
    assert result.exit_code == 0, result.output
    # The ledger's version (v0.0.0+N.gSHA) moves with every commit: an illustration only.
    actual = _VERSION_SUFFIX.sub(r"\1 (VERSION)", result.output).rstrip("\n")
    expected = _VERSION_SUFFIX.sub(r"\1 (VERSION)", shown).rstrip("\n")
    assert actual == expected


def test_documented_hooks_exist_and_run_real_commands() -> None:
    import yaml

    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    by_id = {hook["id"]: hook for hook in hooks}
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md")))
    documented = set(re.findall(r"\bid:\s*(ztauth-[a-z-]+)", text))
    assert documented, "the docs show how to use the pre-commit hooks"
    assert documented <= set(by_id), f"documented hooks missing: {documented - set(by_id)}"
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == "ztauth"
        assert _walk(argv[1:], hook["entry"]) == tuple(argv[1:]), hook["id"]
