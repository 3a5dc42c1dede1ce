"""The transport's own connections against a scripted server: reuse, reconnects and failures.

Since issue 15 hossctl keeps its connections itself (httpcore's HTTP/1.1 connection over asyncio
streams, see ``transport._Connection``) instead of httpx's pool, so what the pool used to do
is pinned here against a server that does exactly what each test needs: keep-alive reuse, a
fresh connection when the server said ``Connection: close`` or silently closed an idle one, a
switch of origin on one connection, and failures that name no credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from ports import dead_url

from hossctl.live.transport import UNANSWERED_ATTEMPTS, Transport, TransportFailure

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]'


@dataclass
class Script:
    """What the server answers (``reply``) and what it saw: connections and request heads."""

    reply: bytes = OK
    close_after: bool = False  # hang up after each answer, without saying so
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                script.heads.append(head)
                length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                if length:
                    await reader.readexactly(int(length[0].split(b":")[1]))
                writer.write(script.reply)
                await writer.drain()
                if script.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_one_connection_carries_every_request() -> None:
    script = Script()

    async def main() -> None:
        async with scripted(script) as url:
            transport = Transport(connections=1)
            for _ in range(5):
                answer = await transport.send("GET", f"{url}/core/v1/discover")
                assert (answer.status, answer.body, answer.content_type) == (200, b"[]", "application/json")
            await transport.aclose()

    _run(main())
    assert script.connections == 1 and len(script.heads) == 5
    assert script.heads[0].startswith(b"GET /core/v1/discover HTTP/1.1\r\nHost: 127.0.0.1:")


@pytest.mark.parametrize("how", ["says Connection: close", "hangs up silently"])
def test_a_connection_the_server_closed_is_opened_again_without_a_retry(how: str) -> None:
    script = Script()
    if how == "says Connection: close":
        script.reply = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    script.close_after = True

    async def main() -> int:
        async with scripted(script) as url:
            transport = Transport(connections=1)
            for _ in range(3):
                assert (await transport.send("GET", f"{url}/x")).status == 200
                await asyncio.sleep(0.05)  # idle: the hang-up reaches the client before the next request
            await transport.aclose()
            return transport.budget.retries

    retries = asyncio.run(main())
    assert (script.connections, len(script.heads), retries) == (3, 3, 0)


def test_one_connection_follows_the_requests_from_origin_to_origin() -> None:
    first, second = Script(), Script()

    async def main() -> None:
        async with scripted(first) as a, scripted(second) as b:
            transport = Transport(connections=1)
            for url in (a, b, a):
                assert (await transport.send("GET", f"{url}/x")).status == 200
            await transport.aclose()

    _run(main())
    assert (first.connections, second.connections) == (2, 1)


def test_an_answer_that_is_not_http_is_a_connection_failure() -> None:
    script = Script(reply=b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    async def main() -> None:
        async with scripted(script) as url:
            transport = Transport(connections=1, backoff_base=0.001, backoff_cap=0.002)
            with pytest.raises(TransportFailure) as info:
                await transport.send("GET", f"{url}/x")
            await transport.aclose()
        assert info.value.cause.startswith("connection failed (")
        assert info.value.attempts == UNANSWERED_ATTEMPTS  # never answered: down, not flaky

    _run(main())


def test_a_refused_connection_is_retried_then_named() -> None:
    async def main() -> None:
        transport = Transport(backoff_base=0.001, backoff_cap=0.002)
        with pytest.raises(TransportFailure) as info:
            await transport.send("GET", f"{dead_url()}/core/v1/discover")
        assert info.value.cause.startswith("connection failed (") and not info.value.tls
        assert info.value.attempts == UNANSWERED_ATTEMPTS

    _run(main())


@pytest.mark.parametrize("credential", ["hp_abc\r\nX-Injected: 1", "hp_abc€def"])
def test_a_credential_no_header_can_carry_is_refused_once_and_never_shown(credential: str) -> None:
    script = Script()

    async def main() -> None:
        async with scripted(script) as url:
            transport = Transport(connections=1)
            with pytest.raises(TransportFailure) as info:
                await transport.send("POST", f"{url}/auth/v1/pat/exchange/jwt", bearer=credential)
            await transport.aclose()
        assert info.value.attempts == 1
        assert "abc" not in info.value.cause and "Injected" not in info.value.cause

    _run(main())
    assert script.heads == []  # nothing reached the server
