"""Latency that does not serialise requests, concurrency safety, and deterministic faults."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]
# plain-HTTP loopback client: verify=False skips building a TLS context per call
HTTP = httpx.Client(verify=False, timeout=10)


def exchange_jwt(sandbox: Sandbox, pat: str) -> str:
    response = HTTP.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"}
    )
    response.raise_for_status()
    return str(response.json()["id_token"])


def test_latency_is_added_but_not_serialised(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(latency_ms=300)
    start = time.monotonic()
    assert HTTP.get(sandbox.core_url + "/discover").status_code == 200
    assert time.monotonic() - start < 0.25  # discover is exempt
    token = exchange_jwt(sandbox, sandbox.admin_pat)
    headers = {"Authorization": f"Bearer {token}"}

    def call(_: int) -> int:
        return HTTP.get(sandbox.core_url + "/namespace/", headers=headers).status_code

    start = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(call, range(10)))
    elapsed = time.monotonic() - start
    assert statuses == [200] * 10
    assert 0.3 <= elapsed < 1.5  # ten 300 ms requests overlapped (serialised would be 3 s)


def test_concurrent_creates_are_consistent(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sandbox = sandbox_factory(latency_ms=20)
    token = exchange_jwt(sandbox, sandbox.admin_pat)

    def create(i: int) -> int:
        body = {"name": f"n{i % 10}", "description": "d", "object_store_name": "default", "bucket_name": "b"}
        return HTTP.post(
            sandbox.core_url + "/namespace/", json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, range(40)))
    assert statuses.count(201) == 10 and statuses.count(403) == 30
    assert len(sandbox.namespaces()) == 11


def _outcomes(sandbox: Sandbox, token: str, count: int) -> list[str]:
    """Send ``count`` namespace creates one at a time on fresh connections; record each outcome."""
    host, port = "127.0.0.1", int(sandbox.url.rsplit(":", 1)[1])
    outcomes = []
    for i in range(count):
        conn = http.client.HTTPConnection(host, port, timeout=5)
        body = f'{{"name":"n{i}","description":"d","object_store_name":"default","bucket_name":"b"}}'
        try:
            conn.request(
                "POST",
                "/core/v1/namespace/",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            outcomes.append(str(conn.getresponse().status))
        except (http.client.RemoteDisconnected, ConnectionError):
            outcomes.append("dropped")
        finally:
            conn.close()
    return outcomes


def _token_despite_faults(sandbox: Sandbox) -> tuple[int, str]:
    """The PAT exchange is subject to faults too: retry it, counting attempts."""
    for attempt in range(1, 50):
        try:
            return attempt, exchange_jwt(sandbox, sandbox.admin_pat)
        except httpx.HTTPError:
            continue
    raise AssertionError("every exchange attempt failed")


def test_faults_are_deterministic_and_split_evenly(sandbox_factory: SandboxFactory) -> None:
    twins = [sandbox_factory(fault_rate=0.4, fault_seed=7) for _ in range(2)]
    sequences = []
    for sandbox in twins:
        attempts, token = _token_despite_faults(sandbox)
        sequences.append((attempts, _outcomes(sandbox, token, 40), [n["name"] for n in sandbox.namespaces()]))
    assert sequences[0] == sequences[1]
    _, outcomes, names = sequences[0]
    assert outcomes.count("503") >= 3 and outcomes.count("dropped") >= 3
    assert abs(outcomes.count("503") - outcomes.count("dropped")) <= 1
    # 503 had no effect; a dropped request was processed all the same
    for i, outcome in enumerate(outcomes):
        assert (f"n{i}" in names) == (outcome != "503")


def test_discover_never_faults(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(fault_rate=1.0)
    assert all(HTTP.get(sandbox.core_url + "/discover").status_code == 200 for _ in range(5))
    assert HTTP.get(sandbox.url + "/auth/v1/ping").status_code == 503


def test_client_hanging_up_is_silent(
    sandbox_factory: SandboxFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    import socket
    import struct

    sandbox = sandbox_factory(latency_ms=100)
    port = int(sandbox.url.rsplit(":", 1)[1])
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /core/v1/namespace/ HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # reset before the (delayed) answer
    time.sleep(0.3)
    assert HTTP.get(sandbox.core_url + "/discover").status_code == 200
    assert capfd.readouterr().err == ""
