"""The pure core stays linear in the number of namespaces: no lookup that scans.

A plan of 10,000 namespaces once spent 5.6 s in one check that looked each namespace up by
scanning the server's tuple (BENCHMARKS.md, issue 15). Each scenario here is planned and
rendered at two sizes, eight times apart, and its CPU time may grow at most 16 times: linear
work grows about 8 times, a scan per namespace 64 times.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from two_servers import B, absent, cfg, lns, ns, snap, tgt

from hossctl.plan.model import Config, DatasetSync
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, Snapshot
from hossctl.render.text import render_json, render_markdown, render_text

SMALL, LARGE = 200, 1600
MAX_GROWTH = 16.0
DUPLEX = DatasetSync(sync="duplex")


def _names(n: int) -> list[str]:
    return [f"ns-{i:05d}" for i in range(n)]


def in_sync(n: int) -> tuple[Config, Snapshot]:
    names = _names(n)
    config = cfg([ns(x, sync=[tgt("b", x)]) for x in names], [ns(x) for x in names])
    live = snap([lns(x, sync=[(B, x, "simplex")]) for x in names], [lns(x) for x in names])
    return config, live


def all_new(n: int) -> tuple[Config, Snapshot]:
    names = _names(n)
    return cfg([ns(x, sync=[tgt("b", x, "duplex")]) for x in names], [ns(x) for x in names]), snap()


def all_absent(n: int) -> tuple[Config, Snapshot]:
    names = _names(n)
    return cfg([absent(x) for x in names]), snap([lns(x, sync=[(B, x, "simplex")]) for x in names])


def datasets_to_duplex(n: int) -> tuple[Config, Snapshot]:
    """Every namespace's link becomes duplex and its two datasets follow: pauses, resumes, checks."""
    names = _names(n)
    data = tuple(LiveDataset(f"d{i}", True, "simplex", "NOT_SCHEDULED") for i in range(2))
    declared = [ns(x, sync=[tgt("b", x, "duplex")], datasets=DUPLEX) for x in names]
    config = cfg(declared, [ns(x) for x in names])
    live = snap([lns(x, sync=[(B, x, "simplex")], datasets=data) for x in names], [lns(x) for x in names])
    return config, live


def _cpu(world: Callable[[int], tuple[Config, Snapshot]], n: int) -> float:
    config, live = world(n)
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        plan = make_plan(config, live)
        render_text(plan)
        render_markdown(plan)
        render_json(plan)
        best = min(best, time.process_time() - started)
    return best


WORLDS = [in_sync, all_new, all_absent, datasets_to_duplex]


@pytest.mark.parametrize("world", WORLDS, ids=lambda w: w.__name__)
def test_planning_grows_linearly(world: Callable[[int], tuple[Config, Snapshot]]) -> None:
    small, large = _cpu(world, SMALL), _cpu(world, LARGE)
    assert large / max(small, 1e-3) < MAX_GROWTH, f"{SMALL}: {small:.3f} s, {LARGE}: {large:.3f} s"
