"""Golden files: the whole text and Markdown plan of two scenarios, byte for byte.

Substring checks say a line is there; a golden file says nothing else is, and shows a
reviewer of a renderer change exactly what users will see. Regenerate after an intended
change with ``HOSSCTL_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_render_golden.py``
and read the diff. The Mermaid block of each Markdown plan is checked against the grammar
hossctl emits (``mermaid_check``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mermaid_check import MermaidError, check_mermaid

from hossctl.plan.changes import Plan
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, make_server_state, make_snapshot
from hossctl.render.graph import config_graph, to_dot, to_mermaid
from hossctl.render.text import render_markdown, render_text

GOLDEN = Path(__file__).parent / "golden"
ONPREM = "https://hoss.lab.example/core/v1"
CLOUD = "https://hoss.cloud.example/core/v1"
PARTNER = "https://hoss.partner.example/core/v1"


def _ns(name: str, *sync: SyncTarget, description: str = "Managed", bucket: str | None = None) -> Namespace:
    return Namespace(name, description, "default", bucket or name, sync=sync)


def _to(server: str | None, namespace: str, sync_type: str) -> SyncTarget:
    core = {"onprem": ONPREM, "cloud": CLOUD}.get(server or "", PARTNER)
    return SyncTarget(server or PARTNER, server, core, namespace, sync_type)  # type: ignore[arg-type]


def _live(name: str, *rows: tuple[str, str, str], description: str = "Managed", bucket: str | None = None,
          datasets: tuple[LiveDataset, ...] | None = ()) -> LiveNamespace:  # fmt: skip
    return LiveNamespace(
        name, description, "default", bucket or name, tuple(LiveSyncTarget(*r) for r in rows), datasets
    )


def _world(onprem: tuple[Namespace, ...], cloud: tuple[Namespace, ...], live_onprem: list[LiveNamespace],
           live_cloud: list[LiveNamespace], prune: bool = False) -> Plan:  # fmt: skip
    config = Config(
        servers=(
            Server("cloud", "https://hoss.cloud.example", CLOUD, namespaces=cloud),
            Server("onprem", "https://hoss.lab.example", ONPREM, prune=prune, namespaces=onprem),
        )
    )
    live = make_snapshot(
        {
            "cloud": make_server_state(
                "cloud", CLOUD, "0.2.13", ("default",), {n.name: n for n in live_cloud}
            ),
            "onprem": make_server_state(
                "onprem", ONPREM, "0.2.13", ("default",), {n.name: n for n in live_onprem}
            ),
        },
        reachable={PARTNER: True},
    )
    return make_plan(config, live)


def changes_plan() -> Plan:
    """Creates, a replace, a type change, a new duplex link, a removed link to a partner."""
    return _world(
        onprem=(
            _ns("raw-data", _to("cloud", "raw-data", "duplex")),
            _ns("imaging", _to("cloud", "imaging-archive", "duplex"), description="Imaging, now synced"),
            _ns("ephys", _to(None, "ephys", "simplex")),
        ),
        cloud=(_ns("raw-data"), _ns("imaging-archive")),
        live_onprem=[
            _live("imaging", (PARTNER, "imaging", "simplex"), description="by hand", datasets=()),
            _live("ephys", (PARTNER, "ephys", "duplex"), datasets=()),
        ],
        live_cloud=[_live("imaging-archive")],
    )


def violations_plan() -> Plan:
    """A delete of a namespace holding data, a protected one, an unknown store, a shared bucket."""
    config = Config(
        servers=(
            Server(
                "onprem",
                "https://hoss.lab.example",
                ONPREM,
                prune=True,
                namespaces=(
                    Namespace("default", "Default namespace", "default", "data", protect=True),
                    Namespace("scratch", ensure="absent"),
                    Namespace("fast", "Fast scratch", "fast-ssd", "fast"),
                    Namespace("microscopy-archive", "Renamed", "default", "imaging-archive"),
                ),
            ),
        )
    )
    live = make_snapshot(
        {
            "onprem": make_server_state(
                "onprem",
                ONPREM,
                "0.2.13",
                ("default",),
                {
                    "default": _live("default", description="Default namespace", bucket="other", datasets=()),
                    "scratch": _live(
                        "scratch",
                        datasets=(
                            LiveDataset("session-001", False, "", "NOT_SCHEDULED"),
                            LiveDataset("session-002", True, "simplex", "SCHEDULED"),
                        ),
                    ),
                    "imaging-archive": _live("imaging-archive", datasets=None),
                },
            )
        }
    )
    return make_plan(config, live)


SCENARIOS = {"changes": changes_plan, "violations": violations_plan}


def assert_golden(name: str, text: str) -> None:
    """``text`` is exactly ``golden/<name>`` (which HOSSCTL_UPDATE_GOLDEN=1 writes first)."""
    path = GOLDEN / name
    if os.environ.get("HOSSCTL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with HOSSCTL_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_text_plan_is_exactly_the_golden_file(scenario: str) -> None:
    assert_golden(f"{scenario}.txt", render_text(SCENARIOS[scenario](), color=False))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_markdown_plan_is_exactly_the_golden_file_and_its_diagram_parses(scenario: str) -> None:
    markdown = render_markdown(SCENARIOS[scenario]())
    assert_golden(f"{scenario}.md", markdown)
    diagram = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    check_mermaid(diagram)


def test_the_checker_refuses_what_mermaid_would_refuse() -> None:
    good = 'flowchart LR\n  subgraph s0["a"]\n    n0["x"]\n  end\n  n0 -->|"simplex"| n0\n'
    check_mermaid(good)
    for broken in (
        good.replace("flowchart LR", "graph"),
        good.replace("  end\n", ""),
        good.replace('n0 -->|"simplex"| n0', 'n0 -->|"simplex"| n9'),
        good.replace('["x"]', '["x"y"]'),
        good + "  linkStyle 3 stroke:red\n",
    ):
        with pytest.raises(MermaidError):
            check_mermaid(broken)


def test_the_declared_topology_as_mermaid_and_dot() -> None:
    config = Config(
        servers=(
            Server("cloud", "https://hoss.cloud.example", CLOUD, namespaces=(_ns("raw-data"),)),
            Server(
                "onprem",
                "https://hoss.lab.example",
                ONPREM,
                namespaces=(
                    _ns("raw-data", _to("cloud", "raw-data", "duplex")),
                    _ns("ephys", _to(None, "ephys", "simplex")),
                ),
            ),
        )
    )
    graph = config_graph(config)
    mermaid = to_mermaid(graph)
    check_mermaid(mermaid)
    assert mermaid == (
        "flowchart LR\n"
        '  subgraph s0["cloud"]\n'
        '    n0["raw-data"]\n'
        "  end\n"
        f'  subgraph s1["{PARTNER.replace("#", "#35;")}"]\n'
        '    n1["ephys"]\n'
        "  end\n"
        '  subgraph s2["onprem"]\n'
        '    n2["ephys"]\n'
        '    n3["raw-data"]\n'
        "  end\n"
        '  n2 -->|"simplex"| n1\n'
        '  n3 <-->|"duplex"| n0\n'
    )
    dot = to_dot(graph)
    assert dot.startswith("digraph hoss {\n  rankdir=LR;")
    assert 'n3 -> n0 [label="duplex", color="black", dir=both];' in dot
    assert 'subgraph cluster_2 {\n    label="onprem";' in dot
