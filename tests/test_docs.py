"""The README's promises, checked: the quick start is what CI runs, every documented command
exists, and the examples of the intro and the sample-ledger sections print what they show.

The pages are ``docs/readme/*.md`` (the README is the intro, built by docs/build_readme.py).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import REPO_ROOT, SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
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


# Sections whose console examples are run in a workspace (a Git repository holding a copy of
# sample-ledger/), block after block in document order, sharing files and variables.
WORKSPACE_SECTIONS = (
    "15-conventions.md",
    "20-lint.md",
    "30-eval.md",
    "32-threat-model.md",
    "35-test.md",
    "38-search-graph.md",
    "40-tokens-keys-audit.md",
    "50-signing-versions.md",
)
# A comment line right before a console fence, <!-- docs-test: skip -- why -->, leaves the
# block out (it needs something the test cannot do: a terminal, a git binary, another clock).
_CONSOLE = re.compile(
    r"^(<!-- docs-test: skip\b[^>]*-->\s*\n)?( *)```console\s*\n(.*?)^ *```\s*$",
    re.MULTILINE | re.DOTALL,
)
_VAR = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)\}?")
_CAPTURE = re.compile(r"^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$")
_ASSIGN = re.compile(r"^([A-Z_][A-Z0-9_]*)=([^\s$()]+)$")
_HEREDOC = re.compile(r"^cat > (\S+) <<'?EOF'?$")
_SED = re.compile(r"^sed -i '(\d*)(?:s/([^/]*)/([^/]*)/|(d))' (\S+)$")  # [line]s/re/text/, Nd
_COMMIT = re.compile(r"^git add -A && git commit -qm \"([^\"]+)\"$")
_JQ = re.compile(r"^(ztauth .*) \| jq -r \.(\w+)$")
_TAIL = re.compile(r"^(.*ztauth .*) \| tail -(\d+)$")
_CP = re.compile(r"^cp (\S+) (\S+)$")
_APPEND = re.compile(r"^printf '([^'%\\]*)' >> (\S+)$")


def _console_blocks(name: str) -> Iterator[tuple[bool, str]]:
    """(skipped, body) for each console block of a section."""
    text = (DOCS / name).read_text(encoding="utf-8")
    for match in _CONSOLE.finditer(text):
        indent = len(match.group(2))
        body = "".join(line[indent:] for line in match.group(3).splitlines(keepends=True))
        yield match.group(1) is not None, body


def _console_examples() -> Iterator[tuple[str, str, str]]:
    """(section, command line, shown output) for each `$ ztauth` line of a console block."""
    for name in EXAMPLE_SECTIONS:
        for skipped, body in _console_blocks(name):
            if skipped:
                continue
            blocks = re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]
            for block in blocks:
                command, _, output = block.partition("\n")
                yield name, command, output


_EXAMPLES = list(_console_examples())


def _normalise(text: str) -> str:
    return _VERSION_SUFFIX.sub(r"\1 (VERSION)", text).rstrip("\n")


def _matches(shown: str, actual: str) -> bool:
    """Line by line; '…' in a shown line stands for any text (a time, a hash, a kid)."""
    shown_lines = _normalise(shown).splitlines()
    actual_lines = _normalise(actual).splitlines()
    if len(shown_lines) != len(actual_lines):
        return False
    for want, got in zip(shown_lines, actual_lines, strict=True):
        pattern = ".*?".join(re.escape(part) for part in want.rstrip().split("…"))
        if not re.fullmatch(pattern, got.rstrip()):
            return False
    return True


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
    assert _matches(shown, result.output), result.output


class _Shell:
    """The few shell forms the docs use, run in-process (ztauth is the only program):
    ztauth (| tail -N); NAME=$(ztauth ... [| jq -r .KEY]); NAME=value; cat > FILE <<EOF;
    sed -i '[N]s/RE/TEXT/' FILE; sed -i 'Nd' FILE; cp A B; printf 'TEXT' >> FILE;
    git add -A && git commit -qm "MESSAGE" (dulwich); cd; echo; CMD; echo "exit $?".
    Anything else is a test error."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.vars: dict[str, str] = {}
        self.status = 0
        self.stderr = ""
        self.runner = CliRunner()
        (root / "home").mkdir(exist_ok=True)

    def expand(self, line: str) -> str:
        line = line.replace("~/", f"{self.root / 'home'}/")
        return _VAR.sub(lambda m: self.vars.get(m.group(1), m.group(0)), line)

    def ztauth(self, line: str) -> tuple[str, str]:
        """(shown output, stdout) of one ztauth command line; self.stderr keeps its stderr."""
        argv = shlex.split(self.expand(line), comments=True)
        assert argv, f"no command: {line}"
        assert argv[0].endswith("ztauth"), f"not a ztauth command: {line}"
        result = self.runner.invoke(app, argv[1:])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        self.status = result.exit_code
        self.stderr = result.stderr
        return result.output, result.stdout

    @staticmethod
    def sed(address: str, old: str | None, new: str | None, delete: str | None, name: str) -> None:
        path = Path(name)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for number, line in enumerate(lines, start=1):
            if address and number != int(address):
                continue
            if delete:
                lines[number - 1] = ""
            elif old is not None and new is not None:
                lines[number - 1] = re.sub(old, new.replace("\\", "\\\\"), line, count=1)
        path.write_text("".join(lines), encoding="utf-8")

    def run(self, command: str, stdin: list[str]) -> str:
        """The output a command prints; heredoc lines are taken from stdin."""
        if command.startswith("cd "):
            self.monkeypatch.chdir(Path.cwd() / command[3:].strip())
            return ""
        if heredoc := _HEREDOC.match(command):
            end = stdin.index("EOF")
            body = "\n".join(stdin[:end]) + "\n"
            del stdin[: end + 1]
            Path(heredoc.group(1)).write_text(self.expand(body), encoding="utf-8")
            return ""
        if sed := _SED.match(command):
            self.sed(*sed.groups())
            return ""
        if commit := _COMMIT.match(command):
            repo = LedgerRepo(
                next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / ".git").is_dir())
            )
            repo.commit(commit.group(1))
            repo.close()
            return ""
        if cp := _CP.match(command):
            shutil.copyfile(cp.group(1), cp.group(2))
            return ""
        if append := _APPEND.match(command):
            with open(append.group(2), "a", encoding="utf-8") as handle:
                handle.write(append.group(1))
            return ""
        if command.startswith("echo "):
            words = shlex.split(self.expand(command.replace("$?", str(self.status))))
            return " ".join(words[1:]) + "\n"
        if assign := _ASSIGN.match(command):
            self.vars[assign.group(1)] = assign.group(2)
            return ""
        if capture := _CAPTURE.match(command):
            jq = _JQ.match(capture.group(2))
            _, stdout = self.ztauth(jq.group(1) if jq else capture.group(2))
            value = json.loads(stdout)[jq.group(2)] if jq else stdout.strip()
            self.vars[capture.group(1)] = str(value)
            return self.stderr  # $(...) takes stdout; stderr still reaches the terminal
        if command.endswith('; echo "exit $?"'):
            output, _ = self.ztauth(command[: -len('; echo "exit $?"')])
            return output + f"exit {self.status}\n"
        if tail := _TAIL.match(command):
            output, _ = self.ztauth(tail.group(1))
            return "".join(output.splitlines(keepends=True)[-int(tail.group(2)) :])
        return self.ztauth(command)[0]


def _commands(body: str) -> Iterator[tuple[str, list[str], str]]:
    """(command, heredoc lines, shown output) for each '$ ' command of a console block."""
    for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
        lines = chunk.splitlines()
        command = lines.pop(0)
        while command.endswith("\\"):
            command = command[:-1].rstrip() + " " + lines.pop(0).strip()
        heredoc: list[str] = []
        if _HEREDOC.match(command):
            end = lines.index("EOF")
            heredoc, lines = lines[: end + 1], lines[end + 1 :]
        yield command, heredoc, "\n".join(lines)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding sample-ledger/ as a Git repository of its own, copied per section."""
    root = tmp_path_factory.mktemp("docs")
    repo = LedgerRepo(root / "template" / "sample-ledger")
    shutil.copytree(SAMPLE_LEDGER, repo.root, dirs_exist_ok=True)
    repo.commit("the sample ledger")
    repo.close()
    return root


@pytest.mark.parametrize("section", WORKSPACE_SECTIONS)
def test_section_examples_print_what_the_docs_show(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, section: str
) -> None:
    root = workspace / section.removesuffix(".md")
    shutil.copytree(workspace / "template", root)
    shell = _Shell(root, monkeypatch)
    ran = 0
    mismatches: list[str] = []
    monkeypatch.chdir(root)  # one terminal for the whole section: cd and files carry over
    for skipped, body in _console_blocks(section):
        if skipped:
            continue
        for command, heredoc, shown in _commands(body):
            actual = shell.run(command, list(heredoc))
            ran += 1
            if not _matches(shown, actual):
                mismatches.append(f"$ {command}\n--- docs\n{shown}\n--- actual\n{actual}")
    assert ran, f"{section}: no example ran"
    assert not mismatches, "\n\n".join(mismatches)


def test_output_matcher() -> None:
    assert _matches("kid …\nok", "kid abc123\nok\n")
    assert not _matches("kid …\nok", "kid abc123\n")
    assert not _matches("exit 1", "exit 0")
    assert _matches("  ledger: z (v0.0.0+1.gabc)", "  ledger: z (v1.0.0)")


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


_HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$", re.MULTILINE)


def _headings() -> list[tuple[str, int, str]]:
    """(section, level, title) of every Markdown heading, code blocks left out."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = _FENCE.sub("", path.read_text(encoding="utf-8"))
        found += [(path.name, len(m.group(1)), m.group(2)) for m in _HEADING.finditer(text)]
    return found


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces become hyphens."""
    text = title.replace("`", "").lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def test_every_page_has_one_title_first_and_no_skipped_levels() -> None:
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[0].startswith("# "), f"{path.name} starts without a title"
        titles = [h for h in _headings() if h[0] == path.name and h[1] == 1]
        assert len(titles) == 1, f"{path.name} has {len(titles)} titles"
    previous = 1
    for section, level, title in _headings():
        if level == 1:
            previous = 1
            continue
        assert level <= previous + 1, f"{section}: '{title}' skips a heading level"
        previous = level


def test_the_intro_maps_every_page() -> None:
    intro = INTRO.read_text(encoding="utf-8")
    documentation = intro.split("## Documentation\n", 1)[1]
    linked = set(re.findall(r"\]\(([0-9]{2}-[a-z-]+\.md)[)#]", documentation))
    pages = {p.name for p in DOCS.glob("*.md") if p.name != "00-intro.md"}
    assert linked == pages
    for target in re.findall(r"\]\(\.\./([^)#\s]+)", documentation):
        assert (DOCS.parent / target).is_file(), target


_PAGE_LINK = re.compile(r"\]\(([0-9]{2}-[a-z-]+\.md)?#([^)\s]+)\)")


def test_internal_links_point_at_headings() -> None:
    anchors: dict[str, set[str]] = {}
    for section, _, title in _headings():
        anchors.setdefault(section, set()).add(_anchor(title))
    for path in sorted(DOCS.glob("*.md")):
        for page, target in _PAGE_LINK.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
            where = page or path.name
            assert target in anchors.get(where, set()), f"{path.name}: no heading {where}#{target}"


def test_anchor_follows_github() -> None:
    assert _anchor("Scenario tests: `ztauth test`") == "scenario-tests-ztauth-test"
    assert _anchor("Text output and `--explain`") == "text-output-and---explain"
    assert _anchor("Signing: `sign | verify`") == "signing-sign--verify"


def test_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [
        (path.name, body)
        for path in sorted(DOCS.glob("*.md"))
        for lang, body in _fences(path.read_text(encoding="utf-8"))
        if lang == "python"
    ]
    assert blocks, "the docs show the engine from Python"
    monkeypatch.chdir(REPO_ROOT)
    for name, body in blocks:
        namespace: dict[str, object] = {}
        exec(compile(body, name, "exec"), namespace)  # noqa: S102 - the docs' own example
        response = namespace.get("response")
        assert isinstance(response, dict), f"{name}: the example ends with an AuthZEN response"
        assert len(response["evaluations"]) == 5


def _commands_with(option: str) -> set[str]:
    """Every command (space-separated path) that has a visible `option`."""
    found: set[str] = set()

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                walk(command, (*path, name))
            options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
            if any(option in p.opts for p in options):
                found.add(" ".join((*path, name)))

    walk(_root(), ())
    return found


@pytest.mark.parametrize(
    ("row", "option"), [("--rev", "--rev"), ("-o, --output", "--output"), ("--at", "--at")]
)
def test_conventions_table_names_the_commands_with_each_option(row: str, option: str) -> None:
    text = (DOCS / "15-conventions.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"| `{row} "))
    commands = re.sub(r"\([^)]*\)", "", line.split(" | ")[1])
    assert set(_CODE_SPAN.findall(commands)) == _commands_with(option)


def test_rules_table_is_the_list_rules_output(runner: CliRunner) -> None:
    text = (DOCS / "20-lint.md").read_text(encoding="utf-8")
    start = text.index("| id | name | severity | what it checks |")
    table = text[start : text.index("\n\n", start)]
    result = runner.invoke(app, ["policy", "lint", "--list-rules", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n") == table
