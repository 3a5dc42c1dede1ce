"""The opt-in simulated sync service: asynchronous, lossy reverse duplex rows (docs/hoss-server.md §7.4).

Its requests follow server/sync/pkg/message/api.go ``Execute`` (lines 92-134), ``handleSync``
(lines 136-235) and ``makeSyncApiRequest`` (lines 238-300), with the one service JWT of
server/libs/hoss-service/credentials.go ``GetServiceJWT`` (lines 25-65). Two sandboxes trust that
token only with a shared identity, like two cores behind one auth service, which is how the pairs
below are set up unless a test is about the other case.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result
from ports import dead_url
from sandbox_process import StartedSandbox, start_sandbox

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
def identity(tmp_path: Path) -> str:
    """A shared identity file (created by the first sandbox given it)."""
    return str(tmp_path / "identity.json")


@pytest.fixture
def make_pair(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, identity: str
) -> Callable[..., tuple[Sandbox, Sandbox, httpx.Client]]:
    """Source (sync service as configured) and target, each with namespace ``shared``; by default
    they share an identity, so the target trusts the source's service JWT."""

    def make(shared: bool = True, **sync: Any) -> tuple[Sandbox, Sandbox, httpx.Client]:
        sync.setdefault("sync_service", True)
        sync.setdefault("sync_delay_ms", 50)
        trust = {"identity": identity} if shared else {}
        source, target = sandbox_factory(**sync, **trust), sandbox_factory(**trust)
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


def test_drops_are_repeatable_per_seed(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, identity: str
) -> None:
    def delivered(seed: int) -> list[str]:
        source = sandbox_factory(
            sync_service=True, sync_delay_ms=0, sync_drop_rate=0.5, sync_seed=seed, identity=identity
        )
        target = sandbox_factory(identity=identity)
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
    """api.go makeSyncApiRequest, lines 287-299: a connection error or an unexpected status is an
    error that Execute (lines 126-129) only logs. (The real service would not even get there for a
    target missing from its core_services: it crashes, docs/hoss-server.md §7.4.)"""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    source, target, api = make_pair()
    nowhere = f"{dead_url()}/core/v1"
    put(api, "shared", nowhere, "shared", "duplex")
    put(api, "shared", target, "absent", "duplex")
    deadline = time.monotonic() + 5
    while "HTTP 404" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert f"put-ns-duplex shared -> {nowhere} shared failed: no answer from the target (ConnectError)" in (
        caplog.text
    )
    assert "failed at the target with HTTP 404" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == LOGGER)
    assert "Traceback" not in capfd.readouterr().err
    # The service keeps working after failures.
    put(api, "shared", target, "shared", "duplex")
    assert wait_for_rows(target, "shared", [(source.core_url, "shared", "duplex")]) == [
        (source.core_url, "shared", "duplex")
    ]


def test_separate_identities_the_target_answers_401_and_nothing_changes(
    make_pair: Callable[..., Any], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Two sandboxes are two auth services: the target's AuthorizeJWT (server/core/main.go lines
    244-300) refuses the source's service JWT (other key id and issuer) with 401, which
    makeSyncApiRequest (api.go lines 292-299) turns into an error that is only logged."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    source, target, api = make_pair(shared=False)
    put(api, "shared", target, "shared", "duplex")
    deadline = time.monotonic() + 5
    while "HTTP 401" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (
        f"put-ns-duplex shared -> {target.core_url} shared failed at the target with HTTP 401 "
        "(it does not trust this service JWT)"
    ) in caplog.text
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []
    assert source.service_secret not in caplog.text and "eyJ" not in caplog.text
    assert "Traceback" not in capfd.readouterr().err


def test_sync_auth_url_names_the_one_auth_service_whose_tokens_count(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """main.go (server/sync, lines 30-32): one auth_endpoint for every core. B's sync service takes
    its JWT from A's auth service (with A's secret), so A trusts it even without a shared identity,
    while B itself would not (the 401 of the previous test, the other way round)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    a = sandbox_factory()
    b = sandbox_factory(
        sync_service=True,
        sync_delay_ms=0,
        sync_auth_url=f"{a.url}/auth/v1",
        service_secret=a.service_secret,
    )
    a.seed_namespace("shared")
    b.seed_namespace("shared")
    put(sandbox_api(b), "shared", a, "shared", "duplex")
    reverse = [(b.core_url, "shared", "duplex")]
    assert wait_for_rows(a, "shared", reverse) == reverse


def test_a_wrong_service_secret_gets_no_token_and_delivers_nothing(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """credentials.go GetServiceJWT, lines 44-52: anything but 201 from the SAT exchange is an error;
    api.go makeSyncApiRequest, lines 279-282: no ID token, no request."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    a = sandbox_factory()
    b = sandbox_factory(sync_service=True, sync_delay_ms=0, sync_auth_url=f"{a.url}/auth/v1")
    a.seed_namespace("shared")
    b.seed_namespace("shared")
    put(sandbox_api(b), "shared", a, "shared", "duplex")
    deadline = time.monotonic() + 5
    while "no service JWT" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert f"service JWT exchange at {a.url}/auth/v1 failed with HTTP 401" in caplog.text
    assert "not delivered: no service JWT" in caplog.text
    assert rows(a, "shared") == []
    assert b.service_secret not in caplog.text


def test_disabled_by_default(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, identity: str) -> None:
    source, target = sandbox_factory(identity=identity), sandbox_factory(identity=identity)
    source.seed_namespace("shared")
    target.seed_namespace("shared")
    put(sandbox_api(source), "shared", target, "shared", "duplex")
    time.sleep(SETTLE_S)
    assert rows(target, "shared") == []


def test_no_delivery_after_target_stopped(
    tmp_path: Path, sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, identity: str
) -> None:
    data = str(tmp_path / "target.sqlite")
    source = sandbox_factory(sync_service=True, sync_delay_ms=200, identity=identity)
    target = sandbox_factory(data=data, identity=identity)
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
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, identity: str
) -> None:
    source = sandbox_factory(sync_service=True, sync_delay_ms=200, identity=identity)
    target = sandbox_factory(identity=identity)
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
    identity: str,
) -> None:
    sync = {"sync_service": True, "sync_delay_ms": 50, "sync_drop_rate": drop_rate, "identity": identity}
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


# two `hossctl sandbox` processes ------------------------------------------------------------------

PROCESS_WAIT_S = 1.0  # with --sync-delay-ms 0 a delivery takes milliseconds; this bounds "never"


def _admin(started: StartedSandbox) -> httpx.Client:
    """A client on the sandbox process's base URL with its admin's JWT."""
    answer = httpx.post(
        f"{started.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {started.admin_pat}"}
    )
    answer.raise_for_status()
    bearer = {"Authorization": f"Bearer {answer.json()['id_token']}"}
    return httpx.Client(base_url=started.url, headers=bearer, timeout=10)


def _process_rows(client: httpx.Client, namespace: str) -> Rows:
    answer = client.get(SYNC.format(namespace))
    assert answer.status_code == 200, answer.text
    return sorted((r["target_core_service"], r["target_namespace"], r["sync_type"]) for r in answer.json())


def _poll_rows(client: httpx.Client, namespace: str, expected: Rows, timeout_s: float) -> Rows:
    deadline = time.monotonic() + timeout_s
    while (found := _process_rows(client, namespace)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def _stop(started: StartedSandbox) -> tuple[str, str]:
    started.process.terminate()
    out, err = started.process.communicate(timeout=10)
    assert started.process.returncode == 0, err
    return out, err


def test_two_processes_with_their_own_identities_never_sync(processes: list[subprocess.Popen[str]]) -> None:
    """Two real installations, each with its own auth service: A's sync service presents the JWT of
    A's auth service to core B, whose AuthorizeJWT (server/core/main.go lines 244-300) answers 401;
    makeSyncApiRequest (server/sync/pkg/message/api.go lines 292-299) returns an error that
    Execute (lines 126-129) only logs. The reverse row never comes."""
    a = start_sandbox("--sync-service", "--sync-delay-ms", "0", "--debug")
    processes.append(a.process)
    b = start_sandbox()
    processes.append(b.process)
    with _admin(a) as on_a, _admin(b) as on_b:
        body = {"target_core_service": f"{b.url}/core/v1", "sync_type": "duplex"}
        assert on_a.put(SYNC.format("default"), json=body).status_code == 204
        assert _poll_rows(on_b, "default", [("never", "", "")], PROCESS_WAIT_S) == []
    out, err = _stop(a)
    _stop(b)
    assert (
        f"debug: sync service: put-ns-duplex default -> {b.url}/core/v1 default failed at the target "
        "with HTTP 401 (it does not trust this service JWT)"
    ) in err
    assert "Traceback" not in err and "hsvc_" not in out + err and "eyJ" not in err


def test_two_processes_sharing_an_identity_sync_both_ways(
    processes: list[subprocess.Popen[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cores behind one auth service, and one sync service configuration: a shared
    ``--identity`` makes each core trust the other's tokens, and B's sync service exchanges the one
    service secret at A's auth (``--sync-auth-url``, the real ``auth_endpoint``; credentials.go
    GetServiceJWT lines 25-65). A duplex PUT on either side gets its reverse row on the other (api.go
    handleSync ``put-ns-duplex``, lines 221-225)."""
    identity = str(tmp_path / "identity.json")
    secret = "hsvc_" + "Shared0" * 6
    monkeypatch.setenv("HOSS_SANDBOX_SERVICE_SECRET", secret)  # read by both processes
    a = start_sandbox("--identity", identity, "--sync-service", "--sync-delay-ms", "0", "--debug")
    processes.append(a.process)
    b = start_sandbox(
        "--identity", identity, "--sync-service", "--sync-delay-ms", "0", "--debug",
        "--sync-auth-url", f"{a.url}/auth/v1",
    )  # fmt: skip
    processes.append(b.process)
    assert b.process.stdout is not None
    shown = [b.process.stdout.readline() for _ in range(3)]  # the lines after the PATs
    assert shown[:2] == [
        f"Identity: {identity} (tokens issued as {a.url}/auth/v1).\n",
        f"Sync service: on; its service JWT comes from {a.url}/auth/v1.\n",
    ]
    a_core, b_core = f"{a.url}/core/v1", f"{b.url}/core/v1"
    namespace = {"name": "other", "description": "d", "object_store_name": "default", "bucket_name": "o"}
    with _admin(a) as on_a, _admin(b) as on_b:
        for client in (on_a, on_b):
            created = client.post("/core/v1/namespace/", json=namespace)
            assert created.status_code == 201, created.text
        body = {"target_core_service": b_core, "target_namespace": "default", "sync_type": "duplex"}
        assert on_a.put(SYNC.format("default"), json=body).status_code == 204
        body = {"target_core_service": a_core, "target_namespace": "other", "sync_type": "duplex"}
        assert on_b.put(SYNC.format("other"), json=body).status_code == 204
        to_a, to_b = [(a_core, "default", "duplex")], [(b_core, "other", "duplex")]
        assert _poll_rows(on_b, "default", to_a, 10) == to_a
        assert _poll_rows(on_a, "other", to_b, 10) == to_b
    out_a, err_a = _stop(a)
    out_b, err_b = _stop(b)
    assert f"put-ns-duplex default -> {b_core} default delivered (HTTP 204)" in err_a
    assert f"put-ns-duplex other -> {a_core} other delivered (HTTP 204)" in err_b
    everything = out_a + err_a + "".join(shown) + out_b + err_b
    assert secret not in everything and "eyJ" not in everything and "Traceback" not in everything
