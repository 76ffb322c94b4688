"""Build the trust graph of a ledger (pure: model objects in, a sorted graph out).

Nodes have stable ids (``group/ai-assistants``, ``workload/spiffe://…``, ``delegation/x``,
``subjects/User``, ``level/attested``, ``issuer/https://…``); edges carry a kind and a label.
A reviewer reads it left to right: workloads -> groups -> grants -> the subjects they act for;
groups -> the trust level they need -> the issuer that attests it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ztauth_cli.model.globs import glob_match, has_wildcard, matches_any, revoked_by

if TYPE_CHECKING:
    from ztauth_cli.model import Ledger
    from ztauth_cli.model.documents import ActorRef, EntitySelector

__all__ = ["CONSTRAINT_KINDS", "Edge", "EdgeChange", "Graph", "Node", "diff_graphs", "trust_graph"]

# Edges that restrict rather than grant: removing one widens access.
CONSTRAINT_KINDS = frozenset({"consent_from", "needs_level", "revoked", "attested_by"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One vertex: ``kind`` is workload, group, level, elevation, delegation, subjects, issuer."""

    id: str
    kind: str
    label: str

    def to_json(self) -> dict[str, str]:
        """``{"id", "kind", "label"}``."""
        return {"id": self.id, "kind": self.kind, "label": self.label}


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One arrow. ``kind``: member, revoked, holds, attested_by, actor, acts_for, delegates,
    consent_from, needs_level. ``label`` says what it carries (actions, depth, max age).
    """

    source: str
    target: str
    kind: str
    label: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the edge across revisions: ends and kind (not the label)."""
        return (self.source, self.target, self.kind)

    def to_json(self) -> dict[str, str]:
        """``{"from", "to", "kind", "label"}``."""
        return {"from": self.source, "to": self.target, "kind": self.kind, "label": self.label}


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """Nodes and edges, sorted by id and by (source, target, kind)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def to_json(self) -> dict[str, object]:
        """The JSON document (``schemas/graph.schema.json``)."""
        return {
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeChange:
    """A trust edge added, removed or widened between two revisions."""

    change: str  # added | removed | widened | narrowed | changed
    edge: Edge
    before: str | None = None  # the old label of a widened or changed edge

    @property
    def widens(self) -> bool:
        """True when the change can grant more: a new path or a wider grant, or a constraint
        (consent, minimum level, revocation, attestation) taken away."""
        if self.change == "widened":
            return True
        constraint = self.edge.kind in CONSTRAINT_KINDS
        return (self.change == "added" and not constraint) or (
            self.change == "removed" and constraint
        )


def _selector_id(selector: EntitySelector | None) -> tuple[str, str]:
    if selector is None or (selector.type is None and not selector.ids):
        return "subjects/*", "any entity"
    type_ = selector.type or "*"
    if not selector.ids:
        return f"subjects/{type_}", f"any {type_}"
    ids = ", ".join(sorted(selector.ids))
    return f"subjects/{type_}/{ids}", f"{type_}: {ids}"


def _actor_id(ref: ActorRef) -> str:
    return f"group/{ref.group}" if ref.group is not None else f"workload/{ref.workload}"


def _seconds(value: float) -> str:
    total = int(value)
    if total % 3600 == 0 and total:
        return f"{total // 3600}h"
    if total % 60 == 0 and total:
        return f"{total // 60}m"
    return f"{total}s"


def trust_graph(
    ledger: Ledger, *, subject: tuple[str, str] | None = None, workload: str | None = None
) -> Graph:
    """The trust graph of ``ledger``; with ``subject`` (type, id) only the grants that may act
    for it, with ``workload`` only those it may act through (and what they connect to).
    """
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str, str], Edge] = {}

    def node(id_: str, kind: str, label: str) -> str:
        nodes.setdefault(id_, Node(id=id_, kind=kind, label=label))
        return id_

    def edge(source: str, target: str, kind: str, label: str = "") -> None:
        edges.setdefault(
            (source, target, kind), Edge(source=source, target=target, kind=kind, label=label)
        )

    revoked_all = [r for g in ledger.groups for r in g.revoked]
    workload_groups = (
        set()
        if workload is None or revoked_by(workload, revoked_all)
        else {g.name for g in ledger.groups if matches_any(workload, g.members)}
    )

    def actor_kept(ref: ActorRef) -> bool:
        if workload is None:
            return True
        if ref.group is not None:
            return ref.group in workload_groups
        return ref.workload is not None and glob_match(workload, ref.workload)

    def subject_kept(selector: EntitySelector | None) -> bool:
        if subject is None or selector is None:
            return True
        if selector.type is not None and selector.type != subject[0]:
            return False
        return not selector.ids or matches_any(subject[1], selector.ids)

    used_groups: set[str] = set()
    grants: list[tuple[str, str, ActorRef, EntitySelector | None, str, str | None, str | None]] = []
    for e in ledger.elevations:
        label = ", ".join(e.actions)
        grants.append(
            (f"elevation/{e.id}", "elevation", e.actor, e.subjects, label, None, e.min_trust_level)
        )
    for d in ledger.delegations:
        label = f"{', '.join(d.actions)}; depth {d.max_depth}"
        issuer = d.consent_issuer if d.consent_required else None
        grants.append(
            (f"delegation/{d.id}", "delegation", d.delegate, d.delegator, label, issuer, None)
        )
    for grant_id, kind, actor, subjects, label, consent_issuer, min_level in grants:
        if not (actor_kept(actor) and subject_kept(subjects)):
            continue
        node(grant_id, kind, grant_id)
        actor_node = _actor_id(actor)
        if actor.group is not None:
            used_groups.add(actor.group)
            node(actor_node, "group", f"group {actor.group}")
        else:
            node(actor_node, "workload", str(actor.workload))
        sel_id, sel_label = _selector_id(subjects)
        node(sel_id, "subjects", sel_label)
        if kind == "elevation":
            edge(actor_node, grant_id, "actor")
            edge(grant_id, sel_id, "acts_for", label)
            if min_level is not None:
                edge(
                    grant_id,
                    node(f"level/{min_level}", "level", f"level {min_level}"),
                    "needs_level",
                    "min level",
                )
        else:
            edge(sel_id, grant_id, "delegates", label)
            edge(grant_id, actor_node, "actor")
            if consent_issuer is not None:
                edge(
                    grant_id,
                    node(f"issuer/{consent_issuer}", "issuer", consent_issuer),
                    "consent_from",
                    "consent",
                )
    for group in ledger.groups:
        if (workload is not None or subject is not None) and group.name not in used_groups:
            continue
        group_node = node(f"group/{group.name}", "group", f"group {group.name}")
        for member in group.members:
            if workload is not None and not glob_match(workload, member):
                continue
            kind = "pattern" if has_wildcard(member) else "exact"
            edge(node(f"workload/{member}", "workload", member), group_node, "member", kind)
        for revoked in group.revoked:
            if workload is not None and not glob_match(workload, revoked):
                continue
            edge(node(f"workload/{revoked}", "workload", revoked), group_node, "revoked", "revoked")
        level = ledger.trust_level(group.trust_level)
        rank = f" (rank {level.rank})" if level is not None else " (unknown)"
        level_node = node(f"level/{group.trust_level}", "level", f"level {group.trust_level}{rank}")
        edge(group_node, level_node, "holds")
    for level in ledger.trust_levels:
        level_node = f"level/{level.name}"
        if level_node not in nodes and (workload is not None or subject is not None):
            continue
        nodes[level_node] = Node(
            id=level_node, kind="level", label=f"level {level.name} (rank {level.rank})"
        )
        if level.attestation is not None:
            issuer = node(f"issuer/{level.attestation.issuer}", "issuer", level.attestation.issuer)
            age = _seconds(level.attestation.max_age.total_seconds())
            edge(level_node, issuer, "attested_by", f"attestation <= {age}")
    if workload is None and subject is None:
        for issuer_doc in ledger.issuers:
            node(f"issuer/{issuer_doc.name}", "issuer", issuer_doc.name)
    return Graph(
        nodes=tuple(nodes[k] for k in sorted(nodes)),
        edges=tuple(edges[k] for k in sorted(edges)),
    )


def _widens(before: str, after: str) -> bool:
    """True when an edge's label grants more: its action list grew, or its depth rose."""

    def parts(label: str) -> tuple[set[str], int]:
        actions, _, depth = label.partition("; depth ")
        names = {a.strip() for a in actions.split(",") if a.strip()}
        return names, int(depth) if depth.isdigit() else 0

    old_actions, old_depth = parts(before)
    new_actions, new_depth = parts(after)
    return (new_actions > old_actions and new_depth >= old_depth) or (
        new_actions >= old_actions and new_depth > old_depth
    )


def diff_graphs(old: Graph, new: Graph) -> tuple[EdgeChange, ...]:
    """The trust edges added, removed, widened or narrowed (more or fewer actions or depth),
    or otherwise changed."""
    before = {e.key: e for e in old.edges}
    after = {e.key: e for e in new.edges}
    changes: list[EdgeChange] = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            changes.append(EdgeChange(change="added", edge=after[key]))
        elif key not in after:
            changes.append(EdgeChange(change="removed", edge=before[key]))
        elif before[key].label != after[key].label:
            was, now = before[key].label, after[key].label
            kind = (
                "widened" if _widens(was, now) else "narrowed" if _widens(now, was) else "changed"
            )
            changes.append(EdgeChange(change=kind, edge=after[key], before=before[key].label))
    return tuple(changes)


def nodes_of(graphs: Iterable[Graph]) -> dict[str, Node]:
    """Every node of ``graphs`` by id (the newer graph's label wins)."""
    found: dict[str, Node] = {}
    for graph in graphs:
        found.update({n.id: n for n in graph.nodes})
    return found
