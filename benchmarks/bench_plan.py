"""Benchmark: `hossctl plan` against the network floor and a minimal client, at 20 ms latency (issue 15).

One sandbox with ``--latency-ms`` (every request but discover sleeps that long) holds N
namespaces, each with a sync target to a second, unmanaged sandbox; the config declares exactly
that, so the plan is "No changes." and every namespace's sync list has to be read. Per size:

- ``hossctl plan`` as a subprocess, timed **from its first request** to its exit (the child
  wrapper ``--child`` notes when the transport sends its first request), with its own CPU and
  peak RSS (``getrusage`` in the child);
- the peer, ``benchmarks/peer_client.py``: a minimal asyncio client doing the same reads over
  the same number of connections, timed the same way;
- the two alternate run by run, so the machine's noise hits both alike; each ratio is taken
  within one run, and the figures are medians.

The sandboxes run in this process, on their own threads; hossctl and the peer are other
processes. So the sandboxes' CPU is this process's CPU during a run (``time.process_time``,
measured around each run), and the client's is its own, apart: on 2 cores both compete, and
the figures say how much each took.

Network floor = (pages + namespaces ÷ parallelism) × latency, where pages counts the namespace
pages and the object-store page (the exchange and discover round trips are left out).

hossctl runs with ``--no-drift``: the read measured is the issue's (namespaces and their sync
lists); a default plan also lists every namespace's datasets for the drift warnings, which
doubles its requests (``--drift`` times that too, against a floor that counts them).
``--one-request`` adds hossctl with a service secret (``service_secret_env``), which reads every
sync row with one ``GET /configuration/sync``: its floor is (pages + 1) × latency.

``--alternative`` adds hossctl plan with its connection class swapped for the h11 one of
``bench_client.py`` (the alternative BENCHMARKS.md proposes), in the same runs.

Also, at the first size: ``--parallelism`` 16, 32 and 64 (``--sweep``), and the same read done
sequentially by the official hoss-client 0.7.6 in a subprocess (its list is capped at 25, so
namespaces are paged with an explicit limit, as a careful user would).

Reproduce:  python benchmarks/bench_plan.py                       (1,000 and 10,000 namespaces, ~6 min)
            python benchmarks/bench_plan.py --sizes 1000 --skip-official --sweep 16
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PAT_ENV = "BENCH_HOSS_PAT"
PAGE_SIZE = 500  # hossctl.live.client.PAGE_SIZE; the peer pages the same way
DEFAULT_PARALLELISM = 16
BOUNDS = {1000: 1.25, 10000: 1.3}  # issue 15: plan time from the first request ÷ the floor
RSS_BOUND_MB = 150.0
OFFICIAL_BOUND = 15.0  # the official client's time ÷ hossctl's, at least
OFFICIAL_ONE_BOUND = 100.0  # the same, with the one-request read
SECRET_ENV = "BENCH_HOSS_SERVICE_SECRET"


def child(args: list[str]) -> int:
    """Run ``hossctl ARGS`` in this process, writing when its first request went out to $BENCH_REPORT."""
    started = time.perf_counter()
    from hossctl.live import transport

    first: dict[str, float] = {}
    send = transport.Transport.send

    async def noted(self: transport.Transport, *a: Any, **k: Any) -> transport.Answer:
        if not first:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            first.update(at=time.perf_counter(), cpu=usage.ru_utime + usage.ru_stime)
        answer = await send(self, *a, **k)
        first["last"] = time.perf_counter()
        return answer

    transport.Transport.send = noted  # type: ignore[method-assign]
    if os.environ.get("BENCH_CONNECTION") == "h11":  # the alternative: see bench_client.py
        from bench_client import h11_connection_class

        transport._Connection = h11_connection_class()  # type: ignore[misc]
    from hossctl.cli import cli

    code = 0
    try:
        cli.main(args=args, prog_name="hossctl")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    ended = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    report = {
        "exit": code,
        "to_first_request": first.get("at", ended) - started,
        "from_first_request": ended - first.get("at", ended),
        "after_last_answer": ended - first.get("last", ended),
        "cpu": cpu,
        "cpu_from_first_request": cpu - first.get("cpu", cpu),
        "peak_mb": usage.ru_maxrss / 1024,
    }
    Path(os.environ["BENCH_REPORT"]).write_text(json.dumps(report), encoding="utf-8")
    return code


def official(url: str, expected: int) -> int:
    """The official client's sequential read, timed from its first request; prints one JSON line."""
    import hoss  # type: ignore[import-untyped]

    os.environ["HOSS_PAT"] = os.environ[PAT_ENV]
    os.environ.pop("HOSS_JWT", None)
    started = time.perf_counter()
    core = hoss.connect(url)
    rows: list[dict[str, Any]] = []
    while True:
        page = core._request("GET", f"/namespace/?limit={PAGE_SIZE}&offset={len(rows)}") or []
        rows.extend(page)
        if len(page) < PAGE_SIZE:
            break
    syncs = [core._populate_namespace(row).get_sync_configuration() for row in rows]
    elapsed = time.perf_counter() - started
    assert len(syncs) == expected, (len(syncs), expected)
    print(json.dumps({"from_first_request": elapsed}))
    return 0


def floor_s(live: int, parallelism: int, latency_s: float) -> float:
    pages = math.floor(live / PAGE_SIZE) + 1 + 1  # namespace pages (the last one short) + object stores
    return (pages + live / parallelism) * latency_s


Reports = list[dict[str, Any]]


@dataclass
class Measured:
    """One size's runs: reports by (client, parallelism), in run order, and the official client's."""

    count: int
    live: int
    latency_s: float
    runs: dict[tuple[str, int], Reports] = field(default_factory=dict)
    official: dict[str, Any] | None = None

    def add(self, client: str, parallelism: int, report: dict[str, Any]) -> None:
        self.runs.setdefault((client, parallelism), []).append(report)

    def wall(self, client: str, parallelism: int) -> float:
        return _median(self.runs[(client, parallelism)], "from_first_request")

    def floor(self, parallelism: int, client: str = "hossctl") -> float:
        if client == "hossctl-one":  # the pages, then one request for every sync row
            return (math.floor(self.live / PAGE_SIZE) + 1 + 1 + 1) * self.latency_s
        if client == "hossctl-drift":  # every namespace's dataset list too, and PUT /user/sync
            extra = (1 + self.live / parallelism) * self.latency_s
            return floor_s(self.live, parallelism, self.latency_s) + extra
        return floor_s(self.live, parallelism, self.latency_s)


def _median(reports: Reports, key: str) -> float:
    return statistics.median(float(r[key]) for r in reports)


def _paired(a: Reports, b: Reports, key: str = "from_first_request") -> float:
    """The median of the run-by-run ratios a ÷ b (each pair measured back to back)."""
    return statistics.median(x[key] / y[key] for x, y in zip(a, b, strict=True))


def _sandbox_cpu(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``'s report plus the CPU this process, that is the sandboxes, spent meanwhile."""
    cpu = time.process_time()
    report = run()
    report["sandbox_cpu"] = time.process_time() - cpu
    return report


def _hossctl(
    config: Path, parallelism: int, env: dict[str, str], tree: Path, connection: str = "httpcore"
) -> dict[str, Any]:
    env = {**env, "BENCH_CONNECTION": connection}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        args = ["plan", "-f", str(config), "--detailed-exitcode", "--parallelism", str(parallelism)]
        args += [] if env.get("BENCH_DRIFT") else ["--no-drift"]
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            env={**env, "PYTHONPATH": str(tree), "BENCH_REPORT": str(report)},
            capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0 or not report.exists():
            raise SystemExit(f"hossctl plan exited {done.returncode}, not 0:\n{done.stdout}{done.stderr}")
        result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
        result["process"] = wall
        return result


def _peer(url: str, parallelism: int, env: dict[str, str], live: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / "peer_client.py"), url, PAT_ENV, "--connections", str(parallelism)],
        env=env, capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["namespaces"] == live, result
    return result


def _official(url: str, env: dict[str, str], live: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--official", url, "--namespaces", str(live)],
        env=env, capture_output=True, text=True, check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(count: int, args: argparse.Namespace, sweep: list[int], official: bool) -> Measured:
    """Seed two sandboxes with ``count`` namespaces, then run every client ``args.runs`` times."""
    from hossctl.sandbox import Sandbox

    with Sandbox(port=0, latency_ms=args.latency_ms) as server, Sandbox(port=0) as partner:
        namespaces: dict[str, Any] = {}
        for i in range(count):
            name = f"ns{i:05d}"
            server.seed_namespace(name, description=f"Namespace {i}", object_store="default", bucket=f"b-{i}")
            server.seed_sync(name, partner.core_url, name, "simplex")
            namespaces[name] = {
                "description": f"Namespace {i}", "object_store": "default", "bucket": f"b-{i}",
                "sync": [{"target": partner.url, "namespace": name, "type": "simplex"}],
            }
        bench = {"url": server.url, "pat_env": PAT_ENV, "namespaces": namespaces}
        measured = Measured(count, count + 1, args.latency_ms / 1000)  # + the bootstrapped `default`
        env = {
            **os.environ, PAT_ENV: server.admin_pat, SECRET_ENV: server.service_secret, "NO_COLOR": "1",
            "PYTHONPATH": str(ROOT),
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "hoss.yaml"
            path.write_text(json.dumps({"version": 1, "servers": {"bench": bench}}), encoding="utf-8")
            one = Path(tmp) / "one.yaml"
            with_secret = {**bench, "service_secret_env": SECRET_ENV}
            one.write_text(json.dumps({"version": 1, "servers": {"bench": with_secret}}), encoding="utf-8")
            configs = {"hossctl-one": one}
            envs = {"hossctl-drift": {**env, "BENCH_DRIFT": "1"}}
            trees = [("hossctl", ROOT, "httpcore")]
            trees += [("before", args.before.resolve(), "httpcore")] if args.before else []
            trees += [("hossctl-h11", ROOT, "h11")] if args.alternative else []
            trees += [("hossctl-one", ROOT, "httpcore")] if args.one_request else []
            trees += [("hossctl-drift", ROOT, "httpcore")] if args.drift else []
            for _ in range(args.runs):
                for p in sweep:
                    for client, tree, connection in trees:
                        cfg, cenv = configs.get(client, path), envs.get(client, env)
                        run = lambda p=p, t=tree, c=connection, f=cfg, e=cenv: (  # noqa: E731
                            _hossctl(f, p, e, t, c)
                        )
                        measured.add(client, p, _sandbox_cpu(run))
                    peer = _sandbox_cpu(lambda p=p: _peer(server.url, p, env, measured.live))
                    measured.add("peer", p, peer)
            if official:
                measured.official = _official(server.url, env, measured.live)
    return measured


def print_runs(measured: Measured, runs: int) -> None:
    print(f"\n## {measured.count:,} namespaces (+ default), latency {measured.latency_s * 1000:g} ms, "
          f"median of {runs} runs")
    print("| client | parallelism | from first request s | floor s | ÷ floor | ÷ peer (same run) "
          "| after the last answer s | client CPU s | sandboxes' CPU s | start-up s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    names = {"hossctl": "hossctl plan", "peer": "peer", "before": "hossctl plan, before",
             "hossctl-h11": "hossctl plan on h11 (the alternative)",
             "hossctl-one": "hossctl plan, one-request read",
             "hossctl-drift": "hossctl plan, with drift reads"}
    for (client, p), reports in sorted(measured.runs.items(), key=lambda item: (item[0][1], item[0][0])):
        peer = measured.runs[("peer", p)]
        plan = client != "peer"
        wall = _median(reports, "from_first_request")
        floor = measured.floor(p, client)
        cells = [
            names[client], str(p), f"{wall:.2f}", f"{floor:.2f}", f"{wall / floor:.2f}",
            f"{_paired(reports, peer):.2f}" if plan else "",
            f"{_median(reports, 'after_last_answer'):.2f}" if plan else "",
            f"{_median(reports, 'cpu_from_first_request' if plan else 'cpu'):.2f}",
            f"{_median(reports, 'sandbox_cpu'):.2f}",
            f"{_median(reports, 'to_first_request'):.2f}" if plan else "",
            f"{_median(reports, 'peak_mb'):.0f}",
        ]
        print("| " + " | ".join(cells) + " |")


def _row(goal: str, figure: str, reference: str, ratio: str, bound: str, holds: bool | None) -> str:
    verdict = "" if holds is None else ("yes" if holds else "**no**")
    return f"| {goal} | {figure} | {reference} | {ratio} | {bound} | {verdict} |"


def goal_rows(measured: Measured, sweep: list[int]) -> list[str]:
    """Issue 15's rows for this size: the goal, hossctl's figure, the floor or peer, and the verdict."""
    n, p = f"{measured.count:,} ns", DEFAULT_PARALLELISM if DEFAULT_PARALLELISM in sweep else sweep[0]
    wall, floor = measured.wall("hossctl", p), measured.floor(p)
    peer = measured.wall("peer", p)
    versus_peer = _paired(measured.runs[("hossctl", p)], measured.runs[("peer", p)])
    rows: list[str] = []
    bound = BOUNDS.get(measured.count)
    rows.append(_row(
        f"plan {n}, {measured.latency_s * 1000:g} ms latency, parallelism {p}, from the first request",
        f"{wall:.2f} s", f"floor {floor:.2f} s; peer {peer:.2f} s ({peer / floor:.2f} × floor)",
        f"**{wall / floor:.2f} × floor**; {versus_peer:.2f} × peer",
        f"≤ {bound} × floor" if bound else "", None if bound is None else wall / floor <= bound,
    ))
    if ("before", p) in measured.runs:
        old = measured.wall("before", p)
        ratio = _paired(measured.runs[("hossctl", p)], measured.runs[("before", p)])
        rows.append(_row(f"plan {n}, before → now", f"{old:.2f} → {wall:.2f} s", f"floor {floor:.2f} s",
                         f"{old / floor:.2f} → {wall / floor:.2f} × floor ({ratio:.2f} × before)", "", None))
    if ("hossctl-h11", p) in measured.runs:
        alt = measured.wall("hossctl-h11", p)
        ratio = _paired(measured.runs[("hossctl-h11", p)], measured.runs[("peer", p)])
        holds = None if bound is None else alt / floor <= bound
        rows.append(_row(f"plan {n}, the alternative: hossctl on h11 without httpcore", f"{alt:.2f} s",
                         f"floor {floor:.2f} s", f"{alt / floor:.2f} × floor; {ratio:.2f} × peer",
                         f"≤ {bound} × floor" if bound else "", holds))
    if measured.count >= 10_000:
        peak = _median(measured.runs[("hossctl", p)], "peak_mb")
        peer_peak = _median(measured.runs[("peer", p)], "peak_mb")
        rows.append(_row(f"plan {n}, peak RSS", f"{peak:.0f} MB", f"peer {peer_peak:.0f} MB", "",
                         f"≤ {RSS_BOUND_MB:.0f} MB", peak <= RSS_BOUND_MB))
    if measured.official is not None:
        theirs = measured.official["from_first_request"]
        whole = _median(measured.runs[("hossctl", p)], "process")
        rows.append(_row(
            f"official hoss-client 0.7.6 reading the same {n} sequentially", f"{theirs:.2f} s",
            f"hossctl plan {wall:.2f} s from its first request ({whole:.2f} s whole process)",
            f"**{theirs / wall:.1f} ×** slower ({theirs / whole:.1f} × the whole process)",
            f"≥ {OFFICIAL_BOUND:.0f} ×", theirs / wall >= OFFICIAL_BOUND,
        ))
    if ("hossctl-one", p) in measured.runs:
        one, one_floor = measured.wall("hossctl-one", p), measured.floor(p, "hossctl-one")
        rows.append(_row(
            f"plan {n} with the one-request read (service secret), from the first request",
            f"{one:.2f} s", f"floor {one_floor:.2f} s", f"{one / one_floor:.2f} × floor", "", None,
        ))
        if measured.official is not None:
            theirs = measured.official["from_first_request"]
            rows.append(_row(
                f"official hoss-client 0.7.6 reading the same {n} sequentially, against the one-request read",
                f"{theirs:.2f} s", f"hossctl plan {one:.2f} s from its first request",
                f"**{theirs / one:.1f} ×** slower", f"≥ {OFFICIAL_ONE_BOUND:.0f} ×",
                theirs / one >= OFFICIAL_ONE_BOUND,
            ))
    if ("hossctl-drift", p) in measured.runs:
        drift, drift_floor = measured.wall("hossctl-drift", p), measured.floor(p, "hossctl-drift")
        rows.append(_row(f"plan {n} as by default, with the drift reads (datasets of every namespace)",
                         f"{drift:.2f} s", f"floor {drift_floor:.2f} s", f"{drift / drift_floor:.2f} × floor",
                         "", None))
    if len(sweep) > 1:
        for q in sweep:
            q_wall, q_floor, q_peer = measured.wall("hossctl", q), measured.floor(q), measured.wall("peer", q)
            rows.append(_row(
                f"parallelism {q}, plan {n}", f"{q_wall:.2f} s",
                f"floor {q_floor:.2f} s; peer {q_peer:.2f} s ({q_peer / q_floor:.2f} × floor)",
                f"{q_wall / q_floor:.2f} × floor", "measured", None,
            ))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="Namespace counts, comma-separated.")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--sweep", default="16,32,64", help="Parallelism values at the first size.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-official", action="store_true", help="Do not time the official client.")
    parser.add_argument("--before", type=Path, help="Also run hossctl plan from this tree, in the same runs.")
    parser.add_argument("--one-request", action="store_true",
                        help="Also time hossctl with a service secret (the one-request read).")
    parser.add_argument("--drift", action="store_true",
                        help="Also time the default plan, which lists every namespace's datasets.")
    parser.add_argument("--alternative", action="store_true",
                        help="Also run hossctl plan on h11 directly (bench_client.H11Connection).")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--official", help=argparse.SUPPRESS)
    parser.add_argument("--namespaces", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)
    if args.official:
        return official(args.official, args.namespaces)

    sys.path.insert(0, str(ROOT))  # this tree's sandbox here; the children get theirs by PYTHONPATH
    rows: list[str] = []
    for index, count in enumerate(int(size) for size in args.sizes.split(",")):
        sweep = [int(p) for p in args.sweep.split(",")] if index == 0 else [DEFAULT_PARALLELISM]
        measured = measure(count, args, sweep, official=index == 0 and not args.skip_official)
        print_runs(measured, args.runs)
        rows += goal_rows(measured, sweep)
    print("\n| goal | figure | floor or peer | ratio | bound | holds? |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nCPUs: {os.cpu_count()}, load average {load}, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
