"""Issue 15's figures as a smoke test: the client's CPU per request and plan's read against a peer.

The benchmarks (``benchmarks/bench_client.py``, ``bench_plan.py``) measure these properly;
this only catches a large regression on every push, in a few seconds. Each figure is a ratio
to ``benchmarks/peer_client.py``, a minimal asyncio client doing the same requests in the
same test, so a slow or busy machine slows both and the ratio holds. The bounds are two to
three times what is measured here, so noise passes and a 3 x regression fails:

- client CPU per request: hossctl about 3.5-4 x the peer's (bound 10 x; before issue 15 it was
  about 8-10 x). The CPU is the client thread's own (``time.thread_time``), and the sandbox
  answering it runs in another process.
- plan's read of 300 namespaces at 20 ms latency, in this process with the sandbox's threads:
  about 1.6 x the network floor and 1.3 x the peer's time (bounds 4 x the floor, since the suite
  runs three workers on two cores, and 2.5 x the peer; a read that lost its concurrency would
  take about 16 x the floor).
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sandbox_process import start_sandbox

from hossctl.live.client import PAGE_SIZE, Endpoint, HossClient, open_clients
from hossctl.live.reader import read_scope, read_snapshot
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.urls import normalise_core_url

SandboxFactory = Callable[..., Any]
CPU_BOUND = 10.0
FLOOR_BOUND = 4.0
PEER_BOUND = 2.5
PARALLELISM = 16


def _peer_module() -> Any:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_client.py"
    spec = importlib.util.spec_from_file_location("peer_client", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _cpu_per_request(send: Callable[[], Awaitable[Any]], requests: int) -> float:
    """This thread's CPU seconds per call of ``send``, 16 at a time, after a warm-up."""
    gate = asyncio.Semaphore(PARALLELISM)

    async def one() -> None:
        async with gate:
            await send()

    await asyncio.gather(*(one() for _ in range(100)))
    cpu = time.thread_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (time.thread_time() - cpu) / requests


def test_client_cpu_per_request_stays_within_a_few_times_a_minimal_client(
    processes: list[subprocess.Popen[str]],
) -> None:
    sandbox = start_sandbox()
    processes.append(sandbox.process)
    peer_module = _peer_module()

    async def main() -> tuple[float, float]:
        async with HossClient(server="s", base_url=sandbox.url, pat=sandbox.admin_pat) as client:
            await client.create_namespace("bench", "Benchmark", "default", "bench")
            await client.put_sync("bench", "https://partner.example.org/core/v1", "bench", "simplex")
            mine = await _cpu_per_request(lambda: client.sync_targets("bench"), 1500)
        peer = peer_module.Peer(sandbox.url, PARALLELISM)
        await peer.login(sandbox.admin_pat)
        theirs = await _cpu_per_request(lambda: peer.request("GET", "/core/v1/namespace/bench/sync"), 1500)
        return mine, theirs

    mine, theirs = asyncio.run(main())
    shown = f"hossctl {mine * 1000:.3f} ms, peer {theirs * 1000:.3f} ms per request"
    assert mine / theirs <= CPU_BOUND, shown


def test_plans_read_stays_near_the_network_floor_and_the_peer(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, partner = sandbox_factory(latency_ms=20), sandbox_factory()
    count = 300
    declared = []
    for i in range(count):
        name = f"ns{i:03d}"
        server.seed_namespace(name, description="d", bucket=f"b-{i}")
        server.seed_sync(name, partner.core_url, name, "simplex")
        target = SyncTarget(partner.url, None, normalise_core_url(partner.url), name, "simplex")
        declared.append(Namespace(name, "d", "default", f"b-{i}", sync=(target,)))
    core_url = normalise_core_url(server.url)
    config = Config(servers=(Server("s", server.url, core_url, "SMOKE_PAT", namespaces=tuple(declared)),))
    monkeypatch.setenv("SMOKE_PAT", server.admin_pat)
    live = count + 1  # and `default`
    floor = (math.floor(live / PAGE_SIZE) + 2 + live / PARALLELISM) * 0.020
    peer_module = _peer_module()

    async def hossctl_read() -> float:
        async with open_clients([Endpoint("s", server.url, "SMOKE_PAT")]) as clients:
            started = time.perf_counter()
            snapshot = await read_snapshot(read_scope(config), clients, parallelism=PARALLELISM)
            took = time.perf_counter() - started
        assert len(snapshot.servers["s"].namespaces) == live
        return took

    async def peer_read() -> float:
        started = time.perf_counter()
        state = await peer_module.Peer(server.url, PARALLELISM).read(server.admin_pat)
        assert len(state["sync"]) == live
        return time.perf_counter() - started

    pairs = [(asyncio.run(hossctl_read()), asyncio.run(peer_read())) for _ in range(2)]
    mine, theirs = min(pairs, key=lambda pair: pair[0] / pair[1])
    assert mine / floor <= FLOOR_BOUND, f"hossctl {mine:.2f} s, floor {floor:.2f} s"
    assert mine / theirs <= PEER_BOUND, f"hossctl {mine:.2f} s, peer {theirs:.2f} s"
