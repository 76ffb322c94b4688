"""README.md (and the site's home page) are exactly the tested intro, docs/readme/00-intro.md,
with its links rewritten for where each copy lives; the README stays short."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_readme", ROOT / "docs" / "build_readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_the_tested_intro() -> None:
    actual = (ROOT / "README.md").read_text(encoding="utf-8")
    assert actual == _build().assemble(), "README.md is stale: run python docs/build_readme.py"


def test_site_home_is_the_tested_intro() -> None:
    actual = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert actual == _build().index_page(), "docs/index.md is stale: run docs/build_readme.py"


def test_readme_fits_a_newcomers_screens() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) < 300


def test_every_relative_link_of_the_readme_names_a_file() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!#|[a-z]+:)([^)#\s]+)[^)]*\)", text)
    assert targets, "the README maps the documentation"
    missing = [t for t in targets if not (ROOT / t).is_file()]
    assert missing == []
