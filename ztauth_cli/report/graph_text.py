"""The trust graph as Mermaid (renders on GitHub and in the README) or Graphviz DOT (text
only: no Graphviz dependency). Reporters only render; the graph arrives sorted.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from ztauth_cli.report.formats import GraphFormat

if TYPE_CHECKING:
    from ztauth_cli.graph import EdgeChange, Graph, Node

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # pragma: no cover - Python 3.10
    from typing_extensions import assert_never

__all__ = [
    "render_dot",
    "render_graph",
    "render_mermaid",
    "render_mermaid_changes",
    "render_trust_changes_markdown",
]


def render_graph(graph: Graph, fmt: GraphFormat, out: TextIO) -> None:
    """Render ``graph`` in ``fmt`` (every :class:`GraphFormat` has a renderer)."""
    if fmt is GraphFormat.MERMAID:
        render_mermaid(graph, out)
    elif fmt is GraphFormat.DOT:
        render_dot(graph, out)
    elif fmt is GraphFormat.JSON:
        from ztauth_cli.report.envelope import report_text

        out.write(report_text("ztauth policy graph", graph.to_json()))
    else:
        assert_never(fmt)


# Mermaid shapes by node kind: the reader tells a group from a grant at a glance.
_MERMAID_SHAPES = {
    "workload": ('["', '"]'),
    "group": ('(["', '"])'),
    "level": ('{{"', '"}}'),
    "elevation": ('[["', '"]]'),
    "delegation": ('[["', '"]]'),
    "subjects": ('(("', '"))'),
    "issuer": ('[/"', '"/]'),
}
_DOT_SHAPES = {
    "workload": "box",
    "group": "box, style=rounded",
    "level": "hexagon",
    "elevation": "box, style=bold",
    "delegation": "box, style=bold",
    "subjects": "ellipse",
    "issuer": "parallelogram",
}
_CLASSES = (
    "  classDef group fill:#e8f0fe,stroke:#1a73e8",
    "  classDef level fill:#fef7e0,stroke:#f9ab00",
    "  classDef grant fill:#e6f4ea,stroke:#188038",
    "  classDef issuer fill:#f3e8fd,stroke:#9334e6",
)
_CLASS_OF = {
    "group": "group",
    "level": "level",
    "elevation": "grant",
    "delegation": "grant",
    "issuer": "issuer",
}


def _mermaid_text(text: str) -> str:
    # Mermaid's entity codes: a quote or angle bracket would end or break the label.
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def _ids(nodes: Sequence[Node]) -> dict[str, str]:
    return {node.id: f"n{index}" for index, node in enumerate(nodes)}


def _mermaid_nodes(nodes: Sequence[Node], ids: Mapping[str, str], out: TextIO) -> None:
    for node in nodes:
        start, end = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
        style = f":::{_CLASS_OF[node.kind]}" if node.kind in _CLASS_OF else ""
        out.write(f"  {ids[node.id]}{start}{_mermaid_text(node.label)}{end}{style}\n")


def render_mermaid(graph: Graph, out: TextIO) -> None:
    """A Mermaid ``flowchart LR``; revoked members are dotted red arrows."""
    ids = _ids(graph.nodes)
    out.write("flowchart LR\n")
    _mermaid_nodes(graph.nodes, ids, out)
    revoked: list[int] = []
    for index, edge in enumerate(graph.edges):
        label = edge.label if edge.kind not in ("member",) else ""
        arrow = "-.->" if edge.kind == "revoked" else "-->"
        text = f'|"{_mermaid_text(label)}"|' if label else ""
        out.write(f"  {ids[edge.source]} {arrow}{text} {ids[edge.target]}\n")
        if edge.kind == "revoked":
            revoked.append(index)
    out.write("\n".join(_CLASSES) + "\n")
    if revoked:
        out.write(f"  linkStyle {','.join(map(str, revoked))} stroke:#d93025,color:#d93025\n")


def render_mermaid_changes(
    changes: Sequence[EdgeChange], nodes: Mapping[str, Node], out: TextIO
) -> None:
    """The trust edges that changed between two revisions: added (thick), removed (dotted),
    widened or narrowed (thick, old label -> new label); every change that widens access is
    red and says so."""
    used = sorted({c.edge.source for c in changes} | {c.edge.target for c in changes})
    chosen = [nodes[n] for n in used if n in nodes]
    ids = _ids(chosen)
    out.write("flowchart LR\n")
    _mermaid_nodes(chosen, ids, out)
    red: list[int] = []
    for index, change in enumerate(changes):
        edge = change.edge
        if change.change == "added":
            arrow, label = "==>", f"added {edge.kind}" + (f": {edge.label}" if edge.label else "")
        elif change.change == "removed":
            arrow, label = (
                "-.->",
                f"removed {edge.kind}" + (f": {edge.label}" if edge.label else ""),
            )
        else:
            arrow, label = "==>", f"{change.change.upper()}: {change.before} -> {edge.label}"
        if change.widens:
            label += " (widens)"
            red.append(index)
        out.write(f'  {ids[edge.source]} {arrow}|"{_mermaid_text(label)}"| {ids[edge.target]}\n')
    out.write("\n".join(_CLASSES) + "\n")
    if red:
        out.write(f"  linkStyle {','.join(map(str, red))} stroke:#d93025,color:#d93025\n")


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: Graph, out: TextIO) -> None:
    """A Graphviz ``digraph`` (render it with ``dot -Tsvg``)."""
    out.write('digraph ztauth {\n  rankdir=LR;\n  node [fontname="Helvetica"];\n')
    for node in graph.nodes:
        shape = _DOT_SHAPES.get(node.kind, "box")
        out.write(f'  "{_dot_text(node.id)}" [label="{_dot_text(node.label)}", shape={shape}];\n')
    for edge in graph.edges:
        attrs = [f'label="{_dot_text(edge.label)}"'] if edge.label and edge.kind != "member" else []
        if edge.kind == "revoked":
            attrs += ["style=dashed", "color=red", "fontcolor=red"]
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.write(f'  "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}"{suffix};\n')
    out.write("}\n")


def render_trust_changes_markdown(
    changes: Sequence[EdgeChange], nodes: Mapping[str, Node], out: TextIO
) -> None:
    """A Markdown section with the changed trust edges as a Mermaid graph (nothing when no
    trust edge changed)."""
    if not changes:
        return
    counts = {kind: sum(1 for c in changes if c.change == kind) for kind in _CHANGE_KINDS}
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    out.write(f"\n#### Trust edges changed ({summary})\n\n```mermaid\n")
    render_mermaid_changes(changes, nodes, out)
    out.write("```\n")


_CHANGE_KINDS = ("added", "removed", "widened", "narrowed", "changed")
