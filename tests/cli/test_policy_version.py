"""`ztauth policy version`, `version list` and `version bump` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.repo import LedgerRepo
from tests.support.schemas import assert_valid, report_body
from tests.support.signing import minimal_ledger, sign
from ztauth_cli import jose
from ztauth_cli.cli.main import app


@pytest.fixture(scope="module")
def key() -> jose.KeyPair:
    return jose.generate_key("EdDSA", kid="release")


def _repo(repo: LedgerRepo, **options: object) -> str:
    repo.write(minimal_ledger(**options))  # type: ignore[arg-type]
    return repo.commit("initial ledger")


def test_current_version_text_and_json(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    sha = _repo(ledger_repo)
    result = runner.invoke(app, ["policy", "version", "--ledger", str(ledger_repo.root)])
    assert (result.exit_code, result.stdout) == (0, f"v0.0.0+1.g{sha[:7]}\n")
    ledger_repo.tag("v1.4.0")
    (ledger_repo.root / "policies/read.cedar").write_text("// local edit\n")
    result = runner.invoke(
        app, ["policy", "version", "-f", "json", "--ledger", str(ledger_repo.root)]
    )
    assert result.exit_code == 0
    assert_valid(json.loads(result.stdout), "version-report")
    assert report_body(json.loads(result.stdout), "ztauth policy version") == {
        "ledger_version": "v1.4.0+dirty",
        "tag": "v1.4.0",
        "distance": 0,
        "commit": sha,
        "dirty": True,
    }


def test_bump_then_list(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    first = _repo(ledger_repo)
    root = str(ledger_repo.root)
    result = runner.invoke(app, ["policy", "version", "bump", "minor", "--ledger", root])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "v0.1.0\n"
    assert result.stderr == f"tagged {first[:7]} as v0.1.0 (previous: none)\n"

    result = runner.invoke(app, ["policy", "version", "bump", "patch", "--ledger", root])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"refused to tag v0.1.1:\n  - HEAD ({first[:7]}) is already released as v0.1.0\n"
    )

    ledger_repo.write(
        {"policies/read.cedar": '@id("anyone-reads")\npermit(principal, action, resource);\n'}
    )
    second = ledger_repo.commit("read anything")
    result = runner.invoke(
        app,
        ["policy", "version", "bump", "major", "-m", "breaking", "-f", "json", "--ledger", root],
    )
    assert result.exit_code == 0, result.stdout
    assert_valid(json.loads(result.stdout), "bump-report")
    assert report_body(json.loads(result.stdout), "ztauth policy version bump") == {
        "created": True,
        "tag": "v1.0.0",
        "previous": "v0.1.0",
        "commit": second,
        "refused": [],
        "reasons": [],
    }

    result = runner.invoke(app, ["policy", "version", "list", "--ledger", root])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TAG", "DATE", "COMMIT", "SIGNATURES"]
    assert [line.split()[0] for line in lines[1:]] == ["v0.1.0", "v1.0.0"]
    assert [line.split()[2] for line in lines[1:]] == [first[:7], second[:7]]
    assert [line.split()[3] for line in lines[1:]] == ["unsigned", "unsigned"]

    result = runner.invoke(app, ["policy", "version", "list", "-f", "json", "--ledger", root])
    document = json.loads(result.stdout)
    assert_valid(document, "version-list")
    assert [v["tag"] for v in document["versions"]] == ["v0.1.0", "v1.0.0"]
    newest = document["versions"][1]
    assert newest["message"] == "breaking"
    assert newest["annotated"] is True
    assert newest["tagger"] == "Test Author <author@example.test>"
    assert (newest["commit"], newest["signatures"], newest["signatures_reason"]) == (
        second,
        "unsigned",
        None,
    )


def test_bump_is_gated_by_tests_lint_and_a_clean_tree(
    runner: CliRunner, ledger_repo: LedgerRepo
) -> None:
    _repo(ledger_repo, suite_expects="deny")
    ledger_repo.write({"policies/broken.cedar": "permit(principal, action, resource"})
    ledger_repo.commit("broken")
    (ledger_repo.root / "ztauth.yaml").write_text("# uncommitted\n", encoding="utf-8")
    result = runner.invoke(
        app, ["policy", "version", "bump", "minor", "--ledger", str(ledger_repo.root)]
    )
    assert result.exit_code == 1
    refused = result.stderr.splitlines()
    assert refused[0] == "refused to tag v0.1.0:"
    assert refused[1] == (
        "  - the ledger has uncommitted changes; a version names a commit, so commit first"
    )
    assert refused[2].startswith("  - lint: ")
    assert "policies/broken.cedar:1:7: ZT201 Cedar syntax error: '(' is never closed" in refused[2]
    assert refused[3].startswith("  - tests: ")
    assert len(refused) == 4
    assert ledger_repo.repo.refs.as_dict(b"refs/tags") == {}


def test_bump_refuses_a_failing_suite(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    _repo(ledger_repo, suite_expects="deny")
    result = runner.invoke(
        app, ["policy", "version", "bump", "patch", "--ledger", str(ledger_repo.root)]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "refused to tag v0.0.1:\n  - tests: 1 case(s) fail at HEAD: reading/anyone reads\n"
    )


def test_bump_requires_signatures_when_the_manifest_does(
    runner: CliRunner, ledger_repo: LedgerRepo, key: jose.KeyPair
) -> None:
    _repo(ledger_repo, signers=[key], require=1)
    root = str(ledger_repo.root)
    result = runner.invoke(app, ["policy", "version", "bump", "minor", "--ledger", root])
    assert result.exit_code == 1
    # The suite itself is denied too: eval and test verify signatures first (ledger_unverified).
    assert (
        "  - signatures: not verified: the ledger is unsigned (no .signatures.json)"
        in result.stderr.splitlines()
    )
    sign(ledger_repo.root, key)
    ledger_repo.commit("sign")
    result = runner.invoke(app, ["policy", "version", "bump", "minor", "--ledger", root])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["policy", "version", "list", "-f", "json", "--ledger", root])
    assert json.loads(result.stdout)["versions"][0]["signatures"] == "verified"


@pytest.mark.parametrize(
    "args",
    [["policy", "version"], ["policy", "version", "list"], ["policy", "version", "bump", "minor"]],
    ids=["version", "list", "bump"],
)
def test_outside_git_exits_2(runner: CliRunner, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "ztauth.yaml").write_text(str(minimal_ledger()["ztauth.yaml"]))
    result = runner.invoke(app, [*args, "--ledger", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "is not inside a Git repository" in result.stderr


def test_list_without_tags(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    _repo(ledger_repo)
    result = runner.invoke(app, ["policy", "version", "list", "--ledger", str(ledger_repo.root)])
    assert result.exit_code == 0
    assert result.stdout == (
        "no version tags yet; create one with 'ztauth policy version bump minor'\n"
    )


def test_version_of_a_revision(runner: CliRunner, ledger_repo: LedgerRepo) -> None:
    first = _repo(ledger_repo)
    ledger_repo.tag("v1.0.0")
    ledger_repo.write({"policies/read.cedar": "// two\n"})
    second = ledger_repo.commit("two")
    ledger_repo.write({"policies/read.cedar": "// three\n"})
    ledger_repo.commit("three")
    (ledger_repo.root / "policies/read.cedar").write_text("// local edit\n")
    root = str(ledger_repo.root)
    result = runner.invoke(app, ["policy", "version", "--ledger", root])
    assert result.stdout.startswith("v1.0.0+2.g")
    assert result.stdout.endswith(".dirty\n")
    # A revision is described as committed: never dirty, distance from its own past.
    result = runner.invoke(app, ["policy", "version", "--ledger", root, "--rev", "HEAD~1"])
    assert (result.exit_code, result.stdout) == (0, f"v1.0.0+1.g{second[:7]}\n")
    result = runner.invoke(
        app, ["policy", "version", "--ledger", root, "--rev", "v1.0.0", "-f", "json"]
    )
    assert result.exit_code == 0
    assert_valid(json.loads(result.stdout), "version-report")
    assert report_body(json.loads(result.stdout), "ztauth policy version") == {
        "ledger_version": "v1.0.0",
        "tag": "v1.0.0",
        "distance": 0,
        "commit": first,
        "dirty": False,
    }
    result = runner.invoke(app, ["policy", "version", "--ledger", root, "--rev", "nope"])
    assert result.exit_code == 2
    assert "unknown revision 'nope'" in result.stderr
