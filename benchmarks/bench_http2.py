"""Benchmark: what HTTP/2 would cost or save the client, against a server that offers it (issue 15).

The sandbox speaks HTTP/1.1 only (Python's http.server), and so does hossctl's transport. A real
Hoss installation sits behind Traefik, which offers HTTP/2 over TLS. This measures, against one
server that offers both (Hypercorn over TLS, answering a 120-byte sync list to every GET), the
client CPU per request of:

  hossctl-h1     hossctl's transport as shipped (HTTP/1.1 over TLS, 16 connections)
  httpx-h1       stock httpx.AsyncClient(http2=False), Limits(max_connections=16)
  httpx-h2       stock httpx.AsyncClient(http2=True): one connection, 16 streams
  httpcore-h2    httpcore's HTTP/2 pool alone, without httpx's models (what hossctl would drive)

Each runs in a fresh child process and reports its own CPU (the server runs in another
process); the kinds alternate run by run and the figures are medians.

Needs two packages that hossctl does not depend on:  pip install h2 hypercorn
Reproduce:  python benchmarks/bench_http2.py            (5,000 requests x 3 runs, ~1 min)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BODY = b'[{"target_core_service":"https://partner.example.org/core/v1","target_namespace":"bench",' \
       b'"sync_type":"simplex"}]'
APP = f'''
BODY = {BODY!r}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({{"type": "lifespan.startup.complete"}})
            elif message["type"] == "lifespan.shutdown":
                await send({{"type": "lifespan.shutdown.complete"}})
                return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": BODY}})
'''
KINDS = ("hossctl-h1", "httpx-h1", "httpx-h2", "httpcore-h2")


async def _measure(
    send: Callable[[], Awaitable[Any]], requests: int, connections: int
) -> dict[str, float]:
    gate = asyncio.Semaphore(connections)

    async def one() -> None:
        async with gate:
            await send()

    await asyncio.gather(*(one() for _ in range(200)))
    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return {"cpu_ms": (time.process_time() - cpu) * 1000 / requests}


async def _worker(kind: str, url: str, cert: str, requests: int, connections: int) -> dict[str, float]:
    if kind == "hossctl-h1":
        from hossctl.live.transport import Transport

        transport = Transport(connections=connections, ca_bundle=cert)

        async def hossctl_get() -> Any:
            return json.loads((await transport.send("GET", url)).body)

        return await _measure(hossctl_get, requests, connections)
    context = ssl.create_default_context(cafile=cert)
    if kind.startswith("httpx"):
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(verify=context, http2=kind == "httpx-h2", limits=limits) as client:
            response = await client.get(url)
            assert response.http_version == ("HTTP/2" if kind == "httpx-h2" else "HTTP/1.1"), response

            async def httpx_get() -> Any:
                return json.loads((await client.get(url)).content)

            return await _measure(httpx_get, requests, connections)
    import httpcore

    async with httpcore.AsyncConnectionPool(ssl_context=context, http1=False, http2=True) as pool:

        async def httpcore_get() -> Any:
            return json.loads((await pool.request("GET", url)).content)

        return await _measure(httpcore_get, requests, connections)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = asyncio.run(_worker(args.worker, args.url, args.cert, args.requests, args.connections))
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        (Path(tmp) / "h2app.py").write_text(APP, encoding="utf-8")
        # Hypercorn closes a connection after 1,000 requests by default: each closing cuts the
        # HTTP/2 streams in flight, so the connections live for the whole run here.
        (Path(tmp) / "h2.toml").write_text("keep_alive_max_requests = 100000000\n", encoding="utf-8")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "--config", "h2.toml", "--certfile", str(cert),
             "--keyfile", str(key), "--bind", f"127.0.0.1:{port}", "h2app:app"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"https://127.0.0.1:{port}/core/v1/namespace/bench/sync"
        try:
            for _ in range(100):  # until it listens
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            results: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for _ in range(args.runs):
                for kind in KINDS:
                    done = subprocess.run(
                        [sys.executable, __file__, "--worker", kind, "--url", url, "--cert", str(cert),
                         "--requests", str(args.requests), "--connections", str(args.connections)],
                        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                        check=True,
                    )  # fmt: skip
                    results[kind].append(json.loads(done.stdout.strip().splitlines()[-1])["cpu_ms"])
        finally:
            server.terminate()
            server.wait()

    print(f"{args.requests} GETs over TLS to Hypercorn, {args.connections} at a time, "
          f"median of {args.runs} runs")
    print("| client | protocol | CPU ms/request | ÷ hossctl's |")
    print("|---|---|---|---|")
    mine = statistics.median(results["hossctl-h1"])
    for kind in KINDS:
        cpu = statistics.median(results[kind])
        print(f"| {kind.rsplit('-', 1)[0]} | HTTP/{kind[-1]} | {cpu:.3f} | {cpu / mine:.2f} |")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nCPUs: {os.cpu_count()}, load average {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
