"""``hossctl demo``: the README's first command works, tidies up, and survives Ctrl-C."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from hossctl.cli import cli
from hossctl.commands.demo import run_demo

DEMO_VARS = ("ONPREM_HOSS_URL", "CLOUD_HOSS_URL", "ONPREM_HOSS_PAT", "CLOUD_HOSS_PAT")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (*DEMO_VARS, "HOSS_PAT", "HOSS_JWT")}


def test_demo_runs_in_a_fresh_process_without_hossctl_on_path(tmp_path: Path) -> None:
    env = _clean_env()
    env["PATH"] = str(tmp_path)  # no `hossctl` executable to find: every step runs in-process
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "hossctl", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (
        "$ hossctl validate -f hoss.yaml",
        "$ hossctl plan -f hoss.yaml",
        "$ hossctl apply -f hoss.yaml --auto-approve",
        "$ hossctl plan -f hoss.yaml --detailed-exitcode",
        "No changes.",
        "namespace-not-empty",
        "(exit code 1, as expected)",
        "# Exported by `hossctl export` from: cloud = http://127.0.0.1:",
        "==> Done",
    ):
        assert line in out, f"missing {line!r} in the demo output"
    order = [out.index(s) for s in ("validate -f", "apply -f", "No changes.", "namespace-not-empty", "Done")]
    assert order == sorted(order)
    assert "hp_" not in out + done.stderr  # the PATs stay in the environment
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory


def test_demo_restores_the_process_and_writes_only_to_its_temp_dir(tmp_path: Path) -> None:
    before = dict(os.environ)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["demo"])
        assert os.getcwd() == str(tmp_path)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []
    assert {k: os.environ.get(k) for k in DEMO_VARS} == {k: before.get(k) for k in DEMO_VARS}


def _refuses_connections(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((parts.hostname or "", parts.port or 80)) != 0


def test_ctrl_c_stops_the_sandboxes_and_restores_the_process() -> None:
    seen: dict[str, str] = {}
    cwd = os.getcwd()

    def interrupted(args: Sequence[str]) -> int:
        seen.update({k: os.environ[k] for k in DEMO_VARS})
        seen["cwd"] = os.getcwd()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo(echo=lambda _text: None, run=interrupted)

    assert os.getcwd() == cwd
    assert not Path(seen["cwd"]).exists()  # the temporary directory is gone
    assert all(k not in os.environ or os.environ[k] != seen[k] for k in DEMO_VARS)
    assert _refuses_connections(seen["ONPREM_HOSS_URL"])
    assert _refuses_connections(seen["CLOUD_HOSS_URL"])


def test_a_step_with_the_wrong_exit_code_fails_the_demo_cleanly() -> None:
    from hossctl.errors import HossctlError

    with pytest.raises(HossctlError, match=r"The demo step `hossctl validate` exited 3, expected 0"):
        run_demo(echo=lambda _text: None, run=lambda _args: 3)
