"""Benchmark: applying 1,000 changes against two sandboxes with 20 ms of latency per request.

Usage:  python benchmarks/bench_apply.py [--changes 1000] [--latency-ms 20] [--parallelism 16] [--destructive]

The changes are half namespace creates (split over two servers) and half duplex enables
linking each pair, so the graph has real dependencies (an enable waits for both creates).
Each change costs 2 requests (the mutation and its read-back), so the network floor is
changes / parallelism * 2 * latency; the target is at most twice that plus start-up (token
exchange and discover). ``execute`` is timed on its own; the full ``hossctl apply`` command
(process start, planning, executing) is timed separately on fresh sandboxes.

``--destructive`` measures what the preconditions cost: the sandboxes are first given
changes/1 namespaces with a sync row each (untimed), then half of them are deleted and the
other half lose their sync row. Each of those changes first re-reads the facts it rests on
(namespace, sync rows, datasets: three concurrent GETs, one round trip), so it costs three
round trips where it cost two; the floor is reported both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from hossctl.apply.executor import connections_for, execute
from hossctl.commands.plan import run_plan
from hossctl.config.loader import load_config
from hossctl.live.client import ClientOptions, endpoint_of, open_clients
from hossctl.plan.changes import PlanOptions

REQUESTS_PER_CHANGE = 2
PRECONDITION_ROUND_TRIPS = 1


def write_destructive_configs(
    setup: Path, destroy: Path, onprem: SandboxProcess, cloud: SandboxProcess, count: int
) -> None:
    """``setup`` gives onprem ``count`` namespaces, each syncing to cloud's ``t``; ``destroy``
    deletes the first half and removes the sync row of the second half."""
    names = [f"bench-{i:04d}" for i in range(count)]

    def doc(namespaces: dict[str, Any]) -> dict[str, Any]:
        return {
            "version": 1,
            "servers": {
                "onprem": {"url": onprem.url, "pat_env": "BENCH_ONPREM_PAT", "namespaces": namespaces},
                "cloud": {
                    "url": cloud.url,
                    "pat_env": "BENCH_CLOUD_PAT",
                    "namespaces": {"t": {"description": "Target", "object_store": "default", "bucket": "t"}},
                },
            },
        }

    def ns(name: str, sync: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"description": "Benchmark", "object_store": "default", "bucket": name}
        if sync:
            body["sync"] = [{"target": "cloud", "namespace": "t", "type": "simplex"}]
        return body

    setup.write_text(yaml.safe_dump(doc({n: ns(n, True) for n in names})), encoding="utf-8")
    half = count // 2
    kept = {n: ns(n, False) for n in names[half:]}
    gone = {n: {"ensure": "absent"} for n in names[:half]}
    destroy.write_text(yaml.safe_dump(doc({**gone, **kept})), encoding="utf-8")


def write_config(path: Path, onprem: SandboxProcess, cloud: SandboxProcess, pairs: int) -> None:
    def ns(name: str, sync: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"description": "Benchmark", "object_store": "default", "bucket": name}
        if sync:
            body["sync"] = [{"target": "cloud", "type": "duplex"}]
        return body

    names = [f"bench-{i:04d}" for i in range(pairs)]
    doc = {
        "version": 1,
        "servers": {
            "onprem": {
                "url": onprem.url,
                "pat_env": "BENCH_ONPREM_PAT",
                "namespaces": {n: ns(n, True) for n in names},
            },
            "cloud": {
                "url": cloud.url,
                "pat_env": "BENCH_CLOUD_PAT",
                "namespaces": {n: ns(n, False) for n in names},
            },
        },
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")


class SandboxProcess:
    """A ``hossctl sandbox`` in its own process, as the issue measures it (not sharing our GIL)."""

    def __init__(self, latency_ms: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.admin_pat = "hp_" + "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(30)
        )
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hossctl",
                "sandbox",
                "--port",
                str(port),
                "--admin-pat",
                self.admin_pat,
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/core/v1/discover", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise SystemExit("the sandbox did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def sandboxes(latency_ms: int) -> tuple[SandboxProcess, SandboxProcess]:
    onprem = SandboxProcess(latency_ms)
    cloud = SandboxProcess(latency_ms)
    os.environ["BENCH_ONPREM_PAT"] = onprem.admin_pat
    os.environ["BENCH_CLOUD_PAT"] = cloud.admin_pat
    return onprem, cloud


@dataclass(frozen=True)
class Figures:
    changes: int
    plan_s: float
    startup_s: float
    execute_s: float
    client_cpu_s: float  # this process's CPU time during execute
    sandbox_cpu_s: float | None  # both sandbox processes' CPU time during execute (Linux)


def process_cpu_s(pid: int) -> float | None:
    """utime + stime of a process from /proc (None where /proc is not available)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_cpu_s(sandboxes: tuple[SandboxProcess, SandboxProcess]) -> float | None:
    times = [process_cpu_s(sb.process.pid) for sb in sandboxes]
    return None if any(t is None for t in times) else sum(t for t in times if t is not None)


def bench_execute(
    config_path: Path,
    parallelism: int,
    sandboxes: tuple[SandboxProcess, SandboxProcess],
    preconditions: bool = True,
) -> Figures:
    config = load_config([str(config_path)])
    started = time.perf_counter()
    plan = run_plan(config, parallelism=parallelism, options=PlanOptions(allow_mass_delete=True)).plan
    plan_s = time.perf_counter() - started
    if not preconditions:  # the same plan as hossctl 0.1 executed it: nothing re-read before a write
        plan = replace(plan, changes=tuple(replace(c, expect=None) for c in plan.changes))

    async def run() -> Figures:
        t0 = time.perf_counter()
        options = ClientOptions(connections=connections_for(parallelism))
        async with open_clients(map(endpoint_of, config.servers), options) as clients:
            # Start-up: discover and the PAT -> JWT exchange, paid once per server.
            await asyncio.gather(*(c.namespace("default") for c in clients.values()))
            t1, cpu1, sb1 = time.perf_counter(), time.process_time(), sandbox_cpu_s(sandboxes)
            result = await execute(plan, clients, parallelism=parallelism)
            t2, cpu2, sb2 = time.perf_counter(), time.process_time(), sandbox_cpu_s(sandboxes)
            if not result.ok:
                raise SystemExit("benchmark apply failed: " + "; ".join(r.error or "" for r in result.failed))
            return Figures(
                changes=len(plan.changes),
                plan_s=plan_s,
                startup_s=t1 - t0,
                execute_s=t2 - t1,
                client_cpu_s=cpu2 - cpu1,
                sandbox_cpu_s=None if sb1 is None or sb2 is None else sb2 - sb1,
            )

    return asyncio.run(run())


def bench_cli(config_path: Path, parallelism: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hossctl",
            "apply",
            "-f",
            str(config_path),
            "--auto-approve",
            "--allow-mass-delete",
            "--parallelism",
            str(parallelism),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument(
        "--no-cli", action="store_true", help="Skip timing the whole `hossctl apply` command."
    )
    parser.add_argument(
        "--destructive", action="store_true", help="Deletes and sync removals, with their preconditions."
    )
    args = parser.parse_args()
    pairs = args.changes // 4  # per pair: 2 creates + 2 enables
    latency = args.latency_ms / 1000

    def prepare(config_path: Path, pair: tuple[SandboxProcess, SandboxProcess]) -> None:
        if not args.destructive:
            write_config(config_path, *pair, pairs)
            return
        setup = config_path.with_name("setup.yaml")
        write_destructive_configs(setup, config_path, *pair, args.changes)
        bench_cli(setup, args.parallelism)

    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "hoss.yaml"
        pair = sandboxes(args.latency_ms)
        try:
            prepare(config_path, pair)
            f = bench_execute(config_path, args.parallelism, pair)
        finally:
            for sb in pair:
                sb.stop()
        without = None
        if args.destructive:
            pair = sandboxes(args.latency_ms)
            try:
                prepare(config_path, pair)
                without = bench_execute(config_path, args.parallelism, pair, preconditions=False)
            finally:
                for sb in pair:
                    sb.stop()
        cli_s = None
        if not args.no_cli:
            pair = sandboxes(args.latency_ms)
            try:
                prepare(config_path, pair)
                cli_s = bench_cli(config_path, args.parallelism)
            finally:
                for sb in pair:
                    sb.stop()

    floor = f.changes / args.parallelism * REQUESTS_PER_CHANGE * latency
    budget = 2 * floor + f.startup_s
    total = f.startup_s + f.execute_s
    formula = f"{f.changes} / {args.parallelism} x {REQUESTS_PER_CHANGE} x {latency} s"
    requests = f.changes * REQUESTS_PER_CHANGE
    print(f"changes:                       {f.changes} ({requests} requests)")
    print(f"latency, parallelism:          {args.latency_ms} ms, {args.parallelism}")
    print(f"network floor:                 {floor:.2f} s  ({formula})")
    print(f"start-up (measured):           {f.startup_s:.2f} s")
    print(f"budget (2 x floor + start-up): {budget:.2f} s")
    verdict = "within" if total <= budget else "OVER"
    ratio = f"{f.execute_s / floor:.2f}" if floor else "n/a"
    print(f"apply (start-up + execute):    {total:.2f} s  ({verdict} budget; execute / floor = {ratio})")
    if args.destructive:
        requests = f.changes * (REQUESTS_PER_CHANGE + 3)  # + namespace, sync rows, datasets
        trips = REQUESTS_PER_CHANGE + PRECONDITION_ROUND_TRIPS
        with_pre = f.changes / args.parallelism * trips * latency
        print(f"floor with the precondition round trip: {with_pre:.2f} s  (execute / that floor = "
              f"{f.execute_s / with_pre:.2f})")
        if without is not None:
            print(f"the same changes without preconditions: {without.execute_s:.2f} s execute "
                  f"(with / without = {f.execute_s / without.execute_s:.2f}; "
                  f"client CPU {without.client_cpu_s:.2f} s)")
    per_request = f.client_cpu_s / requests * 1000
    print(f"  client CPU during execute:   {f.client_cpu_s:.2f} s ({per_request:.2f} ms/request)")
    if f.sandbox_cpu_s is not None:
        per = f.sandbox_cpu_s / requests * 1000
        print(f"  sandboxes' CPU during execute: {f.sandbox_cpu_s:.2f} s ({per:.2f} ms/request)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"  CPUs available:              {os.cpu_count()} (load average {load})")
    print(f"plan before apply:             {f.plan_s:.2f} s")
    if cli_s is not None:
        print(f"whole `hossctl apply --auto-approve` (process start, plan, apply): {cli_s:.2f} s")


if __name__ == "__main__":
    main()
