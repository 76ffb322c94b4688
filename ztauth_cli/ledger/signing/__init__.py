"""Ledger signatures, split by job as in OPA's bundle package (STYLE.md rule 5).

``hash.py`` decides what is hashed and how, ``keys.py`` loads signing and signer keys,
``sign.py`` builds the payload and ``.signatures.json``, ``verify.py`` checks them.
"""

from __future__ import annotations

from ztauth_cli.ledger.signing.hash import HASH_ALGORITHM, FileDigest, file_digests, signed_paths
from ztauth_cli.ledger.signing.keys import (
    NO_PIN,
    SIGNING_ALGORITHMS,
    SignerPin,
    SigningKey,
    load_jwks_file,
    load_pinned_signers,
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
    gate_findings,
    signature_state,
    verify_ledger,
    with_findings,
)

__all__ = [
    "HASH_ALGORITHM",
    "NO_PIN",
    "SIGNING_ALGORITHMS",
    "FileChange",
    "FileDigest",
    "SignatureCheck",
    "SignerPin",
    "SigningKey",
    "VerificationResult",
    "file_digests",
    "gate_findings",
    "load_jwks_file",
    "load_pinned_signers",
    "load_signing_key",
    "merge_signatures",
    "parse_signatures",
    "sign_ledger",
    "signature_payload",
    "signature_state",
    "signed_paths",
    "signer_keys",
    "verify_ledger",
    "with_findings",
    "write_signatures",
]
