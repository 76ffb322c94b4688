"""STYLE.md rule 1, enforced on every module's imports (walked with ``ast``).

* engine never imports ledger, cli, report, lint, typer or rich;
* model imports nothing of ztauth above it (only model, errors);
* diff and testing are core: they import only what ``CORE_ALLOWED`` lists, never cli, report,
  lint, typer, click or rich;
* report never imports cli, the engine, the ledger package, lint or jose, and of diff/testing
  only their result models;
* each heavy library is imported by its single wrapper module only, at any level (a lazy import
  elsewhere would still bypass the wrapper); tests may import them freely.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ztauth_cli"
HEAVY = {"cedarpy", "jwt", "cryptography", "dulwich", "jsonschema"}
# The only module allowed to import each heavy library.
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
    "ztauth_cli.report": (
        "ztauth_cli.cli",
        "ztauth_cli.engine",
        "ztauth_cli.ledger",
        "ztauth_cli.lint",
        "ztauth_cli.jose",
        "typer",
    ),
    "ztauth_cli.lint": ("ztauth_cli.cli",),
    # The HTTP shell sits beside cli/, over the same core: it never reaches into the CLI.
    "ztauth_cli.server": ("ztauth_cli.cli", "ztauth_cli.report", "typer", "click", "rich"),
    "ztauth_cli.ledger": ("ztauth_cli.cli", "ztauth_cli.report"),
    # The collector pause is a leaf: the standard library only.
    "ztauth_cli.collector": (
        *(f"ztauth_cli.{p}" for p in ("cli", "report", "ledger", "engine", "lint", "model")),
        "ztauth_cli.errors",
        "ztauth_cli.jose",
        "typer",
        "rich",
        "click",
    ),
    # The one atomic-write helper is a leaf: the standard library and errors only.
    "ztauth_cli.fileio": (
        *(f"ztauth_cli.{p}" for p in ("cli", "report", "ledger", "engine", "lint", "model")),
        "ztauth_cli.jose",
        "typer",
        "rich",
        "click",
    ),
}

# diff and testing are core packages beside engine and lint: these are the only parts of
# ztauth_cli they import (``ztauth_cli.__version__`` is the version string). Neither needs
# the loader (``ledger.load``'s ``load``): callers hand them ``Ledger`` values. What they do
# take from the ledger package, and why:
# * diff.replay: ``ledger.load.parse_timestamp``, the one RFC 3339 parser, for the time of a
#   replayed audit-log line;
# * testing.discover: ``ledger.load.build_suite``/``MAX_FILE_BYTES``, ``ledger.yaml`` and
#   ``ledger.schemas``, to read suite files named on the command line (outside the ledger)
#   exactly as the loader reads the ledger's own suites (and ``fileio.read_limited``, the one
#   bounded reader that refuses a FIFO instead of hanging on it).
CORE_ALLOWED = {
    "ztauth_cli.diff": (
        "ztauth_cli.__version__",
        "ztauth_cli.diff",
        "ztauth_cli.model",
        "ztauth_cli.errors",
        "ztauth_cli.engine",
        "ztauth_cli.testing",
        "ztauth_cli.jose",
        "ztauth_cli.ledger.load",
    ),
    # search: the AuthZEN and principal searches over the engine; the principal search mints
    # its probe tokens with testing.tokens (the one minting code, shared with ztauth test).
    # graph: the trust model as a graph, from model objects only.
    "ztauth_cli.graph": ("ztauth_cli.graph", "ztauth_cli.model"),
    "ztauth_cli.search": (
        "ztauth_cli.search",
        "ztauth_cli.model",
        "ztauth_cli.errors",
        "ztauth_cli.engine",
        "ztauth_cli.testing.tokens",
    ),
    "ztauth_cli.testing": (
        "ztauth_cli.__version__",
        "ztauth_cli.testing",
        "ztauth_cli.model",
        "ztauth_cli.errors",
        "ztauth_cli.engine",
        "ztauth_cli.jose",
        "ztauth_cli.ledger.load",
        "ztauth_cli.ledger.yaml",
        "ztauth_cli.ledger.schemas",
        "ztauth_cli.fileio",
    ),
}
CORE_BANNED = ("typer", "click", "rich")
# What the reporters may take from diff and testing: their result models.
REPORT_MAY_READ = (
    "ztauth_cli.diff.model",
    "ztauth_cli.testing.runner",
    "ztauth_cli.testing.coverage",
)


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
                if name == "ztauth_cli":
                    # ``from ztauth_cli import jose`` imports the module ztauth_cli.jose.
                    found.extend((f"{name}.{a.name}", top, child.lineno) for a in child.names)
                else:
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
        if root in HEAVY and root not in WRAPPERS.get(module, set()):
            problems.append(f"{module}:{line} imports heavy {name} outside its wrapper module")
        problems += _core_problems(module, name, line)
        problems += _report_problems(module, name, line)
        if top and module.startswith("ztauth_cli.cli") and _matches(name, "ztauth_cli"):
            allowed = (
                "ztauth_cli.cli",
                "ztauth_cli.errors",
                "ztauth_cli.report.formats",
                "ztauth_cli.__version__",
            )
            if not any(_matches(name, a) for a in allowed):
                problems.append(f"{module}:{line} imports core module {name} at module level")
    assert problems == []


def _core_problems(module: str, name: str, line: int) -> list[str]:
    for package, allowed in CORE_ALLOWED.items():
        if not _matches(module, package):
            continue
        if any(_matches(name, banned) for banned in CORE_BANNED):
            return [f"{module}:{line} imports {name}"]
        if _matches(name, "ztauth_cli") and not any(_matches(name, a) for a in allowed):
            return [f"{module}:{line} imports {name} (not allowed in {package})"]
    return []


def _report_problems(module: str, name: str, line: int) -> list[str]:
    if not _matches(module, "ztauth_cli.report"):
        return []
    if not (_matches(name, "ztauth_cli.diff") or _matches(name, "ztauth_cli.testing")):
        return []
    if any(_matches(name, allowed) for allowed in REPORT_MAY_READ):
        return []
    return [f"{module}:{line} imports {name} (reporters read only result models)"]


@pytest.mark.parametrize(
    ("module", "name", "banned"),
    [
        ("ztauth_cli.diff.compare", "ztauth_cli.cli.main", True),
        ("ztauth_cli.diff.compare", "ztauth_cli.report.diff_json", True),
        ("ztauth_cli.diff.compare", "ztauth_cli.ledger.git", True),
        ("ztauth_cli.testing.runner", "rich.markup", True),
        ("ztauth_cli.testing.runner", "ztauth_cli.report.console", True),
        ("ztauth_cli.testing.runner", "typer", True),
        ("ztauth_cli.testing.runner", "ztauth_cli.lint", True),
        ("ztauth_cli.testing.runner", "ztauth_cli.audit", True),
        ("ztauth_cli.diff.replay", "ztauth_cli.ledger.load", False),
        ("ztauth_cli.diff.replay", "ztauth_cli.testing.tokens", False),
        ("ztauth_cli.testing.discover", "ztauth_cli.ledger.yaml", False),
        ("ztauth_cli.testing.runner", "ztauth_cli.__version__", False),
        ("ztauth_cli.testing.runner", "ztauth_cli.cli", True),
        ("ztauth_cli.testing.tokens", "ztauth_cli.jose", False),
        ("ztauth_cli.diff.compare", "json", False),
        ("ztauth_cli.engine.pipeline", "ztauth_cli.cli", False),  # another rule's business
    ],
)
def test_core_packages_import_only_what_they_may(module: str, name: str, banned: bool) -> None:
    assert bool(_core_problems(module, name, 1)) is banned


@pytest.mark.parametrize(
    ("name", "banned"),
    [
        ("ztauth_cli.diff.model", False),
        ("ztauth_cli.testing.runner", False),
        ("ztauth_cli.diff.compare", True),
        ("ztauth_cli.testing.tokens", True),
        ("ztauth_cli.model.findings", False),
    ],
)
def test_reporters_read_only_result_models(name: str, banned: bool) -> None:
    assert bool(_report_problems("ztauth_cli.report.diff_json", name, 1)) is banned


def test_every_heavy_library_has_one_existing_wrapper() -> None:
    assert {lib for libs in WRAPPERS.values() for lib in libs} == HEAVY
    for module in WRAPPERS:
        assert (PACKAGE.parent / (module.replace(".", "/") + ".py")).is_file(), module


def test_the_walker_sees_imports() -> None:
    tree = ast.parse("import a\nfrom .b import c\ndef f():\n    import cedarpy\n")
    assert _imports(tree, "ztauth_cli.lint.x", is_package=False) == [
        ("a", True, 1),
        ("ztauth_cli.lint.b", True, 2),
        ("cedarpy", False, 4),
    ]
    tree = ast.parse("from ztauth_cli import jose, __version__\n")
    assert _imports(tree, "ztauth_cli.diff.x", is_package=False) == [
        ("ztauth_cli.jose", True, 1),
        ("ztauth_cli.__version__", True, 1),
    ]
