"""A checker for the Mermaid subset hossctl writes, so that golden files prove the diagram parses.

Mermaid itself runs in a browser (its CLI needs a headless Chromium that cannot be fetched
here), so this checks the grammar of what ``hossctl.render.graph.to_mermaid`` emits: a
``flowchart``, balanced ``subgraph``/``end`` blocks, nodes declared once with quoted labels
before any edge uses them, edges with quoted labels, ``classDef``/``class`` lines naming known
nodes, and ``linkStyle`` indices that exist.
"""

from __future__ import annotations

import re

_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"[^"\n`]*"'
_HEADER = re.compile(r"flowchart (LR|RL|TB|BT|TD)")
_SUBGRAPH = re.compile(rf"subgraph ({_ID})\[({_LABEL})\]")
_NODE = re.compile(rf"({_ID})\[({_LABEL})\]")
_EDGE = re.compile(rf"({_ID}) (-->|<-->)\|({_LABEL})\| ({_ID})")
_CLASSDEF = re.compile(rf"classDef ({_ID}) [a-z-]+:[^\s,;]+(,[a-z-]+:[^,;]+)*")
_CLASS = re.compile(rf"class ({_ID}(?:,{_ID})*) ({_ID})")
_LINKSTYLE = re.compile(r"linkStyle (\d+(?:,\d+)*) [a-z-]+:[^,;\s]+(,[a-z-]+:[^,;]+)*")


class MermaidError(ValueError):
    pass


def check_mermaid(text: str) -> None:
    """Raise MermaidError naming the first line that is not valid in hossctl's subset."""
    lines = [line.strip() for line in text.strip("\n").splitlines()]
    if not lines or not _HEADER.fullmatch(lines[0]):
        raise MermaidError(f"the first line must be a flowchart header, not {lines[:1]!r}")
    depth = 0
    nodes: set[str] = set()
    groups: set[str] = set()
    classes: set[str] = set()
    edges = 0
    for number, line in enumerate(lines[1:], start=2):
        if match := _SUBGRAPH.fullmatch(line):
            if match.group(1) in groups or match.group(1) in nodes:
                raise MermaidError(f"line {number}: {match.group(1)} is declared twice")
            groups.add(match.group(1))
            depth += 1
        elif line == "end":
            depth -= 1
            if depth < 0:
                raise MermaidError(f"line {number}: 'end' without a subgraph")
        elif match := _NODE.fullmatch(line):
            if match.group(1) in nodes or match.group(1) in groups:
                raise MermaidError(f"line {number}: {match.group(1)} is declared twice")
            nodes.add(match.group(1))
        elif match := _EDGE.fullmatch(line):
            for node in (match.group(1), match.group(4)):
                if node not in nodes:
                    raise MermaidError(f"line {number}: edge uses undeclared node {node}")
            edges += 1
        elif match := _CLASSDEF.fullmatch(line):
            classes.add(match.group(1))
        elif match := _CLASS.fullmatch(line):
            unknown = [n for n in match.group(1).split(",") if n not in nodes]
            if unknown or match.group(2) not in classes:
                raise MermaidError(f"line {number}: class line names unknown nodes or class")
        elif match := _LINKSTYLE.fullmatch(line):
            if any(int(i) >= edges for i in match.group(1).split(",")):
                raise MermaidError(f"line {number}: linkStyle names an edge that does not exist")
        else:
            raise MermaidError(f"line {number}: not valid in hossctl's Mermaid subset: {line!r}")
    if depth != 0:
        raise MermaidError("a subgraph is not closed with 'end'")
