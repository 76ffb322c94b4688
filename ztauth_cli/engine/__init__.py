"""The ZTAuth* decision engine: pure, clock injected, fail closed.

It never imports the ledger loader, the CLI, the reporters, typer or rich (STYLE.md rule 1).
"""

from __future__ import annotations

from ztauth_cli.engine.pipeline import USER_MESSAGES, Evaluator
from ztauth_cli.engine.response import (
    ContextLevel,
    authzen_response,
    decision_json,
    request_id_of,
    response_line,
)

__all__ = [
    "USER_MESSAGES",
    "ContextLevel",
    "Evaluator",
    "authzen_response",
    "decision_json",
    "request_id_of",
    "response_line",
]
