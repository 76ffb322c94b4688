"""Start-up stays light: `--version` and `--help` never import the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT
from ztauth_cli import __version__

# starlette and uvicorn: only `ztauth serve` may import the server stack.
HEAVY = ("cedarpy", "jwt", "cryptography", "dulwich", "jsonschema", "starlette", "uvicorn")

SNIPPET = """
import sys
from ztauth_cli.cli.main import main
for argv in (
    ["--version"], ["--help"], ["policy", "--help"], ["policy", "lint", "--help"],
    ["serve", "--help"],
):
    code = main(argv)
    assert code == 0, (argv, code)
loaded = {{name.split(".")[0] for name in sys.modules}}
heavy = sorted(m for m in {heavy!r} if m in loaded)
print("HEAVY=" + ",".join(heavy))
"""


def test_module_version_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ztauth_cli", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ztauth {__version__}\n"


def test_version_and_help_import_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="
