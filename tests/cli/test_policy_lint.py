"""`ztauth policy lint` through the CLI: exit codes, formats, --rev, --explain, --output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from tests.support.repo import LedgerRepo, write_files
from tests.support.schemas import assert_valid, report_body
from ztauth_cli.cli.main import app
from ztauth_cli.lint.init import render_template

AT = ["--at", "2026-06-01T12:00:00Z"]
ZTID = "ztauth://example.internal/100000000000/ledgers/demo"
BROKEN = '@id("broken")\npermit (principal, action, resource)\n'
ALLOW_ALL = (
    '// ztauth: ignore ZT307 -- sandbox\n@id("all")\npermit (principal, action, resource);\n'
)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "ledger"
    write_files(root, dict(render_template("minimal", name="demo", ztid=ZTID)))
    return root


def test_clean_ledger_exits_0(runner: CliRunner, clean: Path) -> None:
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "0 errors, 0 warnings, 0 notes; 0 suppressed" in result.stderr


def test_sample_ledger_has_no_errors(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["policy", "lint", "--ledger", str(SAMPLE_LEDGER), *AT, "-f", "json"]
    )
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["summary"]["errors"] == 0


def test_syntax_error_is_a_finding_exit_1_json(runner: CliRunner, clean: Path) -> None:
    write_files(clean, {"policies/bad.cedar": BROKEN})
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT, "--format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["tool"] == "ztauth policy lint"
    assert doc["summary"] == {
        "errors": 1,
        "warnings": 0,
        "notes": 0,
        "suppressed": 0,
        # JSON lists the same checks as JUnit: one per clean file, one per active finding.
        "checks": 10,
        "passed": 9,
        "failed": 1,
    }
    failed = [c for c in doc["checks"] if not c["passed"]]
    assert [(c["group"], c["name"]) for c in failed] == [("policies/bad.cedar", "ZT201 2:37")]
    junit = runner.invoke(
        app, ["policy", "lint", "--ledger", str(clean), *AT, "--format", "junit"]
    ).stdout
    assert junit.count("<testcase") == len(doc["checks"])
    [finding] = doc["findings"]
    assert (finding["rule"], finding["path"], finding["line"], finding["column"]) == (
        "ZT201",
        "policies/bad.cedar",
        2,
        37,
    )
    assert finding["severity"] == "error"


def test_warning_passes_unless_strict(runner: CliRunner, clean: Path) -> None:
    write_files(
        clean, {"policies/all.cedar": '@id("all")\npermit (principal, action, resource);\n'}
    )
    relaxed = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT])
    strict = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT, "--strict"])
    assert relaxed.exit_code == 0
    assert "policies/all.cedar:1:1: warning[ZT307]" in relaxed.stdout
    assert strict.exit_code == 1
    assert "policies/all.cedar:1:1: error[ZT307]" in strict.stdout


def test_github_annotations(runner: CliRunner, clean: Path) -> None:
    write_files(clean, {"policies/bad.cedar": BROKEN})
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT, "-f", "github"])
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=policies/bad.cedar,line=2,col=37,title=ZT201::Cedar syntax error"
    )


def test_junit_output_to_file(runner: CliRunner, clean: Path, tmp_path: Path) -> None:
    write_files(clean, {"policies/bad.cedar": BROKEN})
    out = tmp_path / "lint.xml"
    result = runner.invoke(
        app, ["policy", "lint", "--ledger", str(clean), *AT, "-f", "junit", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    root = ET.fromstring(out.read_text(encoding="utf-8"))  # noqa: S314 - our own output
    assert root.tag == "testsuites"
    assert root.get("failures") == "1"
    failures = root.findall("testsuite/testcase/failure")
    assert len(failures) == 1
    suites = {s.get("name") for s in root.findall("testsuite")}
    assert "policies/bad.cedar" in suites
    assert "ztauth.yaml" in suites


def test_paths_report_only_on_those_files(runner: CliRunner, clean: Path) -> None:
    write_files(clean, {"policies/bad.cedar": BROKEN})
    other = runner.invoke(
        app,
        ["policy", "lint", "--ledger", str(clean), *AT, str(clean / "policies/documents.cedar")],
    )
    named = runner.invoke(
        app, ["policy", "lint", *AT, str(clean / "policies/bad.cedar"), str(clean / "README")]
    )
    assert other.exit_code == 0, other.stdout
    assert named.exit_code == 1
    assert "policies/bad.cedar:2:37: error[ZT201]" in named.stdout


def test_rev_lints_a_committed_revision(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    ledger_repo.write(dict(render_template("minimal", name="demo", ztid=ZTID)))
    good = ledger_repo.commit("good")
    ledger_repo.write({"policies/bad.cedar": BROKEN})
    ledger_repo.commit("bad")
    root = str(ledger_repo.root)
    assert (
        runner.invoke(app, ["policy", "lint", "--ledger", root, *AT, "--rev", good]).exit_code == 0
    )
    assert (
        runner.invoke(app, ["policy", "lint", "--ledger", root, *AT, "--rev", "HEAD"]).exit_code
        == 1
    )
    bad_rev = runner.invoke(app, ["policy", "lint", "--ledger", root, "--rev", "nope"])
    assert bad_rev.exit_code == 2
    assert "unknown revision 'nope'" in bad_rev.stderr


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["policy", "lint", "--ledger", str(tmp_path)])
    assert missing.exit_code == 2
    assert "no ztauth.yaml" in missing.stderr
    bad_at = runner.invoke(app, ["policy", "lint", "--ledger", str(SAMPLE_LEDGER), "--at", "soon"])
    assert bad_at.exit_code == 2
    assert bad_at.stderr.startswith("error: --at:")


def test_explain_and_list_rules(runner: CliRunner) -> None:
    explained = runner.invoke(app, ["policy", "lint", "--explain", "zt101"])
    assert explained.exit_code == 0
    assert explained.stdout.startswith("ZT101 trust-level-unknown (error)\n")
    unknown = runner.invoke(app, ["policy", "lint", "--explain", "ZT999"])
    assert unknown.exit_code == 2
    assert "unknown rule 'ZT999'" in unknown.stderr
    listed = runner.invoke(app, ["policy", "lint", "--list-rules", "-f", "json"])
    rules = report_body(json.loads(listed.stdout), "ztauth policy lint --list-rules")["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids)
    assert {"ZT001", "ZT101", "ZT201", "ZT301"} <= set(ids)


def test_sample_copy_with_private_key_is_an_error(runner: CliRunner, sample_copy: Path) -> None:
    from ztauth_cli import jose

    pair = jose.generate_key("EdDSA")
    private = jose.load_private_key_pem(pair.private_pem)
    jwk = dict(jose.public_jwk_for(private))
    jwk["d"] = "c2VjcmV0"
    (sample_copy / "keys" / "leak.jwks.json").write_text(json.dumps({"keys": [jwk]}))
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(sample_copy), *AT])
    assert result.exit_code == 1
    assert "keys/leak.jwks.json:1:" in result.stdout
    assert "error[ZT109]" in result.stdout
    shutil.rmtree(sample_copy)


def test_json_matches_its_schema(runner: CliRunner, clean: Path) -> None:
    write_files(clean, {"policies/bad.cedar": BROKEN, "policies/all.cedar": ALLOW_ALL})
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT, "-f", "json"])
    doc = json.loads(result.stdout)
    assert_valid(doc, "check-report")
    assert [f["rule"] for f in doc["findings"]] == ["ZT307", "ZT201"]
    assert doc["findings"][0]["suppressed"] == "sandbox"
    assert doc["summary"]["suppressed"] == 1


def test_broken_manifest_is_a_finding_not_a_usage_error(runner: CliRunner, clean: Path) -> None:
    (clean / "ztauth.yaml").write_text("apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: x\n")
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ztauth.yaml:4:1: error[ZT001] invalid YAML: did not find expected ',' or '}'"
    ]


def test_files_of_no_ledger_say_nothing_was_linted(runner: CliRunner, tmp_path: Path) -> None:
    stray = tmp_path / "tests" / "fixture.yaml"
    write_files(tmp_path, {"tests/fixture.yaml": "a: 1\n"})
    result = runner.invoke(app, ["policy", "lint", str(stray)])
    assert result.exit_code == 0
    assert "nothing linted: none of the 1 path given is a ledger file" in result.stderr
    assert "0 errors" not in result.stderr


def test_a_missing_semicolon_is_reported_where_it_belongs(runner: CliRunner, clean: Path) -> None:
    two = (
        '@id("first")\npermit (principal, action == Action::"read", resource)\n'
        "when { resource.owner == principal }\n\n"
        '@id("second")\nforbid (principal, action, resource) when { resource.department == "x" };\n'
    )
    write_files(clean, {"policies/two.cedar": two})
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), *AT])
    assert result.exit_code == 1
    # At the end of the first policy (line 3), not at its start, with the fix as a hint.
    assert result.stdout.splitlines() == [
        "policies/two.cedar:3:37: error[ZT201] Cedar syntax error: missing ';' at the end of "
        "the policy",
        "  hint: add ';' here, before the policy at line 5",
    ]


def test_explain_by_rule_name(runner: CliRunner) -> None:
    by_id = runner.invoke(app, ["policy", "lint", "--explain", "ZT201"])
    by_name = runner.invoke(app, ["policy", "lint", "--explain", "cedar-syntax"])
    assert by_name.exit_code == 0, by_name.stderr
    assert by_name.stdout == by_id.stdout
    assert by_name.stdout.startswith("ZT201 cedar-syntax (error)")
    unknown = runner.invoke(app, ["policy", "lint", "--explain", "cedar-sintax"])
    assert unknown.exit_code == 2
    assert "unknown rule 'cedar-sintax'" in unknown.stderr


LINT_CONFIG = "lint:\n  disable: [ZT307]\n  severity: {policy-id-format: warning, ZT204: off}\n"


def _lint_rules(runner: CliRunner, root: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(root), *AT, "-f", "json", *args])
    assert result.exit_code in (0, 1), result.stderr
    findings = json.loads(result.stdout)["findings"]
    watched = {"ZT003", "ZT203", "ZT204", "ZT307"}  # what the configuration below touches
    found = sorted(f"{f['rule']}:{f['severity']}" for f in findings if f["rule"] in watched)
    return result.exit_code, found


def test_lint_configuration_in_the_manifest_and_on_the_command_line(
    runner: CliRunner, clean: Path
) -> None:
    write_files(
        clean,
        {
            "policies/all.cedar": '@id("All")\npermit (principal, action, resource);\n',
            "policies/again.cedar": (
                '@id("All")\nforbid (principal, action, resource) when { principal == resource };\n'
            ),
        },
    )
    code, found = _lint_rules(runner, clean)
    assert code == 1
    assert found == ["ZT203:error", "ZT203:error", "ZT204:error", "ZT307:warning"]

    manifest = clean / "ztauth.yaml"
    manifest.write_text(manifest.read_text() + LINT_CONFIG)
    code, found = _lint_rules(runner, clean)
    # ZT307 disabled, ZT204 off, ZT203 lowered to a warning.
    assert found == ["ZT203:warning", "ZT203:warning"]

    # --enable turns back on what the manifest disables; --disable takes a name too.
    code, found = _lint_rules(
        runner, clean, "--enable", "permit-unconstrained", "--disable", "ZT203"
    )
    assert found == ["ZT307:warning"]


def test_an_unknown_rule_in_the_configuration_is_a_finding_on_the_cli_a_usage_error(
    runner: CliRunner, clean: Path
) -> None:
    manifest = clean / "ztauth.yaml"
    manifest.write_text(manifest.read_text() + "lint:\n  disable: [ZT999]\n  severity: {x: off}\n")
    _, found = _lint_rules(runner, clean)
    assert found == ["ZT003:warning", "ZT003:warning"]
    typo = runner.invoke(app, ["policy", "lint", "--ledger", str(clean), "--disable", "ZT30"])
    assert typo.exit_code == 2
    assert "--disable 'ZT30': no such rule" in typo.stderr
