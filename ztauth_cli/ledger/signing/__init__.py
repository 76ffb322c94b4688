"""Ledger signatures, split by job as in OPA's bundle package (STYLE.md rule 5).

``hash.py`` decides what is hashed and how, ``keys.py`` loads signing and signer keys,
``sign.py`` builds the payload and ``.signatures.json``, ``verify.py`` checks them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ztauth_cli.ledger.signing.hash import (
        HASH_ALGORITHM,
        FileDigest,
        file_digests,
        signed_paths,
    )
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

# Each name is imported from its module on first use (PEP 562): a command that only asks
# whether signatures are required (``eval`` on a ledger that requires none) never pays for
# hashing, signing and verifying.
_MODULES = {
    "HASH_ALGORITHM": "hash",
    "FileDigest": "hash",
    "file_digests": "hash",
    "signed_paths": "hash",
    "NO_PIN": "keys",
    "SIGNING_ALGORITHMS": "keys",
    "SignerPin": "keys",
    "SigningKey": "keys",
    "load_jwks_file": "keys",
    "load_pinned_signers": "keys",
    "load_signing_key": "keys",
    "signer_keys": "keys",
    "merge_signatures": "sign",
    "parse_signatures": "sign",
    "sign_ledger": "sign",
    "signature_payload": "sign",
    "write_signatures": "sign",
    "FileChange": "verify",
    "SignatureCheck": "verify",
    "VerificationResult": "verify",
    "gate_findings": "verify",
    "signature_state": "verify",
    "verify_ledger": "verify",
    "with_findings": "verify",
}

if not TYPE_CHECKING:  # mypy reads the imports above, and keeps checking every name

    def __getattr__(name: str) -> Any:
        module = _MODULES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
