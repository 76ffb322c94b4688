"""Requests to the sample ledger that the security tests share (decided at ``AT``)."""

from __future__ import annotations

from typing import Any

AT = "2026-06-01T12:00:00Z"
# Allowed: alice owns q3-report, an internal document of her department.
ALICE_READS: dict[str, Any] = {
    "subject": {"type": "User", "id": "alice"},
    "action": {"name": "read"},
    "resource": {"type": "Document", "id": "q3-report"},
    "context": {"channel": "web"},
}
# Denied by the policies (policy_denied): dave is in another department.
DAVE_READS: dict[str, Any] = {**ALICE_READS, "subject": {"type": "User", "id": "dave"}}
