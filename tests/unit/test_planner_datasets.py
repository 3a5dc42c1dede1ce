"""Dataset sync as code: the planner's dataset changes, their order and their checks.

The table pins the scenarios a reader of the README expects (link and enable, retire a link,
change its type, off, except, deletes in progress, drift). The property runs random plans for
one namespace through a model of the server (docs/hoss-server.md §7.2, §7.3, §8.4): every plan
without errors reaches the declared dataset state, and no dataset ever syncs without a
compatible namespace target at any step, unless it already did before the plan and the plan
leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from depth import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from two_servers import X, cfg, lns, ns, snap, tgt

from hossctl.plan.changes import Change, Plan
from hossctl.plan.model import DatasetSync
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, Snapshot
from hossctl.syncpolicy import canonical

POLICY = '{"Version":"1","Statements":[]}'
OTHER_POLICY = (
    '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:key","Right":"*.csv","Operator":"=="}]}]}'
)


def ds(
    name: str, enabled: bool = False, type: str = "simplex", policy: str = "", status: str = "NOT_SCHEDULED"
) -> LiveDataset:
    return LiveDataset(
        name, enabled, type if enabled or type else "simplex", status, policy if enabled else ""
    )


def managed(sync: Any, policy: str | None = None, exclude: tuple[str, ...] = ()) -> DatasetSync:
    return DatasetSync(sync=sync, policy=policy, exclude=exclude)


def plan_for(declared: Any, live: Any) -> Plan:
    return make_plan(declared, live, target_check=False)


def actions(plan: Plan) -> list[str]:
    """Each change as ``action dataset-or-target``, in plan order."""
    return [f"{c.action} {c.dataset or c.target_namespace or c.namespace}" for c in plan.changes]


def checks_of(plan: Plan) -> set[tuple[str, str]]:
    return {(v.check, v.severity) for v in plan.violations if v.check.startswith("dataset")}


FIFTY = tuple(ds(f"d{i:02d}") for i in range(50))

CASES: list[tuple[str, Any, Snapshot, list[str], set[tuple[str, str]]]] = [
    (
        "link a namespace and enable duplex on its datasets: targets first",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")], datasets=managed("duplex"))]),
        snap(a=[lns("n1", datasets=(ds("d1"), ds("d2")))]),
        ["enable_sync t", "enable_dataset_sync d1", "enable_dataset_sync d2"],
        set(),
    ),
    (
        "retire a link with datasets off: dataset syncs off first",
        cfg(a=[ns("n1", datasets=managed("off"))]),
        snap(a=[lns("n1", sync=[(X, "t", "duplex")], datasets=(ds("d1", True, "duplex", POLICY),))]),
        ["disable_dataset_sync d1", "disable_sync t"],
        set(),
    ),
    (
        "simplex to duplex: datasets paused around the type change, then duplex",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")], datasets=managed("duplex"))]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1", True, "simplex", POLICY),))]),
        ["disable_dataset_sync d1", "disable_sync t", "enable_sync t", "enable_dataset_sync d1"],
        set(),
    ),
    (
        "duplex to simplex with a second simplex target kept: one early update, no pause",
        cfg(
            a=[
                ns(
                    "n1",
                    sync=[tgt(X, "t", "simplex"), tgt(X, "u", "simplex")],
                    allow_multiple_sync_targets=True,
                    datasets=managed("simplex"),
                )
            ]
        ),
        snap(
            a=[
                lns(
                    "n1",
                    sync=[(X, "t", "duplex"), (X, "u", "simplex")],
                    datasets=(ds("d1", True, "duplex", POLICY),),
                )
            ]
        ),
        ["update_dataset_sync d1", "disable_sync t", "enable_sync t"],
        set(),
    ),
    (
        "in sync: nothing to do",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")], datasets=managed("duplex"))]),
        snap(a=[lns("n1", sync=[(X, "t", "duplex")], datasets=(ds("d1", True, "duplex", POLICY),))]),
        [],
        set(),
    ),
    (
        "a new policy is an update",
        cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("simplex", OTHER_POLICY))]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1", True, "simplex", POLICY),))]),
        ["update_dataset_sync d1"],
        set(),
    ),
    (
        "except and deletes in progress are left alone",
        cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("simplex", exclude=("tmp-*",)))]),
        snap(
            a=[
                lns(
                    "n1",
                    sync=[(X, "t", "simplex")],
                    datasets=(ds("tmp-1"), ds("old", status="SCHEDULED"), ds("new")),
                )
            ]
        ),
        ["enable_dataset_sync new"],
        set(),
    ),
    (
        "unmanaged: no dataset change, whatever the datasets do",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(
            a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1"), ds("d2", True, "simplex", POLICY)))]
        ),
        [],
        set(),
    ),
    (
        "datasets sync without any target: an error on the plan",
        cfg(a=[ns("n1", datasets=managed("simplex"))]),
        snap(a=[lns("n1", datasets=(ds("d1"),))]),
        ["enable_dataset_sync d1"],
        {("dataset-sync-without-target", "error")},
    ),
    (
        "duplex datasets in a simplex-only namespace: an error, even with nothing to change",
        cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("duplex"))]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1", True, "duplex", POLICY),))]),
        [],
        {("dataset-duplex-needs-namespace-duplex", "error")},
    ),
    (
        "drift on an unmanaged namespace: warnings, no change",
        cfg(a=[ns("n1", sync=[tgt(X, "t")]), ns("n2")]),
        snap(
            a=[
                lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1", True, "duplex", POLICY),)),
                lns("n2", datasets=(ds("d2", True, "simplex", POLICY),)),
            ]
        ),
        [],
        {("dataset-duplex-needs-namespace-duplex", "warning"), ("dataset-sync-without-target", "warning")},
    ),
    (
        "fifty datasets enabled in one plan, after the link",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")], datasets=managed("duplex"))]),
        snap(a=[lns("n1", datasets=FIFTY)]),
        ["enable_sync t"] + [f"enable_dataset_sync d{i:02d}" for i in range(50)],
        set(),
    ),
]


@pytest.mark.parametrize(
    ("declared", "live", "expected", "found"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_dataset_changes(
    declared: Any, live: Snapshot, expected: list[str], found: set[tuple[str, str]]
) -> None:
    plan = plan_for(declared, live)
    assert actions(plan) == expected
    assert checks_of(plan) == found
    ids = {c.id for c in plan.changes}
    for c in plan.changes:  # ordering is by dependency, not by luck of the sort
        if c.action == "enable_dataset_sync" and any(x.action == "enable_sync" for x in plan.changes):
            assert any(d.endswith("/enable") and "sync:" in d for d in c.depends_on), c
        assert set(c.depends_on) <= ids


def test_retiring_a_link_passes_datasets_syncing_because_the_plan_clears_it() -> None:
    live = snap(a=[lns("n1", sync=[(X, "t", "duplex")], datasets=(ds("d1", True, "duplex", POLICY),))])
    unmanaged = plan_for(cfg(a=[ns("n1")]), live)
    assert "datasets-syncing" in {v.check for v in unmanaged.errors}
    managed_off = plan_for(cfg(a=[ns("n1", datasets=managed("off"))]), live)
    assert not managed_off.errors, managed_off.errors
    disable = next(c for c in managed_off.changes if c.action == "disable_sync")
    assert disable.depends_on == ("a/n1/dataset:d1/disable",)


def test_unreadable_datasets_of_a_managed_namespace_block() -> None:
    live = snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=None)])
    plan = plan_for(cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("simplex"))]), live)
    assert not plan.changes
    assert [(v.check, v.severity, v.change) for v in plan.violations if v.check != "target-unreachable"] == [
        ("datasets-unreadable", "error", "")
    ]


def test_deletes_in_progress_are_named_in_a_note() -> None:
    live = snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("old", status="IN_PROGRESS"),))])
    plan = plan_for(cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("simplex"))]), live)
    assert not plan.changes
    assert any("'old'" in note and "delete is scheduled or running" in note for note in plan.notes)


# -- the property ------------------------------------------------------------------------------

TYPES = ["simplex", "duplex"]
POLICIES = ["", POLICY, OTHER_POLICY]


@dataclass
class Model:
    """One namespace on a server that behaves like the real one (§7.2, §7.3, §8.4)."""

    rows: list[tuple[str, str, str]]
    datasets: dict[str, tuple[bool, str, str]]

    def level(self) -> int:
        return max((2 if r[2] == "duplex" else 1 for r in self.rows), default=0)

    def apply(self, c: Change) -> None:
        if c.action == "enable_sync":
            if not any((r[0], r[1]) == (c.target_core_service, c.target_namespace) for r in self.rows):
                self.rows.append((c.target_core_service or "", c.target_namespace or "", c.sync_type or ""))
        elif c.action == "disable_sync":
            self.rows = [r for r in self.rows if (r[0], r[1]) != (c.target_core_service, c.target_namespace)]
        elif c.action == "disable_dataset_sync":
            self.datasets[c.dataset or ""] = (False, "", "")
        elif c.action in ("enable_dataset_sync", "update_dataset_sync"):
            self.datasets[c.dataset or ""] = (True, c.sync_type or "", c.sync_policy or POLICY)


def need(state: tuple[bool, str, str]) -> int:
    return 0 if not state[0] else 2 if state[1] == "duplex" else 1


@st.composite
def one_namespace(draw: Any) -> tuple[Any, Snapshot]:
    live_rows = draw(
        st.lists(
            st.tuples(st.just(X), st.sampled_from(["t", "u"]), st.sampled_from(TYPES)),
            max_size=2,
            unique_by=lambda r: r[1],
        )
    )
    declared_rows = draw(
        st.lists(
            st.tuples(st.sampled_from(["t", "u"]), st.sampled_from(TYPES)),
            max_size=2,
            unique_by=lambda r: r[0],
        )
    )
    mode = draw(st.sampled_from(["unmanaged", "off", "simplex", "duplex"]))
    policy = draw(st.sampled_from([None, POLICY, OTHER_POLICY])) if mode in TYPES else None
    exclude = draw(st.sampled_from([(), ("d1",)]))
    datasets = tuple(
        LiveDataset(
            name,
            enabled := draw(st.booleans()),
            draw(st.sampled_from(TYPES)) if enabled else draw(st.sampled_from(["simplex", ""])),
            draw(st.sampled_from(["NOT_SCHEDULED", "NOT_SCHEDULED", "SCHEDULED"])),
            draw(st.sampled_from(POLICIES)) if enabled else "",
        )
        for name in ("d1", "d2", "d3")
    )
    declared = cfg(
        a=[
            ns(
                "n1",
                sync=[tgt(X, tn, t) for tn, t in declared_rows],
                allow_multiple_sync_targets=True,
                datasets=managed(mode, policy, exclude),
            )
        ]
    )
    return declared, snap(a=[lns("n1", sync=live_rows, datasets=datasets)])


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=one_namespace())
def test_dataset_plans_reach_the_declared_state_and_never_sync_unlinked(world: tuple[Any, Snapshot]) -> None:
    declared, live = world
    plan = plan_for(declared, live)
    if plan.errors:  # a plan with errors is never applied; the checks are what stops it
        return
    namespace = live.servers["a"].namespaces["n1"]
    assert namespace.datasets is not None
    model = Model(
        [(r.target_core_service, r.target_namespace, r.sync_type) for r in namespace.sync],
        {d.name: (d.sync_enabled, d.sync_type, d.sync_policy) for d in namespace.datasets},
    )
    start = model.level()
    deleting = {d.name for d in namespace.datasets if d.deleting}  # left alone, on their way out
    want = declared.servers[0].namespaces[0].datasets
    # Unmanaged datasets are hands off by contract: a type change of their link leaves them
    # unlinked for the moment between its DELETE and its PUT, as in version 0.1 (the sync service
    # sees rows only at its next poll, §7.5), and so are datasets being deleted. Managed ones are
    # the planner's to keep linked.
    fine_at_start = {
        name
        for name, state in model.datasets.items()
        if need(state) <= start and want.managed and not want.excludes(name) and name not in deleting
    }
    touched: set[str] = set()
    done: set[str] = set()
    for c in plan.changes:
        assert set(c.depends_on) <= done, f"{c.id} runs before what it depends on"
        model.apply(c)
        done.add(c.id)
        if c.dataset is not None:
            touched.add(c.dataset)
        for name, state in model.datasets.items():
            if name in fine_at_start or name in touched:
                assert need(state) <= model.level(), (
                    f"after {c.id}, dataset {name} syncs {state[1]} with targets {model.rows}"
                )
    for d in namespace.datasets:
        if want.sync == "unmanaged" or want.excludes(d.name) or d.deleting:
            assert d.name not in touched
            continue
        state = model.datasets[d.name]
        if want.sync == "off":
            assert not state[0]
        else:
            assert state[:2] == (True, want.sync)
            assert canonical(state[2]) == canonical(want.policy or "")


def test_an_update_keeps_what_it_replaces_in_its_precondition() -> None:
    live = snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds("d1", True, "simplex", POLICY),))])
    plan = plan_for(cfg(a=[ns("n1", sync=[tgt(X, "t")], datasets=managed("simplex", OTHER_POLICY))]), live)
    (change,) = plan.changes
    assert change.expect is not None and change.expect.dataset == (True, "simplex", POLICY)
    assert change.sync_policy == OTHER_POLICY
    assert replace(change, sync_policy=None) != change


def test_a_new_namespace_whose_datasets_cannot_sync_is_flagged_at_once() -> None:
    plan = plan_for(cfg(a=[ns("n1", datasets=managed("duplex"))]), snap())
    assert [c.action for c in plan.changes] == ["create_namespace"]
    assert [(v.check, v.severity, v.change) for v in plan.violations] == [
        ("dataset-sync-without-target", "error", "")
    ]
