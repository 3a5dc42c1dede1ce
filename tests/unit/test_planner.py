"""The planner's rules, one table row per rule: desired config + live snapshot -> ordered changes."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from two_servers import A, B, X, absent, cfg, lns, ns, snap, tgt

from hossctl.plan.changes import Change
from hossctl.plan.model import Config, Namespace
from hossctl.plan.planner import diff, make_plan
from hossctl.plan.snapshot import (
    Snapshot,
    make_server_state,
    make_snapshot,
)


def enable_id(server: str, namespace: str, url: str, tn: str) -> str:
    return f"{server}/{namespace}/sync:{url}#{tn}/enable"


def disable_id(server: str, namespace: str, url: str, tn: str) -> str:
    return f"{server}/{namespace}/sync:{url}#{tn}/disable"


CASES: list[tuple[str, Config, Snapshot, list[str]]] = [
    ("nothing declared, nothing live", cfg(), snap(), []),
    ("in sync", cfg(a=[ns("n1", sync=[tgt(X, "t")])]), snap(a=[lns("n1", sync=[(X, "t", "simplex")])]), []),
    ("create", cfg(a=[ns("n1")]), snap(), ["a/n1/create"]),
    (
        "create with targets",
        cfg(a=[ns("n1", sync=[tgt(X, "t"), tgt("b", "u")])]),
        snap(b=[lns("u")]),
        ["a/n1/create", enable_id("a", "n1", B, "u"), enable_id("a", "n1", X, "t")],
    ),
    (
        "replace on description",
        cfg(a=[ns("n1", d="new")]),
        snap(a=[lns("n1")]),
        ["a/n1/delete", "a/n1/create"],
    ),
    (
        "replace on object store",
        cfg(a=[ns("n1", store="s2")]),
        snap(a=[lns("n1")]),
        ["a/n1/delete", "a/n1/create"],
    ),
    (
        "replace on bucket",
        cfg(a=[ns("n1", bucket="other")]),
        snap(a=[lns("n1")]),
        ["a/n1/delete", "a/n1/create"],
    ),
    (
        "replace re-enables declared targets, no disable for cascaded rows",
        cfg(a=[ns("n1", d="new", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex"), (X, "gone", "simplex")])]),
        ["a/n1/delete", "a/n1/create", enable_id("a", "n1", X, "t")],
    ),
    (
        "enable a missing target",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1")]),
        [enable_id("a", "n1", X, "t")],
    ),
    (
        "disable an undeclared target by its exact string",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1", sync=[("HTTPS://X.test:443/core/v1/", "t", "simplex")])]),
        [disable_id("a", "n1", "HTTPS://X.test:443/core/v1/", "t")],
    ),
    (
        "target spelled differently live is the same target",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1", sync=[("https://X.TEST/core/v1/", "t", "simplex")])]),
        [],
    ),
    (
        "type change",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")])]),
        snap(a=[lns("n1", sync=[(X + "/", "t", "simplex")])]),
        [disable_id("a", "n1", X + "/", "t"), enable_id("a", "n1", X, "t")],
    ),
    (
        "duplicate spellings: keep the canonical one",
        cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
        snap(a=[lns("n1", sync=[(X + "/", "t", "simplex"), (X, "t", "simplex")])]),
        [disable_id("a", "n1", X + "/", "t")],
    ),
    (
        "duplicate spellings: keep the one with the wanted type",
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")])]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex"), (X + "/", "t", "duplex")])]),
        [disable_id("a", "n1", X, "t")],
    ),
    (
        "duplicate spellings of an undeclared target: all go",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex"), (X + "/", "t", "simplex")])]),
        [disable_id("a", "n1", X, "t"), disable_id("a", "n1", X + "/", "t")],
    ),
    (
        "undeclared namespaces are left alone",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1"), lns("other", sync=[(X, "t", "simplex")])]),
        [],
    ),
    (
        "prune deletes undeclared namespaces",
        cfg(a=[ns("n1")], prune_a=True),
        snap(a=[lns("n1"), lns("other", sync=[(X, "t", "simplex")])]),
        ["a/other/delete"],
    ),
    ("prune is per server", cfg(a=[ns("n1")], prune_a=True), snap(a=[lns("n1")], b=[lns("other")]), []),
    (
        "prune leaves a name holding '/' alone: the API can never delete it",
        cfg(a=[ns("n1")], prune_a=True),
        snap(a=[lns("n1"), lns("x/y"), lns("gone")]),
        ["a/gone/delete"],
    ),
    (
        "ensure absent deletes",
        cfg(a=[absent("n1")]),
        snap(a=[lns("n1", sync=[(X, "t", "simplex")])]),
        ["a/n1/delete"],
    ),
    ("ensure absent when already gone", cfg(a=[absent("n1")]), snap(), []),
    (
        "duplex implies the reverse on a declared target",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])], b=[ns("u")]),
        snap(a=[lns("n1")], b=[lns("u")]),
        [enable_id("a", "n1", B, "u"), enable_id("b", "u", A, "n1")],
    ),
    (
        "duplex implies the reverse on an undeclared target",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
        snap(a=[lns("n1")], b=[lns("u", sync=[(X, "keep", "simplex")])]),
        [enable_id("a", "n1", B, "u"), enable_id("b", "u", A, "n1")],
    ),
    (
        "the reverse half is never disabled for being undeclared on its end",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])], b=[ns("u")]),
        snap(a=[lns("n1", sync=[(B, "u", "duplex")])], b=[lns("u", sync=[(A + "/", "n1", "duplex")])]),
        [],
    ),
    (
        "a simplex reverse half is fixed to duplex",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
        snap(a=[lns("n1", sync=[(B, "u", "duplex")])], b=[lns("u", sync=[(A, "n1", "simplex")])]),
        [disable_id("b", "u", A, "n1"), enable_id("b", "u", A, "n1")],
    ),
    (
        "a removed duplex link goes on both ends, even on an undeclared end",
        cfg(a=[ns("n1")]),
        snap(
            a=[lns("n1", sync=[(B, "u", "duplex")])],
            b=[lns("u", sync=[(A, "n1", "duplex"), (X, "t", "simplex")])],
        ),
        [disable_id("a", "n1", B, "u"), disable_id("b", "u", A, "n1")],
    ),
    (
        "duplex reverse rows to unmanaged namespaces are left alone",
        cfg(a=[ns("n1")]),
        snap(a=[lns("n1")], b=[lns("u", sync=[(A, "elsewhere", "duplex")])]),
        [],
    ),
    (
        "an explicit declaration on the reverse end wins over the implied row",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])], b=[ns("u", sync=[tgt("a", "n1", "simplex")])]),
        snap(a=[lns("n1", sync=[(B, "u", "duplex")])], b=[lns("u", sync=[(A, "n1", "simplex")])]),
        [],
    ),
    (
        "the reverse of a missing namespace is still planned (and flagged)",
        cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
        snap(a=[lns("n1")]),
        [enable_id("a", "n1", B, "u"), enable_id("b", "u", A, "n1")],
    ),
    (
        "a deleted namespace's inbound rows go before it",
        cfg(a=[absent("n1")], b=[ns("u")]),
        snap(a=[lns("n1")], b=[lns("u", sync=[(A, "n1", "simplex")])]),
        [disable_id("b", "u", A, "n1"), "a/n1/delete"],
    ),
]


@pytest.mark.parametrize(("config", "live", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_changes(config: Config, live: Snapshot, expected: list[str]) -> None:
    changes = diff(config, live)
    assert [c.id for c in changes] == expected
    _assert_valid_order(changes)
    assert diff(config, live) == changes  # deterministic


def _assert_valid_order(changes: tuple[Change, ...]) -> None:
    seen: set[str] = set()
    for c in changes:
        assert c.id not in seen
        assert set(c.depends_on) <= seen, f"{c.id} depends on a later change"
        seen.add(c.id)


def _by_id(changes: Iterable[Change]) -> dict[str, Change]:
    return {c.id: c for c in changes}


@pytest.mark.parametrize(
    ("want", "forced", "reason"),
    [
        (ns("n1", d="new"), ("description",), "description differs: 'd' -> 'new'"),
        (ns("n1", store="s2"), ("object_store",), "object_store differs: 'default' -> 's2'"),
        (ns("n1", bucket="bk"), ("bucket",), "bucket differs: 'n1' -> 'bk'"),
        (
            ns("n1", d="new", bucket="bk"),
            ("description", "bucket"),
            "description differs: 'd' -> 'new'; bucket differs: 'n1' -> 'bk'",
        ),
    ],
)
def test_replace_names_the_forcing_attributes(want: Namespace, forced: tuple[str, ...], reason: str) -> None:
    changes = _by_id(diff(cfg(a=[want]), snap(a=[lns("n1")])))
    delete, create = changes["a/n1/delete"], changes["a/n1/create"]
    assert delete.replace and create.replace
    assert delete.forced_by == create.forced_by == forced
    assert create.reason == reason and delete.reason.startswith(reason)
    assert create.depends_on == ("a/n1/delete",)
    assert (create.description, create.object_store, create.bucket) == (
        want.description,
        want.object_store,
        want.bucket,
    )
    assert make_plan(cfg(a=[want]), snap(a=[lns("n1")])).summary.replace == 1


def test_replace_reason_names_cascaded_sync_targets() -> None:
    changes = _by_id(
        diff(cfg(a=[ns("n1", d="new", sync=[tgt(X, "t")])]), snap(a=[lns("n1", sync=[(X, "t", "simplex")])]))
    )
    assert "removes its sync targets: https://x.test/core/v1#t (simplex)" in changes["a/n1/delete"].reason
    enable = changes[enable_id("a", "n1", X, "t")]
    assert enable.depends_on == ("a/n1/create",)
    assert "re-enabled after the replace" in enable.reason


def test_disable_carries_the_exact_live_string_and_enable_the_canonical_url() -> None:
    live = "HTTPS://X.test:443/core/v1/"
    changes = diff(
        cfg(a=[ns("n1", sync=[tgt(X, "t", "duplex")])]), snap(a=[lns("n1", sync=[(live, "t", "simplex")])])
    )
    disable, enable = changes
    assert (disable.action, disable.target_core_service, disable.sync_type) == (
        "disable_sync",
        live,
        "simplex",
    )
    assert (enable.action, enable.target_core_service, enable.sync_type) == ("enable_sync", X, "duplex")
    assert enable.depends_on == (disable.id,)
    assert disable.reason == enable.reason == "sync type changes simplex -> duplex"


@pytest.mark.parametrize(
    ("config", "live", "change_id", "reason"),
    [
        (cfg(a=[ns("n1")]), snap(), "a/n1/create", "declared in config but missing on server"),
        (cfg(a=[absent("n1")]), snap(a=[lns("n1")]), "a/n1/delete", "ensure: absent"),
        (cfg(prune_a=True), snap(a=[lns("n1")]), "a/n1/delete", "not declared in config and prune is on"),
        (
            cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
            snap(a=[lns("n1")]),
            enable_id("a", "n1", X, "t"),
            "declared in config but missing on server",
        ),
        (
            cfg(a=[ns("n1")]),
            snap(a=[lns("n1", sync=[(X, "t", "simplex")])]),
            disable_id("a", "n1", X, "t"),
            "not declared in config (a declared namespace's sync list is complete)",
        ),
        (  # a one-sided duplex link: the reason says which half is there and which is missing
            cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
            snap(a=[lns("n1", sync=[(B, "u", "duplex")])], b=[lns("u")]),
            enable_id("b", "u", A, "n1"),
            "reverse direction of the duplex link declared by a/n1; the link is one-sided: "
            "a/n1 → b/u exists, b/u → a/n1 is missing",
        ),
        (  # a new link: both halves are enabled, neither is a repair
            cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
            snap(a=[lns("n1")], b=[lns("u")]),
            enable_id("b", "u", A, "n1"),
            "reverse direction of the duplex link declared by a/n1",
        ),
        (  # the declared half is simplex live: a type change, not a one-sided link
            cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])]),
            snap(a=[lns("n1", sync=[(B, "u", "simplex")])], b=[lns("u")]),
            enable_id("b", "u", A, "n1"),
            "reverse direction of the duplex link declared by a/n1",
        ),
        (  # the declaring namespace is replaced: its row goes with it, so nothing is one-sided
            cfg(a=[ns("n1", bucket="new", sync=[tgt("b", "u", "duplex")])]),
            snap(a=[lns("n1", sync=[(B, "u", "duplex")])], b=[lns("u")]),
            enable_id("b", "u", A, "n1"),
            "reverse direction of the duplex link declared by a/n1",
        ),
        (
            cfg(a=[ns("n1", sync=[tgt(X, "t")])]),
            snap(a=[lns("n1", sync=[(X, "t", "simplex"), (X + "/", "t", "simplex")])]),
            disable_id("a", "n1", X + "/", "t"),
            "duplicate spelling of https://x.test/core/v1#t (keeping 'https://x.test/core/v1', simplex)",
        ),
    ],
)
def test_reasons(config: Config, live: Snapshot, change_id: str, reason: str) -> None:
    assert _by_id(diff(config, live))[change_id].reason == reason


def test_enables_depend_on_the_creates_of_both_ends() -> None:
    config = cfg(a=[ns("n1", sync=[tgt("b", "u", "duplex")])], b=[ns("u")])
    changes = diff(config, snap())
    assert [c.id for c in changes] == [
        "a/n1/create",
        "b/u/create",
        enable_id("a", "n1", B, "u"),
        enable_id("b", "u", A, "n1"),
    ]
    by = _by_id(changes)
    assert by[enable_id("a", "n1", B, "u")].depends_on == ("a/n1/create", "b/u/create")
    assert by[enable_id("b", "u", A, "n1")].depends_on == ("a/n1/create", "b/u/create")
    assert by[enable_id("a", "n1", B, "u")].target_server == "b"
    assert by[enable_id("b", "u", A, "n1")].target_server == "a"


def test_only_real_dependencies() -> None:
    config = cfg(a=[ns("n1", sync=[tgt(X, "t")]), absent("old"), ns("r", d="new")])
    live = snap(a=[lns("n1", sync=[(X, "u", "simplex")]), lns("old"), lns("r")])
    by = _by_id(diff(config, live))
    assert by["a/old/delete"].depends_on == ()
    assert by["a/r/delete"].depends_on == ()
    assert by["a/r/create"].depends_on == ("a/r/delete",)
    assert by[enable_id("a", "n1", X, "t")].depends_on == ()
    assert by[disable_id("a", "n1", X, "u")].depends_on == ()


def test_phases_are_ordered_and_sorted_within() -> None:
    config = cfg(
        a=[ns("z", sync=[tgt(X, "t")]), ns("m", d="new"), absent("gone")],
        b=[ns("c", sync=[tgt(X, "t")])],
    )
    live = snap(
        a=[lns("m"), lns("gone"), lns("z", sync=[(X, "old", "simplex")])],
        b=[lns("c", sync=[(X, "old", "simplex")])],
    )
    actions = [(c.action, c.server, c.namespace) for c in diff(config, live)]
    assert actions == [
        ("disable_sync", "a", "z"),
        ("disable_sync", "b", "c"),
        ("delete_namespace", "a", "gone"),
        ("delete_namespace", "a", "m"),
        ("create_namespace", "a", "m"),
        ("enable_sync", "a", "z"),
        ("enable_sync", "b", "c"),
    ]


def test_ids_stay_unique_for_odd_names() -> None:
    # namespace names are not validated by the server; ids must still be unique
    config = cfg(a=[ns("x", sync=[tgt(X, "t")]), ns("x/sync:https://x.test/core/v1#t")])
    changes = diff(config, snap())
    assert len({c.id for c in changes}) == len(changes)
    _assert_valid_order(changes)


def test_missing_server_state_is_treated_as_empty() -> None:
    live = make_snapshot({"a": make_server_state("a", A, "0.2.3", ("default",), {})})
    assert [c.id for c in diff(cfg(b=[ns("u")]), live)] == ["b/u/create"]


def test_make_plan_fills_violations_and_facts() -> None:
    plan = make_plan(cfg(a=[ns("n1", store="nope")]), snap())
    assert [v.check for v in plan.violations] == ["unknown-object-store"]
    assert set(plan.facts) == {"namespace:a/n1", "object_stores:a"}
