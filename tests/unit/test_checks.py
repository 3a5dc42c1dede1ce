"""Safety checks, one table row per situation: which violations (check, change, severity) a plan gets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import two_servers
from two_servers import A, B, X, cfg, lns, ns, tgt

from hossctl.plan.changes import PlanOptions
from hossctl.plan.checks import _percent, dataset_reads_needed, run_checks
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import diff, make_plan
from hossctl.plan.snapshot import (
    LiveDataset,
    LiveNamespace,
    Snapshot,
)
from hossctl.values import replace


def ds(
    name: str = "ds", sync: bool = False, type: str = "simplex", state: str = "NOT_SCHEDULED"
) -> LiveDataset:
    return LiveDataset(name, sync, type, state)


def snap(a: Iterable[LiveNamespace] = (), b: Iterable[LiveNamespace] = (), **kw: Any) -> Snapshot:
    """The external target X answers unless a case says otherwise."""
    kw.setdefault("reachable", {X: True})
    return two_servers.snap(a, b, **kw)


def many(count: int, d: str = "d") -> list[LiveNamespace]:
    """``count`` live namespaces m00, m01, ... on server a."""
    return [lns(f"m{i:02d}", d=d) for i in range(count)]


def keep(count: int, changed: int = 0) -> list[Namespace]:
    """``many``'s first ``count`` namespaces declared as live, the next ``changed`` with a new description."""
    return [ns(f"m{i:02d}") for i in range(count)] + [
        ns(f"m{i:02d}", d="new") for i in range(count, count + changed)
    ]


def with_threshold(config: Config, percent: int) -> Config:
    """Server a of ``config`` with its ``delete_threshold`` set."""
    return replace(config, servers=tuple(
        replace(s, delete_threshold=percent) if s.key == "a" else s for s in config.servers
    ))


EN_X = f"a/n1/sync:{X}#t/enable"
EN_B = f"a/n1/sync:{B}#u/enable"
DIS_X = f"a/n1/sync:{X}#t/disable"

# The fourth column is target_check, or the whole PlanOptions for the cases that need more.
CASES: list[tuple[str, Config, Snapshot, bool | PlanOptions, set[tuple[str, str, str]]]] = [
    ("clean delete", cfg(prune_a=True), snap(a=[lns("n1")]), True, set()),
    (
        "delete of a namespace holding datasets",
        cfg(prune_a=True),
        snap(a=[lns("n1", datasets=(ds(),))]),
        True,
        {("namespace-not-empty", "a/n1/delete", "error")},
    ),
    (
        "datasets in any delete state count",
        cfg(prune_a=True),
        snap(a=[lns("n1", datasets=(ds(state="SCHEDULED"),))]),
        True,
        {("namespace-not-empty", "a/n1/delete", "error")},
    ),
    (
        "unread datasets are not assumed empty",
        cfg(prune_a=True),
        snap(a=[lns("n1", datasets=None)]),
        True,
        {("namespace-not-empty", "a/n1/delete", "error")},
    ),
    (
        "replace of a namespace holding datasets",
        cfg(a=[ns("n1", d="new")]),
        snap(a=[lns("n1", datasets=(ds(),))]),
        True,
        {("namespace-not-empty", "a/n1/delete", "error")},
    ),
    (
        "not-empty stays an error without target checks",
        cfg(prune_a=True),
        snap(a=[lns("n1", datasets=(ds(),))]),
        False,
        {("namespace-not-empty", "a/n1/delete", "error")},
    ),
    (
        "protected delete",
        cfg(a=[Namespace("n1", ensure="absent", protect=True)]),
        snap(a=[lns("n1")]),
        True,
        {("protected", "a/n1/delete", "error")},
    ),
    (
        "protected replace",
        cfg(a=[ns("n1", d="new", protect=True)]),
        snap(a=[lns("n1")]),
        True,
        {("protected", "a/n1/delete", "error")},
    ),
    ("protected but unchanged", cfg(a=[ns("n1", protect=True)]), snap(a=[lns("n1")]), True, set()),
    (
        "removing a target while datasets sync",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds(sync=True),))]),
        True,
        {("datasets-syncing", DIS_X, "error")},
    ),
    (
        "removing a target, no dataset syncs",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds(),))]),
        True,
        set(),
    ),
    (
        "removing a target with unread datasets",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=None)]),
        True,
        {("datasets-syncing", DIS_X, "error")},
    ),
    (
        "a type change is not a removal",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")])]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")], datasets=(ds(sync=True),))]),
        True,
        set(),
    ),
    (
        "dropping a duplicate spelling is not a removal",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex"), (X + "/", "t", "simplex")], datasets=(ds(sync=True),))]),
        True,
        set(),
    ),
    (
        "duplex to simplex while datasets use duplex",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "simplex")])]),
        snap(a=[lns("n1", sync=[(X, "t", "duplex")], datasets=(ds(sync=True, type="duplex"),))]),
        True,
        {("duplex-datasets", DIS_X, "error")},
    ),
    (
        "duplex to simplex, datasets only simplex",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "simplex")])]),
        snap(a=[lns("n1", sync=[(X, "t", "duplex")], datasets=(ds(sync=True),))]),
        True,
        set(),
    ),
    (
        "dropping the duplex spelling leaves a simplex one",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "simplex")])]),
        snap(
            a=[
                lns(
                    "n1",
                    sync=[(X, "t", "simplex"), (X + "/", "t", "duplex")],
                    datasets=(ds(sync=True, type="duplex"),),
                )
            ]
        ),
        True,
        {("duplex-datasets", f"a/n1/sync:{X}/#t/disable", "error")},
    ),
    (
        "unknown object store",
        cfg(a=[ns("n1", store="s3")]),
        snap(),
        True,
        {("unknown-object-store", "a/n1/create", "error")},
    ),
    ("known object store", cfg(a=[ns("n1")]), snap(), True, set()),
    (
        "unreachable external target",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: False}),
        True,
        {("target-unreachable", EN_X, "error")},
    ),
    (
        "unreachable external target, --no-target-check",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: False}),
        False,
        {("target-unreachable", EN_X, "warning")},
    ),
    (
        "external target never contacted",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={}),
        True,
        {("target-unreachable", EN_X, "warning")},
    ),
    # An external target is only probed, never read (no credentials there): when it answers,
    # nothing is flagged, in particular no namespace that "could not be listed".
    (
        "reachable external target",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: True}),
        True,
        set(),
    ),
    (
        "reachable external target, --no-target-check",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: True}),
        False,
        set(),
    ),
    (
        "reachable external target, a namespace no config declares",
        cfg(a=[ns("n1", sync=[tgt(X, "nowhere")])]),
        snap(a=[lns("n1")], reachable={X: True}),
        True,
        set(),
    ),
    (
        "managed target namespace exists",
        cfg(a=[ns("n1", sync=[tgt("b", "u")])]),
        snap(a=[lns("n1")], b=[lns("u")]),
        True,
        set(),
    ),
    (
        "managed target namespace created by the plan",
        cfg(a=[ns("n1", sync=[tgt("b", "u")])], b=[ns("u")]),
        snap(a=[lns("n1")]),
        True,
        set(),
    ),
    (
        "managed target namespace missing",
        cfg(a=[ns("n1", sync=[tgt("b", "u")])]),
        snap(a=[lns("n1")]),
        True,
        {("target-namespace-missing", EN_B, "error")},
    ),
    (
        "managed target namespace deleted by the plan",
        cfg(a=[ns("n1", sync=[tgt("b", "u")])], b=[Namespace("u", ensure="absent")]),
        snap(a=[lns("n1")], b=[lns("u")]),
        True,
        {("target-namespace-missing", EN_B, "error")},
    ),
    (
        "managed target namespace missing, --no-target-check",
        cfg(a=[ns("n1", sync=[tgt("b", "u")])]),
        snap(a=[lns("n1")]),
        False,
        {("target-namespace-missing", EN_B, "warning")},
    ),
    (
        "deleting a namespace that an undeclared namespace's simplex row still targets",
        cfg(a=[Namespace("n1", ensure="absent")]),
        snap(a=[lns("n1")], b=[lns("src", sync=[(A.upper(), "n1", "simplex")])]),
        True,
        {("namespace-still-targeted", "a/n1/delete", "error")},
    ),
    (
        "a row the plan disables does not count as still targeting",
        cfg(a=[Namespace("n1", ensure="absent")], b=[ns("src")]),
        snap(a=[lns("n1")], b=[lns("src", sync=[(A, "n1", "simplex")])]),
        True,
        set(),
    ),
    (
        "a row on a namespace deleted in the same plan does not count",
        cfg(a=[Namespace("n1", ensure="absent")], b=[Namespace("src", ensure="absent")]),
        snap(a=[lns("n1")], b=[lns("src", sync=[(A, "n1", "simplex")])]),
        True,
        set(),
    ),
    (
        "a replace re-creates the namespace at once, so rows pointing at it may stay",
        cfg(a=[ns("n1", d="new")]),
        snap(a=[lns("n1")], b=[lns("src", sync=[(A, "n1", "simplex")])]),
        True,
        set(),
    ),
    (
        "a duplex link to a missing namespace flags both halves",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
        snap(a=[lns("n1")]),
        True,
        {
            ("target-namespace-missing", EN_B, "error"),
            ("target-namespace-missing", f"b/u/sync:{A}#n1/enable", "error"),
        },
    ),
    # --- bucket-shared: a create on a bucket that another live namespace of the server uses ------------
    (
        "create on the bucket of an undeclared live namespace (a rename)",
        cfg(a=[ns("new", bucket="old")]),
        snap(a=[lns("old")]),
        True,
        {("bucket-shared", "a/new/create", "warning")},
    ),
    (
        "create on the bucket of a declared live namespace",
        cfg(a=[ns("old"), ns("new", bucket="old")]),
        snap(a=[lns("old")]),
        True,
        {("bucket-shared", "a/new/create", "warning")},
    ),
    (
        "create on the bucket of a namespace this plan prunes",
        cfg(a=[ns("new", bucket="old")], prune_a=True),
        snap(a=[lns("old")]),
        True,
        {("bucket-shared", "a/new/create", "warning")},
    ),
    (
        "create on the bucket of a namespace this plan deletes",
        cfg(a=[ns("new", bucket="old"), Namespace("old", ensure="absent")]),
        snap(a=[lns("old")]),
        True,
        {("bucket-shared", "a/new/create", "warning")},
    ),
    (
        "the create of a replace, on another live namespace's bucket",
        cfg(a=[ns("n1", bucket="other")]),
        snap(a=[lns("n1"), lns("other")]),
        True,
        {("bucket-shared", "a/n1/create", "warning")},
    ),
    (
        "a replace keeps its own bucket: not shared",
        cfg(a=[ns("n1", d="new")]),
        snap(a=[lns("n1")]),
        True,
        set(),
    ),
    (
        "the same bucket name on another object store is another bucket",
        cfg(a=[ns("new", store="s3", bucket="old")]),
        snap(a=[lns("old")], stores=("default", "s3")),
        True,
        set(),
    ),
    (
        "the same bucket on another server is another bucket",
        cfg(a=[ns("new", bucket="old")]),
        snap(b=[lns("old")]),
        True,
        set(),
    ),
    # --- mass-delete: more than the threshold of a server's live namespaces deleted or replaced ----------
    ("9 namespaces, all pruned: below 10 never flagged", cfg(prune_a=True), snap(a=many(9)), True, set()),
    (
        "3 of 10 pruned: exactly the threshold is allowed",
        cfg(a=keep(7), prune_a=True),
        snap(a=many(10)),
        True,
        set(),
    ),
    (
        "4 of 10 pruned: above the threshold",
        cfg(a=keep(6), prune_a=True),
        snap(a=many(10)),
        True,
        {("mass-delete", "a/m06/delete", "error")},
    ),
    (
        "4 of 10 replaced count like deletes",
        cfg(a=keep(6, changed=4)),
        snap(a=many(10)),
        True,
        {("mass-delete", "a/m06/delete", "error")},
    ),
    (
        "mass-delete stays an error without target checks",
        cfg(a=keep(6), prune_a=True),
        snap(a=many(10)),
        False,
        {("mass-delete", "a/m06/delete", "error")},
    ),
    (
        "--allow-mass-delete makes it a warning",
        cfg(a=keep(6), prune_a=True),
        snap(a=many(10)),
        PlanOptions(allow_mass_delete=True),
        {("mass-delete", "a/m06/delete", "warning")},
    ),
    (
        "a server's delete_threshold raises the limit",
        with_threshold(cfg(a=keep(5), prune_a=True), 50),
        snap(a=many(10)),
        True,
        set(),
    ),
    (
        "a server's delete_threshold lowers the limit",
        with_threshold(cfg(a=keep(8), prune_a=True), 10),
        snap(a=many(10)),
        True,
        {("mass-delete", "a/m08/delete", "error")},
    ),
    (
        "--delete-threshold overrides the server's",
        with_threshold(cfg(a=keep(8), prune_a=True), 50),
        snap(a=many(10)),
        PlanOptions(delete_threshold=10),
        {("mass-delete", "a/m08/delete", "error")},
    ),
    (
        "--delete-threshold 100 allows deleting everything",
        cfg(prune_a=True),
        snap(a=many(12)),
        PlanOptions(delete_threshold=100),
        set(),
    ),
    (
        "--delete-threshold 0 blocks any delete",
        cfg(a=keep(9), prune_a=True),
        snap(a=many(10)),
        PlanOptions(delete_threshold=0),
        {("mass-delete", "a/m09/delete", "error")},
    ),
    (
        "deletes are counted per server",
        cfg(a=keep(7), b=[Namespace(f"m{i:02d}", ensure="absent") for i in range(3)], prune_a=True),
        snap(a=many(10), b=[lns(f"m{i:02d}") for i in range(10)]),
        True,
        set(),
    ),
]


@pytest.mark.parametrize(
    ("config", "live", "target_check", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_checks(
    config: Config, live: Snapshot, target_check: bool | PlanOptions, expected: set[tuple[str, str, str]]
) -> None:
    options = target_check if isinstance(target_check, PlanOptions) else PlanOptions(target_check)
    changes = diff(config, live)
    violations = run_checks(changes, config, live, options)
    assert {(v.check, v.change, v.severity) for v in violations} == expected
    by_id = {c.id: c for c in changes}
    for v in violations:
        assert (v.server, v.namespace) == (by_id[v.change].server, by_id[v.change].namespace)
        assert v.message and v.resolution
    plan = make_plan(config, live, options)
    assert plan.violations == violations


def test_messages_say_what_where_and_how() -> None:
    config = cfg(prune_a=True)
    live = snap(a=[lns("n1", datasets=(ds("raw-1", state="SCHEDULED"), ds("raw-2")))])
    (v,) = run_checks(diff(config, live), config, live)
    assert "namespace 'n1' on server 'a'" in v.message
    assert "2 dataset(s)" in v.message and "'raw-1'" in v.message and "1 SCHEDULED" in v.message
    assert "move or delete the datasets" in v.resolution
    (unread,) = run_checks(
        diff(config, snap(a=[lns("n1", datasets=None)])), config, snap(a=[lns("n1", datasets=None)])
    )
    assert "could not be read" in unread.message


@pytest.mark.parametrize(
    ("config", "live", "expected"),
    [
        (cfg(prune_a=True), snap(a=[lns("n1")]), {("a", "n1")}),
        (cfg(a=[ns("n1", d="new")]), snap(a=[lns("n1")]), {("a", "n1")}),
        (cfg(a=[ns("n1")]), snap(a=[lns("n1", sync=[(X, "t", "simplex")])]), {("a", "n1")}),
        (
            cfg(a=[ns("n1", sync=[tgt(X, "t", "simplex")])]),
            snap(a=[lns("n1", sync=[(X, "t", "duplex")])]),
            {("a", "n1")},
        ),
        (
            cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")])]),
            snap(a=[lns("n1", sync=[(X, "t", "simplex")])]),
            set(),
        ),
        (cfg(a=[ns("n1", sync=[tgt(X, "t")])]), snap(a=[lns("n1")]), set()),
        (cfg(a=[ns("n2")]), snap(a=[lns("n1")]), set()),
    ],
    ids=["delete", "replace", "removal", "downgrade", "upgrade", "enable only", "create only"],
)
def test_dataset_reads_needed(config: Config, live: Snapshot, expected: set[tuple[str, str]]) -> None:
    assert dataset_reads_needed(diff(config, live)) == expected


def test_violations_point_at_the_declaration_they_come_from() -> None:
    """Positions travel from the loader to the checks, so a violation names the config line."""
    from hossctl.plan.model import Position

    here = Position("hoss.yaml", 7, 7)
    target_at = Position("hoss.yaml", 12, 13)
    config = Config(
        servers=(
            Server(
                "a", "http://a.test", A, position=Position("hoss.yaml", 3, 3),
                namespaces=(
                    Namespace("n1", "d", "nope", "n1", position=here),
                    Namespace(
                        "n2", "d", "default", "n2", position=Position("hoss.yaml", 10, 7),
                        sync=(SyncTarget("b", "b", B, "missing", "simplex", position=target_at),),
                    ),
                ),
            ),
            Server("b", "https://b.test", B),
        )
    )
    violations = {v.check: v for v in run_checks(diff(config, snap()), config, snap())}
    assert violations["unknown-object-store"].position == "hoss.yaml:7:7"
    assert violations["target-namespace-missing"].position == "hoss.yaml:12:13"


def _only(config: Config, live: Snapshot, options: PlanOptions | None = None) -> Any:
    (v,) = run_checks(diff(config, live), config, live, options)
    return v


def test_bucket_shared_with_an_undeclared_namespace_says_it_looks_like_a_rename() -> None:
    v = _only(cfg(a=[ns("microscopy-archive", bucket="imaging-archive")]), snap(a=[lns("imaging-archive")]))
    assert v.message == (
        "namespace 'microscopy-archive' on server 'a' would be created on bucket 'imaging-archive' of "
        "object store 'default', which live namespace 'imaging-archive' uses and this config does not "
        "declare; this looks like a rename, but Hoss has no rename: 'imaging-archive' and its datasets stay "
        "where they are, and with the bucket shared the sync service, which tells namespaces apart by "
        "bucket, would mix the two namespaces' data"
    )
    assert v.resolution == (
        "choose another bucket for 'microscopy-archive', or keep the old namespace's name 'imaging-archive' "
        "in the config; to rename it, create 'microscopy-archive' on another bucket, move the data there "
        "first, then delete 'imaging-archive'"
    )


def test_bucket_shared_with_a_declared_namespace_says_data_gets_mixed() -> None:
    v = _only(cfg(a=[ns("old"), ns("new", bucket="old")]), snap(a=[lns("old")]))
    assert v.message == (
        "namespace 'new' on server 'a' would be created on bucket 'old' of object store 'default', which "
        "live namespace 'old' also uses; the sync service tells namespaces apart by bucket, so their data "
        "would get mixed up"
    )


def test_bucket_shared_with_a_namespace_this_plan_deletes_names_the_stranded_files() -> None:
    pruned = _only(cfg(a=[ns("new", bucket="old")], prune_a=True), snap(a=[lns("old")]))
    assert pruned.message == (
        "namespace 'new' on server 'a' would be created on bucket 'old' of object store 'default', which "
        "live namespace 'old' uses until this plan deletes it; this looks like a rename, but Hoss has no "
        "rename: deleting 'old' does not move its data, so its dataset files stay in the bucket, mixed "
        "with the data of 'new', where they block those dataset names from being reused"
    )
    absent = cfg(a=[ns("new", bucket="old"), Namespace("old", ensure="absent")])
    declared = _only(absent, snap(a=[lns("old")]))
    assert "this plan deletes it: deleting 'old' does not move its data" in declared.message
    assert "rename" not in declared.message
    moved = _only(cfg(a=[ns("new", bucket="old"), ns("old", bucket="elsewhere")]), snap(a=[lns("old")]))
    assert moved.change == "a/new/create"
    assert "this plan replaces it on another bucket: deleting 'old' does not move its data" in moved.message


def test_mass_delete_gives_the_numbers_and_both_ways_out() -> None:
    config = cfg(a=keep(8), prune_a=True)
    live = snap(a=many(20))
    v = _only(config, live)
    assert v.message == (
        "this plan would delete or replace 12 of 20 live namespaces (60 %) on server 'a', "
        "above its delete threshold of 30 %"
    )
    assert v.resolution == (
        "if this is intended, re-run with --allow-mass-delete or raise delete_threshold of server 'a' in the "
        "config; if not, check the -f files, the URL of server 'a' and its prune setting"
    )
    assert v.position is None  # a pruned delete names no declaration, and this server has no position
    allowed = _only(config, live, PlanOptions(allow_mass_delete=True))
    assert (allowed.severity, allowed.message) == ("warning", v.message + " (allowed by --allow-mass-delete)")
    cli = _only(config, live, PlanOptions(delete_threshold=50))
    assert cli.message.endswith("above the delete threshold given with --delete-threshold of 50 %")
    assert "give a higher --delete-threshold" in cli.resolution


@pytest.mark.parametrize(
    ("count", "total", "threshold", "shown"),
    [
        (12, 20, 30, "60"),
        (4, 11, 30, "36.4"),
        (61, 200, 30, "30.5"),
        (3001, 10000, 30, "30.1"),  # 30.01 would show as 30.0, "above" a threshold of 30
        (1, 3, 0, "33.3"),
    ],
)
def test_percent_is_never_rounded_onto_the_threshold(
    count: int, total: int, threshold: int, shown: str
) -> None:
    assert _percent(count, total, threshold) == shown
