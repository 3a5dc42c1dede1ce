"""Dataset sync as code against two sandboxes, driven through the CLI as a user would.

Link two namespaces and enable duplex on their 50 datasets in one apply; retire the link in
one apply (dataset syncs off first, then the namespace rows, with datasets-syncing passing
because the plan clears it); change simplex to duplex; and see drift on an unmanaged
namespace as warnings. The server rule these follow is docs/hoss-server.md §8.4.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from applying import Pair, hossctl, write_config
from configs import export_args

from hossctl.sandbox import Sandbox

N = 50


def raw(sync: list[dict[str, str]] | None = None, datasets: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": "Raw data", "object_store": "default", "bucket": "raw"}
    if sync is not None:
        out["sync"] = sync
    if datasets is not None:
        out["datasets"] = datasets
    return out


def states(sandbox: Sandbox, namespace: str = "raw") -> dict[str, tuple[bool, str]]:
    return {d["name"]: (d["sync_enabled"], d["sync_type"]) for d in sandbox.datasets(namespace)}


def rows(sandbox: Sandbox, namespace: str = "raw") -> list[tuple[str, str]]:
    return sorted((r["target_namespace"], r["sync_type"]) for r in sandbox.sync_targets(namespace))


def plan_json(config: str) -> tuple[int, dict[str, Any]]:
    result = hossctl("plan", "-f", config, "--json")
    return result.exit_code, json.loads(result.stdout)


def duplex_everything(pair: Pair, tmp_path: Path) -> str:
    """A config linking onprem/raw duplex to cloud/raw, with every dataset of it syncing duplex."""
    declared = {"raw": raw([{"target": "cloud", "type": "duplex"}], {"sync": "duplex"})}
    return write_config(tmp_path / "hoss.yaml", pair, declared, {"raw": raw()})


def seeded(pair: Pair, count: int = N, **dataset: Any) -> Pair:
    onprem, cloud = pair
    for sb in pair:
        sb.seed_namespace("raw", description="Raw data", bucket="raw")
    for i in range(count):
        onprem.seed_dataset("raw", f"d{i:02d}", **dataset)
    return onprem, cloud


def test_link_and_enable_duplex_on_fifty_datasets_in_one_apply(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair)
    config = duplex_everything(pair, tmp_path)
    code, doc = plan_json(config)
    assert code == 0, doc["violations"]
    assert doc["summary"]["enable_sync"] == 2 and doc["summary"]["enable_dataset_sync"] == N
    ids = [c["id"] for c in doc["changes"]]
    for change in doc["changes"]:
        if change["action"] == "enable_dataset_sync":  # after the namespace target it needs
            assert any("/sync:" in dep for dep in change["depends_on"])
            assert all(ids.index(dep) < ids.index(change["id"]) for dep in change["depends_on"])

    applied = hossctl("apply", "-f", config, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "dataset sync: 50 enabled" in applied.output
    assert states(onprem) == {f"d{i:02d}": (True, "duplex") for i in range(N)}
    assert rows(onprem) == [("raw", "duplex")] and rows(cloud) == [("raw", "duplex")]
    assert hossctl("plan", "-f", config, "--detailed-exitcode").exit_code == 0  # converged


def test_retire_the_link_in_one_apply_dataset_syncs_first(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair, 5, sync_enabled=True, sync_type="duplex")
    onprem.seed_sync("raw", cloud.core_url, "raw", "duplex")
    cloud.seed_sync("raw", onprem.core_url, "raw", "duplex")
    keep = write_config(tmp_path / "keep.yaml", pair, {"raw": raw([], None)}, {"raw": raw()})
    code, doc = plan_json(keep)
    assert code == 1 and "datasets-syncing" in {v["check"] for v in doc["violations"]}

    config = write_config(tmp_path / "hoss.yaml", pair, {"raw": raw([], {"sync": "off"})}, {"raw": raw()})
    code, doc = plan_json(config)
    assert code == 0, doc["violations"]
    actions = [c["action"] for c in doc["changes"] if c["server"] == "onprem"]
    assert actions == ["disable_dataset_sync"] * 5 + ["disable_sync"]
    applied = hossctl("apply", "-f", config, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert states(onprem) == {f"d{i:02d}": (False, "") for i in range(5)}
    assert rows(onprem) == [] and rows(cloud) == []


def test_simplex_to_duplex_pauses_datasets_around_the_type_change(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair, 3, sync_enabled=True, sync_type="simplex")
    onprem.seed_sync("raw", cloud.core_url, "raw", "simplex")
    config = duplex_everything(pair, tmp_path)
    code, doc = plan_json(config)
    assert code == 0, doc["violations"]
    onprem_actions = [c["action"] for c in doc["changes"] if c["server"] == "onprem"]
    assert onprem_actions == (
        ["disable_dataset_sync"] * 3 + ["disable_sync", "enable_sync"] + ["enable_dataset_sync"] * 3
    )
    applied = hossctl("apply", "-f", config, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert states(onprem) == {f"d{i:02d}": (True, "duplex") for i in range(3)}
    assert rows(onprem) == [("raw", "duplex")]


def test_each_new_check_blocks_or_warns(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair, 1)
    no_target = write_config(tmp_path / "a.yaml", pair, {"raw": raw([], {"sync": "simplex"})}, {"raw": raw()})
    code, doc = plan_json(no_target)
    assert code == 1
    found = {(v["check"], v["severity"]) for v in doc["violations"]}
    assert ("dataset-sync-without-target", "error") in found
    assert hossctl("apply", "-f", no_target, "--auto-approve").exit_code == 1
    assert states(onprem) == {"d00": (False, "simplex")}  # nothing was written

    onprem.seed_sync("raw", cloud.core_url, "raw", "simplex")
    one_way = write_config(
        tmp_path / "b.yaml", pair, {"raw": raw([{"target": "cloud", "type": "simplex"}], {"sync": "duplex"})},
        {"raw": raw()},
    )
    code, doc = plan_json(one_way)
    assert code == 1
    found = {(v["check"], v["severity"]) for v in doc["violations"]}
    assert ("dataset-duplex-needs-namespace-duplex", "error") in found


def test_drift_on_an_unmanaged_namespace_is_a_warning_with_the_fix(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair, 2)
    onprem.seed_namespace("lonely", description="Lonely", bucket="lonely")
    onprem.seed_dataset("lonely", "orphan", sync_enabled=True, sync_type="simplex")
    onprem.seed_sync("raw", cloud.core_url, "raw", "simplex")
    onprem.seed_dataset("raw", "two-way", sync_enabled=True, sync_type="duplex")
    config = write_config(
        tmp_path / "hoss.yaml", pair, {"raw": raw([{"target": "cloud", "type": "simplex"}])}, {"raw": raw()}
    )
    code, doc = plan_json(config)
    assert code == 0 and doc["changes"] == []
    drift = {(v["check"], v["namespace"], v["severity"], v["change"]) for v in doc["violations"]}
    assert drift == {
        ("dataset-sync-without-target", "lonely", "warning", ""),
        ("dataset-duplex-needs-namespace-duplex", "raw", "warning", ""),
    }
    text = hossctl("plan", "-f", config)
    assert text.exit_code == 0
    assert "The live state, apart from the changes:" in text.stdout
    assert "'orphan'" in text.stdout and "fix:" in text.stdout and "No changes." in text.stdout


def test_export_writes_the_shared_dataset_state_and_plans_to_no_changes(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = seeded(pair, 3, sync_enabled=True, sync_type="duplex")
    onprem.seed_sync("raw", cloud.core_url, "raw", "duplex")
    cloud.seed_sync("raw", onprem.core_url, "raw", "duplex")
    onprem.seed_namespace("mixed", description="Mixed", bucket="mixed")
    onprem.seed_dataset("mixed", "on", sync_enabled=True, sync_type="simplex")
    onprem.seed_dataset("mixed", "quiet")
    out = tmp_path / "hoss.yaml"
    exported = hossctl(*export_args(onprem.url, cloud.url), "-o", str(out))
    assert exported.exit_code == 0, exported.output
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["servers"]["onprem"]["namespaces"]["raw"]["datasets"] == {"sync": "duplex"}
    assert "datasets" not in doc["servers"]["onprem"]["namespaces"]["mixed"]
    assert "# onprem/mixed: datasets sync left unmanaged: its datasets differ (1 off, 1 simplex)" in (
        out.read_text(encoding="utf-8")
    )
    plan = hossctl("plan", "-f", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.stdout


def test_slow_dataset_puts_run_side_by_side(sandbox_factory: Any, monkeypatch: Any, tmp_path: Path) -> None:
    """The smoke version of benchmarks/bench_dataset_sync.py: 32 first enables whose PUT each
    sleeps 0.3 s on the server (as the real one sleeps 2 s) take two rounds of 16 side by side,
    not 32 one after the other; the bound is generous, a serial run would take 9.6 s."""
    import time

    onprem = sandbox_factory(dataset_sync_delay=0.3)
    cloud = sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    for sb in (onprem, cloud):
        sb.seed_namespace("raw", description="Raw data", bucket="raw")
    onprem.seed_sync("raw", cloud.core_url, "raw", "simplex")
    for i in range(32):
        onprem.seed_dataset("raw", f"d{i:02d}")
    config = write_config(
        tmp_path / "hoss.yaml",
        (onprem, cloud),
        {"raw": raw([{"target": "cloud", "type": "simplex"}], {"sync": "simplex"})},
        {"raw": raw()},
    )
    started = time.monotonic()
    applied = hossctl("apply", "-f", config, "--auto-approve", "--parallelism", "16")
    elapsed = time.monotonic() - started
    assert applied.exit_code == 0, applied.output
    assert sum(d["sync_enabled"] for d in onprem.datasets("raw")) == 32
    assert elapsed < 3 * 2 * 0.3 + 2.0, elapsed  # floor 0.6 s; 3x plus start-up and planning
