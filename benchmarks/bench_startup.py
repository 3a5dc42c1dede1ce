"""Benchmark: start-up of ``hossctl --help``, ``validate`` and ``plan``, against another tree in the same run.

Usage:  python benchmarks/bench_startup.py [--before DIR] [--runs 15]

Each run starts a fresh interpreter running the tree's console script (what the installed
``hossctl`` command runs: pip's wrapper around the ``[project.scripts]`` entry point), and
``python -m hossctl`` beside it for reference (runpy adds a few ms), alternating between the trees so
that the machine's noise hits both alike; medians and minimums are printed, with a bare
interpreter's start-up for scale. ``--before`` is a checkout of an older commit, for example
``git worktree add /tmp/old <commit>``.

Issue 15's goal rows compare each median with the bare interpreter's median of the same run:
its budgets (``--help`` at most 80 ms, ``validate`` of a small file at most 100 ms) become
ratios with a quiet bare start on this kind of machine, 20 ms: 4x and 5x.

Bytecode: the machine sets PYTHONDONTWRITEBYTECODE, so a source tree run as is compiles all
of hossctl at every start (an installed wheel has its .pyc files); the trees are compiled
once before timing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUIET_BARE_SECONDS = 0.020  # a bare interpreter's start on this kind of machine, unloaded
GOALS = {"--help": ("`hossctl --help`", 0.080), "validate": ("`hossctl validate` of a small file", 0.100)}
CASES = {
    "--help": ["--help"],
    "validate": ["validate", "-f", "examples/two-servers-duplex/hoss.yaml"],
    # every import of a plan (the client, httpx), then "no credentials": no network needed
    "plan": ["plan", "-f", str(Path(__file__).resolve().parent / "startup-plan.yaml")],
}


def console_script(root: Path) -> list[str]:
    """What the installed ``hossctl`` command runs for this tree: pip's console-script wrapper
    around the tree's own ``[project.scripts]`` entry point (``python -m hossctl`` adds runpy)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^hossctl\s*=\s*"([\w.]+):(\w+)"', text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{root}/pyproject.toml declares no hossctl console script")
    module, function = match.groups()
    code = (
        f"import re, sys\nfrom {module} import {function}\n"
        "sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', 'hossctl')\n"
        f"sys.exit({function}())"
    )
    return ["-c", code]


def timed(args: list[str], root: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(root))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", type=Path, help="An older checkout to compare with.")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    trees = {"now": ROOT}
    if args.before is not None:
        trees = {"before": args.before.resolve(), **trees}
    for root in trees.values():
        compileall.compile_dir(root / "hossctl", quiet=1, workers=0)
    results: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in CASES}
    bare: list[float] = []
    module: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in CASES}
    scripts = {tree: console_script(root) for tree, root in trees.items()}
    for _ in range(args.runs):
        bare.append(timed(["-c", "pass"], ROOT))
        for tree, root in trees.items():
            for case, case_args in CASES.items():
                results[(tree, case)].append(timed([*scripts[tree], *case_args], root))
                module[(tree, case)].append(timed(["-m", "hossctl", *case_args], root))
    print(f"bare interpreter:            median {statistics.median(bare) * 1000:4.0f} ms")
    for (tree, case), values in results.items():
        print(
            f"{tree:6} hossctl {case:9}   median {statistics.median(values) * 1000:4.0f} ms   "
            f"min {min(values) * 1000:4.0f} ms   (python -m hossctl: median "
            f"{statistics.median(module[(tree, case)]) * 1000:4.0f} ms)"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"CPUs: {os.cpu_count()}, load average {load}")
    floor = statistics.median(bare)
    print("\n| goal | figure | floor or peer | ratio | bound | holds? |\n|---|---|---|---|---|---|")
    for case, (goal, budget) in GOALS.items():
        figure = statistics.median(results[("now", case)])
        ratio, bound = figure / floor, budget / QUIET_BARE_SECONDS
        print(
            f"| {goal} (<= {budget * 1000:.0f} ms) | {figure * 1000:.0f} ms | bare interpreter "
            f"{floor * 1000:.0f} ms | {ratio:.1f}x | <= {bound:.0f}x | {'yes' if ratio <= bound else 'NO'} |"
        )


if __name__ == "__main__":
    main()
