"""Start-up stays light: `--version` and `--help` never import the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.support.repo import write_files
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


EVAL_SNIPPET = """
import sys
from ztauth_cli.cli.main import main
code = main(["eval", "--ledger", sys.argv[1], "--format", "json", sys.argv[2]])
loaded = {{name.split(".")[0] for name in sys.modules}}
print("EXIT=" + str(code))
print("LOADED=" + ",".join(sorted(m for m in {heavy!r} if m in loaded)))
print("MODULES=" + ",".join(sorted(m for m in sys.modules if m.startswith("ztauth_cli."))))
"""

LEDGER = {
    "ztauth.yaml": (
        "apiVersion: ztauth/v1\nkind: Ledger\nmetadata: {name: plain}\n"
        "ledger: ztauth://acme.internal/273165098782/ledgers/plain\n"
    ),
    "policies/read.cedar": '@id("owners-read")\npermit (principal, action, resource)\n'
    "when { resource.owner == principal };\n",
    "entities/docs.json": json.dumps(
        [
            {"uid": {"type": "User", "id": "alice"}, "attrs": {}, "parents": []},
            {
                "uid": {"type": "Document", "id": "q3"},
                "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}},
                "parents": [],
            },
        ]
    ),
    "trust/levels.yaml": "apiVersion: ztauth/v1\nkind: TrustLevel\nname: basic\nrank: 1\n",
}


ISSUER = """apiVersion: ztauth/v1
kind: Issuer
name: https://idp.acme.internal
jwks: keys/idp.jwks.json
algorithms: [ES256]
issues: [consent]
"""


def _plain_eval_imports(tmp_path: Path, files: dict[str, str]) -> list[str]:
    """``EXIT=`` and ``LOADED=`` (the heavy libraries imported) of a plain eval."""
    return _plain_eval(tmp_path, files)[:2]


def _plain_eval(tmp_path: Path, files: dict[str, str]) -> list[str]:
    ledger = tmp_path / "ledger"
    write_files(ledger, files)
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "subject": {"type": "User", "id": "alice"},
                "action": {"name": "read"},
                "resource": {"type": "Document", "id": "q3"},
            }
        )
    )
    result = subprocess.run(
        [sys.executable, "-c", EVAL_SNIPPET.format(heavy=HEAVY), str(ledger), str(request)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert json.loads("\n".join(lines[:-3]))["decision"] is True
    return lines[-3:]


def test_plain_eval_imports_cedar_but_no_token_git_or_schema_library(tmp_path: Path) -> None:
    """A plain request on a ledger outside Git, without issuers, needs Cedar only: no jwt,
    cryptography, dulwich or jsonschema (a valid ledger is validated without jsonschema)."""
    assert _plain_eval_imports(tmp_path, LEDGER) == ["EXIT=0", "LOADED=cedarpy"]


def test_plain_eval_on_a_ledger_with_issuers_checks_keys_without_pyjwt(tmp_path: Path) -> None:
    """The issuers' keys are still checked when the ledger loads (cryptography), but a
    request without tokens never imports pyjwt."""
    from ztauth_cli import jose

    key = jose.generate_key("ES256", kid="idp-1").public_jwk
    files = {
        **LEDGER,
        "trust/issuers.yaml": ISSUER,
        "keys/idp.jwks.json": json.dumps({"keys": [key]}),
    }
    assert _plain_eval_imports(tmp_path, files) == ["EXIT=0", "LOADED=cedarpy,cryptography"]


def test_eval_from_a_source_checkout_finds_the_schemas_folder() -> None:
    # In the project root, python -m takes ztauth_cli from the source tree, where schemas/ is
    # the top-level folder, not the package ztauth_cli.schemas of an installed wheel.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ztauth_cli",
            "eval",
            "--ledger",
            "sample-ledger",
            "-f",
            "text",
            "sample-ledger/requests/alice-reads-q3-report.json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith('ALLOW User::"alice" read Document::"q3-report"')


# What a plain eval never needs: the other commands, the signature code of a ledger that
# requires no signature, the version lookup outside Git, and the models of tests/.
NOT_FOR_EVAL = (
    "ztauth_cli.cli.audit",
    "ztauth_cli.cli.keys",
    "ztauth_cli.cli.policy",
    "ztauth_cli.cli.policy_diff",
    "ztauth_cli.cli.policy_graph",
    "ztauth_cli.cli.policy_lifecycle",
    "ztauth_cli.cli.search",
    "ztauth_cli.cli.serve",
    "ztauth_cli.cli.test_cmd",
    "ztauth_cli.cli.token",
    "ztauth_cli.ledger.git",
    "ztauth_cli.ledger.signing.hash",
    "ztauth_cli.ledger.signing.sign",
    "ztauth_cli.ledger.signing.verify",
    "ztauth_cli.ledger.versions",
    "ztauth_cli.model.suites",
)


def test_plain_eval_imports_its_own_command_only(tmp_path: Path) -> None:
    """Only the invoked command's module is imported; a ledger outside Git that requires no
    signature costs no signature code and no version lookup; suites are never read."""
    *_, modules = _plain_eval(tmp_path, LEDGER)
    loaded = set(modules.removeprefix("MODULES=").split(","))
    assert "ztauth_cli.cli.eval_cmd" in loaded
    assert sorted(loaded.intersection(NOT_FOR_EVAL)) == []
