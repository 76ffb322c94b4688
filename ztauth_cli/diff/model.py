"""What a ledger diff reports: structural changes, trust changes and decision flips.

Every value here is frozen and sorted by the producer, so that reporters only render.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ztauth_cli.model.span import Span

__all__ = [
    "BumpDecision",
    "Change",
    "DecisionFlip",
    "DecisionSide",
    "DiffReport",
    "Impact",
    "PolicyChange",
    "RevisionInfo",
]


@enum.unique
class Impact(str, enum.Enum):
    """The security meaning of a change; each value is the string used in output."""

    WIDENING = "widening"  # someone may now do something they could not do before
    NARROWING = "narrowing"  # someone may lose access
    NEUTRAL = "neutral"  # no access change can be derived; a reviewer should look


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One change of the trust model, entities, schema or manifest settings.

    ``subject`` names what changed (``group/ai-assistants``, ``elevation/x``,
    ``entity/User::"alice"``, ``manifest``...); ``field`` the attribute inside it, if any.
    """

    area: str
    subject: str
    kind: str  # added | removed | changed
    field: str | None
    impact: Impact
    summary: str
    before: str | None = None
    after: str | None = None
    span: Span | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyChange:
    """A Cedar policy added, removed or changed, compared by meaning (Cedar's JSON form).

    ``aspects`` lists what changed: ``effect``, ``principal``, ``action``, ``resource``,
    ``conditions``.
    """

    id: str
    kind: str  # added | removed | changed
    impact: Impact
    summary: str
    aspects: tuple[str, ...]
    before: str | None
    after: str | None
    span: Span | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionSide:
    """One side (base or target) of a replayed decision."""

    allowed: bool
    code: str
    message: str
    via: str | None
    policies: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionFlip:
    """A request whose decision differs between base and target.

    allow -> deny is ``narrowing`` (callers lose access); deny -> allow is ``widening``.
    """

    source: str  # test | request
    name: str
    request: str
    impact: Impact
    base: DecisionSide
    target: DecisionSide
    span: Span | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionInfo:
    """Which ledger a side of the diff is: the revision asked for and the commit read."""

    label: str  # the revision as given, or "working tree"
    commit: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffReport:
    """The whole diff between two ledgers."""

    base: RevisionInfo
    target: RevisionInfo
    policies: tuple[PolicyChange, ...]
    changes: tuple[Change, ...]
    flips: tuple[DecisionFlip, ...]
    evaluated: int
    # Test cases that could not be replayed (an unresolvable ``$token``), with the reason.
    skipped: tuple[str, ...] = ()

    @property
    def widening(self) -> bool:
        """True when any decision, policy or trust change widens access."""
        return any(impact is Impact.WIDENING for impact in self._impacts())

    def count(self, impact: Impact) -> int:
        """How many structural changes and flips have ``impact``."""
        return sum(1 for item in self._impacts() if item is impact)

    def _impacts(self) -> tuple[Impact, ...]:
        return tuple(
            item.impact for group in (self.policies, self.changes, self.flips) for item in group
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BumpDecision:
    """The semantic-version part a change calls for, and why.

    ``part`` is ``major`` (some caller loses access), ``minor`` (new permissions) or ``patch``.
    """

    part: str
    reasons: tuple[str, ...]
