"""Properties of the planner over random (desired, live) pairs in a small universe.

The plan is applied to a model of the live state that behaves like the real server
(docs/hoss-server.md): create fails on an unknown object store, delete cascades the namespace's
outgoing sync rows, a PUT of an existing (target, namespace) row is a no-op whatever the
type, a DELETE removes only the row with the exact string. The result must be the desired
state, the order must respect depends_on, and any change a safety rule would object to
must carry its violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from depth import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from two_servers import CORE, A, B, X

from hossctl.plan.changes import Change, Plan
from hossctl.plan.checks import dataset_reads_needed
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import diff, make_plan
from hossctl.plan.snapshot import (
    LiveDataset,
    LiveNamespace,
    LiveSyncTarget,
    Snapshot,
    make_server_state,
    make_snapshot,
)
from hossctl.urls import try_normalise_core_url

SERVER_OF = {A: "a", B: "b"}
SPELLINGS = {
    A: [A, A + "/", "http://A.test:80/core/v1"],
    B: [B, B + "/", "HTTPS://b.test/core/v1"],
    X: [X, X + "/"],
}
NAMES = ["n1", "n2", "n3"]
TYPES = ["simplex", "duplex"]

Row = tuple[str, str, str]  # exact target_core_service, target namespace, type
Key = tuple[str, str]  # canonical URL, target namespace


@dataclass
class World:
    """The universe of one example: config, true live state and true datasets."""

    config: Config
    live: dict[str, dict[str, LiveNamespace]]
    stores: dict[str, tuple[str, ...]]
    datasets: dict[tuple[str, str], tuple[LiveDataset, ...]]
    reachable: dict[str, bool] = field(default_factory=dict)

    def snapshot(self, read: frozenset[tuple[str, str]] = frozenset()) -> Snapshot:
        servers = {}
        for key in ("a", "b"):
            spaces = {
                name: LiveNamespace(
                    n.name,
                    n.description,
                    n.object_store,
                    n.bucket,
                    n.sync,
                    self.datasets[(key, name)] if (key, name) in read else None,
                )
                for name, n in self.live[key].items()
            }
            servers[key] = make_server_state(key, CORE[key], "0.2.3", self.stores[key], spaces)
        return make_snapshot(servers, self.reachable)


datasets_st = st.lists(
    st.builds(
        LiveDataset,
        name=st.sampled_from(["d1", "d2"]),
        sync_enabled=st.booleans(),
        sync_type=st.sampled_from(TYPES),
        delete_status=st.sampled_from(["NOT_SCHEDULED", "SCHEDULED"]),
    ),
    max_size=2,
    unique_by=lambda d: d.name,
).map(tuple)


@st.composite
def live_rows(draw: Any) -> tuple[LiveSyncTarget, ...]:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(SPELLINGS)).flatmap(lambda c: st.sampled_from(SPELLINGS[c])),
                st.sampled_from(NAMES),
                st.sampled_from([*TYPES, "Duplex"]),
            ),
            max_size=3,
            unique_by=lambda r: (r[0], r[1]),  # the server's unique key
        )
    )
    return tuple(LiveSyncTarget(*r) for r in rows)


@st.composite
def declared_sync(draw: Any) -> tuple[SyncTarget, ...]:
    picks = draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", X]), st.sampled_from(NAMES), st.sampled_from(TYPES)),
            max_size=2,
            unique_by=lambda t: (t[0], t[1]),
        )
    )
    return tuple(SyncTarget(t, t if t in CORE else None, CORE.get(t, X), n, ty) for t, n, ty in picks)


attrs_st = st.tuples(
    st.sampled_from(["d1", "d2"]), st.sampled_from(["default", "s2"]), st.sampled_from(["b1", "b2"])
)


@st.composite
def worlds(draw: Any) -> World:
    servers = []
    live: dict[str, dict[str, LiveNamespace]] = {}
    stores: dict[str, tuple[str, ...]] = {}
    datasets: dict[tuple[str, str], tuple[LiveDataset, ...]] = {}
    for key in ("a", "b"):
        namespaces = []
        for name in NAMES:
            mode = draw(st.sampled_from(["undeclared", "present", "present", "absent"]))
            if mode == "present":
                d, s, bk = draw(attrs_st)
                namespaces.append(
                    Namespace(name, d, s, bk, protect=draw(st.booleans()), sync=draw(declared_sync()))
                )
            elif mode == "absent":
                namespaces.append(Namespace(name, ensure="absent", protect=draw(st.booleans())))
        servers.append(
            Server(
                key,
                CORE[key].removesuffix("/core/v1"),
                CORE[key],
                prune=draw(st.booleans()),
                namespaces=tuple(namespaces),
            )
        )
        stores[key] = draw(st.sampled_from([("default",), ("default", "s2")]))
        live[key] = {}
        for name in NAMES:
            if draw(st.booleans()):
                d, s, bk = draw(attrs_st)
                live[key][name] = LiveNamespace(name, d, s, bk, draw(live_rows()))
            datasets[(key, name)] = draw(datasets_st)
    reachable = draw(st.sampled_from([{}, {X: True}, {X: False}]))
    return World(Config(servers=tuple(servers)), live, stores, datasets, reachable)


# -- the server model ---------------------------------------------------------------------


@dataclass
class Model:
    spaces: dict[str, dict[str, tuple[tuple[str, str, str], list[Row]]]]
    stores: dict[str, tuple[str, ...]]
    failed: list[Change] = field(default_factory=list)

    def apply(self, c: Change) -> None:
        spaces = self.spaces[c.server]
        if c.action == "create_namespace":
            assert c.namespace not in spaces, f"{c.id}: POST of an existing namespace answers 403"
            if c.object_store not in self.stores[c.server]:
                self.failed.append(c)
                return
            spaces[c.namespace] = ((c.description or "", c.object_store or "", c.bucket or ""), [])
        elif c.action == "delete_namespace":
            spaces.pop(c.namespace, None)  # cascades its rows
        elif c.namespace not in spaces:
            self.failed.append(c)  # 404
        elif c.action == "enable_sync":
            rows = spaces[c.namespace][1]
            assert c.target_core_service and c.target_namespace and c.sync_type
            if not any((r[0], r[1]) == (c.target_core_service, c.target_namespace) for r in rows):
                rows.append((c.target_core_service, c.target_namespace, c.sync_type))
        else:
            rows = spaces[c.namespace][1]
            rows[:] = [r for r in rows if (r[0], r[1]) != (c.target_core_service, c.target_namespace)]


def model_of(world: World) -> Model:
    return Model(
        {
            key: {
                n: (
                    (ln.description, ln.object_store, ln.bucket),
                    [(r.target_core_service, r.target_namespace, r.sync_type) for r in ln.sync],
                )
                for n, ln in spaces.items()
            }
            for key, spaces in world.live.items()
        },
        dict(world.stores),
    )


def key_of(row: Row) -> Key:
    return (try_normalise_core_url(row[0]), row[1])


# -- the desired state, written independently of the planner -----------------------------


def implied(config: Config) -> dict[tuple[str, str], dict[Key, str]]:
    out: dict[tuple[str, str], dict[Key, str]] = {}
    for s in config.servers:
        for n in s.namespaces:
            if n.ensure == "present":
                for t in n.sync:
                    if t.type == "duplex" and t.target_server:
                        out.setdefault((t.target_server, t.namespace), {})[(s.core_url, n.name)] = "duplex"
    return out


def check_converged(world: World, model: Model) -> None:
    config = world.config
    rev = implied(config)
    failed_creates = {(c.server, c.namespace) for c in model.failed if c.action == "create_namespace"}
    declared = {(s.key, n.name): n for s in config.servers for n in s.namespaces}
    pruned = {
        (s.key, name)
        for s in config.servers
        if s.prune
        for name in world.live[s.key]
        if (s.key, name) not in declared
    }
    controlled = set(declared) | pruned
    for key in ("a", "b"):
        final = model.spaces[key]
        for name in NAMES:
            ref = (key, name)
            n = declared.get(ref)
            if n is not None and n.ensure == "present":
                if ref in failed_creates:
                    continue
                assert name in final, f"{ref} should exist"
                attrs, rows = final[name]
                assert attrs == (n.description, n.object_store, n.bucket)
                want: dict[Key, str] = {(t.core_url, t.namespace): t.type for t in n.sync}
                for k, ty in rev.get(ref, {}).items():
                    want.setdefault(k, ty)
                got = [(key_of(r), r[2]) for r in rows]
                assert len({k for k, _ in got}) == len(got), f"{ref}: duplicate spellings left: {rows}"
                assert dict(got) == want, f"{ref}: {rows} != {want}"
            elif n is not None or ref in pruned:
                assert name not in final, f"{ref} should be gone"
            elif name not in world.live[key]:
                assert name not in final
            else:
                attrs, rows = final[name]
                before = world.live[key][name]
                assert attrs == (before.description, before.object_store, before.bucket)
                wanted = rev.get(ref, {})

                def owned(row: Row, wanted: dict[Key, str] = wanted) -> bool:
                    k = key_of(row)
                    return k in wanted or (
                        row[2] == "duplex" and (SERVER_OF.get(k[0], ""), k[1]) in controlled
                    )

                untouched = sorted(
                    (r.target_core_service, r.target_namespace, r.sync_type)
                    for r in before.sync
                    if not owned((r.target_core_service, r.target_namespace, r.sync_type))
                )
                assert sorted(r for r in rows if not owned(r)) == untouched
                got = [(key_of(r), r[2]) for r in rows if owned(r)]
                assert sorted(got) == sorted(wanted.items()), f"{ref}: {rows} vs {wanted}"


def check_flagged(world: World, plan: Plan, model: Model, target_check: bool) -> None:
    """Every change a safety rule objects to carries that violation (with the right severity)."""
    flagged: dict[tuple[str, str], str] = {(v.change, v.check): v.severity for v in plan.violations}
    target_sev = "error" if target_check else "warning"

    def need(c: Change, check: str, severity: str = "error") -> None:
        assert flagged.get((c.id, check)) == severity, f"{c.id} lacks {check} ({severity}): {plan.violations}"

    final = model.spaces
    declared = {(s.key, n.name): n for s in world.config.servers for n in s.namespaces}
    failed_creates = {(c.server, c.namespace) for c in model.failed if c.action == "create_namespace"}
    for c in model.failed:
        if c.action == "create_namespace":
            need(c, "unknown-object-store")
        elif (c.server, c.namespace) not in failed_creates:  # else its create already carries the violation
            need(c, "target-namespace-missing", target_sev)
    for c in plan.changes:
        ds = world.datasets[(c.server, c.namespace)]
        if c.action == "delete_namespace":
            if ds:
                need(c, "namespace-not-empty")
            n = declared.get((c.server, c.namespace))
            if n is not None and n.protect:
                need(c, "protected")
        elif c.action == "disable_sync":
            rows = final[c.server][c.namespace][1]
            k = key_of((c.target_core_service or "", c.target_namespace or "", ""))
            after = [r for r in rows if key_of(r) == k]
            if not after and any(d.sync_enabled for d in ds):
                need(c, "datasets-syncing")
            before = next(
                r
                for r in world.live[c.server][c.namespace].sync
                if (r.target_core_service, r.target_namespace) == (c.target_core_service, c.target_namespace)
            )
            downgraded = before.sync_type == "duplex" and after and all(r[2] != "duplex" for r in after)
            if downgraded and any(d.sync_enabled and d.sync_type == "duplex" for d in ds):
                need(c, "duplex-datasets")
        elif c.action == "enable_sync":
            url, tn = c.target_core_service or "", c.target_namespace or ""
            if url in SERVER_OF:
                if tn not in final[SERVER_OF[url]] and (SERVER_OF[url], tn) not in failed_creates:
                    need(c, "target-namespace-missing", target_sev)
            else:
                if world.reachable.get(url) is False:
                    need(c, "target-unreachable", target_sev)
                # only probed, never read: its namespaces are unknown, and not reported missing
                assert (c.id, "target-namespace-missing") not in flagged, plan.violations


@settings(
    max_examples=examples(400),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(world=worlds(), target_check=st.booleans())
def test_applying_the_plan_yields_the_desired_state(world: World, target_check: bool) -> None:
    first = diff(world.config, world.snapshot())
    read = dataset_reads_needed(first)
    plan = make_plan(world.config, world.snapshot(read), target_check=target_check)
    assert plan.changes == first, "datasets must not change the changes"

    seen: set[str] = set()
    for c in plan.changes:
        assert c.id not in seen and set(c.depends_on) <= seen
        seen.add(c.id)
    # "" marks a finding about the live state (dataset sync drift) that no change causes
    assert {v.change for v in plan.violations} - {""} <= seen

    model = model_of(world)
    for c in plan.changes:
        model.apply(c)
    event("every change succeeded" if not model.failed else "some change failed (and was flagged)")
    event(f"changes: {min(len(plan.changes), 8)}{'+' if len(plan.changes) >= 8 else ''}")
    event(f"violations: {'some' if plan.violations else 'none'}")
    check_converged(world, model)
    check_flagged(world, plan, model, target_check)

    # a second plan against the converged state has nothing left to do
    if not model.failed:
        again = {
            key: {
                n: LiveNamespace(n, *attrs, tuple(LiveSyncTarget(*r) for r in rows))
                for n, (attrs, rows) in spaces.items()
            }
            for key, spaces in model.spaces.items()
        }
        world2 = World(world.config, again, world.stores, world.datasets, world.reachable)
        assert diff(world.config, world2.snapshot()) == ()
