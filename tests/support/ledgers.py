"""Small ledgers for tests: manifest and issuer documents, fresh public JWKS, one file builder.

Every test module that needs a ledger on disk describes only what makes it special (its
policies, trust documents, suites) and lets these helpers write the rest the same way. Keys
are generated at test time and only their public halves are ever written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.repo import write_files

__all__ = [
    "issuer_doc",
    "jwks",
    "ledger_files",
    "manifest",
    "public_jwks",
    "write_ledger",
]


def manifest(
    ztid: str,
    *,
    name: str,
    signers: str | None = None,
    schema: str | None = None,
    settings: Mapping[str, object] | None = None,
) -> str:
    """A ``ztauth.yaml``: the ledger's ZTID and name, optional signers, schema and settings."""
    lines = [
        "apiVersion: ztauth/v1",
        "kind: Ledger",
        f"metadata: {{name: {name}}}",
        f"ledger: {ztid}",
    ]
    if signers is not None:
        lines.append(f"signers: {signers}")
    if schema is not None:
        lines.append(f"schema: {schema}")
    if settings is not None:
        values = ", ".join(f"{key}: {_yaml_scalar(value)}" for key, value in settings.items())
        lines.append(f"settings: {{{values}}}")
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def issuer_doc(
    name: str,
    *,
    jwks: str,
    algorithms: Sequence[str],
    issues: Sequence[str],
    audience: str | None = None,
) -> str:
    """An ``Issuer`` trust document (one YAML document, no ``---``)."""
    lines = [
        "apiVersion: ztauth/v1",
        "kind: Issuer",
        f"name: {name}",
        f"jwks: {jwks}",
        f"algorithms: [{', '.join(algorithms)}]",
    ]
    if audience is not None:
        lines.append(f"audience: {audience}")
    lines.append(f"issues: [{', '.join(issues)}]")
    return "\n".join(lines) + "\n"


def jwks(*keys: Mapping[str, Any], indent: int | None = 2) -> str:
    """A JWKS document holding ``keys`` (public JWKs)."""
    text = json.dumps({"keys": [dict(k) for k in keys]}, indent=indent)
    return text + "\n" if indent is not None else text


def public_jwks(alg: str = "EdDSA", *, indent: int | None = 2) -> str:
    """A JWKS holding one freshly generated public key (its private half is discarded)."""
    from ztauth_cli import jose

    return jwks(jose.generate_key(alg).public_jwk, indent=indent)


def ledger_files(
    *,
    manifest: str,
    policies: Mapping[str, str] | None = None,
    entities: Mapping[str, str | Sequence[Mapping[str, Any]]] | None = None,
    trust: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None,
    suites: Mapping[str, str] | None = None,
    files: Mapping[str, str | bytes] | None = None,
) -> dict[str, str | bytes]:
    """The files of a ledger, each part named by its file stem in the usual folder.

    ``policies={"docs": text}`` is ``policies/docs.cedar``; likewise ``entities/<n>.json``
    (a list is written as indented JSON), ``trust/<n>.yaml``, ``keys/<n>.jwks.json`` and
    ``tests/<n>.yaml``. ``files`` adds anything else by its relative path.
    """
    out: dict[str, str | bytes] = {"ztauth.yaml": manifest}
    for name, text in (policies or {}).items():
        out[f"policies/{name}.cedar"] = text
    for name, value in (entities or {}).items():
        out[f"entities/{name}.json"] = (
            value if isinstance(value, str) else json.dumps(value, indent=2)
        )
    for name, text in (trust or {}).items():
        out[f"trust/{name}.yaml"] = text
    for name, text in (keys or {}).items():
        out[f"keys/{name}.jwks.json"] = text
    for name, text in (suites or {}).items():
        out[f"tests/{name}.yaml"] = text
    out.update(files or {})
    return out


def write_ledger(root: Path, **parts: Any) -> Path:
    """Write :func:`ledger_files` ``(**parts)`` under ``root``; returns ``root``."""
    write_files(root, ledger_files(**parts))
    return root
