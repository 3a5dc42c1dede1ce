"""Benchmark: hossctl's client CPU per request at 0 ms latency, against other clients in the same run.

Issue 15's goal: at most 0.4 ms of client CPU per request, over 10,000 requests at 0 ms latency.

The sandbox runs in a process of its own (``python -m hossctl sandbox``), so its CPU is never
counted; each client runs in a fresh child process that connects, warms up, then sends
``--requests`` GETs of one namespace's sync list (the request ``plan`` sends per namespace)
over ``--connections`` keep-alive connections, and reports its own CPU time (user + system,
``time.process_time``) for those requests. The kinds run in turn, run after run, so the
machine's noise hits them alike; the figures are medians, and each ratio is taken within a run.

  hossctl        HossClient.sync_targets: everything hossctl does per request (deadline, body
                 and decoding caps, retry policy, strict parsing, the token check)
  peer           benchmarks/peer_client.py: a minimal asyncio client with none of that
  httpx-client   stock httpx.AsyncClient with Limits(max_connections=N): the library as commonly used
  h11            h11 over asyncio streams: the HTTP/1.1 state machine httpx uses, without httpcore's
                 connection layer or anyio; what a client on httpx's parser alone could cost
  hossctl-h11    hossctl with its one connection class (``transport._Connection``) replaced by
                 ``H11Connection`` below: everything hossctl does, on h11 without httpcore. The
                 alternative BENCHMARKS.md proposes; not what hossctl ships
  before         hossctl from another tree (--before DIR), for a before/after in one run

Reproduce:  python benchmarks/bench_client.py                      (10,000 requests x 3 runs, ~1 min)
            python benchmarks/bench_client.py --before /tmp/before  (git archive <commit> hossctl schemas)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "bench"
BOUND_MS = 0.4
WARM_UP = 300


def _measure(
    send: Callable[[], Awaitable[Any]], requests: int, connections: int
) -> Awaitable[dict[str, float]]:
    """CPU and wall time of ``requests`` calls of ``send``, at most ``connections`` at a time."""

    async def run() -> dict[str, float]:
        gate = asyncio.Semaphore(connections)

        async def one() -> None:
            async with gate:
                await send()

        await asyncio.gather(*(one() for _ in range(WARM_UP)))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return {"cpu_ms": (time.process_time() - cpu) * 1000 / requests,
                "wall_ms": (time.perf_counter() - wall) * 1000 / requests}

    return run()


async def _worker(kind: str, url: str, pat: str, requests: int, connections: int) -> dict[str, float]:
    path = f"/core/v1/namespace/{NAMESPACE}/sync"
    if kind in ("hossctl", "before", "hossctl-h11"):
        from hossctl.live import transport
        from hossctl.live.client import HossClient

        if kind == "hossctl-h11":
            transport._Connection = h11_connection_class()  # type: ignore[misc]

        async with HossClient(server="bench", base_url=url, pat=pat, connections=connections) as client:
            return await _measure(lambda: client.sync_targets(NAMESPACE), requests, connections)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from peer_client import Peer

    peer = Peer(url, connections)
    await peer.login(pat)
    if kind == "peer":
        return await _measure(lambda: peer.request("GET", path), requests, connections)
    if kind == "httpx-client":
        import httpx

        headers = {"Authorization": f"Bearer {peer.token}", "Accept": "application/json"}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, headers=headers) as client:

            async def httpx_get() -> Any:
                response = await client.get(url + path)
                return json.loads(response.content)

            return await _measure(httpx_get, requests, connections)
    if kind == "h11":
        return await _measure(_h11_sender(peer, path, connections), requests, connections)
    raise SystemExit(f"unknown kind {kind}")


def _h11_sender(peer: Any, path: str, connections: int) -> Callable[[], Awaitable[Any]]:
    import h11

    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]] = asyncio.Queue()
    opened = 0
    headers = [("Host", f"{peer.host}:{peer.port}"), ("Accept", "application/json"),
               ("Authorization", f"Bearer {peer.token}")]

    async def send() -> Any:
        nonlocal opened
        if pool.empty() and opened < connections:
            opened += 1
            reader, writer = await asyncio.open_connection(peer.host, peer.port)
            pool.put_nowait((reader, writer, h11.Connection(h11.CLIENT)))
        reader, writer, state = await pool.get()
        writer.write(state.send(h11.Request(method="GET", target=path, headers=headers)) or b"")
        writer.write(state.send(h11.EndOfMessage()) or b"")
        chunks: list[bytes] = []
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                state.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
        state.start_next_cycle()
        pool.put_nowait((reader, writer, state))
        return json.loads(b"".join(chunks))

    return send


def h11_connection_class() -> type:
    """``H11Connection``: hossctl's ``_Connection`` interface on h11 directly (see the docstring)."""
    import ssl

    import h11
    import httpcore

    class H11Connection:
        """One keep-alive HTTP/1.1 connection driven by h11 itself, as httpcore's would be.

        Same contract as ``hossctl.live.transport._Connection``: ``send`` takes an httpcore
        Request and returns an httpcore Response whose stream reads the body; errors are
        httpcore's. It skips what httpcore adds around h11: anyio locks (each a forced trip
        through the event loop), trace hooks, and its request and stream wrappers.
        """

        def __init__(self, ssl_context: ssl.SSLContext) -> None:
            self._ssl = ssl_context
            self._origin: httpcore.Origin | None = None
            self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
            self._state = h11.Connection(h11.CLIENT, max_incomplete_event_size=100 * 1024)
            self._idle_since = 0.0

        async def send(self, request: httpcore.Request) -> httpcore.Response:
            origin = request.url.origin
            state = self._state
            if (self._streams is None or origin != self._origin or state.our_state is not h11.IDLE
                    or self._streams[0].at_eof() or time.monotonic() - self._idle_since > 5.0):
                await self.aclose()
                host = origin.host.decode("ascii")
                tls = self._ssl if origin.scheme == b"https" else None
                try:
                    self._streams = await asyncio.open_connection(
                        host, origin.port, ssl=tls, server_hostname=host if tls else None)
                except OSError as exc:
                    raise httpcore.ConnectError(str(exc)) from exc
                self._origin = origin
                self._state = state = h11.Connection(h11.CLIENT, max_incomplete_event_size=100 * 1024)
            reader, writer = self._streams
            try:
                writer.write(state.send(h11.Request(method=request.method, target=request.url.target,
                                                    headers=request.headers)) or b"")
                for chunk in request.stream:  # type: ignore[union-attr]
                    writer.write(state.send(h11.Data(data=chunk)) or b"")
                writer.write(state.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                while True:
                    event = await self._next(reader, state)
                    if isinstance(event, h11.Response):
                        break
            except OSError as exc:
                await self.aclose()
                raise httpcore.ReadError(str(exc)) from exc
            headers = event.headers.raw_items()
            return httpcore.Response(event.status_code, headers=headers, content=self._body())

        async def _next(self, reader: asyncio.StreamReader, state: h11.Connection) -> Any:
            while True:
                try:
                    event = state.next_event()
                except h11.RemoteProtocolError as exc:
                    raise httpcore.RemoteProtocolError(str(exc)) from exc
                if event is not h11.NEED_DATA:
                    return event
                state.receive_data(await reader.read(65536))

        async def _body(self) -> Any:
            assert self._streams is not None
            reader, state = self._streams[0], self._state
            done = False
            try:
                while True:
                    event = await self._next(reader, state)
                    if isinstance(event, h11.Data):
                        yield bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        done = True
                        return
            except OSError as exc:
                raise httpcore.ReadError(str(exc)) from exc
            finally:
                if done and state.our_state is h11.DONE and state.their_state is h11.DONE:
                    state.start_next_cycle()
                    self._idle_since = time.monotonic()
                else:
                    await self.aclose()

        async def aclose(self) -> None:
            streams, self._streams = self._streams, None
            if streams is not None:
                streams[1].close()

    return H11Connection


def _run_worker(kind: str, root: Path, url: str, pat: str, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(root), BENCH_PAT=pat)
    command = [sys.executable, __file__, "--worker", kind, "--url", url,
               "--requests", str(args.requests), "--connections", str(args.connections)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stdout}{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _start_sandbox() -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hossctl", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    url = re.search(r"listening on (http://\S+)", lines[0])
    pat = re.search(r"Admin PAT: (\S+)", lines[1])
    assert url and pat, lines
    return process, url.group(1), pat.group(1)


async def _seed(url: str, pat: str) -> None:
    from hossctl.live.client import HossClient

    async with HossClient(server="bench", base_url=url, pat=pat) as client:
        await client.create_namespace(NAMESPACE, "Benchmark", "default", "bench")
        await client.put_sync(NAMESPACE, "https://partner.example.org/core/v1", NAMESPACE, "simplex")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default="hossctl,peer,httpx-client,h11,hossctl-h11")
    parser.add_argument("--before", type=Path, help="Also run hossctl from this tree (kind 'before').")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = asyncio.run(_worker(args.worker, args.url, os.environ["BENCH_PAT"], args.requests,
                                     args.connections))
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(ROOT))  # the seeding client: this tree; workers get theirs by PYTHONPATH
    kinds = args.kinds.split(",") + (["before"] if args.before else [])
    process, url, pat = _start_sandbox()
    try:
        asyncio.run(_seed(url, pat))
        results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for _ in range(args.runs):
            for kind in kinds:
                root = args.before.resolve() if kind == "before" else ROOT
                results[kind].append(_run_worker(kind, root, url, pat, args))
    finally:
        process.terminate()
        process.wait()

    print(f"{args.requests} GETs of a sync list per run, {args.connections} connections, 0 ms latency, "
          f"median of {args.runs} runs; CPU is the client process's own (user + system)")
    print("| client | CPU ms/request | wall ms/request | CPU ÷ peer's (same run) |")
    print("|---|---|---|---|")
    for kind in kinds:
        cpu = statistics.median(r["cpu_ms"] for r in results[kind])
        wall = statistics.median(r["wall_ms"] for r in results[kind])
        ratio = ""
        if "peer" in results:
            paired = [r["cpu_ms"] / p["cpu_ms"] for r, p in zip(results[kind], results["peer"], strict=True)]
            ratio = f"{statistics.median(paired):.2f}"
        print(f"| {kind} | {cpu:.3f} | {wall:.3f} | {ratio} |")
    if "hossctl" in results:
        cpu = statistics.median(r["cpu_ms"] for r in results["hossctl"])
        peer = statistics.median(r["cpu_ms"] for r in results["peer"]) if "peer" in results else float("nan")
        print()
        print("| goal | figure | floor or peer | ratio | bound | holds? |")
        print("|---|---|---|---|---|---|")
        print(f"| client CPU/request, 0 ms, {args.requests:,} requests | {cpu:.3f} ms | peer {peer:.3f} ms "
              f"| {cpu / peer:.2f} × peer | ≤ {BOUND_MS} ms | {'yes' if cpu <= BOUND_MS else 'no'} |")
        if "before" in results:
            before = statistics.median(r["cpu_ms"] for r in results["before"])
            print(f"| client CPU/request, before → now | {before:.3f} → {cpu:.3f} ms | | "
                  f"{cpu / before:.2f} × before | | |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nCPUs: {os.cpu_count()}, load average {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
