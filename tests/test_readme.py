"""README.md is exactly the assembly of the tested sections in docs/readme/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_is_assembled_from_the_tested_sections() -> None:
    spec = importlib.util.spec_from_file_location("build_readme", ROOT / "docs" / "build_readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.assemble()
    actual = (ROOT / "README.md").read_text(encoding="utf-8")
    assert actual == expected, "README.md is stale: run python docs/build_readme.py"
