"""The peer: a minimal asyncio Hoss reader, to measure hossctl's client against (issue 15).

It does the reads ``hossctl plan`` does (discover, the PAT exchange, the object-store and
namespace pages, then every namespace's sync list over N keep-alive connections) with none of
hossctl's promises: no deadlines, no body or decompression caps, no retries, no redirect or
origin checks, no strict wire parsing. It needs a server that sends Content-Length, as the
sandbox always does. What it costs is what reading the state costs at the least in Python, so
the gap between it and hossctl is what the promises and the HTTP library cost.

Run alone it reads the server given and prints one JSON line of timings:
    python benchmarks/peer_client.py URL PAT_ENV [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

PAGE = 500


class Peer:
    """N plain HTTP/1.1 keep-alive connections to one host, handed out from a queue."""

    def __init__(self, url: str, connections: int = 16) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.size, self.token = connections, ""
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self.opened = 0

    async def request(self, method: str, path: str, bearer: str | None = None) -> Any:
        if self.pool.empty() and self.opened < self.size:
            self.opened += 1
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))
        reader, writer = await self.pool.get()
        auth = f"Authorization: Bearer {bearer or self.token}\r\n"
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{auth}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        self.pool.put_nowait((reader, writer))
        return json.loads(body)

    async def login(self, pat: str) -> None:
        auth = (await self.request("GET", "/core/v1/discover"))["auth_service"]
        self.token = (await self.request("POST", urlsplit(auth).path + "/pat/exchange/jwt", pat))["id_token"]

    async def pages(self, collection: str) -> list[Any]:
        items: list[Any] = []
        while True:
            page = await self.request("GET", f"/core/v1/{collection}/?limit={PAGE}&offset={len(items)}") or []
            items.extend(page)
            if len(page) < PAGE:
                return items

    async def read(self, pat: str) -> dict[str, Any]:
        """Everything plan reads: {namespace name: its sync rows}, plus the object stores."""
        await self.login(pat)
        stores, namespaces = await asyncio.gather(self.pages("object_store"), self.pages("namespace"))
        names = [ns["name"] for ns in namespaces]
        rows = await asyncio.gather(
            *(self.request("GET", f"/core/v1/namespace/{quote(n, safe='')}/sync") for n in names)
        )
        return {"object_stores": stores, "sync": dict(zip(names, rows, strict=True))}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("pat_env")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    cpu, started = time.process_time(), time.perf_counter()
    state = asyncio.run(Peer(args.url, args.connections).read(os.environ[args.pat_env]))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"from_first_request": wall, "cpu": cpu, "namespaces": len(state["sync"]), "peak_mb": peak}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
