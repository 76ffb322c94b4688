"""Ledger signatures, split by job as in OPA's bundle package (STYLE.md rule 5).

``hash.py`` decides what is hashed and how, ``keys.py`` loads signing and signer keys,
``sign.py`` builds the payload and ``.signatures.json``, ``verify.py`` checks them.
"""

from __future__ import annotations

from ztauth_cli.ledger.signing.hash import HASH_ALGORITHM, FileDigest, file_digests, signed_paths
from ztauth_cli.ledger.signing.keys import (
    SIGNING_ALGORITHMS,
    SigningKey,
    load_jwks_file,
    load_signing_key,
    signer_keys,
)
from ztauth_cli.ledger.signing.sign import (
    merge_signatures,
    parse_signatures,
    sign_ledger,
    signature_payload,
    write_signatures,
)
from ztauth_cli.ledger.signing.verify import (
    FileChange,
    SignatureCheck,
    VerificationResult,
    signature_state,
    verify_ledger,
)

__all__ = [
    "HASH_ALGORITHM",
    "SIGNING_ALGORITHMS",
    "FileChange",
    "FileDigest",
    "SignatureCheck",
    "SigningKey",
    "VerificationResult",
    "file_digests",
    "load_jwks_file",
    "load_signing_key",
    "merge_signatures",
    "parse_signatures",
    "sign_ledger",
    "signature_payload",
    "signature_state",
    "signed_paths",
    "signer_keys",
    "verify_ledger",
    "write_signatures",
]
