"""A minimal signed-ledger builder for the signing, version and history tests.

Keys are generated at test time (never committed); signatures are real JWS made by the
same core functions ``ztauth policy sign`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from tests.support import ledgers
from tests.support.ledgers import jwks
from ztauth_cli import jose
from ztauth_cli.ledger import load
from ztauth_cli.ledger.signing import load_signing_key, merge_signatures, sign_ledger
from ztauth_cli.ledger.signing import write_signatures as _write

ZTID = "ztauth://acme.internal/273165098782/ledgers/mini"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)

POLICY = '@id("anyone-reads")\npermit(principal, action == Action::"read", resource);\n'

SUITE = """apiVersion: ztauth/v1
kind: TestSuite
name: reading
cases:
  - name: anyone reads
    request:
      subject: {type: User, id: alice}
      action: {name: read}
      resource: {type: Document, id: d1}
    expect: {decision: %s}
"""


def manifest(*, ztid: str = ZTID, require: int = 0, signers: bool = True) -> str:
    """A valid ``ztauth.yaml``."""
    return ledgers.manifest(
        ztid,
        name="mini",
        signers="keys/signers.jwks.json" if signers else None,
        settings={"require_signatures": require},
    )


def minimal_ledger(
    signers: Sequence[jose.KeyPair] = (),
    *,
    require: int = 0,
    ztid: str = ZTID,
    suite_expects: str = "allow",
) -> dict[str, str | bytes]:
    """The files of a tiny ledger: manifest, one policy, signers JWKS, one passing suite."""
    return {
        "ztauth.yaml": manifest(ztid=ztid, require=require),
        "policies/read.cedar": POLICY,
        "keys/signers.jwks.json": jwks(*(k.public_jwk for k in signers)),
        "tests/reading.yaml": SUITE % suite_expects,
    }


def sign(root: Path, key: jose.KeyPair, *, now: datetime = NOW) -> str:
    """Sign the ledger at ``root`` with ``key`` and update ``.signatures.json``; returns the JWS."""
    ledger = load(root)
    signing_key = load_signing_key(key.private_pem, path="key.pem", kid=key.kid, alg=key.alg)
    token = sign_ledger(ledger, signing_key, now=now)
    _write(root, merge_signatures(ledger.signatures_text, token, kid=signing_key.kid))
    return token


def write_signatures(root: Path, *tokens: str) -> None:
    """Replace ``.signatures.json`` with exactly ``tokens``."""
    (root / ".signatures.json").write_text(json.dumps({"signatures": list(tokens)}) + "\n")
