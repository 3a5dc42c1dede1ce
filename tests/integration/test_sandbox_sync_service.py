"""The opt-in simulated sync service: asynchronous, lossy reverse duplex rows (docs/hoss-server.md §7.4)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]
Rows = list[tuple[str, str, str]]

SYNC = "/core/v1/namespace/{}/sync"
LOGGER = "hossctl.sandbox.sync"
SETTLE_S = 0.4  # well past the 50 ms delay used below: time for a message that should not come


def rows(sb: Sandbox, namespace: str) -> Rows:
    return sorted(
        (r["target_core_service"], r["target_namespace"], r["sync_type"]) for r in sb.sync_targets(namespace)
    )


def wait_for_rows(sb: Sandbox, namespace: str, expected: Rows, timeout_s: float = 5.0) -> Rows:
    deadline = time.monotonic() + timeout_s
    while (found := rows(sb, namespace)) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def put(api: httpx.Client, namespace: str, target: Sandbox | str, target_ns: str, sync_type: str) -> None:
    url = target if isinstance(target, str) else target.core_url
    body = {"target_core_service": url, "target_namespace": target_ns, "sync_type": sync_type}
    response = api.put(SYNC.format(namespace), json=body)
    assert response.status_code == 204, response.text


@pytest.fixture
def make_pair(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> Callable[..., tuple[Sandbox, Sandbox, httpx.Client]]:
    """Source (sync service as configured) and target, each with namespace ``shared``."""

    def make(**sync: Any) -> tuple[Sandbox, Sandbox, httpx.Client]:
        sync.setdefault("sync_service", True)
        sync.setdefault("sync_delay_ms", 50)
        source, target = sandbox_factory(**sync), sandbox_factory()
        source.seed_namespace("shared")
        target.seed_namespace("shared")
        return source, target, sandbox_api(source)

    return make


def test_reverse_row_appears_on_target_after_the_delay(make_pair: Callable[..., Any]) -> None:
    source, target, api = make_pair(sync_delay_ms=200)
    started = time.monotonic()
    put(api, "shared", target, "shared", "duplex")
    assert time.monotonic() - started < 0.2  # the request never waits for the sync service
    assert rows(target, "shared") == []  # not yet: asynchronous
    assert wait_for_rows(target, "shared", [(source.core_url, "shared", "duplex")]) == [
        (source.core_url, "shared", "duplex")
    ]
    assert time.monotonic() - started >= 0.2
    # The target's own put-ns-duplex would find the original row: nothing else changes.
    time.sleep(0.1)
    assert rows(source, "shared") == [(target.core_url, "shared", "duplex")]


def test_reverse_row_uses_the_source_namespace_as_target_namespace(make_pair: Callable[..., Any]) -> None:
    source, target, api = make_pair()
    target.seed_namespace("mirror")
    put(api, "shared", target, "mirror", "duplex")
    assert wait_for_rows(target, "mirror", [(source.core_url, "shared", "duplex")]) == [
        (source.core_url, "shared", "duplex")
    ]


def test_drop_rate_one_loses_every_message(
    make_pair: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    _, target, api = make_pair(sync_drop_rate=1.0)
    put(api, "shared", target, "shared", "duplex")
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []
    assert "simulated drop" in caplog.text


def test_drops_are_repeatable_per_seed(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    def delivered(seed: int) -> list[str]:
        source = sandbox_factory(sync_service=True, sync_delay_ms=0, sync_drop_rate=0.5, sync_seed=seed)
        target = sandbox_factory()
        api = sandbox_api(source)
        names = [f"ns{i}" for i in range(8)]
        for name in names:
            source.seed_namespace(name)
            target.seed_namespace(name)
            put(api, name, target, name, "duplex")
        time.sleep(SETTLE_S)
        return [name for name in names if rows(target, name)]

    first = delivered(3)
    assert first == delivered(3)
    assert 0 < len(first) < 8


def test_simplex_put_sends_nothing(make_pair: Callable[..., Any]) -> None:
    _, target, api = make_pair()
    put(api, "shared", target, "shared", "simplex")
    put(api, "shared", target, "other", "Duplex")  # only the exact "duplex" counts
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_noop_put_sends_nothing(make_pair: Callable[..., Any]) -> None:
    source, target, api = make_pair()
    source.seed_sync("shared", target.core_url, "shared", "duplex")  # seeding sends no message
    put(api, "shared", target, "shared", "duplex")  # 204 no-op: the row was already there
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_sync_service_user_agent_sends_nothing(make_pair: Callable[..., Any]) -> None:
    _, target, api = make_pair()
    body = {"target_core_service": target.core_url, "sync_type": "duplex"}
    response = api.put(SYNC.format("shared"), json=body, headers={"User-Agent": "exec-env/hoss-sync-service"})
    assert response.status_code == 204
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_existing_simplex_reverse_row_stays_simplex(make_pair: Callable[..., Any]) -> None:
    source, target, api = make_pair()
    target.seed_sync("shared", source.core_url, "shared", "simplex")
    put(api, "shared", target, "shared", "duplex")
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == [(source.core_url, "shared", "simplex")]
    assert rows(source, "shared") == [(target.core_url, "shared", "duplex")]


def test_same_sandbox_target(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sb = sandbox_factory(sync_service=True, sync_delay_ms=50)
    sb.seed_namespace("a")
    sb.seed_namespace("b")
    put(sandbox_api(sb), "a", sb, "b", "duplex")
    assert wait_for_rows(sb, "b", [(sb.core_url, "a", "duplex")]) == [(sb.core_url, "a", "duplex")]
    assert rows(sb, "a") == [(sb.core_url, "b", "duplex")]


def test_unknown_target_and_missing_namespace_are_only_logged(
    make_pair: Callable[..., Any], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    source, target, api = make_pair()
    put(api, "shared", "https://nowhere.example/core/v1", "shared", "duplex")
    put(api, "shared", target, "absent", "duplex")
    deadline = time.monotonic() + 5
    while "HTTP 404" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "no running core has that URL" in caplog.text
    assert "failed at the target with HTTP 404" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == LOGGER)
    assert "Traceback" not in capfd.readouterr().err
    # The service keeps working after failures.
    put(api, "shared", target, "shared", "duplex")
    assert wait_for_rows(target, "shared", [(source.core_url, "shared", "duplex")]) == [
        (source.core_url, "shared", "duplex")
    ]


def test_disabled_by_default(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    source, target = sandbox_factory(), sandbox_factory()
    source.seed_namespace("shared")
    target.seed_namespace("shared")
    put(sandbox_api(source), "shared", target, "shared", "duplex")
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_no_delivery_after_target_stopped(
    tmp_path: Path, sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    data = str(tmp_path / "target.sqlite")
    source = sandbox_factory(sync_service=True, sync_delay_ms=200)
    target = sandbox_factory(data=data)
    source.seed_namespace("shared")
    target.seed_namespace("shared")
    put(sandbox_api(source), "shared", target, "shared", "duplex")
    target.stop()
    time.sleep(SETTLE_S)
    reopened = Sandbox(data=data)  # not started: reading the file is enough
    try:
        assert rows(reopened, "shared") == []
    finally:
        reopened.stop()


def test_no_delivery_after_source_stopped_and_stop_is_quick(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    source = sandbox_factory(sync_service=True, sync_delay_ms=200)
    target = sandbox_factory()
    source.seed_namespace("shared")
    target.seed_namespace("shared")
    put(sandbox_api(source), "shared", target, "shared", "duplex")
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.0
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_invalid_sync_options_are_refused() -> None:
    from hossctl.errors import HossctlError

    with pytest.raises(HossctlError, match="Sync drop rate"):
        Sandbox(sync_drop_rate=1.5)
    with pytest.raises(HossctlError, match="Sync delay"):
        Sandbox(sync_delay_ms=-1)


# hossctl end to end -------------------------------------------------------------------------


def hossctl(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("drop_rate", [0.0, 1.0])
def test_apply_with_sync_service_converges(
    drop_rate: float,
    sandbox_factory: SandboxFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    sync = {"sync_service": True, "sync_delay_ms": 50, "sync_drop_rate": drop_rate}
    onprem, cloud = sandbox_factory(**sync), sandbox_factory(**sync)
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)

    def namespace(*sync_targets: dict[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = {"description": "Managed", "object_store": "default", "bucket": "shared"}
        if sync_targets:
            body["sync"] = list(sync_targets)
        return body

    doc = {
        "version": 1,
        "servers": {
            "onprem": {
                "url": onprem.url,
                "pat_env": "ONPREM_PAT",
                "namespaces": {"shared": namespace({"target": "cloud", "type": "duplex"})},
            },
            "cloud": {"url": cloud.url, "pat_env": "CLOUD_PAT", "namespaces": {"shared": namespace()}},
        },
    }
    config = tmp_path / "hoss.yaml"
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")

    result = hossctl("apply", "-f", str(config), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Duplex link cloud/shared <-> onprem/shared: verified on both servers." in result.output
    time.sleep(SETTLE_S)  # let any sync-service message land before the plan reads the servers
    assert rows(onprem, "shared") == [(cloud.core_url, "shared", "duplex")]
    assert rows(cloud, "shared") == [(onprem.core_url, "shared", "duplex")]
    plan = hossctl("plan", "-f", str(config), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
