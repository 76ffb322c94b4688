"""``ztauth policy init``: create a ledger from a template shipped as package data.

Templates live in ``ztauth_cli/templates/<name>/``; ``{{name}}`` and ``{{ztid}}`` are
replaced, a leading ``dot-`` in a file name becomes ``.`` (so that wheels ship dotfiles).
The ledger created passes ``ztauth policy lint`` with zero findings, and its suites cover
every policy and trust document.

The pre-commit configuration is not a template file: pre-commit reads
``.pre-commit-config.yaml`` at the repository root only and matches ``files:`` against
root-relative paths, so the hooks are written for where the ledger sits in its repository
(:func:`precommit_config`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from ztauth_cli.errors import UsageError

__all__ = [
    "PRECOMMIT_CONFIG",
    "TEMPLATES",
    "next_commands",
    "precommit_config",
    "render_template",
    "run_init",
]

TEMPLATES = ("minimal", "delegation")
_DEFAULT_DOMAIN = "example.internal"
_DEFAULT_ZONE = "100000000000"
PRECOMMIT_CONFIG = ".pre-commit-config.yaml"
# What the hooks run on, relative to the ledger folder (as .pre-commit-hooks.yaml, anchored).
_LEDGER_FILES = (
    r"ztauth\.yaml|[^/]*\.cedarschema(\.json)?|policies/.*\.cedar|(trust|tests)/.*\.ya?ml"
    r"|entities/.*\.(json|ya?ml)|keys/.*\.jwks\.json"
)


def precommit_config(ledger_dir: str) -> str:
    """A ``.pre-commit-config.yaml`` for the repository root, for a ledger at ``ledger_dir``.

    ``ledger_dir`` is the ledger folder relative to the repository root, POSIX (``"."`` at the
    root). The lint and test hooks run on the whole ledger (``--ledger``, no file names): a
    hook that lints only the files it was handed can say "0 errors" about a ledger it never
    read, and ``files:`` only decides *when* they run.
    """
    prefix = "" if ledger_dir in {"", "."} else re.escape(ledger_dir.rstrip("/") + "/")
    # pre-commit splits entry with shlex; the folder is quoted for it.
    where = shlex.quote(ledger_dir or ".")
    lint_files = _yaml_str(f"^{prefix}({_LEDGER_FILES})$")
    test_files = _yaml_str(f"^{prefix}({_LEDGER_FILES}|\\.signatures\\.json)$")
    cedar_files = _yaml_str(f"^{prefix}policies/.*\\.cedar$")
    lint_entry = _yaml_str(f"ztauth policy lint --ledger {where}")
    test_entry = _yaml_str(f"ztauth test --ledger {where}")
    return (
        "# pre-commit (https://pre-commit.com) runs ztauth on every commit: `pre-commit install`.\n"
        "# These local hooks use the ztauth already installed. To pin a ztauth release instead,\n"
        "# use `repo: <ztauth repository URL>` and `rev: <tag>` with the same hook ids, each\n"
        f"# with `args: [--ledger, {where}]` and `files: ^{prefix}`.\n"
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: ztauth-lint\n"
        "        name: ztauth policy lint\n"
        f"        entry: {lint_entry}\n"
        "        language: system\n"
        f"        files: {lint_files}\n"
        "        pass_filenames: false\n"
        "        require_serial: true\n"
        "      - id: ztauth-fmt\n"
        "        name: ztauth policy fmt\n"
        "        entry: ztauth policy fmt\n"
        "        language: system\n"
        f"        files: {cedar_files}\n"
        "      - id: ztauth-test\n"
        "        name: ztauth test\n"
        f"        entry: {test_entry}\n"
        "        language: system\n"
        f"        files: {test_files}\n"
        "        pass_filenames: false\n"
        "        require_serial: true\n"
    )


def _yaml_str(text: str) -> str:
    """``text`` as a single-quoted YAML scalar: backslashes stay literal, ``'`` is doubled."""
    return "'" + text.replace("'", "''") + "'"


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, str]]:
    files: list[tuple[str, str]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name in {"__pycache__", "__init__.py"}:
            continue
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            files.extend(_walk(entry, rel + "/"))
        else:
            files.append((rel, entry.read_text(encoding="utf-8")))
    return files


def _target_name(rel: str) -> str:
    parts = rel.split("/")
    parts[-1] = "." + parts[-1][4:] if parts[-1].startswith("dot-") else parts[-1]
    return "/".join(parts)


def render_template(template: str, *, name: str, ztid: str) -> dict[str, str]:
    """The files of ``template`` (ledger-relative path -> text) with placeholders filled.

    Raises:
        UsageError: for an unknown template.
    """
    if template not in TEMPLATES:
        raise UsageError(
            f"unknown template {template!r}", hint=f"use one of: {', '.join(TEMPLATES)}"
        )
    root = resources.files("ztauth_cli.templates").joinpath(template)
    files = {
        _target_name(rel): text.replace("{{name}}", name).replace("{{ztid}}", ztid)
        for rel, text in _walk(root)
    }
    if template == "delegation":
        files["keys/idp.jwks.json"] = _issuer_jwks()
    return files


def _issuer_jwks() -> str:
    """A fresh issuer key pair's PUBLIC half; the private key is discarded, never written."""
    from ztauth_cli import jose

    pair = jose.generate_key("EdDSA")
    return json.dumps({"keys": [pair.public_jwk]}, indent=2) + "\n"


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the folder ``init`` creates may not exist yet)."""
    current = path.resolve()
    while not current.exists():
        current = current.parent
    return current


def _shown(path: Path) -> str:
    """``path`` as the user would type it from the current folder."""
    rel = os.path.relpath(path.resolve(), Path.cwd().resolve())
    return path.resolve().as_posix() if rel.startswith("..") else rel.replace(os.sep, "/")


def next_commands(directory: Path) -> str:
    """The commands to run next, runnable as printed from the current folder."""
    if directory.resolve() == Path.cwd().resolve():
        return "ztauth policy lint && ztauth test --coverage"
    where = shlex.quote(str(directory))
    return f"ztauth policy lint --ledger {where} && ztauth test --ledger {where} --coverage"


def _default_name(directory: Path) -> str:
    base = directory.resolve().name.lower()
    name = re.sub(r"[^a-z0-9]+", "-", base).strip("-")
    return name or "ledger"


def run_init(directory: Path, *, name: str | None, ztid: str | None, template: str) -> int:
    """Create a ledger in ``directory``; a Git repository too when it is not inside one.

    Raises:
        UsageError: existing ledger or files, bad name, bad ZTID, unknown template (exit 2).
        GitError: the repository cannot be created.
    """
    from ztauth_cli.ledger import git
    from ztauth_cli.model.ids import is_kebab_case, parse_ztid
    from ztauth_cli.report.output import atomic_write

    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder")
    ledger_name = name if name is not None else _default_name(directory)
    if not is_kebab_case(ledger_name):
        raise UsageError(
            f"--name {ledger_name!r} must be lower-case kebab-case (e.g. payments-ledger)"
        )
    ledger_id = ztid or f"ztauth://{_DEFAULT_DOMAIN}/{_DEFAULT_ZONE}/ledgers/{ledger_name}"
    try:
        parse_ztid(ledger_id)
    except ValueError as exc:
        raise UsageError(f"--ledger: {exc}") from exc
    if (directory / "ztauth.yaml").exists():
        raise UsageError(
            f"{directory / 'ztauth.yaml'} already exists: refusing to overwrite a ledger"
        )
    files = render_template(template, name=ledger_name, ztid=ledger_id)
    clashes = sorted(rel for rel in files if (directory / rel).exists())
    if clashes:
        raise UsageError(
            f"{directory} already holds {', '.join(clashes)}: refusing to overwrite",
            hint="choose an empty folder",
        )
    repo_root = git.find_repo_root(_nearest_existing(directory))
    # The ledger's repository: the one it is in, or the one created for it below.
    config_root = repo_root if repo_root is not None else directory.resolve()
    ledger_dir = os.path.relpath(directory.resolve(), config_root).replace(os.sep, "/")
    config_path = config_root / PRECOMMIT_CONFIG
    config = precommit_config(ledger_dir)
    for rel, text in sorted(files.items()):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text)
    write_config = not config_path.exists()
    if write_config:
        atomic_write(config_path, config)
    out = sys.stdout
    out.write(f"created ledger {ledger_name!r} ({ledger_id}) in {directory}\n")
    for rel in sorted(files):
        out.write(f"  {rel}\n")
    shown_config = _shown(config_path)
    if write_config:
        out.write(f"wrote {shown_config} (pre-commit reads it at the repository root)\n")
    else:
        # Never edit a configuration someone else wrote: show the hooks to add instead.
        out.write(
            f"{shown_config} already exists and was left alone; add these hooks to it:\n"
            + config.split("repos:\n", 1)[1]
        )
    if repo_root is None:
        committed = sorted(files) + ([PRECOMMIT_CONFIG] if write_config else [])
        sha = git.init_repo_and_commit(
            directory, committed, message=f"Create ledger {ledger_name} (ztauth policy init)"
        )
        out.write(f"initialised a Git repository with commit {sha[:12]}\n")
    sys.stderr.write(f"next: {next_commands(directory)}\n")
    return 0
