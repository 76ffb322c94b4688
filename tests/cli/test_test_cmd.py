"""`ztauth test` end to end: a real ledger, real Cedar, tokens minted and verified for real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from tests.support import ledgers
from tests.support.ledgers import issuer_doc, manifest, public_jwks
from tests.support.repo import LedgerRepo, write_files
from tests.support.schemas import assert_valid
from ztauth_cli.cli.main import app

ZTID = "ztauth://example.test/123456789012/ledgers/docs"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"

MANIFEST = manifest(ZTID, name="docs")

POLICIES = """\
@id("owner-can-read")
permit (principal, action == Action::"read", resource is Document)
when { resource.owner == principal };

@id("no-secret-export")
forbid (principal, action == Action::"export", resource is Document)
when { resource.secret };

@id("anyone-exports")
permit (principal, action == Action::"export", resource is Document);
"""

ENTITIES = [
    {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": []},
    {"uid": {"type": "User", "id": "bob"}, "attrs": {}, "parents": []},
    {
        "uid": {"type": "Document", "id": "d1"},
        "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}, "secret": False},
        "parents": [],
    },
    {
        "uid": {"type": "Document", "id": "s1"},
        "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}, "secret": True},
        "parents": [],
    },
]

TRUST = """\
apiVersion: ztauth/v1
kind: TrustLevel
name: trusted
rank: 1
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: assistants
trust_level: trusted
members: ["spiffe://example.test/assistant/*"]
---
apiVersion: ztauth/v1
kind: SecurityGroup
name: unused-group
trust_level: trusted
members: ["spiffe://example.test/nobody"]
---
apiVersion: ztauth/v1
kind: Delegation
id: assist-read
delegator: {type: User}
delegate: {group: assistants}
scope: {actions: [read], resources: {type: Document}}
consent: {required: true, issuer: https://idp.example.test}
---
apiVersion: ztauth/v1
kind: Elevation
id: ops-export
actor: {workload: "spiffe://example.test/ops"}
subjects: {type: User}
actions: [export]
resources: {type: Document}
requires: {min_trust_level: trusted}
---
""" + issuer_doc(
    "https://idp.example.test",
    jwks="keys/idp.jwks.json",
    algorithms=["EdDSA"],
    issues=["consent", "txn", "subject"],
)

SUITE = """\
apiVersion: ztauth/v1
kind: TestSuite
name: docs
at: 2026-06-01T12:00:00Z
tokens:
  consent:
    issuer: https://idp.example.test
    claims: {sub: alice, act: "spiffe://example.test/assistant/chat", scope: read}
    expires_in: 1h
  consent-expired:
    issuer: https://idp.example.test
    claims: {sub: alice, act: "spiffe://example.test/assistant/chat", scope: read}
    expires_in: -5m
  consent-forged:
    issuer: https://idp.example.test
    claims: {sub: alice, act: "spiffe://example.test/assistant/chat", scope: read}
    signed_by: untrusted
defaults:
  subject: {type: User, id: alice}
  action: {name: read}
  resource: {type: Document, id: d1}
cases:
  - name: alice reads her document
    request: {}
    expect: {decision: allow, code: allowed, policies: [owner-can-read]}
  - name: bob cannot read alice's document
    request: {subject: {type: User, id: bob}}
    expect: {decision: deny, code: policy_denied}
  - name: the assistant reads with alice's consent
    request:
      authorization_model:
        principal: {type: Workload, id: "spiffe://example.test/assistant/chat"}
        tokens: {consent: {$token: consent}}
    expect: {decision: allow, via: delegation/assist-read, policies: [owner-can-read]}
  - name: the assistant without consent
    request:
      authorization_model:
        principal: {type: Workload, id: "spiffe://example.test/assistant/chat"}
    expect: {decision: deny, code: consent_required}
  - name: an expired consent
    request:
      authorization_model:
        principal: {type: Workload, id: "spiffe://example.test/assistant/chat"}
        tokens: {consent: {$token: consent-expired}}
    expect: {decision: deny, code: invalid_consent}
  - name: a consent signed by an untrusted key
    request:
      authorization_model:
        principal: {type: Workload, id: "spiffe://example.test/assistant/chat"}
        tokens: {consent: {$token: consent-forged}}
    expect: {decision: deny, code: invalid_consent}
  - name: a secret document is never exported
    request: {action: {name: export}, resource: {type: Document, id: s1}}
    expect: {decision: deny, code: policy_denied, policies: [no-secret-export]}
"""

# Every expectation here is wrong on purpose (line numbers are asserted below).
FAILING = """\
apiVersion: ztauth/v1
kind: TestSuite
name: wrong
at: 2026-06-01T12:00:00Z
defaults: {subject: {type: User, id: bob}, resource: {type: Document, id: d1}}
cases:
  - name: bob reads
    request: {action: {name: read}}
    expect: {decision: allow}
  - name: alice is denied
    request: {subject: {type: User, id: alice}, action: {name: read}}
    expect: {decision: deny, code: policy_denied}
  - name: bob exports
    request: {action: {name: export}}
    expect: {decision: allow, policies: [some-other-policy]}
"""


def ledger_files() -> dict[str, str | bytes]:
    # A real public key for the committed JWKS; the run replaces it with its own fresh key.
    return ledgers.ledger_files(
        manifest=MANIFEST,
        policies={"docs": POLICIES},
        entities={"docs": json.dumps(ENTITIES)},
        trust={"trust": TRUST},
        keys={"idp": public_jwks()},
        suites={"docs": SUITE},
    )


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "ledger"
    write_files(root, ledger_files())
    return root


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suites") / "wrong.yaml"
    path.write_text(FAILING)
    return path


def _xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own report, not untrusted input


def run(*args: str | Path) -> Any:
    return CliRunner().invoke(app, ["test", *(str(a) for a in args)])


def test_all_cases_pass(ledger: Path) -> None:
    result = run("--ledger", ledger)
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "PASS docs (7 cases)"
    assert lines[-1] == "7 passed, 0 failed"
    assert result.stderr == ""


def test_the_ledger_folder_as_argument(ledger: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ledger.parent)
    result = run("ledger")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "7 passed, 0 failed"


def test_failures_show_place_expected_actual_and_trace(ledger: Path, failing: Path) -> None:
    result = run(failing, "--ledger", ledger)
    assert result.exit_code == 1
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == "FAIL wrong (3 of 3 cases failed)"
    assert lines[-1] == "0 passed, 3 failed"
    where = failing.as_posix()
    assert f"FAILED wrong/bob reads ({where}:7:5)" in lines
    assert "  decision: expected allow, got deny" in lines
    assert "  expected: allow" in lines
    assert any(line.startswith("  actual:   deny (policy_denied)") for line in lines)
    assert "  trace:" in lines
    assert f"FAILED wrong/alice is denied ({where}:10:5)" in lines
    assert "  code: expected policy_denied, got allowed" in lines
    assert (
        "  policies: expected some-other-policy among the determining policies, "
        "got anyone-exports" in lines
    )


def test_json_report(ledger: Path, failing: Path) -> None:
    result = run(ledger, failing, "--format", "json", "--coverage")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert_valid(document, "test-report")
    assert result.stderr.splitlines()[-1] == "7 passed, 3 failed"
    assert document["ledger"] == ZTID
    assert document["passed"] is False
    assert document["summary"] == {"total": 10, "passed": 7, "failed": 3, "deselected": 0}
    assert [s["name"] for s in document["suites"]] == ["docs", "wrong"]
    actual = {
        c["id"]: (c["actual"]["code"], c["actual"]["via"])
        for s in document["suites"]
        for c in s["cases"]
    }
    assert actual == {
        "docs/alice reads her document": ("allowed", None),
        "docs/bob cannot read alice's document": ("policy_denied", None),
        "docs/the assistant reads with alice's consent": ("allowed", "delegation/assist-read"),
        "docs/the assistant without consent": ("consent_required", None),
        "docs/an expired consent": ("invalid_consent", None),
        "docs/a consent signed by an untrusted key": ("invalid_consent", None),
        "docs/a secret document is never exported": ("policy_denied", None),
        "wrong/bob reads": ("policy_denied", None),
        "wrong/alice is denied": ("allowed", None),
        "wrong/bob exports": ("allowed", None),
    }
    wrong = document["suites"][1]["cases"][0]
    assert wrong["path"] == failing.as_posix()
    assert wrong["line"] == 7
    assert wrong["trace"][0]["step"] == "request"
    messages = {c["id"]: c["actual"]["message"] for s in document["suites"] for c in s["cases"]}
    assert "expired" in messages["docs/an expired consent"]
    assert "signature" in messages["docs/a consent signed by an untrusted key"]


def test_junit_names_every_case_uniquely(ledger: Path, failing: Path) -> None:
    result = run(ledger, failing, "--format", "junit")
    assert result.exit_code == 1
    root = _xml(result.stdout)
    cases = root.findall("./testsuite/testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == 10
    assert len(set(names)) == 10
    assert {c.get("classname") for c in cases} == {"docs", "wrong"}
    assert "wrong/bob reads" in names
    failures = [c for c in cases if c.find("failure") is not None]
    assert sorted(c.get("name") or "" for c in failures) == [
        "wrong/alice is denied",
        "wrong/bob exports",
        "wrong/bob reads",
    ]
    assert root.get("tests") == "10"
    assert root.get("failures") == "3"


def test_sarif_points_at_the_failing_case(ledger: Path, failing: Path) -> None:
    result = run(failing, "--ledger", ledger, "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    results = log["runs"][0]["results"]
    places = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    ]
    where = failing.as_posix()
    assert places == [
        ("test-failed", where, 7),
        ("test-failed", where, 10),
        ("test-failed", where, 13),
    ]
    assert results[0]["message"]["text"].startswith(
        "wrong/bob reads: decision: expected allow, got deny"
    )
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "test-failed"


def test_github_annotations_point_at_the_failing_case(ledger: Path, failing: Path) -> None:
    result = run(failing, "--ledger", ledger, "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("::error file=")
    assert ",line=7,col=5,title=test-failed::wrong/bob reads: decision: expected allow" in lines[0]
    assert ",line=10,col=5," in lines[1]


def test_k_selects_cases(ledger: Path) -> None:
    result = run("--ledger", ledger, "-k", "CONSENT")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "4 passed, 0 failed, 3 deselected"
    result = run("--ledger", ledger, "-k", "docs/alice")
    assert result.stdout.splitlines()[-1] == "1 passed, 0 failed, 6 deselected"


def test_k_selecting_nothing_is_a_usage_error(ledger: Path) -> None:
    result = run("--ledger", ledger, "-k", "no such case")
    assert result.exit_code == 2
    assert result.stderr == "error: -k 'no such case' selects none of the 7 test cases\n"


def test_coverage_and_threshold(ledger: Path) -> None:
    result = run("--ledger", ledger, "--format", "json", "--coverage")
    assert result.exit_code == 0
    coverage = json.loads(result.stdout)["coverage"]
    assert_valid(coverage, "coverage")
    assert {k: v["missed"] for k, v in coverage["categories"].items()} == {
        "policies": ["anyone-exports"],
        "groups": ["unused-group"],
        "trust_levels": [],
        "elevations": ["ops-export"],
        "delegations": [],
    }
    assert (coverage["exercised"], coverage["total"], coverage["percent"]) == (5, 8, 62.5)
    assert coverage["threshold"] is None

    below = run("--ledger", ledger, "--threshold", "90")
    assert below.exit_code == 1
    lines = below.stdout.splitlines()
    assert lines[-1] == "7 passed, 0 failed"
    assert "coverage 62.5% below the threshold 90%" in lines
    assert any(line.startswith("  elevations ") and "ops-export" in line for line in lines)

    met = run("--ledger", ledger, "--threshold", "62.5", "--format", "json")
    assert met.exit_code == 0
    assert json.loads(met.stdout)["coverage"]["passed"] is True

    junit = run("--ledger", ledger, "--threshold", "90", "--format", "junit")
    assert junit.exit_code == 1
    coverage_case = _xml(junit.stdout).find("./testsuite[@name='coverage']/testcase")
    assert coverage_case is not None
    assert coverage_case.find("failure") is not None
    assert "coverage 62.5% is below the threshold 90%" in junit.stderr


def test_threshold_out_of_range(ledger: Path) -> None:
    result = run("--ledger", ledger, "--threshold", "101")
    assert result.exit_code == 2


def test_output_file_and_unsupported_format(ledger: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    result = run("--ledger", ledger, "--format", "junit", "--output", target)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "7 passed, 0 failed\n"
    assert _xml(target.read_text()).get("tests") == "7"
    text = tmp_path / "report.txt"
    assert run("--ledger", ledger, "-o", text).exit_code == 0
    assert text.read_text().splitlines()[-1] == "7 passed, 0 failed"
    markdown = run("--ledger", ledger, "--format", "markdown")
    assert markdown.exit_code == 2
    assert "does not support --format markdown" in markdown.stderr


def _copy(ledger: Path, target: Path) -> Path:
    shutil.copytree(ledger, target)
    return target


def test_malformed_suite_exits_2_with_file_and_line(ledger: Path, tmp_path: Path) -> None:
    root = _copy(ledger, tmp_path / "l")
    bad = SUITE.replace("expires_in: -5m", "expires_in: soon")
    (root / "tests" / "docs.yaml").write_text(bad)
    result = run("--ledger", root)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: tests/docs.yaml:13:17: TestSuite: ")
    assert "soon" in result.stderr


def test_unknown_token_exits_2_with_file_and_line(ledger: Path, tmp_path: Path) -> None:
    root = _copy(ledger, tmp_path / "l")
    (root / "tests" / "docs.yaml").write_text(SUITE.replace("$token: consent}", "$token: nope}"))
    result = run("--ledger", root)
    assert result.exit_code == 2
    assert result.stderr == (
        'error: tests/docs.yaml:29:5: case "the assistant reads with alice\'s consent": '
        "unknown token 'nope' (suite 'docs' declares: consent, consent-expired, consent-forged)\n"
    )


def test_no_suites_is_a_usage_error(ledger: Path, tmp_path: Path) -> None:
    root = _copy(ledger, tmp_path / "l")
    shutil.rmtree(root / "tests")
    result = run("--ledger", root)
    assert result.exit_code == 2
    assert "no test suites (kind: TestSuite) found" in result.stderr


def test_required_signatures_fail_closed(ledger: Path, tmp_path: Path) -> None:
    root = _copy(ledger, tmp_path / "l")
    signed = manifest(
        ZTID, name="docs", signers="keys/idp.jwks.json", settings={"require_signatures": 1}
    )
    (root / "ztauth.yaml").write_text(signed)
    result = run("--ledger", root, "--format", "json")
    assert result.exit_code == 1
    # The gate is checked once, before any case: one cause, no per-case failures.
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the ledger is unverified, so every case would be denied ledger_unverified: "
        "not verified: the ledger is unsigned (no .signatures.json)",
        "hint: none of the 7 cases ran; re-sign the reviewed content "
        "(ztauth policy sign --key ...), then check it with ztauth policy verify",
    ]


def test_a_stale_signature_is_one_cause_said_once(ledger: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    root = _copy(ledger, tmp_path / "l")
    runner = CliRunner()
    key = tmp_path / "signer.pem"
    signers = root / "keys" / "signers.jwks.json"
    made = runner.invoke(app, ["keys", "generate", "--out", str(key), "--jwks", str(signers)])
    assert made.exit_code == 0, made.stderr
    signed = manifest(
        ZTID, name="docs", signers="keys/signers.jwks.json", settings={"require_signatures": 1}
    )
    (root / "ztauth.yaml").write_text(signed)
    sign = runner.invoke(app, ["policy", "sign", "--key", str(key), "--ledger", str(root)])
    assert sign.exit_code == 0, sign.stderr
    assert run("--ledger", root).exit_code == 0

    policy = next((root / "policies").glob("*.cedar"))
    policy.write_text(policy.read_text() + "\n// reviewed? no\n")
    stale = run("--ledger", root)
    assert stale.exit_code == 1
    assert stale.stdout == ""
    first, hint = stale.stderr.splitlines()
    assert first.startswith("error: the ledger is unverified, so every case would be denied")
    assert f"policies/{policy.name}: changed since signing" in first
    assert hint.startswith("hint: none of the 7 cases ran")


def test_rev_runs_the_suites_of_a_revision(ledger_repo: LedgerRepo) -> None:
    ledger_repo.write(ledger_files())
    ledger_repo.commit("ledger with passing suites")
    ledger_repo.write({"tests/docs.yaml": SUITE.replace("code: policy_denied}", "code: allowed}")})
    now = run("--ledger", ledger_repo.root)
    assert now.exit_code == 1
    assert now.stdout.splitlines()[-1] == "6 passed, 1 failed"
    at_head = run("--ledger", ledger_repo.root, "--rev", "HEAD", "--format", "json")
    assert at_head.exit_code == 0
    assert json.loads(at_head.stdout)["revision"] == ledger_repo.repo.head().decode()


def test_ci_reports_use_repository_paths_for_a_ledger_in_a_subfolder(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy(ledger, tmp_path / "repo" / "policy-ledger")
    (root / "tests" / "docs.yaml").write_text(
        SUITE.replace("code: allowed,", "code: invalid_token,")
    )
    monkeypatch.chdir(tmp_path / "repo")
    github = run("policy-ledger", "--format", "github")
    assert github.exit_code == 1
    assert github.stdout.startswith(
        "::error file=policy-ledger/tests/docs.yaml,line=23,col=5,title=test-failed::"
        "docs/alice reads her document: code: expected invalid_token, got allowed"
    )
    sarif = json.loads(run("policy-ledger", "--format", "sarif").stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "policy-ledger/tests/docs.yaml"
    # Text and JSON keep ledger-relative paths, like every other ztauth message.
    text = run("policy-ledger").stdout
    assert "FAILED docs/alice reads her document (tests/docs.yaml:23:5)" in text


def test_sarif_coverage_below_threshold_points_at_the_manifest(
    ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitHub code scanning rejects a SARIF result without a location.
    _copy(ledger, tmp_path / "repo" / "policy-ledger")
    monkeypatch.chdir(tmp_path / "repo")
    result = run("policy-ledger", "--threshold", "90", "--format", "sarif")
    assert result.exit_code == 1
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["coverage-below-threshold"]
    assert all(r["locations"] for r in results)
    place = results[0]["locations"][0]["physicalLocation"]
    assert place["artifactLocation"]["uri"] == "policy-ledger/ztauth.yaml"
    assert place["region"] == {"startLine": 1, "startColumn": 1}


def test_pre_commit_hook_runs_the_whole_ledger() -> None:
    import re

    import yaml

    hooks = yaml.safe_load((SCHEMAS.parent / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "ztauth-test")
    assert hook["entry"] == "ztauth test"
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    for path in (
        "ztauth.yaml",
        "tests/a.yaml",
        "sample-ledger/policies/x.cedar",
        "keys/i.jwks.json",
    ):
        assert files.search(path), path
    for path in ("README.md", "src/app.py", "policies/notes.txt"):
        assert not files.search(path), path


def test_the_sample_ledger_passes_with_full_coverage() -> None:
    from tests.conftest import SAMPLE_LEDGER

    result = run(SAMPLE_LEDGER, "--coverage", "--threshold", "100", "--format", "json")
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr
    document = json.loads(result.stdout)
    assert document["passed"] is True
    assert document["summary"]["failed"] == 0
    assert document["coverage"]["percent"] == 100.0


def test_json_of_an_all_pass_run_is_the_same_every_run() -> None:
    from tests.conftest import SAMPLE_LEDGER

    # The sample ledger's suites forge tokens: their messages name the (fixed) test kid.
    first = run(SAMPLE_LEDGER, "-f", "json", "--at", "2026-06-01T12:00:00Z")
    second = run(SAMPLE_LEDGER, "-f", "json", "--at", "2026-06-01T12:00:00Z")
    assert first.exit_code == second.exit_code == 0, first.stderr
    assert first.stdout == second.stdout
    assert "ztauth-test:https://idp.acme.internal" in first.stdout


def test_junit_reports_measured_durations() -> None:
    from tests.conftest import SAMPLE_LEDGER

    result = run(SAMPLE_LEDGER, "-f", "junit", "--at", "2026-06-01T12:00:00Z")
    assert result.exit_code == 0, result.stderr
    root = ET.fromstring(result.stdout)  # noqa: S314 - our own report, not untrusted input
    cases = root.findall(".//testcase")
    times = [float(case.get("time", "x")) for case in cases]
    assert all(t >= 0 for t in times)
    assert sum(times) > 0  # evaluating 58 cases takes time: not a hard-coded 0
    for suite in root.findall("testsuite"):
        inner = sum(float(c.get("time", "0")) for c in suite.findall("testcase"))
        assert float(suite.get("time", "0")) == pytest.approx(inner, abs=1e-5)


def test_verbose_shows_passing_cases_with_their_trace() -> None:
    from tests.conftest import SAMPLE_LEDGER

    args = (SAMPLE_LEDGER, "-k", "alice reads her own report", "--at", "2026-06-01T12:00:00Z")
    quiet, verbose = run(*args), run(*args, "-v")
    assert quiet.exit_code == verbose.exit_code == 0
    assert "PASSED" not in quiet.stdout
    lines = verbose.stdout.splitlines()
    assert (
        "PASSED direct-access/alice reads her own report (tests/direct-access.yaml:22:5)" in lines
    )
    assert "  trace:" in lines
    assert any(line.startswith("    ok   policy: permitted by") for line in lines)
    assert lines[-1] == quiet.stdout.splitlines()[-1]  # the summary stays last


def _run_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run ``ztauth ARGS`` with stdout and stderr on a pseudo-terminal, as a user would."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ztauth_cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO_ROOT,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process has exited
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_a_terminal_sees_progress_while_the_suites_load() -> None:
    code, screen = _run_on_a_terminal(["test", "sample-ledger"])
    assert code == 0, screen
    assert "loading the ledger and its test suites" in screen
    assert "61 passed, 0 failed" in screen


def test_a_pipe_gets_no_loading_spinner(runner: CliRunner) -> None:
    from tests.conftest import SAMPLE_LEDGER

    result = runner.invoke(app, ["test", str(SAMPLE_LEDGER)])
    assert result.exit_code == 0, result.stderr
    assert "loading" not in result.stderr + result.stdout
