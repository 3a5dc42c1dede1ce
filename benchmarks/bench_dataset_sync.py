"""Benchmark: enabling sync on 200 datasets when every dataset PUT takes 2 s on the server.

Usage:  python benchmarks/bench_dataset_sync.py [--datasets 200] [--delay 2.0] [--parallelism 16]

The real ``PUT …/dataset/{name}/sync`` sleeps before it answers (2 s for a first simplex
enable, 4 s for a first duplex one: docs/hoss-server.md §8.4), so these changes are slow by
nature and only running them side by side helps. A sandbox with ``dataset_sync_delay`` does
the same sleep. One namespace already syncs simplex to a second sandbox; the config declares
``datasets: {sync: simplex}``, so the plan is one ``enable_dataset_sync`` per dataset.

Floor = ceil(datasets / parallelism) x delay: the sleeps alone, with ``parallelism`` changes in
flight. Goal (issue 14): ``execute`` takes at most 1.3 x the floor. The precondition read and
the two read-backs of each change are the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hossctl.apply.executor import connections_for, execute
from hossctl.commands.plan import compute_plan
from hossctl.config.loader import load_config
from hossctl.live.client import ClientOptions, endpoint_of, open_clients
from hossctl.sandbox import Sandbox

GOAL = 1.3


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the server sleeps in each PUT")
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()

    with Sandbox(dataset_sync_delay=args.delay) as onprem, Sandbox() as cloud:
        onprem.seed_namespace("raw", description="Raw data", bucket="raw")
        cloud.seed_namespace("raw", description="Raw data", bucket="raw")
        onprem.seed_sync("raw", cloud.core_url, "raw", "simplex")
        for i in range(args.datasets):
            onprem.seed_dataset("raw", f"d{i:04d}")
        os.environ["BENCH_ONPREM_PAT"] = onprem.admin_pat
        os.environ["BENCH_CLOUD_PAT"] = cloud.admin_pat
        raw = {"description": "Raw data", "object_store": "default", "bucket": "raw"}
        doc = {
            "version": 1,
            "servers": {
                "onprem": {
                    "url": onprem.url,
                    "pat_env": "BENCH_ONPREM_PAT",
                    "namespaces": {
                        "raw": {
                            **raw,
                            "sync": [{"target": "cloud", "type": "simplex"}],
                            "datasets": {"sync": "simplex"},
                        }
                    },
                },
                "cloud": {"url": cloud.url, "pat_env": "BENCH_CLOUD_PAT", "namespaces": {"raw": raw}},
            },
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "hoss.yaml"
            path.write_text(yaml.safe_dump(doc), encoding="utf-8")
            config = load_config([str(path)])

        async def run() -> tuple[int, float, bool]:
            options = ClientOptions(connections=connections_for(args.parallelism))
            async with open_clients(map(endpoint_of, config.servers), options) as clients:
                plan = (await compute_plan(config, clients, parallelism=args.parallelism)).plan
                assert not plan.errors, plan.errors
                started = time.perf_counter()
                result = await execute(plan, clients, parallelism=args.parallelism)
                return len(plan.changes), time.perf_counter() - started, result.ok

        changes, seconds, ok = asyncio.run(run())
        enabled = sum(1 for d in onprem.datasets("raw") if d["sync_enabled"])

    floor = math.ceil(args.datasets / args.parallelism) * args.delay
    ratio = seconds / floor if floor else float("nan")
    print(f"datasets: {args.datasets}, delay per PUT: {args.delay:g} s, parallelism: {args.parallelism}")
    print(f"changes planned: {changes}, applied ok: {ok}, datasets with sync enabled after: {enabled}")
    print("| goal | figure | floor | ratio | bound | holds? |")
    print("|---|---|---|---|---|---|")
    holds = ok and enabled == args.datasets and ratio <= GOAL
    print(
        f"| enable sync on {args.datasets} datasets | {seconds:.2f} s | {floor:.2f} s | {ratio:.2f} x | "
        f"<= {GOAL} x | {'yes' if holds else 'NO'} |"
    )
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
