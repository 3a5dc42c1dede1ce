"""The sync topology as a picture: Mermaid for PR comments, Graphviz DOT for everything else.

Reviewers would rather look than read when a change rewires links between sites. A plan's
picture shows the namespaces its changes touch and the links they add, remove or change;
``hossctl graph`` shows the whole declared topology. Servers are groups, namespaces are
nodes, sync rows are arrows (a duplex link is one double-headed arrow).

Names come from servers and configs, so every label is escaped for its language here:
Mermaid labels are quoted, with quotes, angle brackets, backticks and control characters
written as entities, so that no name can end the label, the diagram or the Markdown code
block around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hossctl.plan.changes import DATASET_ACTIONS, Change, Plan
from hossctl.plan.model import Config
from hossctl.sanitize import printable
from hossctl.urls import try_normalise_core_url

Style = Literal["same", "added", "removed", "changed"]
Ref = tuple[str, str]  # (group: a server key or an external URL, namespace)


@dataclass
class Graph:
    nodes: dict[Ref, Style] = field(default_factory=dict)
    # (source, target) -> (sync type, style); a duplex pair is kept once, as a two-way edge
    edges: dict[tuple[Ref, Ref], tuple[str, Style]] = field(default_factory=dict)

    def node(self, ref: Ref, style: Style = "same") -> None:
        if style != "same" or ref not in self.nodes:
            self.nodes[ref] = style

    def edge(self, source: Ref, target: Ref, sync_type: str, style: Style) -> None:
        self.node(source)
        self.node(target)
        back = self.edges.get((target, source))
        if back is not None and sync_type == "duplex" and back[0] == "duplex":
            if back[1] == "same" and style != "same":
                self.edges[(target, source)] = ("duplex", style)
            return
        self.edges[(source, target)] = (sync_type, style)


def _target_ref(change: Change) -> Ref:
    if change.target_server is not None:
        return (change.target_server, change.target_namespace or "")
    return (try_normalise_core_url(change.target_core_service or ""), change.target_namespace or "")


def plan_graph(plan: Plan) -> Graph:
    """The part of the topology a plan touches, styled by what the plan does to it."""
    graph = Graph()
    by_url = {
        try_normalise_core_url(c.target_core_service or ""): c.target_server
        for c in plan.changes
        if c.target_server is not None
    }
    enabled = {(c.server, c.namespace, _target_ref(c)): c for c in plan.changes if c.action == "enable_sync"}
    for c in plan.changes:
        ref = (c.server, c.namespace)
        if c.action == "create_namespace":
            graph.node(ref, "changed" if c.replace else "added")
        elif c.action == "delete_namespace":
            graph.node(ref, "changed" if c.replace else "removed")
            rows = c.expect.sync_rows if c.expect is not None and c.expect.sync_rows else ()
            for url, namespace, sync_type in rows:
                canonical = try_normalise_core_url(url)
                target = (by_url.get(canonical) or canonical, namespace)
                if (c.server, c.namespace, target) not in enabled:
                    graph.edge(ref, target, sync_type, "removed")
        elif c.action == "enable_sync":
            graph.edge(ref, _target_ref(c), c.sync_type or "", "added")
        elif c.action in DATASET_ACTIONS:
            graph.node(ref)  # its datasets change, the namespace and its links do not
        else:
            target = _target_ref(c)
            again = enabled.get((c.server, c.namespace, target))
            if again is None:
                graph.edge(ref, target, c.sync_type or "", "removed")
    disabled = {((c.server, c.namespace), _target_ref(c)) for c in plan.changes if c.action == "disable_sync"}
    for (source, target), (sync_type, style) in list(graph.edges.items()):
        if style == "added" and (source, target) in disabled:
            graph.edges[(source, target)] = (sync_type, "changed")
    return graph


def config_graph(config: Config) -> Graph:
    """Everything the config declares: its namespaces and their sync targets."""
    graph = Graph()
    for server in config.servers:
        for ns in server.namespaces:
            if ns.ensure != "present":
                continue
            graph.node((server.key, ns.name))
            for t in ns.sync:
                target = (t.target_server or t.core_url, t.namespace)
                graph.edge((server.key, ns.name), target, t.type, "same")
    return graph


# -- Mermaid ----------------------------------------------------------------------------------

_MERMAID_ENTITIES = {
    '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;", "#": "#35;", "&": "#amp;", "|": "#124;",
}
_COLOURS: dict[Style, str] = {
    "added": "fill:#e6ffed,stroke:#2da44e",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4 3",
    "changed": "fill:#fff8c5,stroke:#bf8700",
}
_LINK_COLOURS: dict[Style, str] = {
    "added": "stroke:#2da44e,stroke-width:2px",
    "removed": "stroke:#cf222e,stroke-width:2px,stroke-dasharray:4 3",
    "changed": "stroke:#bf8700,stroke-width:2px",
}


def mermaid_label(text: str) -> str:
    """A quoted Mermaid label: printable, and nothing in it can end the label or the block."""
    out = printable(text)
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in out)


def _groups(graph: Graph) -> dict[str, list[Ref]]:
    groups: dict[str, list[Ref]] = {}
    for ref in sorted(graph.nodes):
        groups.setdefault(ref[0], []).append(ref)
    return groups


def to_mermaid(graph: Graph) -> str:
    """A ``flowchart LR``: one subgraph per server (or external URL), one node per namespace."""
    ids = {ref: f"n{i}" for i, ref in enumerate(sorted(graph.nodes))}
    lines = ["flowchart LR"]
    for g, (group, refs) in enumerate(sorted(_groups(graph).items())):
        lines.append(f'  subgraph s{g}["{mermaid_label(group)}"]')
        for ref in refs:
            lines.append(f'    {ids[ref]}["{mermaid_label(ref[1])}"]')
        lines.append("  end")
    link_styles: dict[Style, list[int]] = {}
    for index, ((source, target), (sync_type, style)) in enumerate(sorted(graph.edges.items())):
        arrow = "<-->" if sync_type == "duplex" and (target, source) not in graph.edges else "-->"
        lines.append(f'  {ids[source]} {arrow}|"{mermaid_label(sync_type)}"| {ids[target]}')
        link_styles.setdefault(style, []).append(index)
    for node_style, colour in _COLOURS.items():
        members = [ids[ref] for ref, s in sorted(graph.nodes.items()) if s == node_style]
        if members:
            lines.append(f"  classDef {node_style} {colour}")
            lines.append(f"  class {','.join(members)} {node_style}")
    for link_style, colour in _LINK_COLOURS.items():
        if link_style in link_styles:
            lines.append(f"  linkStyle {','.join(str(i) for i in link_styles[link_style])} {colour}")
    return "\n".join(lines) + "\n"


# -- Graphviz DOT -------------------------------------------------------------------------------

_DOT_COLOURS = {"added": "#2da44e", "removed": "#cf222e", "changed": "#bf8700", "same": "black"}


def dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, control characters visible."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    ids = {ref: f"n{i}" for i, ref in enumerate(sorted(graph.nodes))}
    lines = ["digraph hoss {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for g, (group, refs) in enumerate(sorted(_groups(graph).items())):
        lines.append(f"  subgraph cluster_{g} {{")
        lines.append(f"    label={dot_string(group)};")
        for ref in refs:
            style = graph.nodes[ref]
            extra = "" if style == "same" else f", color={dot_string(_DOT_COLOURS[style])}"
            lines.append(f"    {ids[ref]} [label={dot_string(ref[1])}{extra}];")
        lines.append("  }")
    for (source, target), (sync_type, style) in sorted(graph.edges.items()):
        attrs = [f"label={dot_string(sync_type)}", f"color={dot_string(_DOT_COLOURS[style])}"]
        if sync_type == "duplex":
            attrs.append("dir=both")
        if style == "removed":
            attrs.append("style=dashed")
        lines.append(f"  {ids[source]} -> {ids[target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(graph: Graph, fmt: str) -> str:
    return to_dot(graph) if fmt == "dot" else to_mermaid(graph)
