"""Coverage of a test run: which policies and trust documents at least one case exercised.

An item is exercised when it was on some case's decision path: a determining policy
(``Decision.policies``), the elevation or delegation used (``Decision.via``), or anything the
engine reports in ``Decision.touched`` (``group/<name>``, ``trust_level/<name>``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ztauth_cli.model import Decision, Ledger

__all__ = [
    "CATEGORIES",
    "CategoryCoverage",
    "Coverage",
    "compute_coverage",
    "coverage_universe",
    "exercised_items",
]

# (touched prefix, JSON/report name), in report order.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("policy", "policies"),
    ("group", "groups"),
    ("trust_level", "trust_levels"),
    ("elevation", "elevations"),
    ("delegation", "delegations"),
)


def _percent(exercised: int, total: int) -> float:
    # Nothing to cover is fully covered: an empty category never fails a threshold.
    return 100.0 if total == 0 else round(100.0 * exercised / total, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryCoverage:
    """Coverage of one category (policies, groups, ...): names sorted."""

    name: str
    exercised: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def total(self) -> int:
        """Number of items in the ledger."""
        return len(self.exercised) + len(self.missed)

    @property
    def percent(self) -> float:
        """Exercised items as a percentage (100.0 when the category is empty)."""
        return _percent(len(self.exercised), self.total)


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Coverage per category and overall."""

    categories: tuple[CategoryCoverage, ...]
    threshold: float | None = None

    @property
    def total(self) -> int:
        """Number of items in every category."""
        return sum(c.total for c in self.categories)

    @property
    def exercised(self) -> int:
        """Number of exercised items in every category."""
        return sum(len(c.exercised) for c in self.categories)

    @property
    def percent(self) -> float:
        """Overall coverage: exercised items of all categories over all items."""
        return _percent(self.exercised, self.total)

    @property
    def below_threshold(self) -> bool:
        """True when a threshold is set and the overall coverage is below it."""
        return self.threshold is not None and self.percent < self.threshold

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (``schemas/coverage.schema.json``)."""
        return {
            "percent": self.percent,
            "exercised": self.exercised,
            "total": self.total,
            "threshold": self.threshold,
            "passed": not self.below_threshold,
            "categories": {
                c.name: {
                    "percent": c.percent,
                    "exercised": list(c.exercised),
                    "missed": list(c.missed),
                    "total": c.total,
                }
                for c in self.categories
            },
        }


def coverage_universe(ledger: Ledger, *, policy_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Everything a run could exercise, by category prefix; names sorted and unique."""
    return {
        "policy": tuple(sorted(set(policy_ids))),
        "group": tuple(sorted({g.name for g in ledger.groups})),
        "trust_level": tuple(sorted({t.name for t in ledger.trust_levels})),
        "elevation": tuple(sorted({e.id for e in ledger.elevations})),
        "delegation": tuple(sorted({d.id for d in ledger.delegations})),
    }


def exercised_items(decisions: Iterable[Decision]) -> frozenset[str]:
    """Every ``category/name`` on the decision path of at least one decision."""
    items: set[str] = set()
    for decision in decisions:
        items.update(decision.touched)
        items.update(f"policy/{p}" for p in decision.policies)
        if decision.via is not None:
            items.add(decision.via)
    return frozenset(items)


def compute_coverage(
    universe: dict[str, tuple[str, ...]],
    decisions: Iterable[Decision],
    *,
    threshold: float | None = None,
) -> Coverage:
    """Coverage of ``universe`` (see :func:`coverage_universe`) by ``decisions``."""
    seen = exercised_items(decisions)
    categories = []
    for prefix, name in CATEGORIES:
        items = universe.get(prefix, ())
        categories.append(
            CategoryCoverage(
                name=name,
                exercised=tuple(i for i in items if f"{prefix}/{i}" in seen),
                missed=tuple(i for i in items if f"{prefix}/{i}" not in seen),
            )
        )
    return Coverage(categories=tuple(categories), threshold=threshold)
