"""``hossctl export`` against real sandboxes: what it writes validates and plans to no changes.

The outside sync target is a third sandbox that is not exported: reachable (so the
target-unreachable check passes without ``--no-target-check``) but not managed, so the
export must keep its URL rather than name a key.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from configs import export_args

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Any]

NAMESPACES = 100


def _invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(cli, args, env=env)


@pytest.fixture
def estate(sandbox_factory: SandboxFactory) -> tuple[Sandbox, Sandbox, Sandbox]:
    """onprem with 100 namespaces and every kind of sync target, cloud, and an outside partner."""
    onprem, cloud, partner = sandbox_factory(), sandbox_factory(), sandbox_factory()
    partner.seed_namespace("inbox", description="Partner inbox", bucket="inbox")
    for i in range(NAMESPACES):
        name = f"ns-{i:03d}"
        onprem.seed_namespace(name, description=f"Namespace {i}", bucket=f"bucket-{i:03d}")
        kind = i % 6
        if kind == 0:  # duplex to the second exported server, present on both ends
            cloud.seed_namespace(name, description=f"Mirror of {i}", bucket=f"bucket-{i:03d}")
            onprem.seed_sync(name, cloud.core_url, name, "duplex")
            cloud.seed_sync(name, onprem.core_url, name, "duplex")
        elif kind == 1:  # simplex to another namespace of the same server
            onprem.seed_sync(name, onprem.core_url, f"ns-{i + 1:03d}", "simplex")
        elif kind == 2:  # simplex to a server that is not exported
            onprem.seed_sync(name, partner.core_url, "inbox", "simplex")
        elif kind == 3:  # several targets, one spelled non-canonically on the server
            onprem.seed_sync(name, cloud.core_url + "/", "landing", "simplex")
            onprem.seed_sync(name, partner.core_url, "inbox", "simplex")
        elif kind == 4:  # description that needs quoting in YAML
            onprem.seed_namespace(f"{name}-odd", description="yes: #1\n\u0085 'x'", bucket=f"odd-{i:03d}")
    cloud.seed_namespace("landing", description="Landing zone", bucket="landing")
    onprem.seed_namespace("scratch area", description="Made by hand", bucket="scratch")
    return onprem, cloud, partner


def test_export_validates_plans_to_no_changes_and_is_byte_stable(
    estate: tuple[Sandbox, Sandbox, Sandbox], tmp_path: Path
) -> None:
    onprem, cloud, partner = estate
    env: dict[str, str | None] = {
        "ONPREM_PAT": onprem.admin_pat,
        "CLOUD_PAT": cloud.admin_pat,
        "HOSS_PAT": None,
        "HOSS_JWT": None,
    }
    out = tmp_path / "hoss.yaml"

    first = _invoke([*export_args(onprem.url, cloud.url), "-o", str(out)], env)
    assert first.exit_code == 0, first.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith(
        f"# Exported by `hossctl export` from: cloud = {cloud.url}, onprem = {onprem.url}\n"
    )
    assert text.splitlines()[1] == "version: 1"
    for secret in (onprem.admin_pat, cloud.admin_pat, onprem.user_pat, cloud.user_pat):
        assert secret not in text and secret not in first.output
    assert "namespace 'scratch area' left out" in first.stderr

    doc = yaml.safe_load(text)
    assert doc["version"] == 1
    assert doc["servers"]["onprem"]["pat_env"] == "ONPREM_PAT"
    exported = doc["servers"]["onprem"]["namespaces"]
    assert len([n for n in exported if n.startswith("ns-") and not n.endswith("-odd")]) == NAMESPACES
    assert exported["ns-000"]["sync"] == [{"target": "cloud", "type": "duplex"}]
    assert exported["ns-001"]["sync"] == [{"target": "onprem", "namespace": "ns-002", "type": "simplex"}]
    assert exported["ns-002"]["sync"] == [
        {"target": partner.core_url, "namespace": "inbox", "type": "simplex"}
    ]
    assert exported["ns-003"]["allow_multiple_sync_targets"] is True
    assert exported["ns-003"]["sync"] == [
        {"target": "cloud", "namespace": "landing", "type": "simplex"},
        {"target": partner.core_url, "namespace": "inbox", "type": "simplex"},
    ]
    assert exported["ns-004-odd"]["description"] == "yes: #1\n\u0085 'x'"
    assert doc["servers"]["cloud"]["namespaces"]["ns-000"]["sync"] == [{"target": "onprem", "type": "duplex"}]

    validate = _invoke(["validate", "-f", str(out)], env)
    assert validate.exit_code == 0, validate.output

    plan = _invoke(["plan", "-f", str(out), "--detailed-exitcode"], env)
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.stdout

    second = _invoke(export_args(onprem.url, cloud.url), env)
    assert second.exit_code == 0, second.output
    assert second.stdout_bytes == out.read_bytes()


def test_default_credentials_are_not_written(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    result = _invoke(["export", "--server", f"only={sandbox.url}"], {"HOSS_PAT": sandbox.admin_pat})
    assert result.exit_code == 0, result.output
    assert "pat_env" not in result.stdout
    assert sandbox.admin_pat not in result.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "onprem"], "is not of the form KEY=URL"),
        (["--server", "Bad Key=http://127.0.0.1:1"], "must match"),
        (["--server", "a=http://127.0.0.1:1", "--server", "a=http://127.0.0.1:2"], "given twice"),
        (["--server", "a=localhost"], "is not an http(s) URL"),
        ([], "at least one server"),
    ],
)
def test_bad_options_fail_with_one_sentence(args: list[str], message: str) -> None:
    result = _invoke(["export", *args], {"HOSS_PAT": "hp_" + "x" * 30})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_server_fails_with_one_sentence() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    pat = "hp_" + "x" * 30
    result = _invoke(["export", "--server", f"gone={url}"], {"HOSS_PAT": pat})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "gone" in result.stderr
    assert "Traceback" not in result.stderr and pat not in result.stderr


def test_half_duplex_link_is_left_out_and_plans_clean(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A link duplex on one end and simplex on the other cannot be declared: both ends are left out."""
    onprem, cloud = sandbox_factory(), sandbox_factory()
    for sandbox, other, kind in ((onprem, cloud, "duplex"), (cloud, onprem, "simplex")):
        sandbox.seed_namespace("half", bucket="half")
        sandbox.seed_sync("half", other.core_url, "half", kind)
    env: dict[str, str | None] = {"ONPREM_PAT": onprem.admin_pat, "CLOUD_PAT": cloud.admin_pat}
    out = tmp_path / "hoss.yaml"
    result = _invoke([*export_args(onprem.url, cloud.url), "-o", str(out)], env)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("duplex on one end and simplex on the other") == 2
    assert "half" not in out.read_text(encoding="utf-8")
    assert _invoke(["validate", "-f", str(out)], env).exit_code == 0
    plan = _invoke(["plan", "-f", str(out), "--detailed-exitcode"], env)
    assert plan.exit_code == 0, plan.output


def test_hostile_names_and_descriptions_are_exported_exactly_and_printed_escaped(
    sandbox_factory: SandboxFactory,
) -> None:
    """Issue 10, case 4: what export prints (YAML on stdout, warnings on stderr) holds none raw."""
    onprem = sandbox_factory()
    description = "evil\x1b]0;PWNED\x07\x1b[2J\r\nFAKE: Apply complete\u202e\x9b"
    onprem.seed_namespace("rev\u202eexe.txt", description=description, bucket="rev")
    onprem.seed_namespace("evil\x1b]0;PWNED\x07x", description="d", bucket="evil")  # not a URL segment
    onprem.seed_namespace("a\r\nFAKE: Apply complete", description="d", bucket="fake")
    env: dict[str, str | None] = {"HOSS_PAT": onprem.admin_pat, "HOSS_JWT": None}
    result = _invoke(["export", "--server", f"onprem={onprem.url}"], env)
    assert result.exit_code == 0, result.output
    for shown in (result.stdout, result.stderr):
        assert not [ch for ch in ("\x1b", "\r", "\x07", "\u202e", "\x9b") if ch in shown], shown
        assert not any(line.startswith("FAKE") for line in shown.splitlines())
    assert "namespace 'evil\\x1b]0;PWNED\\x07x' left out" in result.stderr
    assert "namespace 'a\\r\\nFAKE: Apply complete' left out" in result.stderr
    exported = yaml.safe_load(result.stdout)["servers"]["onprem"]["namespaces"]
    assert exported["rev\u202eexe.txt"]["description"] == description
