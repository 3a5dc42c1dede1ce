"""Preconditions under a second writer: random interleavings between plan and each write.

A simulated server (the same rules as ``test_planner_properties``: deletes cascade rows
and datasets, a PUT of an existing row is a no-op, a create of an existing name is 403)
runs the plan change by change, the way ``executor`` does: each destructive change first
reads its facts and is blocked if ``preconditions.moved`` finds they moved, a create meets
the server's 403, and the first block or failure stops new changes. Before each change a
second writer may act: add datasets, enable their sync, replace or delete namespaces,
add or remove sync rows, create namespaces.

Properties: no namespace holding a dataset is ever deleted; no destructive change is sent
when the facts it rests on moved (both hold even for plans the checks would block, so the
preconditions alone keep the data safe); and with no second writer, nothing in an
applicable plan is ever blocked (the expectations agree with the plan's own earlier
changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depth import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_planner_properties import NAMES, TYPES, World, worlds
from two_servers import CORE

from hossctl.apply.preconditions import Found, moved
from hossctl.plan.changes import Change, PlanOptions
from hossctl.plan.checks import dataset_reads_needed
from hossctl.plan.planner import diff, make_plan
from hossctl.plan.snapshot import LiveDataset, LiveSyncTarget

Attrs = tuple[str, str, str]
Row = tuple[str, str, str]


@dataclass
class Space:
    attrs: Attrs
    rows: list[Row]
    datasets: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (sync_enabled, type)


Sim = dict[str, dict[str, Space]]


def sim_of(world: World) -> Sim:
    return {
        key: {
            name: Space(
                (n.description, n.object_store, n.bucket),
                [(r.target_core_service, r.target_namespace, r.sync_type) for r in n.sync],
                {d.name: (d.sync_enabled, d.sync_type) for d in world.datasets[(key, name)]},
            )
            for name, n in spaces.items()
        }
        for key, spaces in world.live.items()
    }


def found_in(sim: Sim, change: Change) -> Found:
    space = sim[change.server].get(change.namespace)
    if space is None:
        return Found(exists=False)
    rows = tuple(LiveSyncTarget(*r) for r in space.rows)
    datasets = tuple(
        LiveDataset(name, enabled, kind, "NOT_SCHEDULED") for name, (enabled, kind) in space.datasets.items()
    )
    return Found(exists=True, attributes=space.attrs, rows=rows, datasets=datasets)


# -- the second writer ---------------------------------------------------------------------------

servers_st = st.sampled_from(["a", "b"])
names_st = st.sampled_from(NAMES)
attrs_st = st.tuples(
    st.sampled_from(["d1", "d2", "d3"]),
    st.sampled_from(["default", "s2"]),
    st.sampled_from(["b1", "b2", "b3"]),
)
row_st = st.tuples(st.sampled_from(sorted(CORE.values())), names_st, st.sampled_from(TYPES))
action_st = st.one_of(
    st.tuples(st.just("dataset"), servers_st, names_st, st.sampled_from(["w1", "w2"]), st.booleans(),
              st.sampled_from(TYPES)),
    st.tuples(st.just("sync-on"), servers_st, names_st, st.sampled_from(TYPES)),
    st.tuples(st.just("replace"), servers_st, names_st, attrs_st),
    st.tuples(st.just("delete"), servers_st, names_st),
    st.tuples(st.just("create"), servers_st, names_st, attrs_st),
    st.tuples(st.just("row+"), servers_st, names_st, row_st),
    st.tuples(st.just("row-"), servers_st, names_st),
)


def act(sim: Sim, action: tuple[Any, ...]) -> None:
    kind, server, name = action[:3]
    spaces = sim[server]
    space = spaces.get(name)
    if kind == "create":
        if space is None:
            spaces[name] = Space(action[3], [])
        return
    if space is None:
        return
    if kind == "dataset":
        space.datasets[action[3]] = (action[4], action[5])
    elif kind == "sync-on":
        for ds in list(space.datasets):
            space.datasets[ds] = (True, action[3])
    elif kind == "replace":  # delete (cascading everything) and create again with other attributes
        spaces[name] = Space(action[3], [])
    elif kind == "delete":
        del spaces[name]
    elif kind == "row+":
        row = action[3]
        if not any(r[:2] == row[:2] for r in space.rows):
            space.rows.append(row)
    elif kind == "row-" and space.rows:
        space.rows.pop(0)


# -- running the plan like the executor does -------------------------------------------------------


@dataclass
class Outcome:
    status: dict[str, str] = field(default_factory=dict)
    deleted_with_data: list[str] = field(default_factory=list)
    sent_on_moved_facts: list[str] = field(default_factory=list)


def facts_still_hold(sim: Sim, change: Change, planned: World) -> bool:
    """Independently of ``moved``: does the destructive change rest on the facts the plan saw?"""
    space = sim[change.server].get(change.namespace)
    before = planned.live[change.server].get(change.namespace)
    if space is None or before is None:
        return False
    planned_rows = sorted((r.target_core_service, r.target_namespace, r.sync_type) for r in before.sync)
    if change.action == "delete_namespace":
        return (
            space.attrs == (before.description, before.object_store, before.bucket)
            and sorted(space.rows) == planned_rows
            and not space.datasets
        )
    row = (change.target_core_service, change.target_namespace, change.sync_type)
    if row not in space.rows:
        return False
    rule = change.expect.datasets if change.expect else None
    if rule == "none-syncing":
        return not any(enabled for enabled, _ in space.datasets.values())
    if rule == "none-duplex":
        return not any(enabled and kind == "duplex" for enabled, kind in space.datasets.values())
    return True


def run(plan_changes: tuple[Change, ...], sim: Sim, writer: list[list[tuple[Any, ...]]], world: World,
        stores: dict[str, tuple[str, ...]]) -> Outcome:
    out = Outcome()
    stopped = False
    for i, change in enumerate(plan_changes):
        if stopped or any(out.status.get(d) != "done" for d in change.depends_on):
            out.status[change.id] = "skipped"
            continue
        for action in writer[i] if i < len(writer) else []:
            act(sim, action)
        spaces = sim[change.server]
        if change.action in ("delete_namespace", "disable_sync"):
            if moved(change, found_in(sim, change)):
                out.status[change.id] = "blocked"
                stopped = True
                continue
            if not facts_still_hold(sim, change, world):
                out.sent_on_moved_facts.append(change.id)
        if change.action == "create_namespace":
            if change.namespace in spaces:
                out.status[change.id] = "blocked"  # the server's 403 on the first attempt
                stopped = True
                continue
            if change.object_store not in stores[change.server]:
                out.status[change.id] = "failed"
                stopped = True
                continue
            spaces[change.namespace] = Space(
                (change.description or "", change.object_store or "", change.bucket or ""), []
            )
        elif change.action == "delete_namespace":
            if spaces[change.namespace].datasets:
                out.deleted_with_data.append(change.id)
            del spaces[change.namespace]
        elif change.namespace not in spaces:
            out.status[change.id] = "failed"  # 404
            stopped = True
            continue
        elif change.action == "enable_sync":
            row = (change.target_core_service or "", change.target_namespace or "", change.sync_type or "")
            rows = spaces[change.namespace].rows
            if not any(r[:2] == row[:2] for r in rows):
                rows.append(row)
        else:
            rows = spaces[change.namespace].rows
            rows[:] = [r for r in rows if r[:2] != (change.target_core_service, change.target_namespace)]
        out.status[change.id] = "done"
    return out


def plan_of(world: World) -> tuple[tuple[Change, ...], bool]:
    """The plan's changes, and whether its checks block it (apply refuses those)."""
    read = dataset_reads_needed(diff(world.config, world.snapshot()))
    plan = make_plan(world.config, world.snapshot(read), PlanOptions(target_check=False))
    return plan.changes, bool(plan.errors)


PROFILE = settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@PROFILE
@given(world=worlds())
def test_without_a_second_writer_nothing_is_blocked(world: World) -> None:
    changes, blocked = plan_of(world)
    if blocked:
        event("plan blocked by its checks")
        return
    outcome = run(changes, sim_of(world), [], world, world.stores)
    assert "blocked" not in outcome.status.values(), outcome.status
    assert outcome.sent_on_moved_facts == []
    event(f"changes: {min(len(changes), 6)}")


@PROFILE
@given(world=worlds(), writer=st.lists(st.lists(action_st, max_size=3), max_size=8))
def test_a_second_writer_never_makes_apply_lose_data(
    world: World, writer: list[list[tuple[Any, ...]]]
) -> None:
    # Plans the checks block are run too: the preconditions alone must keep the data safe.
    changes, _ = plan_of(world)
    outcome = run(changes, sim_of(world), writer, world, world.stores)
    assert outcome.deleted_with_data == [], "a namespace holding a dataset was deleted"
    assert outcome.sent_on_moved_facts == [], "a destructive change was sent although its facts moved"
    event("some change blocked" if "blocked" in outcome.status.values() else "nothing blocked")
