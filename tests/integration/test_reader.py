"""read_snapshot / read_datasets against two sandboxes, built straight from model values."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ports import dead_url

from hossctl.live.client import HossClient
from hossctl.live.reader import read_datasets, read_scope, read_snapshot
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.snapshot import LiveDataset, LiveSyncTarget, Snapshot
from hossctl.urls import normalise_core_url

SandboxFactory = Callable[..., Any]


def _server(key: str, sb: Any, *namespaces: Namespace) -> Server:
    return Server(key=key, url=sb.url, core_url=normalise_core_url(sb.url), namespaces=namespaces)


def _read(
    config: Config, clients: dict[str, HossClient], needs: set[tuple[str, str]] | None = None
) -> Snapshot:
    async def main() -> Snapshot:
        try:
            snap = await read_snapshot(read_scope(config), clients, parallelism=4, probe_timeout=1.0)
            if needs is not None:
                snap = await read_datasets(snap, clients, needs, parallelism=4)
            return snap
        finally:
            for client in clients.values():
                await client.aclose()

    return asyncio.run(main())


def test_snapshot_of_two_servers(sandbox_factory: SandboxFactory) -> None:
    a, b = sandbox_factory(), sandbox_factory(object_stores=("default", "cold"))
    a.seed_namespace("raw", description="Raw data", bucket="raw-bucket")
    # Stored spelling differs from the canonical form: it must be kept byte for byte.
    odd = b.url.replace("http://", "HTTP://") + "/core/v1/"
    a.seed_sync("raw", odd, "raw", "duplex")
    a.seed_sync("raw", "https://partner.example/core/v1", "mirror", "simplex")
    a.seed_namespace("a/b", bucket="slash")  # listed by the server but never routable
    b.seed_namespace("raw", description="Raw data", object_store="cold", bucket="raw-b")
    down = dead_url()
    target = SyncTarget("x", None, normalise_core_url(down), "raw", "simplex")
    config = Config(
        servers=(
            _server("a", a, Namespace("raw", "Raw data", "default", "raw-bucket", sync=(target,))),
            _server("b", b),
        )
    )
    clients = {
        "a": HossClient(server="a", base_url=a.url, pat=a.admin_pat),
        "b": HossClient(server="b", base_url=b.url, pat=b.admin_pat),
    }
    snap = _read(config, clients)

    sa, sb_ = snap.server("a"), snap.server("b")
    assert sa is not None and sb_ is not None
    assert sa.core_url == a.core_url and sa.version.startswith("0.2.")
    assert sa.object_stores == ("default",) and sb_.object_stores == ("cold", "default")
    assert set(sa.namespaces) == {"default", "raw", "a/b"}
    raw = sa.namespaces["raw"]
    assert (raw.description, raw.object_store, raw.bucket, raw.datasets) == (
        "Raw data",
        "default",
        "raw-bucket",
        None,
    )
    assert set(raw.sync) == {
        LiveSyncTarget(odd, "raw", "duplex"),
        LiveSyncTarget("https://partner.example/core/v1", "mirror", "simplex"),
    }
    assert sa.namespaces["a/b"].sync == ()
    assert sb_.namespaces["raw"].object_store == "cold"
    assert snap.reachable == {a.core_url: True, b.core_url: True, normalise_core_url(down): False}


def test_external_target_reachable(sandbox_factory: SandboxFactory) -> None:
    a, partner = sandbox_factory(), sandbox_factory()
    target = SyncTarget(partner.url, None, normalise_core_url(partner.url), "default", "simplex")
    config = Config(
        servers=(
            _server("a", a, Namespace("default", "Default namespace", "default", "data", sync=(target,))),
        )
    )
    snap = _read(config, {"a": HossClient(server="a", base_url=a.url, pat=a.admin_pat)})
    assert snap.reachable[partner.core_url] is True


def test_datasets_read_only_where_needed(sandbox_factory: SandboxFactory) -> None:
    a = sandbox_factory(delete_delay=3600)  # d1 stays SCHEDULED
    a.seed_namespace("full", bucket="full")
    a.seed_namespace("other", bucket="other")
    a.seed_dataset("full", "d2", sync_enabled=True, sync_type="duplex")
    a.seed_dataset("full", "d1", delete_status="SCHEDULED")
    a.seed_dataset("other", "x")
    config = Config(servers=(_server("a", a),))
    client = HossClient(server="a", base_url=a.url, pat=a.admin_pat)
    snap = _read(config, {"a": client}, needs={("a", "full"), ("a", "missing"), ("b", "full")})
    state = snap.server("a")
    assert state is not None
    assert state.namespaces["full"].datasets == (
        LiveDataset("d1", False, "simplex", "SCHEDULED"),
        LiveDataset("d2", True, "duplex", "NOT_SCHEDULED", '{"Version":"1","Statements":[]}'),
    )
    assert state.namespaces["other"].datasets is None
    assert state.namespaces["default"].datasets is None
