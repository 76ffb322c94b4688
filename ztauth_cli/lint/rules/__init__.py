"""The lint rules, one module per family; importing this package registers them all.

ZT0xx documents and suppressions, ZT1xx references, ZT2xx Cedar, ZT3xx risk.
"""

from __future__ import annotations

from ztauth_cli.lint.rules import cedar, documents, references, risk

__all__ = ["cedar", "documents", "references", "risk"]
