"""Produce ledger signatures: the payload, the JWS, and the ``.signatures.json`` update.

``.signatures.json`` is ``{"signatures": ["<compact JWS>", ...]}`` (modelled on OPA's bundle
``.signatures.json``). Each JWS carries, in its payload, the ledger's ZTID, the digest of every
signed file (``hash.py`` decides which and how), ``iat`` and ``iss``; in its header ``alg`` and
``kid``. Unlike OPA, several signatures coexist: one per key, for key rotation and quorums.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ztauth_cli import jose
from ztauth_cli.errors import DocumentError
from ztauth_cli.ledger.load import SIGNATURES
from ztauth_cli.ledger.signing.hash import file_digests
from ztauth_cli.ledger.signing.keys import SigningKey
from ztauth_cli.model import Ledger, Span

__all__ = [
    "SIGNATURE_TYPE",
    "merge_signatures",
    "parse_signatures",
    "sign_ledger",
    "signature_payload",
    "write_signatures",
]

# The JWS "typ" of a ledger signature, so that it is never mistaken for an access token.
SIGNATURE_TYPE = "ztauth-ledger-signature+jwt"


def signature_payload(ledger: Ledger, *, issuer: str, now: datetime) -> dict[str, Any]:
    """The claims a signature covers: ``ledger``, sorted ``files``, ``iat`` and ``iss``.

    Raises:
        DocumentError: when the ledger has no readable manifest (nothing to name).
    """
    if ledger.manifest is None:
        raise DocumentError(
            "cannot sign a ledger without a valid manifest", span=Span(path="ztauth.yaml")
        )
    return {
        "ledger": ledger.manifest.ledger,
        "files": [d.to_json() for d in file_digests(ledger)],
        "iat": int(now.timestamp()),
        "iss": issuer,
    }


def sign_ledger(
    ledger: Ledger, key: SigningKey, *, now: datetime, issuer: str | None = None
) -> str:
    """Sign ``ledger`` with ``key``; returns the compact JWS. ``issuer`` defaults to the kid.

    Raises:
        DocumentError: no manifest. TokenError: the key cannot sign with its algorithm.
    """
    payload = signature_payload(ledger, issuer=issuer or key.kid, now=now)
    return jose.sign(payload, key.handle, alg=key.alg, kid=key.kid, headers={"typ": SIGNATURE_TYPE})


def parse_signatures(text: str | None) -> tuple[str, ...]:
    """The compact JWS strings of a ``.signatures.json`` text (``None``: no file, no signature).

    Raises:
        DocumentError: invalid JSON or not ``{"signatures": [<string>, ...]}``.
    """
    if text is None:
        return ()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"invalid JSON: {exc.msg}",
            span=Span(path=SIGNATURES, line=exc.lineno, column=exc.colno),
        ) from exc
    items = data.get("signatures") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise DocumentError(
            'expected {"signatures": ["<compact JWS>", ...]}', span=Span(path=SIGNATURES)
        )
    return tuple(items)


def merge_signatures(existing: str | None, token: str, *, kid: str) -> str:
    """The new ``.signatures.json`` text: ``token`` replaces the signature by the same ``kid``
    (re-signing updates one's own signature) and keeps every other, in order.

    A malformed existing entry is kept as is: it is not ours to drop, and verification will
    name it.

    Raises:
        DocumentError: the existing file is not a valid ``.signatures.json``.
    """
    kept: list[str] = []
    for item in parse_signatures(existing):
        try:
            header, _ = jose.decode_unverified(item)
        except jose.TokenError:
            kept.append(item)
            continue
        if header.get("kid") != kid:
            kept.append(item)
    kept.append(token)
    return json.dumps({"signatures": kept}, indent=2) + "\n"


def write_signatures(root: Path, text: str) -> Path:
    """Write ``.signatures.json`` in ``root`` atomically (temp file + rename); returns its path.

    Raises:
        OSError: when the folder is not writable; the old file is left untouched.
    """
    from ztauth_cli.fileio import atomic_write_text

    return atomic_write_text(root / SIGNATURES, text, mode=0o644)
