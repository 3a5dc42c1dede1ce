"""Benchmark: each hostile server mode of issue 10, once, against a trivial plan's baseline.

Runs ``python -m hossctl plan`` as a subprocess against ``tests/integration/hostile_server.py``
in every mode, one after the other (so no run competes with another for the 2 cores), and
prints one Markdown table row per mode: exit code, wall time, how long hossctl held the
request the server never finished (drip and stall, timed by the server: the deadline without
start-up), the process's own peak RSS (``os.wait4``'s ``ru_maxrss``) and its ratio to the
baseline's, the requests the server saw, the bytes it managed to send, and the error line.
The baseline is the same plan against the same server behaving (``normal``: "No changes.").

``--before DIR`` also runs a hossctl tree exported from another commit, in the same run, for
a comparison that does not depend on the machine's mood, e.g. the tree before the transport
decoded bodies itself::

    mkdir -p /tmp/before && git archive ac70a52 hossctl schemas | tar -x -C /tmp/before
    python benchmarks/bench_hostile.py --before /tmp/before --modes gzip-bomb,gzip-gzip-bomb,bad-gzip

Reproduce:  python benchmarks/bench_hostile.py          (about 35 s)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_server import CASES, REPO, Outcome, execute


def _row(label: str, outcome: Outcome, baseline_mb: float) -> str:
    run = outcome.run
    code = "killed" if run.killed else str(run.code)
    last = (run.stderr.strip().splitlines() or [""])[-1]
    # The distinctive part of the error: without the server's name and its (random) URL.
    last = last.removeprefix("Error: ").removeprefix("server 'hostile' ").replace(outcome.url, "")
    what = (last[:72] + ("…" if len(last) > 72 else "")).replace("|", "\\|")
    ratio = run.peak_rss_mb / baseline_mb
    held = ", ".join(f"{s:.2f}" for s in outcome.held_s)
    return (
        f"| {label} | {code} | {run.wall_s:.2f} | {held} | {run.peak_rss_mb:.0f} | {ratio:.2f} | "
        f"{len(outcome.seen)} | {outcome.bytes_sent / 1e6:.1f} | {what} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", help="Comma-separated modes (default: every case).")
    parser.add_argument("--before", type=Path, help="Also run the hossctl tree in this directory.")
    parser.add_argument("--kill-after", type=float, default=60.0, help="Seconds before a run is killed.")
    args = parser.parse_args()
    modes = args.modes.split(",") if args.modes else list(CASES)
    unknown = [m for m in modes if m not in CASES and m != "normal"]
    if unknown:
        parser.error(f"unknown modes: {', '.join(unknown)}")

    trees = [("", REPO)] + ([(" (before)", args.before.resolve())] if args.before else [])
    print(
        "| mode | exit | wall s | held s | peak RSS MB | × baseline | requests | server sent MB "
        "| error line (server and URL left out) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for suffix, tree in trees:
        base = execute("normal", tree=tree, kill_after=args.kill_after, fork=False)
        baseline_mb = base.run.peak_rss_mb
        print(_row(f"baseline: normal{suffix}", base, baseline_mb))
        for mode in modes:
            outcome = execute(mode, tree=tree, kill_after=args.kill_after, fork=False)
            print(_row(mode + suffix, outcome, baseline_mb), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
