"""Every lint rule fires on a ledger that breaks it, at the right place, and only then."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.repo import write_files
from ztauth_cli.ledger import load
from ztauth_cli.lint import RULES, lint_ledger
from ztauth_cli.lint.init import render_template
from ztauth_cli.model.findings import Severity

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
ZTID = "ztauth://example.internal/100000000000/ledgers/demo"


def _base() -> dict[str, str]:
    return render_template("delegation", name="demo", ztid=ZTID)


def _lint(tmp_path: Path, files: dict[str, str], *, strict: bool = False) -> list[tuple[str, str]]:
    write_files(tmp_path, dict(files))
    result = lint_ledger(load(tmp_path, tolerant=True), now=NOW, strict=strict)
    return [(f.rule_id, str(f.span)) for f in result.report.active]


def test_the_templates_lint_clean(tmp_path: Path) -> None:
    assert _lint(tmp_path, _base()) == []


TRUST_LEVEL_2 = "---\napiVersion: ztauth/v1\nkind: TrustLevel\nname: spare\nrank: 2\n"

CASES: list[tuple[str, dict[str, str], str]] = [
    (
        "ZT001",
        {"trust/levels.yaml": "apiVersion: ztauth/v1\nkind: TrustLevel\nname: basic\nrank: one\n"},
        "trust/levels.yaml:4:7",
    ),
    (
        "ZT001",
        {"trust/levels.yaml": "apiVersion: ztauth/v1\nkind: TrustLevel\nname: [\n"},
        "trust/levels.yaml:4:1",
    ),
    (
        "ZT101",
        {"trust/groups.yaml@": "trust_level: basic|trust_level: gold"},
        "trust/groups.yaml:5:1",  # the trust_level: key, not the document start (2:1)
    ),
    (
        "ZT102",
        {"trust/delegations.yaml@": "group: assistants|group: asistants"},
        "trust/delegations.yaml:7:12",  # delegate: {group: ...}
    ),
    (
        "ZT103",
        {
            "trust/delegations.yaml@": "issuer: https://idp.example.internal|issuer: https://idp.example"
        },
        "trust/delegations.yaml:10:27",  # consent: {..., issuer: ...}
    ),
    (
        "ZT104",
        {"trust/elevations.yaml@": "min_trust_level: basic|min_trust_level: gold"},
        "trust/elevations.yaml:11:3",
    ),
    (
        "ZT105",
        {"trust/levels.yaml+": TRUST_LEVEL_2.replace("rank: 2", "rank: 1")},
        "trust/levels.yaml:11:1",  # the second level's rank:
    ),
    (
        "ZT106",
        {"trust/issuers.yaml@": "audience: ztauth://|audience: ztauth://Example.internal/1/x#"},
        "trust/issuers.yaml:7:1",
    ),
    ("ZT106", {"ztauth.yaml@": "100000000000|12"}, "ztauth.yaml:10:9"),
    (
        "ZT004",
        {"ztauth.yaml@": "  license: UNLICENSED\n|"},
        "ztauth.yaml:4:1",  # the metadata: key
    ),
    (
        "ZT107",
        {"trust/issuers.yaml@": "keys/idp.jwks.json|keys/gone.jwks.json"},
        "trust/issuers.yaml:5:1",
    ),
    (
        "ZT108",
        {"keys/extra.jwks.json": '{"keys": [\n  {"kty": "EC", "crv": "P-256", "kid": "k1"}\n]}\n'},
        "keys/extra.jwks.json:2:33",
    ),
    (
        "ZT109",
        {
            "keys/extra.jwks.json": '{"keys": [\n  {"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "BB"}\n]}\n'  # noqa: E501
        },
        "keys/extra.jwks.json:2:3",
    ),
    (
        "ZT110",
        {"trust/issuers.yaml@": "issues: [consent, subject]|issues: [subject]"},
        "trust/delegations.yaml:10:27",
    ),
    (
        "ZT111",
        {"trust/issuers.yaml@": "algorithms: [EdDSA]|algorithms: [EdDSA, ES256]"},
        "trust/issuers.yaml:6:21",  # the ES256 item
    ),
    (
        "ZT112",
        {
            "trust/issuers.yaml+": "---\napiVersion: ztauth/v1\nkind: Issuer\n"
            "name: https://other.example\njwks: keys/idp.jwks.json\nalgorithms: [EdDSA]\n"
            "issues: [consent]\n"
        },
        "trust/issuers.yaml:15:1",
    ),
    (
        "ZT201",
        {"policies/bad.cedar": '@id("bad")\npermit (principal, action, resource)\n'},
        "policies/bad.cedar:2:37",
    ),
    (
        "ZT202",
        {"policies/x.cedar": "permit (principal, action, resource) when { false };\n"},
        "policies/x.cedar:1:1",
    ),
    (
        "ZT203",
        {
            "policies/x.cedar": '\n@id("Not_Kebab")\npermit (principal, action, resource) when { false };\n'  # noqa: E501
        },
        "policies/x.cedar:2:1",
    ),
    (
        "ZT204",
        {
            "policies/x.cedar": '@id("department-can-read")\nforbid (principal, action, resource) when { false };\n'  # noqa: E501
        },
        "policies/x.cedar:1:1",
    ),
    ("ZT205", {"schema.cedarschema": "entity User {\n"}, "schema.cedarschema:1:14"),
    (
        "ZT206",
        {
            "policies/x.cedar": '@id("uses-unknown")\npermit (principal, action, resource is Folder);\n'  # noqa: E501
        },
        "policies/x.cedar:1:1",
    ),
    (
        "ZT207",
        {"schema.cedarschema-": "", "ztauth.yaml@": "schema: schema.cedarschema\n|"},
        "ztauth.yaml:2:1",
    ),
    (
        "ZT208",
        {
            "schema.cedarschema@": "  resource: [Document],\n};|  resource: [Document],\n"
            "  context: {ztauth: {actor: String}},\n};"
        },
        "schema.cedarschema:15:13",
    ),
    (
        "ZT209",
        {"ztauth.yaml+": "  request_entities: {Documents: attributes}\n"},
        "ztauth.yaml:14:22",  # the type's key
    ),
    (
        "ZT301",
        {
            "trust/delegations.yaml@": "required: true, issuer: https://idp.example.internal|required: false"  # noqa: E501
        },
        "trust/delegations.yaml:10:11",
    ),
    (
        "ZT302",
        {"trust/elevations.yaml@": "actions: [read]|actions: ['*']"},
        "trust/elevations.yaml:8:1",
    ),
    (
        "ZT303",
        {"trust/delegations.yaml@": "until: 2036-01-01|until: 2026-05-01"},
        "trust/delegations.yaml:9:37",
    ),
    ("ZT304", {"trust/levels.yaml+": TRUST_LEVEL_2}, "trust/levels.yaml:8:1"),
    (
        "ZT305",
        {"trust/delegations.yaml@": "group: assistants|workload: spiffe://other/x"},
        "trust/groups.yaml:9:1",
    ),
    (
        "ZT306",
        {
            "trust/groups.yaml@": 'members: ["spiffe://example.internal/backend/*"]|members: [a, b]\nrevoked: [b]'  # noqa: E501
        },
        "trust/groups.yaml:8:11",  # the revoked entry
    ),
    (
        "ZT307",
        {"policies/x.cedar": '@id("everything")\npermit (principal, action, resource);\n'},
        "policies/x.cedar:1:1",
    ),
    (
        "ZT308",
        {
            "policies/x.cedar": '@id("no-documents")\nforbid (principal, action, resource is Document);\n'  # noqa: E501
        },
        "policies/documents.cedar:2:1",
    ),
    (
        "ZT309",
        {"ztauth.yaml+": "  request_entities: {Document: [attributes, parents]}\n"},
        "ztauth.yaml:14:22",  # the type's key
    ),
]


def _apply(base: dict[str, str], change: dict[str, str]) -> dict[str, str]:
    files = dict(base)
    for key, value in change.items():
        if key.endswith("@"):
            old, new = value.split("|", 1)
            assert old in files[key[:-1]], old
            files[key[:-1]] = files[key[:-1]].replace(old, new)
        elif key.endswith("+"):
            files[key[:-1]] += value
        elif key.endswith("-"):
            del files[key[:-1]]
        else:
            files[key] = value
    return files


@pytest.mark.parametrize(
    ("rule_id", "change", "where"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_fires_at_its_place(
    tmp_path: Path, rule_id: str, change: dict[str, str], where: str
) -> None:
    found = _lint(tmp_path, _apply(_base(), change))
    assert (rule_id, where) in found, found


def test_every_rule_is_covered_by_a_case() -> None:
    covered = {c[0] for c in CASES} | {"ZT002", "ZT003"}
    assert covered == set(RULES)


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    files = _apply(_base(), {"trust/levels.yaml+": TRUST_LEVEL_2})
    write_files(tmp_path, files)
    ledger = load(tmp_path, tolerant=True)
    relaxed = lint_ledger(ledger, now=NOW)
    strict = lint_ledger(ledger, now=NOW, strict=True)
    assert [f.severity for f in relaxed.report.active] == [Severity.WARNING]
    assert [f.severity for f in strict.report.active] == [Severity.ERROR]


def test_only_paths_limits_the_report_but_not_the_references(tmp_path: Path) -> None:
    files = _apply(_base(), {"trust/groups.yaml@": "trust_level: basic|trust_level: gold"})
    write_files(tmp_path, files)
    ledger = load(tmp_path, tolerant=True)
    on_groups = lint_ledger(ledger, now=NOW, only_paths={"trust/groups.yaml"})
    on_levels = lint_ledger(ledger, now=NOW, only_paths={"trust/levels.yaml"})
    assert [f.rule_id for f in on_groups.report.active] == ["ZT101", "ZT101"]
    # levels.yaml itself is fine: 'basic' is still used by the elevation.
    assert on_levels.report.findings == ()


@pytest.mark.parametrize(
    ("workload", "unused"),
    [
        # fnmatch's '*' crosses '/', the protocol's does not: assistant/a/b is no member.
        ("spiffe://example.internal/assistant/a/b", True),
        ("spiffe://example.internal/assistant/a", False),
    ],
)
def test_group_use_follows_the_protocol_glob_not_fnmatch(
    tmp_path: Path, workload: str, unused: bool
) -> None:
    change = {"trust/delegations.yaml@": f"group: assistants|workload: {workload}"}
    found = _lint(tmp_path, _apply(_base(), change))
    assert (("ZT305", "trust/groups.yaml:9:1") in found) is unused, found
