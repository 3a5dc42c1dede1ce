"""The one-request read: with a service secret, every sync row comes from one
``GET /core/v1/configuration/sync`` instead of one request per namespace (docs/hoss-server.md
§7.5). A transparent proxy in front of a sandbox counts what hossctl sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hostile import HostileProxy

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

NAMESPACES = 30
SYNC_CONFIGURATION = "/core/v1/configuration/sync"


@pytest.fixture
def onprem(sandbox_factory: Callable[..., Sandbox]) -> Iterator[tuple[Sandbox, HostileProxy]]:
    sb = sandbox_factory()
    for i in range(NAMESPACES):
        sb.seed_namespace(f"ns{i:02d}", description="Managed", bucket=f"ns{i:02d}")
        sb.seed_sync(f"ns{i:02d}", "https://partner.example.org/core/v1", f"ns{i:02d}", "simplex")
    with HostileProxy(sb.url, "transparent") as proxy:
        yield sb, proxy


def write(tmp_path: Path, url: str, *, service_env: str | None, extra: dict[str, Any] | None = None) -> str:
    namespaces = {
        f"ns{i:02d}": {
            "description": "Managed",
            "object_store": "default",
            "bucket": f"ns{i:02d}",
            "sync": [{"target": "https://partner.example.org", "namespace": f"ns{i:02d}", "type": "simplex"}],
        }
        for i in range(NAMESPACES)
    }
    namespaces.update(extra or {})
    server: dict[str, Any] = {"url": url, "pat_env": "ONPREM_PAT", "namespaces": namespaces}
    if service_env is not None:
        server["service_secret_env"] = service_env
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "servers": {"onprem": server}}), encoding="utf-8")
    return str(path)


def plan(config: str, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", "-f", config, "--json", "--no-target-check", *args], env=env)


def sync_reads(proxy: HostileProxy) -> tuple[int, int]:
    """(one-request reads, per-namespace sync reads) the proxy saw."""
    one = sum(1 for m, p in proxy.requests if (m, p) == ("GET", SYNC_CONFIGURATION))
    each = sum(
        1
        for m, p in proxy.requests
        if m == "GET" and p.startswith("/core/v1/namespace/") and p.endswith("/sync")
    )
    return one, each


def test_a_service_secret_reads_every_sync_row_in_one_request(
    onprem: tuple[Sandbox, HostileProxy], tmp_path: Path
) -> None:
    sb, proxy = onprem
    extra = {"new": {"description": "New", "object_store": "default", "bucket": "new"}}
    env = {"ONPREM_PAT": sb.admin_pat, "ONPREM_SERVICE": sb.service_secret}
    fast = plan(write(tmp_path, proxy.url, service_env="ONPREM_SERVICE", extra=extra), env, "--no-drift")
    assert fast.exit_code == 0, fast.output
    assert sync_reads(proxy) == (1, 0)
    assert ("POST", "/auth/v1/sat/exchange/jwt") in proxy.requests
    assert not any(p.endswith("/dataset/") for _, p in proxy.requests)  # --no-drift: nothing needs them
    for secret in (sb.service_secret, sb.admin_pat):
        assert secret not in fast.output

    proxy.requests.clear()
    slow = plan(write(tmp_path, proxy.url, service_env=None, extra=extra), env, "--no-drift")
    assert sync_reads(proxy) == (0, NAMESPACES + 1)  # and the bootstrapped default
    assert json.loads(fast.stdout)["changes"] == json.loads(slow.stdout)["changes"]
    assert [c["action"] for c in json.loads(fast.stdout)["changes"]] == ["create_namespace"]


def test_an_unset_secret_falls_back_to_one_read_per_namespace(
    onprem: tuple[Sandbox, HostileProxy], tmp_path: Path
) -> None:
    sb, proxy = onprem
    result = plan(write(tmp_path, proxy.url, service_env="ONPREM_SERVICE"), {"ONPREM_PAT": sb.admin_pat})
    assert result.exit_code == 0, result.output
    assert sync_reads(proxy) == (0, NAMESPACES + 1)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("hsvc_wrongwrongwrong", "server 'onprem' rejected the service secret in $ONPREM_SERVICE (401 from"),
        ("hp_notaservicesecret", "$ONPREM_SERVICE for server 'onprem' does not hold a service secret"),
    ],
)
def test_a_wrong_secret_ends_in_one_sentence_without_it(
    onprem: tuple[Sandbox, HostileProxy], tmp_path: Path, secret: str, says: str
) -> None:
    sb, proxy = onprem
    env = {"ONPREM_PAT": sb.admin_pat, "ONPREM_SERVICE": secret}
    result = CliRunner().invoke(
        cli, ["plan", "-f", write(tmp_path, proxy.url, service_env="ONPREM_SERVICE")], env=env
    )
    assert result.exit_code == 1
    assert says in result.output
    assert secret not in result.output and "Traceback" not in result.output
