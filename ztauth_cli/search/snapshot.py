"""Access snapshots: the full who-can-do-what and who-may-act-for-whom answer for the
entities and actions a snapshot names, computed, compared and written as YAML text.

A snapshot locks in what a ledger grants. ``ztauth test`` recomputes it and fails on any
difference: access granted that the snapshot does not list (a new delegation, a new group
member, a wider policy) and access lost that it lists. Pure: the text is returned, the CLI
writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ztauth_cli.search.principal import search_principals

if TYPE_CHECKING:
    from ztauth_cli.model import AccessSnapshot
    from ztauth_cli.search.authzen import Candidates
    from ztauth_cli.search.principal import Prober

__all__ = [
    "AccessAnswer",
    "SnapshotDiff",
    "SnapshotScope",
    "compute_access",
    "diff_snapshot",
    "format_diff",
    "snapshot_yaml",
]


def _uid(type_: str, id_: str) -> str:
    return f"{type_}::{json.dumps(id_)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotScope:
    """What a snapshot covers: subject and resource types, actions (empty: all), context."""

    name: str
    description: str | None
    at: datetime
    context: Mapping[str, Any]
    subjects: tuple[str, ...]
    resources: tuple[str, ...]
    actions: tuple[str, ...]

    @classmethod
    def of(cls, snapshot: AccessSnapshot) -> SnapshotScope:
        """The scope of a loaded snapshot."""
        return cls(
            name=snapshot.name,
            description=snapshot.description,
            at=snapshot.at,
            context=snapshot.context,
            subjects=snapshot.subjects,
            resources=snapshot.resources,
            actions=snapshot.actions,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessAnswer:
    """The computed access of a scope: sorted lines, and how many evaluations it took."""

    access: tuple[str, ...]
    acting: tuple[str, ...]
    evaluations: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotDiff:
    """What differs between a snapshot and the ledger: lines added (granted, not listed) and
    removed (listed, no longer granted)."""

    name: str
    path: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    answer: AccessAnswer

    @property
    def ok(self) -> bool:
        """True when the ledger grants exactly what the snapshot lists."""
        return not self.added and not self.removed


def compute_access(prober: Prober, scope: SnapshotScope, *, candidates: Candidates) -> AccessAnswer:
    """Every (subject, action, resource) of ``scope``: evaluated as the subject acting for
    itself (``access``), and searched for the workloads that may act for it (``acting``).

    Raises nothing of its own (the engine never raises on a request).
    """
    subjects = [(t, i) for t in scope.subjects for i in candidates.entities.get(t, ())]
    resources = [(t, i) for t in scope.resources for i in candidates.entities.get(t, ())]
    actions = scope.actions or candidates.actions
    context = dict(scope.context)
    triples = [(s, a, r) for s in subjects for a in actions for r in resources]
    requests = [
        {
            "subject": {"type": s[0], "id": s[1]},
            "action": {"name": a},
            "resource": {"type": r[0], "id": r[1]},
            "context": context,
        }
        for s, a, r in triples
    ]
    decisions = prober.evaluator.evaluate_many(requests, now=scope.at) if requests else []
    access = sorted(
        f"{_uid(*s)} {a} {_uid(*r)}"
        for (s, a, r), decision in zip(triples, decisions, strict=True)
        if decision.allowed
    )
    acting: set[str] = set()
    evaluations = len(requests)
    for request in requests:
        found = search_principals(prober, request, candidates=candidates, now=scope.at)
        evaluations += found.evaluations
        for row in found.results:
            acting.add(
                f"{row.actor} acts for {_uid(*row.subject)}: {row.action} {_uid(*row.resource)}"
                f" via {row.via}"
            )
    return AccessAnswer(access=tuple(access), acting=tuple(sorted(acting)), evaluations=evaluations)


def diff_snapshot(
    prober: Prober, snapshot: AccessSnapshot, *, candidates: Candidates
) -> SnapshotDiff:
    """Recompute ``snapshot``'s scope and compare with what it lists."""
    answer = compute_access(prober, SnapshotScope.of(snapshot), candidates=candidates)
    listed = set(snapshot.access) | set(snapshot.acting)
    now = set(answer.access) | set(answer.acting)
    return SnapshotDiff(
        name=snapshot.name,
        path=snapshot.span.path,
        added=tuple(sorted(now - listed)),
        removed=tuple(sorted(listed - now)),
        answer=answer,
    )


def _quoted(text: str) -> str:
    # YAML single-quoted scalar: only the quote itself is escaped (doubled).
    return "'" + text.replace("'", "''") + "'"


def _list(name: str, items: Iterable[str]) -> str:
    values = list(items)
    if not values:
        return f"{name}: []\n"
    return f"{name}:\n" + "".join(f"  - {_quoted(v)}\n" for v in values)


def snapshot_yaml(scope: SnapshotScope, answer: AccessAnswer) -> str:
    """The snapshot document as YAML text (stable: sorted lists, fixed key order)."""
    lines = [
        "# Access snapshot: what this ledger grants, locked in. ztauth test fails when the\n",
        "# ledger grants access not listed here, or loses access listed here. Regenerate with\n",
        "# 'ztauth test --update-snapshots' after reviewing the change.\n",
        "apiVersion: ztauth/v1\n",
        "kind: AccessSnapshot\n",
        f"name: {_quoted(scope.name)}\n",
    ]
    if scope.description is not None:
        lines.append(f"description: {_quoted(scope.description)}\n")
    lines.append(f"at: {scope.at.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}\n")
    if scope.context:
        lines.append(f"context: {json.dumps(dict(scope.context), sort_keys=True)}\n")
    lines.append(f"subjects: {json.dumps(list(scope.subjects))}\n")
    lines.append(f"resources: {json.dumps(list(scope.resources))}\n")
    if scope.actions:
        lines.append(f"actions: {json.dumps(list(scope.actions))}\n")
    lines.append(_list("access", answer.access))
    lines.append(_list("acting", answer.acting))
    return "".join(lines)


def format_diff(diff: SnapshotDiff) -> Sequence[str]:
    """The lines a reviewer reads: a header, then ``+ added`` and ``- removed`` access."""
    head = (
        f"access snapshot {diff.name} ({diff.path}): {len(diff.added)} granted but not listed, "
        f"{len(diff.removed)} listed but no longer granted"
    )
    return [
        head,
        *(f"  + {line}" for line in diff.added),
        *(f"  - {line}" for line in diff.removed),
    ]
