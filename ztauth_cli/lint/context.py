"""What every lint rule looks at: the loaded ledger, the parsed Cedar policies and the clock."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ztauth_cli.engine.cedar import CedarPolicy
    from ztauth_cli.errors import DocumentError
    from ztauth_cli.model.ledger import Ledger

__all__ = ["LintContext"]


class LintContext:
    """The ledger under lint plus values computed once and shared by rules (Cedar parsing)."""

    def __init__(self, ledger: Ledger, *, now: datetime) -> None:
        self.ledger = ledger
        self.now = now

    @functools.cached_property
    def _parsed(self) -> tuple[tuple[CedarPolicy, ...], tuple[DocumentError, ...]]:
        from ztauth_cli.engine.cedar import parse_policy_files

        return parse_policy_files(self.ledger.policy_files)

    @property
    def policies(self) -> tuple[CedarPolicy, ...]:
        """Every policy that parsed, in file and line order."""
        return self._parsed[0]

    @property
    def cedar_errors(self) -> tuple[DocumentError, ...]:
        """Cedar syntax errors, one per statement Cedar rejected."""
        return self._parsed[1]

    @functools.cached_property
    def policy_json(self) -> dict[int, dict[str, Any]]:
        """The Cedar JSON (EST) form of each parsed policy, by its index in :attr:`policies`."""
        from ztauth_cli.engine.cedar import policy_json
        from ztauth_cli.errors import DocumentError

        result: dict[int, dict[str, Any]] = {}
        for index, policy in enumerate(self.policies):
            try:
                result[index] = policy_json(policy)
            except DocumentError:
                continue
        return result

    def policies_with_effect(self, effect: str) -> Iterator[tuple[CedarPolicy, dict[str, Any]]]:
        """Each parsed ``permit`` (or ``forbid``) policy with its Cedar JSON form, in order."""
        for index, policy in enumerate(self.policies):
            est = self.policy_json.get(index)
            if est is not None and est.get("effect") == effect:
                yield policy, est

    @functools.cached_property
    def schema_problem(self) -> DocumentError | None:
        """Why the ledger's Cedar schema does not parse; ``None`` when it parses or is absent."""
        from ztauth_cli.engine.cedar import check_schema

        ledger = self.ledger
        if ledger.schema_text is None or ledger.schema_path is None:
            return None
        return check_schema(ledger.schema_text, schema_path=ledger.schema_path)
