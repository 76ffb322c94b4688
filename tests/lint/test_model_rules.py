"""ZT112, ZT207-ZT209, ZT309: consent issuers, a missing schema, context.ztauth shapes, and
what settings.request_entities lets a request describe.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import write_files
from ztauth_cli.cli.main import app
from ztauth_cli.ledger import load
from ztauth_cli.lint import lint_ledger
from ztauth_cli.lint.init import render_template

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
ZTID = "ztauth://example.internal/100000000000/ledgers/demo"
APPLIES = "  resource: [Document],\n};"
FULL = (
    "{actor: String, actor_type: String, delegated: Bool, trust_level: String, "
    "trust_rank: Long, groups: Set<String>, via: String, chain: Set<String>, depth: Long}"
)


def _findings(tmp_path: Path, context: str | None, *, policy: str = "") -> list[tuple[str, str]]:
    files = dict(render_template("delegation", name="demo", ztid=ZTID))
    if context is not None:
        files["schema.cedarschema"] = files["schema.cedarschema"].replace(
            APPLIES, f"  resource: [Document],\n  context: {context},\n}};"
        )
    files["policies/documents.cedar"] += policy
    write_files(tmp_path, files)
    report = lint_ledger(load(tmp_path, tolerant=True), now=NOW).report
    return [(f.rule_id, f.message) for f in report.active]


READS_ACTOR = '\n@id("assistants-read")\npermit (principal, action, resource)\nwhen { context.ztauth.actor == "x" };\n'  # noqa: E501


@pytest.mark.parametrize(
    ("context", "policy"),
    [
        (f"{{ztauth: {FULL}}}", ""),  # every attribute: the engine's full shape
        ("{ztauth?: {actor: String}}", ""),  # optional: the engine may send none
        ("{ztauth: {actor: String}}", READS_ACTOR),  # exactly what the policies read
        ("{channel?: String}", ""),  # no ztauth at all
    ],
)
def test_shapes_the_engine_can_fill_are_clean(tmp_path: Path, context: str, policy: str) -> None:
    assert [r for r, _ in _findings(tmp_path, context, policy=policy)] == []


def test_a_required_partial_ztauth_is_named_per_action(tmp_path: Path) -> None:
    found = _findings(tmp_path, "{ztauth: {actor: String, depth: Long}}")
    assert [r for r, _ in found] == ["ZT208", "ZT208"]
    assert found[0][1].startswith(
        'Action::"read": the schema\'s context.ztauth lacks actor_type, delegated, trust_level, '
        "trust_rank, groups, via, chain; ztauth cannot fill that shape"
    )
    assert found[1][1].startswith('Action::"write":')


def test_a_mistyped_ztauth_attribute_is_named(tmp_path: Path) -> None:
    found = _findings(tmp_path, "{ztauth: " + FULL.replace("depth: Long", "depth: String") + "}")
    assert [(r, m.split(" (")[0]) for r, m in found] == [
        ("ZT208", "the schema declares context.ztauth.depth with a type other than Long")
    ]


def test_no_schema_is_a_note(tmp_path: Path) -> None:
    files = dict(render_template("delegation", name="demo", ztid=ZTID))
    del files["schema.cedarschema"]
    files["ztauth.yaml"] = files["ztauth.yaml"].replace("schema: schema.cedarschema\n", "")
    write_files(tmp_path, files)
    report = lint_ledger(load(tmp_path, tolerant=True), now=NOW).report
    [note] = report.active
    assert (note.rule_id, note.severity.value, str(note.span)) == (
        "ZT207",
        "note",
        "ztauth.yaml:2:1",
    )


def test_consent_issuer_unused_only_when_consent_is_checked_elsewhere(tmp_path: Path) -> None:
    files = dict(render_template("delegation", name="demo", ztid=ZTID))
    files["trust/issuers.yaml"] += (
        "---\napiVersion: ztauth/v1\nkind: Issuer\nname: https://other.example\n"
        "jwks: keys/idp.jwks.json\nalgorithms: [EdDSA]\nissues: [consent]\n"
    )
    write_files(tmp_path, files)
    found = [(f.rule_id, str(f.span)) for f in lint_ledger(load(tmp_path), now=NOW).report.active]
    assert found == [("ZT112", "trust/issuers.yaml:15:1")]
    # A delegation requiring consent from any issuer accepts the other one too.
    delegations = files["trust/delegations.yaml"].replace(
        "consent: {required: true, issuer: https://idp.example.internal}",
        "consent: {required: true}",
    )
    write_files(tmp_path, {"trust/delegations.yaml": delegations})
    assert lint_ledger(load(tmp_path), now=NOW).report.active == ()


@pytest.mark.parametrize("rule_id", ["ZT112", "ZT207", "ZT208"])
def test_new_rules_explain_themselves(rule_id: str) -> None:
    result = CliRunner().invoke(app, ["policy", "lint", "--explain", rule_id])
    assert result.exit_code == 0
    assert result.stdout.startswith(rule_id + " ")


def _with_request_entities(tmp_path: Path, setting: str, *, schema: bool) -> list[str]:
    files = dict(render_template("delegation", name="demo", ztid=ZTID))
    files["ztauth.yaml"] += f"  request_entities: {setting}\n"  # under settings:
    if not schema:
        files.pop("schema.cedarschema")
        files["ztauth.yaml"] = files["ztauth.yaml"].replace("schema: schema.cedarschema\n", "")
    write_files(tmp_path, files)
    report = lint_ledger(load(tmp_path, tolerant=True), now=NOW).report
    return sorted(
        f"{f.rule_id} {f.span.line if f.span else 0}: {f.message}"
        for f in report.active
        if f.rule_id in {"ZT209", "ZT309"}
    )


@pytest.mark.parametrize("schema", [True, False], ids=["schema", "no-schema"])
def test_request_entities_typos_and_parents_are_reported(tmp_path: Path, schema: bool) -> None:
    found = _with_request_entities(
        tmp_path, "{Document: [attributes, parents], Docment: attributes}", schema=schema
    )
    where = (
        "the Cedar schema declares no such entity type"
        if schema
        else "no policy and no entity file names this type"
    )
    line = 14 if schema else 13  # the request_entities line of ztauth.yaml
    assert found == [
        f"ZT209 {line}: settings.request_entities names 'Docment', but {where}",
        f"ZT309 {line}: requests may give new Document entities parents "
        "(settings.request_entities): the request, not the ledger, then decides their groups "
        "and roles",
    ]


def test_request_entities_with_known_types_and_attributes_only_is_clean(tmp_path: Path) -> None:
    assert _with_request_entities(tmp_path, "{Document: attributes, '*': []}", schema=True) == []
