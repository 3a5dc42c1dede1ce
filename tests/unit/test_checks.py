"""Safety checks, one table row per situation: which violations (check, change, severity) a plan gets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import two_servers
from two_servers import A, B, X, cfg, lns, ns, tgt

from hossctl.checks import dataset_reads_needed, run_checks
from hossctl.model import Config, Namespace, Server, SyncTarget
from hossctl.planner import diff, make_plan
from hossctl.snapshot import (
    LiveDataset,
    LiveNamespace,
    Snapshot,
)


def ds(
    name: str = "ds", sync: bool = False, type: str = "simplex", state: str = "NOT_SCHEDULED"
) -> LiveDataset:
    return LiveDataset(name, sync, type, state)


def snap(a: Iterable[LiveNamespace] = (), b: Iterable[LiveNamespace] = (), **kw: Any) -> Snapshot:
    """The external target X answers and holds namespace 't' unless a case says otherwise."""
    kw.setdefault("reachable", {X: True})
    kw.setdefault("remote_namespaces", {X: frozenset({"t"})})
    return two_servers.snap(a, b, **kw)


EN_X = f"a/n1/sync:{X}#t/enable"
EN_B = f"a/n1/sync:{B}#u/enable"
DIS_X = f"a/n1/sync:{X}#t/disable"

CASES: list[tuple[str, Config, Snapshot, bool, set[tuple[str, str, str]]]] = [
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
        snap(a=[lns("n1")], reachable={}, remote_namespaces={}),
        True,
        {("target-unreachable", EN_X, "warning")},
    ),
    (
        "external target namespace exists",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: True}, remote_namespaces={X: frozenset({"t"})}),
        True,
        set(),
    ),
    (
        "external target namespace missing",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: True}, remote_namespaces={X: frozenset({"other"})}),
        True,
        {("target-namespace-missing", EN_X, "error")},
    ),
    (
        "external target namespace missing, --no-target-check",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], reachable={X: True}, remote_namespaces={X: frozenset()}),
        False,
        {("target-namespace-missing", EN_X, "warning")},
    ),
    (
        "external target namespaces unknown",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")], remote_namespaces={}),
        True,
        {("target-namespace-missing", EN_X, "warning")},
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
]


@pytest.mark.parametrize(
    ("config", "live", "target_check", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_checks(
    config: Config, live: Snapshot, target_check: bool, expected: set[tuple[str, str, str]]
) -> None:
    changes = diff(config, live)
    violations = run_checks(changes, config, live, target_check=target_check)
    assert {(v.check, v.change, v.severity) for v in violations} == expected
    by_id = {c.id: c for c in changes}
    for v in violations:
        assert (v.server, v.namespace) == (by_id[v.change].server, by_id[v.change].namespace)
        assert v.message and v.resolution
    plan = make_plan(config, live, target_check=target_check)
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
    from hossctl.model import Position

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
