"""How long `hossctl validate` takes on a large config and on the worst 10 MiB files, start-up included.

Run: python benchmarks/bench_validate.py [--namespaces 10000] [--runs 5] [--before DIR] [--no-worst]

Every figure is a whole `hossctl validate` process, timed alternately with a bare interpreter
(``python -c pass``) in the same run, so the ratio to it holds on a loaded machine where the
seconds do not. Issue 15's budgets are turned into ratios with the bare interpreter's start-up
on this kind of machine when quiet, 20 ms (BENCHMARKS.md): 1 s is 50 bare starts, 10 s is 500.
Peak memory (the child's maxrss) is absolute: load does not change it. ``--before`` times a
checkout of an older commit in the same alternation. The in-process split between the stages
locates a regression.

Bytecode: the machine sets PYTHONDONTWRITEBYTECODE, so a source tree is never compiled to
.pyc by running it and every start would compile hossctl again (an installed wheel has its
.pyc files). The trees are compiled once before timing, as an installation would be.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUIET_BARE_SECONDS = 0.020  # a bare interpreter's start on this kind of machine, unloaded
MIB = 1024 * 1024
CAP = 10 * MIB  # hossctl's size limit for one config file


def generate(namespaces: int) -> str:
    """Two servers; half the namespaces on each; every other one syncs to its twin (duplex both ways)."""
    lines = [
        "# yaml-language-server: $schema=../../schemas/config.schema.json",
        "version: 1",
        "servers:",
    ]
    per_server = namespaces // 2
    for key, peer in (("onprem", "cloud"), ("cloud", "onprem")):
        lines += [
            f"  {key}:",
            f"    url: ${{{key.upper()}_URL:-https://{key}.example.org}}",
            f"    pat_env: {key.upper()}_HOSS_PAT",
            "    prune: false",
            "    namespaces:",
        ]
        for i in range(per_server):
            lines += [
                f"      project-{i:05d}:",
                f"        description: Project {i} raw data  # owned by lab {i % 17}",
                "        object_store: default",
                f"        bucket: {key}-project-{i:05d}",
            ]
            if i % 10 == 0:
                lines.append("        protect: true")
            if i % 2 == 0:
                lines += [
                    "        sync:",
                    f"          - target: {peer}",
                    "            type: duplex",
                ]
    return "\n".join(lines) + "\n"


def _fill(head: str, item: Callable[[int], str], tail: str, sep: str = "") -> str:
    """``head``, then ``item(0)``, ``item(1)``... joined by ``sep``, then ``tail``: just under 10 MiB."""
    parts = [head]
    size = len(head) + len(tail)
    i = 0
    while True:
        piece = (sep if i else "") + item(i)
        if size + len(piece) > CAP - 16:
            break
        parts.append(piece)
        size += len(piece)
        i += 1
    parts.append(tail)
    return "".join(parts)


_ONE_SERVER = "version: 1\nservers:\n  s:\n    url: https://s.example.org\n    namespaces:\n"
# The adversarial files: each the most of one thing that 10 MiB can hold.
WORST: dict[str, Callable[[], str]] = {
    # The largest valid config in the usual style: 124,000 namespaces.
    "block namespaces": lambda: _fill(
        _ONE_SERVER,
        lambda i: f"      n{i}:\n        description: d\n        object_store: s\n        bucket: b{i}\n",
        "",
    ),
    # The same in flow style: more namespaces per byte (the 8 MB file took 57 s, 2.6 GB).
    "flow namespaces": lambda: _fill(
        "version: 1\nservers: {s: {url: 'https://s.example.org', namespaces: {",
        lambda i: f"n{i}: {{description: d, object_store: s, bucket: b{i}}}",
        "}}}\n",
        ", ",
    ),
    # The most nodes per byte: 5 million one-digit list items in an ignored x- key.
    "flow list of 1s": lambda: _fill("version: 1\nservers: {}\nx-a: [", lambda i: "1", "]\n", ","),
    "many tiny keys": lambda: _fill("version: 1\nservers: {}\nx-a: {", lambda i: f"k{i}: 1", "}\n", ","),
    # Lists 98 deep, side by side: the longest paths for the most nodes.
    "deep nesting": lambda: _fill(
        "version: 1\nservers: {}\nx-a: [", lambda i: "[" * 98 + "1" + "]" * 98, "]\n", ","
    ),
    "one long string": lambda: (
        _ONE_SERVER
        + "      n:\n        object_store: s\n        bucket: b\n        description: "
        + "a" * (CAP - 200)
        + "\n"
    ),
    # A schema error per line: every diagnostic is built, sorted and printed.
    "unknown keys": lambda: _fill(
        _ONE_SERVER + "      n:\n        description: d\n        object_store: s\n        bucket: b\n",
        lambda i: f"        k{i}: 1\n",
        "",
    ),
    "namespaces missing a key": lambda: _fill(
        _ONE_SERVER, lambda i: f"      n{i}:\n        description: d\n        object_store: s\n", ""
    ),
    # Under the node limit, an error on every other line: 440,000 unknown keys, 140,000
    # namespaces without a bucket (and a shared-bucket warning each).
    "440,000 unknown keys": lambda: (
        _ONE_SERVER
        + "      n:\n        description: d\n        object_store: s\n        bucket: b\n"
        + "".join(f"        k{i}: 1\n" for i in range(440_000))
    ),
    "140,000 namespaces missing a key": lambda: (
        _ONE_SERVER
        + "".join(f"      n{i}:\n        description: d\n        object_store: s\n" for i in range(140_000))
    ),
    # An anchor sends the file to the general loader (nodes first, then data).
    "anchor, then a flow list": lambda: _fill(
        "version: 1\nservers: {}\nx-b: &b [1]\nx-a: [", lambda i: "1", "]\n", ","
    ),
    "alias bomb": lambda: (
        "version: 1\nservers: {}\nx-0: &a0 ["
        + ",".join(["x"] * 40)
        + "]\n"
        + "".join(f"x-{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 40) + "]\n" for n in range(1, 13))
    ),
}


def _child(args: list[str], tree: Path) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MiB, exit code, last line of output) of one process."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "e = time.perf_counter() - t\n"
        "out = (r.stdout + r.stderr).strip().splitlines()\n"
        "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, r.returncode)\n"
        "print(out[0] if out else '')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", code, sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tree,
    )
    first, line = [*done.stdout.splitlines(), ""][:2]
    seconds, rss, returncode = first.split()
    return float(seconds), float(rss), int(returncode), line


def _bare() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def in_process_split(config: Path, tree: Path) -> dict[str, float]:
    code = f"""
import time
t0 = time.perf_counter()
import hossctl.cli, hossctl.config.loader, hossctl.config.structure
t1 = time.perf_counter()
from hossctl.config.yamlsource import load_yaml
from hossctl.config.structure import check_structure, _validator
from hossctl.config.semantics import CheckedDocument, build_config
from hossctl.config.interpolate import interpolate
import os
data = open({str(config)!r}, 'rb').read()
doc, _ = load_yaml('c.yaml', data)
t2 = time.perf_counter()
values, _ = interpolate(doc, os.environ)
_validator()
t3 = time.perf_counter()
check_structure(doc, values, set())
t4 = time.perf_counter()
build_config([CheckedDocument.of(doc, values, set())])
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
"""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=tree
    ).stdout
    names = ("imports", "yaml", "interpolate+schema build", "schema validation", "merge+semantics")
    return dict(zip(names, (float(x) for x in out.split()), strict=True))


def goal_row(goal: str, figure: float, floor: float, bound_seconds: float, unit: str = "s") -> str:
    """``goal | figure | floor or peer | ratio | bound | holds?`` for one budget in seconds."""
    ratio = figure / floor
    bound = bound_seconds / QUIET_BARE_SECONDS
    shown = f"{figure * 1000:.0f} ms" if unit == "ms" else f"{figure:.2f} s"
    return (
        f"| {goal} | {shown} | bare interpreter {floor * 1000:.0f} ms | {ratio:.1f}x | "
        f"<= {bound:.0f}x | {'yes' if ratio <= bound else 'NO'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, help="An older checkout to time in the same alternation.")
    parser.add_argument("--no-worst", action="store_true", help="Skip the 10 MiB files (they take minutes).")
    args = parser.parse_args()
    trees = {"now": ROOT} if args.before is None else {"before": args.before.resolve(), "now": ROOT}
    for tree in trees.values():
        compileall.compile_dir(tree / "hossctl", quiet=1, workers=0)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "hoss.yaml"
        config.write_text(generate(args.namespaces), encoding="utf-8")
        size_kib = os.path.getsize(config) / 1024
        command = ["-m", "hossctl", "validate", "-f", str(config)]
        bare: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.runs):
            bare.append(_bare())
            for name, tree in trees.items():
                seconds, _, code, line = _child(command, tree)
                if code != 0:
                    raise SystemExit(f"validate failed in {name}: {line}")
                times[name].append(seconds)
        floor = statistics.median(bare)
        print(f"config: {args.namespaces} namespaces, {size_kib:.0f} KiB; {args.runs} runs, alternating")
        print(f"bare interpreter: median {floor:.3f} s")
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"{name:6} hossctl validate: median {median:.3f} s (min {min(values):.3f}, "
                f"max {max(values):.3f}), {median / floor:.1f}x the bare interpreter"
            )
            for stage, seconds in in_process_split(config, trees[name]).items():
                print(f"         {stage:<26} {seconds:.3f} s")
        rows.append(
            goal_row(
                f"validate {args.namespaces:,} namespaces, whole process (< 1 s)",
                statistics.median(times["now"]),
                floor,
                1.0,
            )
        )
        if not args.no_worst:
            print("\nworst 10 MiB files (one run each, with a bare interpreter before each):")
            worst: tuple[float, float, str] = (0.0, 0.0, "")
            worst_rss: tuple[float, str] = (0.0, "")
            for name, make in WORST.items():
                path = Path(tmp) / "worst.yaml"
                path.write_text(make(), encoding="utf-8")
                floor_here = _bare()
                seconds, rss, code, line = _child(["-m", "hossctl", "validate", "-f", str(path)], ROOT)
                ratio = seconds / floor_here
                print(
                    f"  {name:<32} {os.path.getsize(path) / MIB:5.1f} MiB  {seconds:6.2f} s  "
                    f"{ratio:6.0f}x bare  peak {rss:5.0f} MiB  exit {code}: {line[:110]}"
                )
                if not worst[2] or ratio > worst[0] / worst[1]:
                    worst = (seconds, floor_here, name)
                if rss > worst_rss[0]:
                    worst_rss = (rss, name)
            rows.append(
                goal_row(f"worst 10 MiB file ({worst[2]}), whole process (< 10 s)", worst[0], worst[1], 10.0)
            )
            holds = "yes" if worst_rss[0] < 1024 else "NO"
            rows.append(
                f"| worst 10 MiB file's peak memory ({worst_rss[1]}) (< 1 GB) | {worst_rss[0]:.0f} MiB | "
                f"| | < 1024 MiB | {holds} |"
            )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nCPUs: {os.cpu_count()}, load average {load}")
    print("\n| goal | figure | floor or peer | ratio | bound | holds? |\n|---|---|---|---|---|---|")
    print("\n".join(rows))
    if any(row.endswith("| NO |") for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
