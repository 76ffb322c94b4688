"""The shell's shared conventions (cli/_common.py) across every command: the front door, one
``-f/--format`` naming only what a command renders, ``-o/--output`` written atomically or
refused in one line, ``--ledger`` and ``--at`` errors, reflowed help with examples."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo
from ztauth_cli.cli._common import reflow_help
from ztauth_cli.cli.main import app
from ztauth_cli.report.formats import OutputFormat

SAMPLE_LEDGER = Path(__file__).resolve().parents[2] / "sample-ledger"
AT = "2026-06-01T12:00:00Z"
TEXT_JSON = ("text", "json")
# (command words, the formats it renders): the table of DESIGN.md's conventions.
FORMATS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("policy", "lint"), ("text", "json", "sarif", "github", "junit", "markdown")),
    (("test",), ("text", "json", "junit", "sarif", "github")),
    (("policy", "diff"), ("text", "json", "markdown")),
    (("policy", "verify"), TEXT_JSON),
    (("policy", "version"), TEXT_JSON),
    (("policy", "version", "list"), TEXT_JSON),
    (("policy", "version", "bump", "minor"), TEXT_JSON),
    (("policy", "version", "bump", "auto"), TEXT_JSON),
    (("policy", "log"), TEXT_JSON),
    (("token", "inspect"), TEXT_JSON),
    (("audit", "verify"), TEXT_JSON),
    (("audit", "show"), TEXT_JSON),
    (("search", "subject"), TEXT_JSON),
    (("search", "resource"), TEXT_JSON),
    (("search", "action"), TEXT_JSON),
    (("search", "principal"), TEXT_JSON),
)
# Positional arguments a command needs before its options are looked at.
ARGS = {("token", "inspect"): ("a.b.c",), ("audit", "verify"): ("log.jsonl",)}
ARGS[("audit", "show")] = ("log.jsonl",)
# Commands with -o/--output.
OUTPUT_COMMANDS = (
    ("policy", "lint"),
    ("test",),
    ("policy", "diff"),
    ("policy", "verify"),
    ("policy", "version"),
    ("policy", "version", "list"),
    ("policy", "log"),
    ("token", "inspect"),
    ("audit", "verify"),
    ("audit", "show"),
    ("search", "subject"),
    ("search", "principal"),
    ("policy", "graph"),
)


def _ids(words: tuple[str, ...]) -> str:
    return " ".join(words)


def _command(words: tuple[str, ...]) -> click.Command:
    command: click.Command = typer.main.get_command(app)
    ctx = click.Context(command)
    for word in words:
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, word)
        assert found is not None, word
        command = found
    return command


def _leaves(
    command: click.Command, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _leaves(sub, (*words, name))
    else:
        yield words, command


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerRepo]:
    """The sample ledger committed once and tagged v1.0.0 (shared: the tests only read it)."""
    repo = LedgerRepo(tmp_path_factory.mktemp("common") / "repo")
    shutil.copytree(SAMPLE_LEDGER, repo.root, dirs_exist_ok=True)
    repo.commit("initial ledger")
    repo.tag("v1.0.0")
    yield repo
    repo.close()


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from a folder holding no ledger."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# ----------------------------------------------------------------------------- front door


def test_root_help_lists_commands_in_order_with_examples(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    names = re.findall(r"^│ (\w+) ", result.stdout, flags=re.MULTILINE)
    assert [n for n in names if n in {"policy", "eval", "test", "token", "keys", "audit"}] == [
        "policy",
        "eval",
        "test",
        "token",
        "keys",
        "audit",
    ]
    assert "ZTAuth* policy ledgers" in result.stdout
    assert "Examples" in result.stdout
    assert "ztauth policy lint --ledger sample-ledger" in result.stdout
    assert "ztauth test sample-ledger --coverage -f junit -o report.xml" in result.stdout
    assert "2 usage or input error" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One line.", "One line."),
        ("Summary\n    continued.\n\n    A paragraph\n    on two lines.", None),
        (
            "Summary.\n\nExample:\n\n  $ ztauth x\n  $ ztauth y",
            "Summary.\n\nExample:\n\n  $ ztauth x\n  $ ztauth y",
        ),
    ],
    ids=["one-line", "prose", "example-kept"],
)
def test_reflow_help(text: str, expected: str | None) -> None:
    if expected is None:
        expected = "Summary continued.\n\nA paragraph on two lines."
    assert reflow_help(text) == expected


def test_every_command_help_has_a_summary_line_and_exit_codes() -> None:
    for words, command in _leaves(typer.main.get_command(app)):
        help_text = command.help or ""
        summary = help_text.split("\n\n")[0]
        assert summary, words
        assert "\n" not in summary, words
        assert "Exit codes" in help_text, words
        if words != ("eval",):  # eval_cmd.py belongs to the engine owner this wave
            assert "$ ztauth " in help_text, f"{_ids(words)}: no example in the long help"


# ----------------------------------------------------------------------------- --format


@pytest.mark.parametrize(("words", "formats"), FORMATS, ids=[_ids(w) for w, _ in FORMATS])
def test_format_help_names_only_the_supported_formats(
    words: tuple[str, ...], formats: tuple[str, ...]
) -> None:
    options = [p for p in _command(words).params if "--format" in getattr(p, "opts", ())]
    assert len(options) == 1
    assert options[0].opts == ["--format", "-f"]
    assert options[0].metavar == f"[{'|'.join(formats)}]"


@pytest.mark.parametrize(("words", "formats"), FORMATS, ids=[_ids(w) for w, _ in FORMATS])
def test_unsupported_format_is_one_usage_error(
    runner: CliRunner, elsewhere: Path, words: tuple[str, ...], formats: tuple[str, ...]
) -> None:
    for other in sorted(f.value for f in OutputFormat if f.value not in formats):
        args = [*words, *ARGS.get(words, ()), "--format", other]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.stderr)
        assert f"does not support --format {other}; use one of: " in result.stderr
        assert ", ".join(sorted(formats)) in result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""


@pytest.mark.parametrize(("words", "formats"), FORMATS, ids=[_ids(w) for w, _ in FORMATS])
def test_unknown_format_names_the_supported_ones(
    runner: CliRunner, elsewhere: Path, words: tuple[str, ...], formats: tuple[str, ...]
) -> None:
    result = runner.invoke(app, [*words, *ARGS.get(words, ()), "-f", "xml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: Invalid value for '--format' / '-f': 'xml' is not a format; "
        f"use one of: {', '.join(sorted(formats))}"
    )


# ----------------------------------------------------------------------------- --output


@pytest.mark.parametrize("words", OUTPUT_COMMANDS, ids=_ids)
def test_output_in_a_missing_folder_is_refused_before_any_work(
    runner: CliRunner, elsewhere: Path, words: tuple[str, ...]
) -> None:
    target = elsewhere / "missing" / "report.out"
    result = runner.invoke(app, [*words, *ARGS.get(words, ()), "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (f"error: --output {target}: folder {target.parent} does not exist\n")
    assert result.stdout == ""
    assert not target.parent.exists()


@pytest.mark.parametrize("words", OUTPUT_COMMANDS, ids=_ids)
def test_output_naming_a_folder_is_refused(
    runner: CliRunner, elsewhere: Path, words: tuple[str, ...]
) -> None:
    result = runner.invoke(app, [*words, *ARGS.get(words, ()), "--output", str(elsewhere)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --output {elsewhere}: is a folder, expected a file path\n"
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "log", "-f", "json"),
        ("policy", "log"),
        ("policy", "version", "list", "-f", "json"),
        ("policy", "version", "list"),
        ("policy", "version", "-f", "json"),
        ("policy", "verify", "-f", "json"),
        ("policy", "verify"),
    ],
    ids=_ids,
)
def test_output_file_holds_exactly_what_stdout_would(
    runner: CliRunner, repo: LedgerRepo, tmp_path: Path, args: tuple[str, ...]
) -> None:
    ledger = ["--ledger", str(repo.root)]
    plain = runner.invoke(app, [*args, *ledger])
    target = tmp_path / "result.out"
    written = runner.invoke(app, [*args, *ledger, "-o", str(target)])
    assert written.exit_code == plain.exit_code
    assert plain.exit_code in (0, 1), plain.stderr
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == plain.stdout
    assert plain.stdout
    if "json" in args:
        json.loads(plain.stdout)
    assert [p.name for p in tmp_path.iterdir()] == ["result.out"]  # no temp file left


def test_version_list_output(runner: CliRunner, repo: LedgerRepo, tmp_path: Path) -> None:
    target = tmp_path / "versions.json"
    result = runner.invoke(
        app,
        ["policy", "version", "list", "--ledger", str(repo.root), "-f", "json", "-o", str(target)],
    )
    assert result.exit_code == 0, result.stderr
    versions = json.loads(target.read_text(encoding="utf-8"))["versions"]
    assert [v["tag"] for v in versions] == ["v1.0.0"]


def test_audit_outputs_to_file(runner: CliRunner, repo: LedgerRepo, tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    request = str(repo.root / "requests" / "alice-reads-q3-report.json")
    evaluated = runner.invoke(
        app,
        [
            "eval",
            request,
            "--ledger",
            str(repo.root),
            "--at",
            AT,
            "-f",
            "json",
            "--audit-log",
            str(log),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    for args in (["audit", "verify", str(log)], ["audit", "show", str(log)]):
        for fmt in TEXT_JSON:
            target = tmp_path / f"{args[1]}.{fmt}"
            plain = runner.invoke(app, [*args, "-f", fmt])
            written = runner.invoke(app, [*args, "-f", fmt, "-o", str(target)])
            assert (plain.exit_code, written.exit_code) == (0, 0), written.stderr
            assert written.stdout == ""
            assert target.read_text(encoding="utf-8") == plain.stdout


def test_token_inspect_output(runner: CliRunner, elsewhere: Path) -> None:
    from ztauth_cli import jose

    pair = jose.generate_key("EdDSA", kid="k1")
    token = jose.sign(
        {"iss": "x", "sub": "alice", "iat": 1, "exp": 2}, pair.private_pem, alg="EdDSA", kid="k1"
    )
    target = elsewhere / "inspect.json"
    plain = runner.invoke(app, ["token", "inspect", token, "-f", "json", "--at", AT])
    written = runner.invoke(
        app, ["token", "inspect", token, "-f", "json", "--at", AT, "-o", str(target)]
    )
    assert plain.exit_code == written.exit_code == 1  # no ledger here: decoded, not verified
    assert written.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(plain.stdout)
    assert json.loads(plain.stdout)["reason"] == "no ledger"


# ----------------------------------------------------------------------------- --ledger, --at


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "diff", "HEAD"),
        ("test",),
        ("policy", "verify"),
        ("policy", "version"),
        ("policy", "version", "list"),
        ("policy", "log"),
        ("policy", "sign", "--key", "k.pem"),
        ("policy", "lint"),
        ("token", "inspect", "a.b.c"),
    ],
    ids=_ids,
)
def test_ledger_naming_nothing_is_one_error(
    runner: CliRunner, elsewhere: Path, args: tuple[str, ...]
) -> None:
    missing = elsewhere / "no-such-ledger"
    result = runner.invoke(app, [*args, "--ledger", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --ledger {missing}: no such folder\n"


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "lint"),
        ("test",),
        ("policy", "diff", "HEAD"),
        ("token", "inspect", "a.b.c"),
        ("token", "mint", "--issuer", "x", "--key", "k.pem"),
    ],
    ids=_ids,
)
def test_bad_at_is_one_error_with_an_example(
    runner: CliRunner, repo: LedgerRepo, args: tuple[str, ...]
) -> None:
    result = (
        runner.invoke(app, [*args, "--ledger", str(repo.root), "--at", "soon"])
        if args[0] != "token"
        else runner.invoke(app, [*args, "--at", "soon"])
    )
    assert result.exit_code == 2
    first, hint = result.stderr.splitlines()
    assert first.startswith("error: --at: 'soon' is not an RFC 3339 timestamp with a time zone")
    assert hint == "hint: for example --at 2026-06-01T12:00:00Z"


def test_test_at_is_the_clock_of_suites_without_at(runner: CliRunner, sample_copy: Path) -> None:
    suite = sample_copy / "tests" / "direct-access.yaml"
    text = suite.read_text(encoding="utf-8")
    suite.write_text(re.sub(r"^at: .*\n", "", text, flags=re.MULTILINE), encoding="utf-8")
    clock = "2026-07-04T09:30:00Z"
    result = runner.invoke(
        app, ["test", "--ledger", str(sample_copy), "--at", clock, "-f", "json", "-k", "direct"]
    )
    assert result.exit_code in (0, 1), result.stderr
    suites = {s["name"]: s["at"] for s in json.loads(result.stdout)["suites"]}
    assert suites == {"direct-access": clock}


# ----------------------------------------------------------------------------- keys, init


def test_mint_with_a_file_that_is_not_a_key(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "ztauth.yaml"
    bad.write_text("kind: Ledger\n", encoding="utf-8")
    result = runner.invoke(app, ["token", "mint", "--issuer", "x", "--key", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {bad}:1:1: not a PEM private key (expected a PKCS#8, PKCS#1 "
        "or SEC1 PEM)\nhint: generate one with 'ztauth keys generate' (EdDSA by default)\n"
    )


def test_an_unwritable_file_name_is_one_error_not_an_internal_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / ("k" * 300 + ".pem")
    result = runner.invoke(app, ["keys", "generate", "--out", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "File name too long" in result.stderr
    assert "internal error" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_takes_the_ztid_as_ztid(runner: CliRunner, tmp_path: Path) -> None:
    ztid = "ztauth://example.internal/100000000000/ledgers/payments"
    target = tmp_path / "payments"
    result = runner.invoke(app, ["policy", "init", str(target), "--ztid", ztid])
    assert result.exit_code == 0, result.stderr
    assert ztid in (target / "ztauth.yaml").read_text(encoding="utf-8")
    both = runner.invoke(
        app, ["policy", "init", str(tmp_path / "other"), "--ztid", ztid, "--ledger", ztid]
    )
    assert both.exit_code == 2
    assert both.stderr == "error: --ztid and --ledger name the same thing; pass only --ztid\n"
    assert not (tmp_path / "other").exists()


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["polcy", "lint"],
            "error: No such command 'polcy'. Did you mean 'policy'?\n"
            "hint: run 'ztauth -h' for its options and examples\n",
        ),
        (
            ["policy", "lint", "--formt", "json"],
            "error: No such option '--formt'. Did you mean '--format'?\n"
            "hint: run 'ztauth policy lint -h' for its options and examples\n",
        ),
        (
            ["--bogus"],
            "error: No such option '--bogus'.\n"
            "hint: run 'ztauth -h' for its options and examples\n",
        ),
        (
            ["token", "mint", "--key", "k.pem"],
            "error: Missing option '--issuer'.\n"
            "hint: run 'ztauth token mint -h' for its options and examples\n",
        ),
        (
            ["audit", "verify"],
            "error: Missing argument 'FILE'.\n"
            "hint: run 'ztauth audit verify -h' for its options and examples\n",
        ),
    ],
    ids=["command", "option", "root-option", "missing-option", "missing-argument"],
)
def test_bad_command_line_is_one_error_line_and_a_hint(
    runner: CliRunner, args: list[str], expected: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == expected
    assert result.stdout == ""


def test_group_without_a_command_shows_its_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "version", "bump"])
    assert result.exit_code == 2
    assert "Usage: ztauth policy version bump" in result.stdout
    assert "error:" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "{jwks}:1:1: cannot read the JWKS: Is a directory"),
        ("kind: Ledger\n", "{jwks}:1:1: the JWKS is not JSON: Expecting value"),
        ('{"keys": [\n  {"kty": "OKP",}\n]}', "{jwks}:2:17: the JWKS is not JSON: "),
    ],
    ids=["folder", "yaml", "bad-json"],
)
def test_keys_generate_refuses_a_bad_jwks_before_writing_the_key(
    runner: CliRunner, tmp_path: Path, content: str | None, expected: str
) -> None:
    jwks = tmp_path / "keys.jwks.json"
    if content is None:
        jwks.mkdir()
    else:
        jwks.write_text(content, encoding="utf-8")
    out = tmp_path / "signer.pem"
    result = runner.invoke(app, ["keys", "generate", "--out", str(out), "--jwks", str(jwks)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: " + expected.format(jwks=jwks))
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_a_reader_that_leaves_early_is_not_an_error() -> None:
    """`ztauth policy lint --help | head -1`: a closed pipe ends the command quietly."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ztauth_cli", "policy", "lint", "--help"],
            stdout=write,
            stderr=subprocess.PIPE,
            check=False,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == b""
    assert done.returncode == 1


def test_verify_of_an_unsigned_ledger_says_how_to_sign_it(
    runner: CliRunner, repo: LedgerRepo
) -> None:
    result = runner.invoke(app, ["policy", "verify", "--ledger", str(repo.root)])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-2:] == [
        "not verified: the ledger is unsigned (no .signatures.json)",
        "hint: sign it with 'ztauth policy sign --key PEM' (make a key outside the ledger with "
        "'ztauth keys generate --out PEM --jwks keys/signers.jwks.json')",
    ]


def test_verify_with_a_missing_jwks_is_one_plain_line(
    runner: CliRunner, repo: LedgerRepo, tmp_path: Path
) -> None:
    missing = tmp_path / "pinned.jwks.json"
    result = runner.invoke(
        app, ["policy", "verify", "--ledger", str(repo.root), "--jwks", str(missing)]
    )
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {missing}:1:1: cannot read the JWKS: No such file or directory\n"
    )


def test_diff_with_a_missing_requests_file_is_one_plain_line(
    runner: CliRunner, repo: LedgerRepo, tmp_path: Path
) -> None:
    missing = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app,
        ["policy", "diff", "HEAD", "--ledger", str(repo.root), "--requests", str(missing)],
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {missing.as_posix()}:1:1: cannot read requests file: No such file or directory\n"
    )


# ----------------------------------------------------------------------------- lint/fmt paths


@pytest.fixture
def broken(sample_copy: Path) -> Path:
    """The sample ledger with a Cedar syntax error at billing.cedar's end."""
    policy = sample_copy / "policies" / "billing.cedar"
    policy.write_text(
        policy.read_text(encoding="utf-8") + "permit(principal, action, resource) oops\n",
        encoding="utf-8",
    )
    return sample_copy


@pytest.mark.parametrize("where", ["ledger", "policies"])
def test_lint_of_a_folder_lints_it_instead_of_an_empty_all_clear(
    runner: CliRunner, broken: Path, where: str
) -> None:
    target = broken if where == "ledger" else broken / "policies"
    result = runner.invoke(app, ["policy", "lint", str(target), *("--at", AT)])
    assert result.exit_code == 1
    assert "error[ZT201] Cedar syntax error" in result.stdout
    assert "1 error, 0 warnings" in result.stderr


def test_lint_of_a_path_that_does_not_exist_is_a_usage_error(
    runner: CliRunner, sample_copy: Path
) -> None:
    typo = sample_copy / "policies" / "biling.cedar"
    result = runner.invoke(app, ["policy", "lint", str(typo)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {typo}: no such file or folder\n"


def test_fmt_check_of_a_ledger_folder_checks_its_policies(runner: CliRunner, broken: Path) -> None:
    result = runner.invoke(app, ["policy", "fmt", "--check", str(broken)])
    assert result.exit_code == 1
    assert "billing.cedar:37:37: Cedar syntax error: unexpected 'oops'" in result.stderr
    clean = runner.invoke(app, ["policy", "fmt", "--check", str(SAMPLE_LEDGER)])
    assert clean.exit_code == 0, clean.stderr
    assert "0 files would be reformatted" in clean.stdout + clean.stderr


def test_lint_names_a_missing_path_among_others_and_lints_the_rest(
    runner: CliRunner, broken: Path
) -> None:
    typo = broken / "policies" / "biling.cedar"
    result = runner.invoke(
        app, ["policy", "lint", "--at", AT, str(typo), str(broken / "policies" / "billing.cedar")]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"warning: {typo}: no such file or folder (skipped)\n")
    assert "error[ZT201]" in result.stdout


def test_token_from_a_terminal_stdin_is_refused_not_awaited(
    monkeypatch: pytest.MonkeyPatch, elsewhere: Path
) -> None:
    import io

    from ztauth_cli.cli.token import run_inspect
    from ztauth_cli.errors import UsageError

    class _Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", _Terminal(""))
    with pytest.raises(
        UsageError, match=r"^'-' reads the token from stdin, but stdin is a terminal"
    ):
        run_inspect(token="-", ledger_path=None, rev=None, at=AT, fmt=OutputFormat.TEXT)


@pytest.mark.parametrize("command", ["sign", "mint"])
def test_a_public_key_given_for_signing_is_named_as_such(
    runner: CliRunner, sample_copy: Path, tmp_path: Path, command: str
) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_private_key,
    )

    from ztauth_cli import jose

    private = load_pem_private_key(jose.generate_key("EdDSA").private_pem, password=None)
    public = tmp_path / "signer.pub.pem"
    public.write_bytes(
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    args = (
        ["policy", "sign", "--key", str(public), "--ledger", str(sample_copy)]
        if command == "sign"
        else ["token", "mint", "--issuer", "x", "--key", str(public)]
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: {public}:1:1: not a PEM private key (this is a public key: signing needs its "
        "private half)"
    )
    assert not (sample_copy / ".signatures.json").exists()


@pytest.mark.parametrize(
    "group",
    [["policy"], ["keys"], ["token"], ["audit"], ["policy", "version", "bump"]],
    ids=lambda g: " ".join(g),
)
def test_every_command_group_help_has_examples_and_exit_codes(
    runner: CliRunner, group: list[str]
) -> None:
    result = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Examples" in result.stdout
    assert "Exit codes: 0 " in result.stdout
    # Each example is a command that exists in this group.
    examples = [
        line.strip() for line in result.stdout.splitlines() if line.strip().startswith("ztauth ")
    ]
    assert examples, result.stdout
    assert all(line.startswith(f"ztauth {' '.join(group[:1])}") for line in examples), examples


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, False),  # CliRunner's stdout is not a terminal
        (["--color", "always"], {}, True),
        ([], {"FORCE_COLOR": "1"}, True),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
    ],
    ids=["pipe", "always", "force-color", "never-beats-force", "no-color-beats-force", "flag"],
)
def test_color_flag_and_environment(
    runner: CliRunner, tmp_path: Path, args: list[str], env: dict[str, str], coloured: bool
) -> None:
    from ztauth_cli.lint.init import render_template

    files = render_template("minimal", name="c", ztid="ztauth://example.internal/100000000000/x")
    files["policies/all.cedar"] = '@id("all")\npermit (principal, action, resource);\n'
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    clear = {"NO_COLOR": None, "FORCE_COLOR": None}
    result = runner.invoke(
        app, [*args, "policy", "lint", "--ledger", str(tmp_path)], env={**clear, **env}
    )
    assert result.exit_code == 0, result.stderr
    assert "warning" in result.stdout
    assert ("\x1b[" in result.stdout) is coloured
