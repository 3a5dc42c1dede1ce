"""`hossctl sandbox --seed FILE`: stand-ins for production, made from an export, that plan clean.

Two live servers with a duplex link and an external simplex target are exported; two
`hossctl sandbox --seed` processes stand in for them, each told where the other one listens
(`--seed-url`). The exported config, pointed at the stand-ins, then plans "No changes.", and the
live servers were never written to.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from configs import export_args, server_state
from ports import free_port
from sandbox_process import start_sandbox

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
EXTERNAL = "https://partner.example.org/core/v1"


def _start_seeded(port: int, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    started = start_sandbox(*args, port=port)
    assert started.before and started.before[0].startswith("Seeded from server"), started.before
    return started.process, started.url, started.admin_pat


def test_seeded_stand_ins_plan_no_changes_and_production_is_untouched(
    sandbox_factory: SandboxFactory,
    processes: list[subprocess.Popen[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    onprem, cloud = sandbox_factory(object_stores=("default", "archive")), sandbox_factory()
    onprem.seed_namespace("raw", description="Raw data", bucket="raw")
    cloud.seed_namespace("raw", description="Raw mirror", bucket="raw-mirror")
    onprem.seed_sync("raw", cloud.core_url, "raw", "duplex")
    cloud.seed_sync("raw", onprem.core_url, "raw", "duplex")
    onprem.seed_namespace("cold", description="Cold storage", object_store="archive", bucket="cold")
    onprem.seed_sync("cold", EXTERNAL, "inbox", "simplex")
    onprem.seed_dataset("raw", "session-1")  # datasets are not part of a config: not seeded
    before = (server_state(onprem), server_state(cloud))

    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    export = tmp_path / "export.yaml"
    result = CliRunner().invoke(cli, [*export_args(onprem.url, cloud.url), "-o", str(export)])
    assert result.exit_code == 0, result.output

    ports = {"onprem": free_port(), "cloud": free_port()}
    stand_ins = {}
    for key, other in (("onprem", "cloud"), ("cloud", "onprem")):
        process, url, pat = _start_seeded(
            ports[key],
            "--seed",
            str(export),
            "--seed-server",
            key,
            "--seed-url",
            f"{other}=http://127.0.0.1:{ports[other]}",
        )
        processes.append(process)
        stand_ins[key] = (url, pat)

    doc = yaml.safe_load(export.read_text(encoding="utf-8"))
    for key, (url, pat) in stand_ins.items():
        doc["servers"][key]["url"] = url
        doc["servers"][key]["pat_env"] = f"STAND_IN_{key.upper()}"
        monkeypatch.setenv(f"STAND_IN_{key.upper()}", pat)
    rehearsal = tmp_path / "rehearsal.yaml"
    rehearsal.write_text(yaml.safe_dump(doc), encoding="utf-8")

    plan = CliRunner().invoke(cli, ["plan", "-f", str(rehearsal), "--detailed-exitcode", "--no-target-check"])
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output
    assert (server_state(onprem), server_state(cloud)) == before  # production was only read


def test_a_multi_server_file_needs_a_server_choice_and_a_seed_option_needs_a_file(tmp_path: Path) -> None:
    config = tmp_path / "two.yaml"
    config.write_text(
        "version: 1\nservers:\n"
        "  a: {url: 'http://127.0.0.1:1', allow_insecure_http: true, namespaces: {}}\n"
        "  b: {url: 'http://127.0.0.1:2', allow_insecure_http: true, namespaces: {}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--seed", str(config)])
    assert result.exit_code == 1
    assert "declares 2 servers (a, b): choose one with --seed-server" in result.output
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--seed", str(config), "--seed-server", "c"])
    assert result.exit_code == 1 and "'c' is not a server of the seed file" in result.output
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--seed-server", "a"])
    assert result.exit_code == 1 and "--seed-server and --seed-url need --seed FILE" in result.output
    result = CliRunner().invoke(
        cli, ["sandbox", "--port", "0", "--seed", str(config), "--seed-server", "a", "--seed-url", "nourl"]
    )
    assert result.exit_code == 1 and "give KEY=URL" in result.output
