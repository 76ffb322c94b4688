"""Every command's JSON output, through the CLI: one envelope (``tool``, ``version``,
``schema_version``) in front of every report, each report following its JSON Schema in
schemas/; AuthZEN responses (eval, search subject|resource|action) keep their wire shape."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo
from tests.support.schemas import SCHEMAS, assert_valid, schema
from ztauth_cli import __version__, jose
from ztauth_cli.cli._common import _FormatType
from ztauth_cli.cli.main import app
from ztauth_cli.ledger.schemas import KIND_SCHEMAS
from ztauth_cli.report.envelope import ENVELOPE_FIELDS, envelope
from ztauth_cli.report.formats import OutputFormat

AT = "2026-06-01T12:00:00Z"
REQUEST = "requests/alice-reads-q3-report.json"
# AuthZEN wire formats: what a PEP parses, byte for byte what `ztauth serve` answers.
WIRE_SCHEMAS = {"request", "evaluation-response", "search-response"}
# Schemas of a part of a report, not of a whole output.
PART_SCHEMAS = {"coverage"}


@dataclass(frozen=True)
class Report:
    """One JSON-producing command line: the command's words, then its arguments, in which
    ``{ledger}``, ``{log}`` and ``{token}`` are filled in from the world below."""

    command: tuple[str, ...]
    args: tuple[str, ...]
    schema: str
    exit_code: int = 0

    @property
    def argv(self) -> tuple[str, ...]:
        return (*self.command, *self.args)

    @property
    def id(self) -> str:
        return " ".join(word for word in self.argv if not word.startswith("{"))


PRINCIPAL = {
    "subject": {"type": "User", "id": "alice"},
    "action": {"name": "read"},
    "resource": {"type": "Document", "id": "q3-report"},
}
REPORTS = (
    Report(("policy", "lint"), ("--ledger", "{ledger}", "--at", AT), "check-report"),
    Report(("policy", "lint"), ("--explain", "trust-level-unknown"), "lint-rule"),
    Report(("policy", "lint"), ("--list-rules",), "lint-rules"),
    # The sample ledger is not signed: verify reports why (exit 1), in JSON all the same.
    Report(("policy", "verify"), ("--ledger", "{ledger}"), "verify-report", exit_code=1),
    Report(("policy", "version"), ("--ledger", "{ledger}"), "version-report"),
    Report(("policy", "version", "list"), ("--ledger", "{ledger}"), "version-list"),
    Report(("policy", "version", "bump", "minor"), ("--ledger", "{ledger}"), "bump-report"),
    Report(("policy", "version", "bump", "auto"), ("--ledger", "{ledger}"), "bump-report"),
    Report(("policy", "log"), ("--ledger", "{ledger}"), "log-report"),
    Report(("policy", "diff"), ("HEAD", "HEAD", "--ledger", "{ledger}"), "diff-report"),
    Report(("policy", "graph"), ("--ledger", "{ledger}"), "graph"),
    Report(("test",), ("{ledger}",), "test-report"),
    Report(("search", "principal"), ("-", "--ledger", "{ledger}", "--at", AT), "search-principal"),
    Report(("audit", "verify"), ("{log}",), "audit-verify-report"),
    Report(("audit", "show"), ("{log}",), "audit-log"),
    # No issuer of the ledger signed it: decoded and reported, not verified (exit 1).
    Report(
        ("token", "inspect"), ("{token}", "--ledger", "{ledger}", "--at", AT), "token-inspection", 1
    ),
)
WIRE = (
    Report(
        ("eval",),
        ("{ledger}/" + REQUEST, "--ledger", "{ledger}", "--at", AT),
        "evaluation-response",
    ),
    Report(("search", "subject"), ("-", "--ledger", "{ledger}", "--at", AT), "search-response"),
    Report(("search", "resource"), ("-", "--ledger", "{ledger}", "--at", AT), "search-response"),
    Report(("search", "action"), ("-", "--ledger", "{ledger}", "--at", AT), "search-response"),
)
SEARCHES = {
    "principal": PRINCIPAL,
    "subject": {"subject": {"type": "User"}, **{k: PRINCIPAL[k] for k in ("action", "resource")}},
    "resource": {
        **{k: PRINCIPAL[k] for k in ("subject", "action")},
        "resource": {"type": "Document"},
    },
    "action": {k: PRINCIPAL[k] for k in ("subject", "resource")},
}


@dataclass(frozen=True)
class World:
    ledger: Path
    log: Path
    token: str


@pytest.fixture
def world(tmp_path: Path, runner: CliRunner) -> Iterator[World]:
    repo = LedgerRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_LEDGER, repo.root, dirs_exist_ok=True)
    repo.commit("initial ledger")
    log = tmp_path / "decisions.jsonl"
    request = str(repo.root / REQUEST)
    logged = runner.invoke(
        app, ["eval", request, "--ledger", str(repo.root), "--at", AT, "--audit-log", str(log)]
    )
    assert logged.exit_code == 0, logged.stderr
    pair = jose.generate_key("EdDSA", kid="stranger")
    claims = {"iss": "https://idp.acme.internal", "sub": "alice", "iat": 1, "exp": 2}
    token = jose.sign(claims, pair.private_pem, alg="EdDSA", kid="stranger")
    yield World(ledger=repo.root, log=log, token=token)
    repo.close()


def _run(runner: CliRunner, case: Report, world: World) -> dict[str, object]:
    argv = [
        word.format(ledger=world.ledger, log=world.log, token=world.token) for word in case.argv
    ]
    body = SEARCHES.get(case.command[-1]) if case.command[0] == "search" else None
    result = runner.invoke(
        app, [*argv, "--format", "json"], input=json.dumps(body) if body else None
    )
    assert result.exit_code == case.exit_code, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert_valid(document, case.schema)
    return document


def _json_commands() -> set[tuple[str, ...]]:
    """Every command whose ``--format`` accepts json, found by walking the CLI itself."""
    found: set[tuple[str, ...]] = set()

    def walk(command: click.Command, words: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*words, name))
        # A group may run on its own too (`policy version` prints the current version).
        for param in command.params:
            if "--format" not in getattr(param, "opts", ()):
                continue
            kind = param.type
            if (isinstance(kind, _FormatType) and OutputFormat.JSON in kind.formats) or (
                isinstance(kind, click.Choice) and "json" in kind.choices
            ):
                found.add(words)

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_with_json_output_is_checked_here() -> None:
    bumps = {("policy", "version", "bump", part) for part in ("major", "patch")}
    checked = {case.command for case in (*REPORTS, *WIRE)} | bumps
    assert _json_commands() == checked


@pytest.mark.parametrize("case", REPORTS, ids=lambda c: c.id)
def test_report_carries_the_envelope_and_follows_its_schema(
    runner: CliRunner, world: World, case: Report
) -> None:
    document = _run(runner, case, world)
    assert list(document)[: len(ENVELOPE_FIELDS)] == list(ENVELOPE_FIELDS)
    assert document["tool"] == schema(case.schema)["properties"]["tool"]["const"]
    assert str(document["tool"]).startswith("ztauth " + " ".join(case.command[:2]))
    assert (document["version"], document["schema_version"]) == (__version__, 1)


@pytest.mark.parametrize("case", WIRE, ids=lambda c: c.id)
def test_authzen_responses_keep_their_wire_shape(
    runner: CliRunner, world: World, case: Report
) -> None:
    document = _run(runner, case, world)
    assert not set(ENVELOPE_FIELDS) & set(document)


def test_eval_batch_and_stream_responses_follow_the_evaluation_schema(
    runner: CliRunner, world: World, tmp_path: Path
) -> None:
    single = json.loads((world.ledger / REQUEST).read_text(encoding="utf-8"))
    batch = json.loads((world.ledger / "requests/bob-document-batch.json").read_text("utf-8"))
    lines = tmp_path / "requests.jsonl"
    lines.write_text(f"{json.dumps(single)}\nnot json\n{json.dumps(batch)}\n", encoding="utf-8")
    common = ["--ledger", str(world.ledger), "--at", AT, "-f", "json"]
    answered = runner.invoke(app, ["eval", "-", *common], input=json.dumps(batch))
    assert answered.exit_code == 0, answered.stderr
    response = json.loads(answered.stdout)
    assert_valid(response, "evaluation-response")
    decisions = [e["decision"] for e in response["evaluations"]]
    assert len(decisions) == 5
    assert {True, False} <= set(decisions)
    streamed = runner.invoke(app, ["eval", str(lines), "--jsonl", *common])
    assert streamed.exit_code == 0, streamed.stderr
    responses = [json.loads(line) for line in streamed.stdout.splitlines()]
    for each in responses:
        assert_valid(each, "evaluation-response")
    assert [r.get("decision") for r in responses[:2]] == [True, False]  # "not json": denied
    assert len(responses[2]["evaluations"]) == 5


def test_every_schema_is_valid_draft_2020_12_and_every_report_schema_has_the_envelope() -> None:
    import jsonschema

    stems = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    reports = stems - set(KIND_SCHEMAS.values()) - WIRE_SCHEMAS - PART_SCHEMAS
    assert reports == {case.schema for case in REPORTS}
    for stem in stems:
        jsonschema.Draft202012Validator.check_schema(schema(stem))
    for stem in reports:
        document = schema(stem)
        assert document["required"][:3] == list(ENVELOPE_FIELDS), stem
        assert list(document["properties"])[:3] == list(ENVELOPE_FIELDS), stem
        assert (
            document["properties"]["schema_version"]
            == schema("diff-report")["properties"]["schema_version"]
        ), stem
    for stem in WIRE_SCHEMAS:
        assert not set(ENVELOPE_FIELDS) & set(schema(stem).get("properties", {})), stem


def test_a_body_that_would_overwrite_the_envelope_is_refused() -> None:
    with pytest.raises(ValueError, match="envelope members: version"):
        envelope("ztauth policy version", {"version": "v1.4.0"})
