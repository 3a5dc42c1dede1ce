"""HossClient against real sandboxes: auth, errors, paging, retries, and no token in any output."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
import pytest
from ports import dead_url

from hossctl.errors import (
    AuthenticationError,
    HossApiError,
    ServerUnreachableError,
    UnsupportedVersionError,
)
from hossctl.live.client import Endpoint, HossClient, client_from
from hossctl.live.transport import RetryBudget

SandboxFactory = Callable[..., Any]
FAKE_PAT = "hp_" + "Z" * 30


def _client(sb: Any, **kwargs: Any) -> HossClient:
    options: dict[str, Any] = {
        "server": "cloud",
        "base_url": sb.url,
        "pat": sb.admin_pat,
        "pat_env": "CLOUD_PAT",
    }
    options.update(kwargs)
    return HossClient(**options)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_exchange_once_for_concurrent_calls_and_refresh_at_half_life(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory()
    for i in range(5):
        sb.seed_namespace(f"ns{i}", bucket=f"b{i}")
    now = [1_000_000_000.0]

    async def main() -> tuple[int, int, int]:
        async with _client(sb, clock=lambda: now[0]) as client:
            results = await asyncio.gather(*(client.sync_targets(f"ns{i}") for i in range(5)))
            assert results == [()] * 5
            first = client.exchanges
            now[0] += 60  # well within the token's life: no new exchange
            await client.namespaces()
            second = client.exchanges
            now[0] += 24 * 3600  # past half of any sane lifetime: refreshed before use
            await asyncio.gather(*(client.namespace(f"ns{i}") for i in range(5)))
            return first, second, client.exchanges

    assert _run(main()) == (1, 1, 2)


def test_jwt_from_environment_is_used_as_is(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory()

    async def token() -> str:
        async with _client(sb) as client:
            return await client.tokens.bearer()

    jwt = _run(token())
    monkeypatch.delenv("CLOUD_PAT", raising=False)
    monkeypatch.setenv("HOSS_JWT", jwt)

    async def read() -> list[str]:
        async with client_from(Endpoint("cloud", sb.url, "CLOUD_PAT")) as client:
            names = [ns.name for ns in await client.namespaces()]
            assert client.exchanges == 0
            return names

    assert _run(read()) == ["default"]


def test_wrong_pat_is_one_clear_sentence_without_the_pat(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory()

    async def main() -> None:
        async with _client(sb, pat=FAKE_PAT) as client:
            await client.namespaces()

    with pytest.raises(AuthenticationError) as info:
        _run(main())
    message = str(info.value)
    assert "server 'cloud'" in message and "$CLOUD_PAT" in message and "401" in message
    assert FAKE_PAT not in message and sb.admin_pat not in message
    assert info.value.__cause__ is None


def test_missing_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_PAT", raising=False)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    with pytest.raises(AuthenticationError, match=r"\$NOPE_PAT"):
        client_from(Endpoint("cloud", "http://127.0.0.1:1", "NOPE_PAT"))


def test_server_down_is_one_clear_sentence() -> None:
    url = dead_url()

    async def main() -> None:
        async with HossClient(server="lab", base_url=url, pat=FAKE_PAT, backoff_base=0.01) as c:
            await c.namespaces()

    with pytest.raises(ServerUnreachableError) as info:
        _run(main())
    message = str(info.value)
    assert message.startswith("server 'lab' is unreachable: GET ")
    # A server that never answered is down, not flaky: a few attempts, not the run's retry budget.
    assert url in message and "4 attempts" in message and "\n" not in message
    assert FAKE_PAT not in message


@pytest.fixture
def stub_server() -> Iterator[Callable[[dict[str, Any]], str]]:
    """A plain HTTP server answering discover with a given document (the sandbox is always 0.2.x)."""
    servers: list[ThreadingHTTPServer] = []

    def start(document: dict[str, Any]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(document).encode()
                self.send_response(200 if self.path == "/core/v1/discover" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("version", ["0.3.0", "1.0.2", "0.1.9"])
def test_unsupported_version(stub_server: Callable[[dict[str, Any]], str], version: str) -> None:
    url = stub_server({"alive": "true", "version": version, "auth_service": "http://127.0.0.1:1/auth/v1"})

    async def main() -> None:
        async with HossClient(server="new", base_url=url, pat=FAKE_PAT) as client:
            await client.namespaces()

    with pytest.raises(UnsupportedVersionError) as info:
        _run(main())
    assert f"version {version}" in str(info.value) and "0.2.x" in str(info.value)
    assert "server 'new'" in str(info.value)


@pytest.mark.parametrize(
    ("extra", "page_size"),
    [
        (30, 500),  # beyond the server's default page of 25
        (34, 7),  # 35 namespaces: five full pages, then an offset past the end -> null
        (36, 10),  # 37: a short last page
    ],
)
def test_paging(sandbox_factory: SandboxFactory, extra: int, page_size: int) -> None:
    sb = sandbox_factory()
    for i in range(extra):
        sb.seed_namespace(f"n{i:03d}", bucket=f"b{i}")

    async def main() -> list[str]:
        async with _client(sb, page_size=page_size) as client:
            return [ns.name for ns in await client.namespaces()]

    names = _run(main())
    assert names == [ns["name"] for ns in sb.namespaces()]
    assert len(names) == extra + 1 and len(set(names)) == len(names)


def test_empty_server_lists_nothing(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(object_stores=("other",))  # no `default` store: no bootstrap namespace

    async def main() -> tuple[tuple[Any, ...], tuple[str, ...]]:
        async with _client(sb) as client:
            return await client.namespaces(), await client.object_stores()

    namespaces, stores = _run(main())
    assert namespaces == ()
    assert stores == ("other",)


def test_retries_ride_out_faults(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(fault_rate=0.3, fault_seed=7)
    for i in range(20):
        sb.seed_namespace(f"f{i}", bucket=f"b{i}")
        sb.seed_sync(f"f{i}", "https://partner.example/core/v1", f"f{i}", "simplex")

    async def main() -> dict[str, tuple[Any, ...]]:
        async with _client(sb, backoff_base=0.005, backoff_cap=0.05, page_size=5) as client:
            names = [ns.name for ns in await client.namespaces()]
            syncs = await asyncio.gather(*(client.sync_targets(n) for n in names))
            return dict(zip(names, syncs, strict=True))

    result = _run(main())
    assert sorted(result) == sorted(ns["name"] for ns in sb.namespaces())
    for name, rows in result.items():
        expected = [tuple(r.values()) for r in sb.sync_targets(name)]
        assert [(r.target_core_service, r.target_namespace, r.sync_type) for r in rows] == expected


def test_debug_logs_requests_but_never_a_token(
    sandbox_factory: SandboxFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory()
    sb.seed_namespace("ns1", bucket="b1")
    caplog.set_level(logging.DEBUG, logger="hossctl")

    async def main() -> str:
        async with _client(sb) as client:
            await client.namespaces()
            await client.sync_targets("ns1")
            await client.user_sync()
            await client.datasets("ns1")
            return await client.tokens.bearer()

    token = _run(main())
    err = caplog.text
    assert f"GET {sb.core_url}/namespace/?limit=500&offset=0 -> 200" in err
    assert f"POST {sb.url}/auth/v1/pat/exchange/jwt -> 201" in err
    assert f"GET {sb.core_url}/namespace/ns1/sync -> 200" in err
    assert sb.admin_pat not in err and token not in err and "Bearer" not in err


def test_stale_token_is_exchanged_again_once(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory()

    async def main() -> tuple[list[str], int]:
        async with _client(sb) as client:
            await client.namespaces()
            client.tokens._token = "not-a-token-core-accepts"  # core answers 401 with an empty body
            names = [ns.name for ns in await client.namespaces()]
            return names, client.exchanges

    assert _run(main()) == (["default"], 2)


def test_expired_jwt_is_refused_before_use(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory()
    expired = pyjwt.encode({"iat": 1000, "exp": 2000}, "k" * 32, algorithm="HS256")

    async def main() -> None:
        async with _client(sb, pat=None, jwt=expired) as client:
            await client.namespaces()

    with pytest.raises(AuthenticationError) as info:
        _run(main())
    assert "$HOSS_JWT" in str(info.value) and "expired" in str(info.value)
    assert expired not in str(info.value)


def test_persistent_faults_end_in_one_sentence(sandbox_factory: SandboxFactory) -> None:
    sb = sandbox_factory(fault_rate=1.0)

    async def main() -> None:
        budget = RetryBudget(initial=2, per_request=0)  # a run whose budget is spent after 2 retries
        async with _client(sb, budget=budget, backoff_base=0.005, backoff_cap=0.01) as client:
            await client.namespaces()

    with pytest.raises((HossApiError, ServerUnreachableError)) as info:
        _run(main())
    message = str(info.value)
    assert message.startswith("server 'cloud' ") and "3 attempts" in message
    assert sb.admin_pat not in message and "\n" not in message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_is_verified_and_a_ca_bundle_trusts_a_private_ca(tmp_path: Any) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"version": "0.2.13", "auth_service": "https://127.0.0.1:1/auth/v1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")  # as the real server (gin) always does
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"

    async def version(ca_bundle: str | None) -> Any:
        async with HossClient(server="tls", base_url=url, pat=FAKE_PAT, ca_bundle=ca_bundle) as client:
            return (await client.discover())["version"]

    try:
        with pytest.raises(
            ServerUnreachableError, match=r"TLS certificate verification failed \(after 1 attempt\)"
        ):
            _run(version(None))
        assert _run(version(str(cert))) == "0.2.13"
    finally:
        server.shutdown()
        server.server_close()
