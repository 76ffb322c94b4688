"""``ztauth policy init``: create a ledger from a template shipped as package data.

Templates live in ``ztauth_cli/templates/<name>/``; ``{{name}}`` and ``{{ztid}}`` are
replaced, a leading ``dot-`` in a file name becomes ``.`` (so that wheels ship dotfiles).
The ledger created passes ``ztauth policy lint`` with zero findings.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from ztauth_cli.errors import UsageError

__all__ = ["TEMPLATES", "render_template", "run_init"]

TEMPLATES = ("minimal", "delegation")
_DEFAULT_DOMAIN = "example.internal"
_DEFAULT_ZONE = "100000000000"


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
    in_repo = git.find_repo_root(directory if directory.exists() else directory.parent)
    for rel, text in sorted(files.items()):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text)
    out = sys.stdout
    out.write(f"created ledger {ledger_name!r} ({ledger_id}) in {directory}\n")
    for rel in sorted(files):
        out.write(f"  {rel}\n")
    if in_repo is None:
        sha = git.init_repo_and_commit(
            directory, sorted(files), message=f"Create ledger {ledger_name} (ztauth policy init)"
        )
        out.write(f"initialised a Git repository with commit {sha[:12]}\n")
    sys.stderr.write(
        "next: ztauth policy lint"
        + (f" --ledger {directory}" if directory != Path(".") else "")
        + " && ztauth test\n"
    )
    return 0
