"""The documentation site: generated reference pages are current, every field of every document
kind is described, and ``mkdocs build --strict`` (broken links and nav entries fail) succeeds."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

GEN_SITE = REPO_ROOT / "docs" / "gen_site.py"


def _gen_site() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_site", GEN_SITE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_site"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_generated_pages_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(GEN_SITE), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind", [k[0] for k in _gen_site().DOCUMENT_KINDS])
def test_every_field_of_a_document_kind_is_described(kind: str) -> None:
    gen = _gen_site()
    schema = gen.json.loads((REPO_ROOT / "schemas" / kind).read_text(encoding="utf-8"))
    undescribed = [field.path for field in gen.fields(schema) if not field.description]
    assert undescribed == []


def test_reference_page_lists_nested_fields_with_their_description() -> None:
    text = (REPO_ROOT / "docs" / "reference" / "delegation.md").read_text(encoding="utf-8")
    assert "| `scope.resources.ids` | list of string | no |" in text
    assert "| `max_depth` | integer | no | How many further hops" in text


def test_every_lint_rule_has_a_page() -> None:
    from ztauth_cli.lint.run import rule_docs

    pages = {p.stem for p in (REPO_ROOT / "docs" / "rules").glob("ZT*.md")}
    assert pages == {entry.id for entry in rule_docs()}


def test_site_builds_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "site" / "reference" / "delegation" / "index.html").read_text("utf-8")
    assert "max_depth" in page
    assert (tmp_path / "site" / "rules" / "ZT101" / "index.html").is_file()
