"""The trust model of a ledger as a graph: trust levels, security groups (members, revoked),
elevations, delegations and issuers, for ``ztauth policy graph`` and ``policy diff``.
"""

from __future__ import annotations

from ztauth_cli.graph.model import Edge, EdgeChange, Graph, Node, diff_graphs, trust_graph

__all__ = ["Edge", "EdgeChange", "Graph", "Node", "diff_graphs", "trust_graph"]
