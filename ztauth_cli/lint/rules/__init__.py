"""The lint rules, one module per family; importing this package registers them all.

ZT0xx documents and suppressions, ZT1xx references, ZT2xx Cedar, ZT3xx risk; ``model`` holds
ZT112/ZT207/ZT208 (what the trust model and the Cedar schema mean at evaluation).
"""

from __future__ import annotations

from ztauth_cli.lint.rules import cedar, documents, model, references, risk

__all__ = ["cedar", "documents", "model", "references", "risk"]
