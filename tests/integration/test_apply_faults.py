"""An apply of 100+ changes over two sandboxes that reject (503) or drop a share of requests.

Dropped requests were processed before the connection closed, so a retried create meets
403 and a retried PUT/DELETE is a silent no-op: only read-back verification tells whether
the change happened. With the run's shared retry budget, a 50 % fault rate must converge
to exactly the desired state within 3 applies for every seed, and 30 % within 1, leaving
undeclared namespaces alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from depth import seeds

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
NEW = 40  # new namespaces on each server; onprem's sync to cloud's
REPLACED = 5
DELETED = 5
RETYPED = 5
KEPT = 4


def _ns(name: str, description: str = "Managed", sync: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description, "object_store": "default", "bucket": name}
    if sync:
        body["sync"] = sync
    return body


def _state(sb: Sandbox) -> dict[str, tuple[str, str, str, list[tuple[str, str, str]]]]:
    return {
        n["name"]: (
            n["description"],
            n["object_store"],
            n["bucket_name"],
            sorted(
                (r["target_core_service"], r["target_namespace"], r["sync_type"])
                for r in sb.sync_targets(n["name"])
            ),
        )
        for n in sb.namespaces()
    }


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff a tenth of the default: at 50 % faults the default waits made this test spend
    13 of its 17 s asleep. What is tested here is where the retries lead (the budget counts
    retries, not seconds); the delays themselves are tested in test_client_backoff.py."""
    import hossctl.live.client as client

    monkeypatch.setattr(client, "BACKOFF_BASE", client.BACKOFF_BASE / 10)
    monkeypatch.setattr(client, "BACKOFF_CAP", client.BACKOFF_CAP / 10)


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("quick_backoff")
@pytest.mark.parametrize(
    ("rate", "seed", "max_runs"),
    [pytest.param(0.5, seed, 3, id=f"50%-seed{seed}") for seed in seeds(5)]
    + [pytest.param(0.3, seed, 1, id=f"30%-seed{seed}") for seed in seeds(5)],
)
def test_faulty_apply_converges_exactly(
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rate: float,
    seed: int,
    max_runs: int,
) -> None:
    onprem = sandbox_factory(fault_rate=rate, fault_seed=seed)
    cloud = sandbox_factory(fault_rate=rate, fault_seed=seed + 100)
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)

    for i in range(KEPT):  # undeclared: must survive
        onprem.seed_namespace(f"keep-{i}", description="Not managed", bucket=f"keep-{i}")
        cloud.seed_namespace(f"keep-{i}", description="Not managed", bucket=f"keep-{i}")
    for i in range(REPLACED):
        onprem.seed_namespace(f"old-{i}", description="Old description", bucket=f"old-{i}")
    for i in range(DELETED):
        onprem.seed_namespace(f"gone-{i}", description="To delete", bucket=f"gone-{i}")
    for i in range(RETYPED):
        for sb in (onprem, cloud):
            sb.seed_namespace(f"t-{i}", description="Managed", bucket=f"t-{i}")
        onprem.seed_sync(f"t-{i}", cloud.core_url, f"t-{i}", "simplex")

    onprem_decl: dict[str, Any] = {}
    cloud_decl: dict[str, Any] = {}
    for i in range(NEW):
        name = f"n-{i:02d}"
        onprem_decl[name] = _ns(name, sync=[{"target": "cloud", "type": "simplex"}])
        cloud_decl[name] = _ns(name)
    for i in range(REPLACED):
        onprem_decl[f"old-{i}"] = _ns(f"old-{i}", description="New description")
    for i in range(DELETED):
        onprem_decl[f"gone-{i}"] = {"ensure": "absent"}
    for i in range(RETYPED):
        onprem_decl[f"t-{i}"] = _ns(f"t-{i}", sync=[{"target": "cloud", "type": "duplex"}])
        cloud_decl[f"t-{i}"] = _ns(f"t-{i}")
    config = tmp_path / "hoss.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "servers": {
                    "onprem": {"url": onprem.url, "pat_env": "ONPREM_PAT", "namespaces": onprem_decl},
                    "cloud": {"url": cloud.url, "pat_env": "CLOUD_PAT", "namespaces": cloud_decl},
                },
            }
        ),
        encoding="utf-8",
    )
    # 40+40 creates, 40 enables, 5 replaces (10 changes), 5 deletes, 5 disables + 10 enables.
    expected_changes = 2 * NEW + NEW + 2 * REPLACED + DELETED + 3 * RETYPED
    assert expected_changes >= 100

    runs = 0
    outputs: list[str] = []
    while runs < max_runs:
        runs += 1
        # This world deletes or replaces 10 of its 20 live namespaces on purpose.
        result = CliRunner().invoke(
            cli, ["apply", "-f", str(config), "--auto-approve", "--allow-mass-delete"], catch_exceptions=False
        )
        outputs.append(result.output)
        if result.exit_code == 0 and "Apply complete" in result.output:
            break
    assert result.exit_code == 0, "\n----\n".join(outputs)
    if runs == 1:
        assert (
            "Apply complete: 80 created, 5 replaced, 5 deleted, 50 sync enabled, 5 sync disabled."
            in outputs[0]
        )
    print(f"converged in {runs} run(s)")

    want_onprem: dict[str, Any] = {"default": ("Default namespace", "default", "data", [])}
    want_cloud: dict[str, Any] = {"default": ("Default namespace", "default", "data", [])}
    for i in range(KEPT):
        want_onprem[f"keep-{i}"] = want_cloud[f"keep-{i}"] = ("Not managed", "default", f"keep-{i}", [])
    for i in range(NEW):
        name = f"n-{i:02d}"
        want_onprem[name] = ("Managed", "default", name, [(cloud.core_url, name, "simplex")])
        want_cloud[name] = ("Managed", "default", name, [])
    for i in range(REPLACED):
        want_onprem[f"old-{i}"] = ("New description", "default", f"old-{i}", [])
    for i in range(RETYPED):
        want_onprem[f"t-{i}"] = ("Managed", "default", f"t-{i}", [(cloud.core_url, f"t-{i}", "duplex")])
        want_cloud[f"t-{i}"] = ("Managed", "default", f"t-{i}", [(onprem.core_url, f"t-{i}", "duplex")])
    assert _state(onprem) == want_onprem
    assert _state(cloud) == want_cloud
