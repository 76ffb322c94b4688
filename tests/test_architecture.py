"""STYLE.md rule 1, enforced on every module's imports (walked with ``ast``).

* engine never imports ledger, cli, report, lint, typer or rich;
* model imports nothing of ztauth above it (only model, errors);
* report never imports cli;
* heavy libraries are imported at module level only by their single wrapper modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ztauth_cli"
HEAVY = {"cedarpy", "jwt", "cryptography", "dulwich", "jsonschema"}
WRAPPERS = {
    "ztauth_cli.engine.cedar": {"cedarpy"},
    "ztauth_cli.jose": {"jwt", "cryptography"},
    "ztauth_cli.ledger.git": {"dulwich"},
    "ztauth_cli.ledger.schemas": {"jsonschema"},
}
FORBIDDEN = {
    "ztauth_cli.engine": (
        "ztauth_cli.ledger",
        "ztauth_cli.cli",
        "ztauth_cli.report",
        "ztauth_cli.lint",
        "typer",
        "rich",
        "click",
    ),
    "ztauth_cli.model": (
        "ztauth_cli.ledger",
        "ztauth_cli.cli",
        "ztauth_cli.report",
        "ztauth_cli.lint",
        "ztauth_cli.engine",
        "ztauth_cli.jose",
        "typer",
        "rich",
    ),
    "ztauth_cli.report": ("ztauth_cli.cli", "typer"),
    "ztauth_cli.lint": ("ztauth_cli.cli",),
    "ztauth_cli.ledger": ("ztauth_cli.cli", "ztauth_cli.report"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, *, is_package: bool) -> list[tuple[str, bool, int]]:
    """(imported module, at module level?, line) for every import in ``tree``."""
    found: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, top, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                name = child.module or ""
                if child.level:
                    base = module.split(".")
                    keep = len(base) - child.level + (1 if is_package else 0)
                    name = ".".join(base[:keep] + ([name] if name else []))
                found.append((name, top, child.lineno))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # type-only imports never run
            else:
                visit(child, top)

    visit(tree, True)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", MODULES, ids=[_module_name(p) for p in MODULES])
def test_module_respects_the_layering(path: Path) -> None:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for name, top, line in _imports(tree, module, is_package=path.name == "__init__.py"):
        for layer, banned in FORBIDDEN.items():
            if _matches(module, layer):
                problems += [f"{module}:{line} imports {name}" for b in banned if _matches(name, b)]
        root = name.split(".")[0]
        if top and root in HEAVY and root not in WRAPPERS.get(module, set()):
            problems.append(f"{module}:{line} imports heavy {name} at module level")
        if top and module.startswith("ztauth_cli.cli") and _matches(name, "ztauth_cli"):
            allowed = ("ztauth_cli.cli", "ztauth_cli.errors", "ztauth_cli.report.formats")
            if not any(_matches(name, a) for a in allowed) and name != "ztauth_cli":
                problems.append(f"{module}:{line} imports core module {name} at module level")
    assert problems == []


def test_the_walker_sees_imports() -> None:
    tree = ast.parse("import a\nfrom .b import c\ndef f():\n    import cedarpy\n")
    assert _imports(tree, "ztauth_cli.lint.x", is_package=False) == [
        ("a", True, 1),
        ("ztauth_cli.lint.b", True, 2),
        ("cedarpy", False, 4),
    ]
