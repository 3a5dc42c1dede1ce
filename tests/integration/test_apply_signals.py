"""Signals in the middle of an apply: what was sent finishes and is reported, a re-run converges.

The apply runs as ``python -m hossctl`` in a process of its own, so that the signal reaches
hossctl's own handlers exactly as a Ctrl-C or a CI runner's SIGTERM would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from applying import hossctl, subprocess_env, write_config
from configs import ns

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


def _start_apply(config: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hossctl", "apply", "-f", config, "--auto-approve", "--allow-mass-delete",
         *extra],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _wait_for_first_change(proc: subprocess.Popen[str], lines: list[str], *, json: bool = False) -> None:
    """Read human output (stderr with --json) until the first change has finished."""
    stream = proc.stderr if json else proc.stdout
    assert stream is not None
    deadline = time.monotonic() + 60
    for line in stream:
        lines.append(line)
        if line.startswith("✓"):
            return
        assert time.monotonic() < deadline, "".join(lines)
    raise AssertionError("apply ended before any change finished:\n" + "".join(lines))


def _replace_world(sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[
    Sandbox, str
]:
    """60 namespaces whose description changed: 60 deletes and 60 creates, slow enough to interrupt."""
    onprem, cloud = sandbox_factory(latency_ms=25), sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    wanted = {}
    for i in range(60):
        name = f"ns-{i:02d}"
        onprem.seed_namespace(name, description="old", bucket=name)
        wanted[name] = ns(name, description="new")
    return onprem, write_config(tmp_path / "hoss.yaml", (onprem, cloud), wanted)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_apply_finishes_what_was_sent_reports_everything_and_a_rerun_converges(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int
) -> None:
    onprem, config = _replace_world(sandbox_factory, tmp_path, monkeypatch)
    proc = _start_apply(config, "--json")
    lines: list[str] = []
    _wait_for_first_change(proc, lines, json=True)
    proc.send_signal(signum)
    stdout, rest = proc.communicate(timeout=120)
    err = "".join(lines) + rest
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert f"{name}: no new changes will start" in err
    assert f"Apply interrupted by {name}:" in err
    document = json.loads(stdout[stdout.index("{"):])
    assert document["status"] == "interrupted"
    statuses = [c["status"] for c in document["changes"]]
    assert len(statuses) == 120 and "unknown" not in statuses and "failed" not in statuses
    assert statuses.count("done") >= 1 and statuses.count("skipped") >= 1
    for change in document["changes"]:  # every change is named in the human report too
        half = "delete" if change["action"] == "delete_namespace" else "create"
        assert f"-/+ namespace onprem/{change['namespace']} ({half})" in err
    rerun = hossctl("apply", "-f", config, "--auto-approve", "--allow-mass-delete")
    assert rerun.exit_code == 0, rerun.output
    assert {n["name"]: n["description"] for n in onprem.namespaces() if n["name"] != "default"} == {
        f"ns-{i:02d}": "new" for i in range(60)
    }
    assert hossctl("plan", "-f", config, "--detailed-exitcode").exit_code == 0


def test_a_second_signal_exits_at_once_and_names_what_is_in_flight(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = _replace_world(sandbox_factory, tmp_path, monkeypatch)
    proc = _start_apply(config, "--json")
    lines: list[str] = []
    _wait_for_first_change(proc, lines, json=True)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    for line in proc.stderr:  # the second signal only once the first was handled (else they merge)
        lines.append(line)
        if "no new changes will start" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    err = "".join(lines) + rest
    assert proc.returncode == 130, err
    assert "SIGINT again: exiting at once." in err
    unknown = err.split("The outcome of these changes is unknown:\n")[1].split("Run `hossctl plan`")[0]
    assert unknown.strip().startswith("-/+ namespace onprem/ns-")  # the changes in flight, by name
    assert "Run `hossctl plan` to see what took effect." in err
    assert "Traceback" not in err
