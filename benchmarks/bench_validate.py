"""How long `hossctl validate` takes on a 1,000-namespace config, start-up included.

Run: python benchmarks/bench_validate.py [--namespaces 1000] [--runs 7]
Prints the median wall time of the whole process, plus the in-process split between
importing, YAML, schema and semantics, so a regression can be located.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 1.0


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


def run_cli(config: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "hossctl", "validate", "-f", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"validate failed:\n{result.stderr}")
    return elapsed


def in_process_split(config: Path) -> dict[str, float]:
    code = f"""
import time
t0 = time.perf_counter()
import hossctl.cli, hossctl.config.loader, hossctl.config.structure
import jsonschema  # what the schema stage imports lazily
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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names = ("imports", "yaml", "interpolate+schema build", "schema validation", "merge+semantics")
    return dict(zip(names, (float(x) for x in out.split()), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "hoss.yaml"
        config.write_text(generate(args.namespaces), encoding="utf-8")
        size_kib = os.path.getsize(config) / 1024
        startup = [_time([sys.executable, "-c", "import hossctl.cli"]) for _ in range(args.runs)]
        times = [run_cli(config) for _ in range(args.runs)]
        median = statistics.median(times)
        print(f"config: {args.namespaces} namespaces, {size_kib:.0f} KiB")
        print(
            f"hossctl validate (whole process), {args.runs} runs: median {median:.3f} s, "
            f"min {min(times):.3f} s, max {max(times):.3f} s"
        )
        print(f"python + import hossctl.cli alone: median {statistics.median(startup):.3f} s")
        for name, seconds in in_process_split(config).items():
            print(f"  {name:<26} {seconds:.3f} s")
        verdict = "OK" if median < BUDGET_SECONDS else "TOO SLOW"
        print(f"budget {BUDGET_SECONDS:.1f} s: {verdict}")
        if median >= BUDGET_SECONDS:
            raise SystemExit(1)


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
