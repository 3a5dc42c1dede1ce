"""Model builders shared by the planner and checks tests: two managed servers, a and b,
and an outside server x, with namespaces and snapshots written in one line each."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.snapshot import (
    LiveDataset,
    LiveNamespace,
    LiveSyncTarget,
    Snapshot,
    make_server_state,
    make_snapshot,
)
from hossctl.urls import normalise_core_url

A = "http://a.test/core/v1"
B = "https://b.test/core/v1"
X = "https://x.test/core/v1"
CORE = {"a": A, "b": B}


def tgt(target: str, namespace: str, type: Any = "simplex") -> SyncTarget:
    if target in CORE:
        return SyncTarget(target, target, CORE[target], namespace, type)
    return SyncTarget(target, None, normalise_core_url(target), namespace, type)


def ns(
    name: str,
    d: str = "d",
    store: str = "default",
    bucket: str | None = None,
    sync: Iterable[SyncTarget] = (),
    **kw: Any,
) -> Namespace:
    return Namespace(name, d, store, bucket or name, sync=tuple(sync), **kw)


def absent(name: str, protect: bool = False) -> Namespace:
    return Namespace(name, ensure="absent", protect=protect)


def cfg(a: Iterable[Namespace] = (), b: Iterable[Namespace] = (), prune_a: bool = False) -> Config:
    return Config(
        servers=(
            Server("a", "http://a.test", A, pat_env="A_PAT", prune=prune_a, namespaces=tuple(a)),
            Server("b", "https://b.test", B, pat_env="B_PAT", namespaces=tuple(b)),
        )
    )


def lns(
    name: str,
    d: str = "d",
    store: str = "default",
    bucket: str | None = None,
    sync: Iterable[tuple[str, str, str]] = (),
    datasets: tuple[LiveDataset, ...] | None = (),
) -> LiveNamespace:
    rows = tuple(LiveSyncTarget(*row) for row in sync)
    return LiveNamespace(name, d, store, bucket or name, rows, datasets)


def snap(
    a: Iterable[LiveNamespace] = (),
    b: Iterable[LiveNamespace] = (),
    stores: tuple[str, ...] = ("default",),
    **kw: Any,
) -> Snapshot:
    return make_snapshot(
        {
            "a": make_server_state("a", A, "0.2.3", stores, {n.name: n for n in a}),
            "b": make_server_state("b", B, "0.2.3", stores, {n.name: n for n in b}),
        },
        **kw,
    )
