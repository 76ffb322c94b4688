"""`ztauth policy graph` through the CLI: Mermaid, DOT and JSON (against its schema)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import REPO_ROOT, SAMPLE_LEDGER
from tests.support.schemas import assert_valid
from ztauth_cli.cli.main import app


def _graph(runner: CliRunner, *args: str) -> object:
    return runner.invoke(app, ["policy", "graph", "--ledger", str(SAMPLE_LEDGER), *args])


def test_mermaid_is_a_flowchart_with_revoked_members_in_red(runner: CliRunner) -> None:
    result = _graph(runner)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  n4(["group ai-assistants"]):::group' in lines
    assert '  n17 -.->|"revoked"| n4' in lines
    assert lines[-1].startswith("  linkStyle ")
    assert "stroke:#d93025" in lines[-1]


def test_dot_for_one_workload(runner: CliRunner) -> None:
    result = _graph(runner, "-f", "dot", "--workload", "spiffe://acme.internal/billing/worker-1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("digraph ztauth {\n  rankdir=LR;\n")
    assert (
        '  "elevation/billing-acts-for-customer" -> "subjects/User" [label="charge, refund"];\n'
        in result.stdout
    )
    assert "delegation/" not in result.stdout
    assert result.stdout.endswith("}\n")


def test_json_matches_its_schema_and_is_sorted(runner: CliRunner) -> None:

    result = _graph(runner, "-f", "json", "--subject", 'User::"carol"')
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert_valid(document, "graph")
    ids = [n["id"] for n in document["nodes"]]
    assert ids == sorted(ids)
    assert "delegation/carol-reporting-export" in ids


def test_bad_subject_and_combined_views_are_usage_errors(runner: CliRunner) -> None:
    bad = _graph(runner, "--subject", "alice")
    assert bad.exit_code == 2
    assert "--subject 'alice': expected TYPE::\"ID\"" in bad.stderr
    both = _graph(runner, "--subject", 'User::"a"', "--workload", "w")
    assert both.exit_code == 2
    assert "cannot be combined" in both.stderr


def test_the_readme_graph_is_the_sample_ledgers(runner: CliRunner) -> None:
    doc = (REPO_ROOT / "docs" / "readme" / "38-search-graph.md").read_text(encoding="utf-8")
    shown = doc.split("```mermaid\n", 1)[1].split("```", 1)[0]
    result = _graph(runner)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == shown
