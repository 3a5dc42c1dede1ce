"""Benchmark: `hossctl plan` over 1,000 declared namespaces with sync targets, against the floor.

Starts a sandbox with --latency-ms 20 (every request but discover sleeps that long),
seeds N namespaces each with one sync target to a second, unmanaged sandbox, writes a
config that declares exactly that (so the plan is "No changes."), then times:

- `hossctl plan` as a subprocess (process start-up included), median of --runs runs;
- process start-up alone (`python -m hossctl --version`);
- the same read done sequentially with the official hoss-client 0.7.6, as a user would:
  its list is capped at 25, so namespaces are paged through its request method with an
  explicit limit/offset, and each namespace's sync configuration is read in turn.

Network floor = (pages + namespaces ÷ parallelism) × latency, where pages counts the
namespace and object-store pages, read one after the other.

Reproduce:  python benchmarks/bench_plan.py            (1,000 namespaces, ~1 min)
            python benchmarks/bench_plan.py --namespaces 200 --skip-official
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from hossctl.live.client import PAGE_SIZE
from hossctl.sandbox import Sandbox

PAT_ENV = "BENCH_HOSS_PAT"


def _time_command(
    args: list[str], env: dict[str, str], runs: int
) -> tuple[float, subprocess.CompletedProcess[str]]:
    timings: list[float] = []
    result: subprocess.CompletedProcess[str] | None = None
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        timings.append(time.perf_counter() - started)
    assert result is not None
    return statistics.median(timings), result


def _time_to_first_request(args: list[str], env: dict[str, str], runs: int) -> float:
    """Start-up of `plan` itself: process start, imports and config loading, up to the moment
    the first request is sent (read off `--debug`'s first line, minus that request's duration)."""
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [args[0], *args[1:3], "--debug", *args[3:]],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()
        seen = time.perf_counter() - started
        proc.stderr.read()
        proc.wait()
        match = re.search(r"\(([\d.]+) ms\)\s*$", first)
        assert match, first
        timings.append(seen - float(match.group(1)) / 1000)
    return statistics.median(timings)


def _official_sequential(url: str, pat: str, expected: int) -> float:
    import hoss  # type: ignore[import-untyped]

    os.environ["HOSS_PAT"] = pat
    os.environ.pop("HOSS_JWT", None)
    started = time.perf_counter()
    core = hoss.connect(url)
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = core._request("GET", f"/namespace/?limit={PAGE_SIZE}&offset={offset}") or []
        rows.extend(page)
        if len(page) < PAGE_SIZE:
            break
        offset += len(page)
    syncs = [core._populate_namespace(row).get_sync_configuration() for row in rows]
    elapsed = time.perf_counter() - started
    assert len(syncs) == expected, (len(syncs), expected)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-official", action="store_true", help="Do not time the official client.")
    args = parser.parse_args()

    count, latency = args.namespaces, args.latency_ms / 1000
    with Sandbox(port=0, latency_ms=args.latency_ms) as server, Sandbox(port=0) as partner:
        namespaces: dict[str, Any] = {}
        for i in range(count):
            name = f"ns{i:04d}"
            server.seed_namespace(
                name, description=f"Namespace {i}", object_store="default", bucket=f"bucket-{i}"
            )
            server.seed_sync(name, partner.core_url, name, "simplex")
            namespaces[name] = {
                "description": f"Namespace {i}",
                "object_store": "default",
                "bucket": f"bucket-{i}",
                "sync": [{"target": partner.url, "namespace": name, "type": "simplex"}],
            }
        config = {
            "version": 1,
            "servers": {"bench": {"url": server.url, "pat_env": PAT_ENV, "namespaces": namespaces}},
        }
        live = count + 1  # plus the bootstrapped `default` namespace
        pages = math.floor(live / PAGE_SIZE) + 1 + 1  # namespace pages (the last one short) + object stores
        floor = (pages + live / args.parallelism) * latency

        env = {**os.environ, PAT_ENV: server.admin_pat, "NO_COLOR": "1"}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "hoss.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            hossctl = [sys.executable, "-m", "hossctl"]
            startup, _ = _time_command([*hossctl, "--version"], env, args.runs)
            imports = (
                "import hossctl.cli, hossctl.commands.plan, hossctl.config.loader, hossctl.render.text, "
                "hossctl.plan.planfile"
            )
            startup_imports, _ = _time_command([sys.executable, "-c", imports], env, args.runs)
            plan_args = [
                *hossctl,
                "plan",
                "-f",
                str(path),
                "--detailed-exitcode",
                "--parallelism",
                str(args.parallelism),
            ]
            plan_time, result = _time_command(plan_args, env, args.runs)
            first_request = _time_to_first_request(plan_args, env, args.runs)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            print(f"hossctl plan exited {result.returncode}; expected 0 (no changes)")
            return 1
        official = None if args.skip_official else _official_sequential(server.url, server.admin_pat, live)

    network = plan_time - startup
    print(
        f"namespaces: {count} (+ default), latency {args.latency_ms} ms, parallelism {args.parallelism}, "
        f"page size {PAGE_SIZE}"
    )
    print(
        f"network floor ((pages {pages} + {live} / {args.parallelism}) x {args.latency_ms} ms): {floor:.2f} s"
    )
    print(f"process start-up (hossctl --version, median of {args.runs}):   {startup:.2f} s")
    print(f"start-up with plan's imports (median of {args.runs}):         {startup_imports:.2f} s")
    print(f"start-up to the first request (imports + config load):  {first_request:.2f} s")
    print(f"hossctl plan (subprocess, median of {args.runs}):             {plan_time:.2f} s")
    reading = plan_time - first_request
    print(
        f"  plan minus start-up to first request: {reading:.2f} s = {reading / floor:.2f} x floor "
        f"(target <= 2.00 x; bound {2 * floor + first_request:.2f} s total) -> "
        f"{'OK' if plan_time <= 2 * floor + first_request else 'OVER'}"
    )
    print(
        f"  stricter, plan minus bare interpreter start-up: {network:.2f} s = {network / floor:.2f} x floor"
    )
    if official is not None:
        print(
            f"official hoss-client 0.7.6, sequential read:          {official:.2f} s "
            f"({official / plan_time:.1f} x slower than hossctl plan)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
