"""`hossctl rehearse`: a config change applied to sandbox copies of production, never to production.

Production here is two sandboxes behind recording proxies: 200 namespaces on onprem, 50 of them
linked duplex to cloud, 20 holding datasets. The config starts as `hossctl export` of them and then
changes: a new linked namespace, a replaced one, a removed one. The rehearsal must converge in one
run with no changes after, and the proxies must have seen nothing but reads and PAT exchanges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from configs import export_args, server_state
from hostile import HostileProxy

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
LINKED = 50
WITH_DATASETS = 20
NAMESPACES = 200


@pytest.fixture
def production(
    sandbox_factory: SandboxFactory,
) -> Iterator[tuple[Sandbox, Sandbox, HostileProxy, HostileProxy]]:
    onprem, cloud = sandbox_factory(delete_delay=3600), sandbox_factory(delete_delay=3600)
    with (
        HostileProxy(onprem.url, "transparent") as onprem_proxy,
        HostileProxy(cloud.url, "transparent") as cloud_proxy,
    ):
        onprem_core, cloud_core = f"{onprem_proxy.url}/core/v1", f"{cloud_proxy.url}/core/v1"
        for i in range(NAMESPACES):
            name = f"ns-{i:03d}"
            onprem.seed_namespace(name, description=f"Data {i}", bucket=name)
            if i < LINKED:
                cloud.seed_namespace(name, description=f"Mirror {i}", bucket=name)
                onprem.seed_sync(name, cloud_core, name, "duplex")
                cloud.seed_sync(name, onprem_core, name, "duplex")
            if i < WITH_DATASETS:
                onprem.seed_dataset(name, f"session-{i}", sync_enabled=i < LINKED, sync_type="duplex")
        onprem.seed_dataset("ns-000", "old-run", delete_status="SCHEDULED")
        yield onprem, cloud, onprem_proxy, cloud_proxy


def test_a_rehearsal_converges_and_production_only_sees_reads(
    production: tuple[Sandbox, Sandbox, HostileProxy, HostileProxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    onprem, cloud, onprem_proxy, cloud_proxy = production
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    export = tmp_path / "export.yaml"
    exported = CliRunner().invoke(cli, [*export_args(onprem_proxy.url, cloud_proxy.url), "-o", str(export)])
    assert exported.exit_code == 0, exported.output
    before = (server_state(onprem), server_state(cloud))
    onprem_proxy.requests.clear()
    cloud_proxy.requests.clear()

    doc = yaml.safe_load(export.read_text(encoding="utf-8"))
    onprem_ns, cloud_ns = doc["servers"]["onprem"]["namespaces"], doc["servers"]["cloud"]["namespaces"]
    onprem_ns["new-1"] = {
        "description": "New",
        "object_store": "default",
        "bucket": "new-1",
        "sync": [{"target": "cloud", "type": "duplex"}],
    }
    cloud_ns["new-1"] = {"description": "New mirror", "object_store": "default", "bucket": "new-1-mirror"}
    onprem_ns["ns-150"]["bucket"] = "ns-150-v2"  # a replace of an empty namespace
    onprem_ns["ns-199"] = {"ensure": "absent"}
    config = tmp_path / "hoss.yaml"
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")

    result = CliRunner().invoke(cli, ["rehearse", "-f", str(config)])
    assert result.exit_code == 0, result.output
    assert (
        "Plan: 2 to create, 1 to replace, 1 to delete, 2 sync to enable, 0 sync to disable." in result.output
    )
    assert "Applied to the stand-ins: 7 of 7 change(s) done." in result.output
    assert "Rehearsal: the apply converged in one run, and planning again shows no changes." in result.output
    assert "Production servers were only read." in result.output

    assert (server_state(onprem), server_state(cloud)) == before
    methods = {method for method, _ in onprem_proxy.requests + cloud_proxy.requests}
    writes = [(m, p) for m, p in onprem_proxy.requests + cloud_proxy.requests if m != "GET"]
    assert methods <= {"GET", "POST"}
    assert {p for _, p in writes} == {"/auth/v1/pat/exchange/jwt"}, writes
    # every dataset list was read, so the copies hold the datasets the checks need
    assert sum(1 for _, p in onprem_proxy.requests if p.endswith("/dataset/")) >= NAMESPACES


def _removing(tmp_path: Path, url: str, namespace: str) -> Path:
    """A one-server config (onprem at ``url``, PAT in ONPREM_PAT) that removes ``namespace``."""
    config = tmp_path / "hoss.yaml"
    server = {"url": url, "pat_env": "ONPREM_PAT", "namespaces": {namespace: {"ensure": "absent"}}}
    config.write_text(yaml.safe_dump({"version": 1, "servers": {"onprem": server}}), encoding="utf-8")
    return config


def test_a_blocked_plan_is_rehearsed_as_apply_would_treat_it(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    onprem = sandbox_factory()
    onprem.seed_namespace("ns-000", description="Data", bucket="ns-000")
    onprem.seed_dataset("ns-000", "session-0")
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    config = _removing(tmp_path, onprem.url, "ns-000")
    result = CliRunner().invoke(cli, ["rehearse", "-f", str(config), "--no-target-check"])
    assert result.exit_code == 1, result.output
    assert "namespace-not-empty" in result.output
    assert "safety checks block it, so apply would refuse it" in result.output
    assert [n for n in onprem.namespaces() if n["name"] == "ns-000"]


def test_a_dataset_list_that_cannot_be_read_stops_the_rehearsal(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy without the datasets it could not read would pass checks that production fails."""
    onprem = sandbox_factory()
    onprem.seed_namespace("scratch2", description="Scratch", bucket="scratch2")
    onprem.seed_dataset("scratch2", "precious")
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    with HostileProxy(onprem.url, "html", namespace="scratch2") as proxy:
        config = _removing(tmp_path, proxy.url, "scratch2")
        result = CliRunner().invoke(cli, ["rehearse", "-f", str(config)])
    assert result.exit_code == 1, result.output
    # the proxy garbles every dataset list of this server: default's and scratch2's
    assert "could not read the datasets of 2 namespace(s), e.g. onprem/default" in result.output
    assert "Traceback" not in result.output
    assert [d["name"] for d in onprem.datasets("scratch2")] == ["precious"]
