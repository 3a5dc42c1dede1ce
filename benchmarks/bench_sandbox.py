"""The sandbox's own costs: start and stop, one keep-alive round trip, and concurrency under latency.

Usage:  python benchmarks/bench_sandbox.py [--requests 2000]

Every figure is next to a peer measured in the same run: a round trip is compared with one to a
bare ``http.server`` answering the same bytes on the same machine (the floor of any Python HTTP
server), and ten concurrent requests at 300 ms of latency with one request at that latency.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from hossctl.sandbox import Sandbox


class _Bare(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK stall

    def do_GET(self) -> None:
        body = b'{"alive":"true"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


def round_trip_ms(
    client: httpx.Client, url: str, requests: int, headers: dict[str, str] | None = None
) -> float:
    for _ in range(20):  # warm the connection
        client.get(url, headers=headers)
    started = time.perf_counter()
    for _ in range(requests):
        client.get(url, headers=headers).raise_for_status()
    return (time.perf_counter() - started) / requests * 1000


def token_of(client: httpx.Client, sandbox: Sandbox) -> str:
    answer = client.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {sandbox.admin_pat}"}
    )
    token: str = answer.json()["id_token"]
    return token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    starts = []
    for _ in range(10):
        began = time.perf_counter()
        Sandbox().start().stop()
        starts.append(time.perf_counter() - began)

    bare = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
    threading.Thread(target=bare.serve_forever, daemon=True).start()
    with Sandbox() as sandbox, httpx.Client() as client:
        sandbox.seed_namespace("raw", description="Raw", bucket="raw")
        auth = {"Authorization": f"Bearer {token_of(client, sandbox)}"}
        floor = round_trip_ms(client, f"http://127.0.0.1:{bare.server_address[1]}/", args.requests)
        discover = round_trip_ms(client, f"{sandbox.url}/core/v1/discover", args.requests)
        sync = round_trip_ms(client, f"{sandbox.url}/core/v1/namespace/raw/sync", args.requests, auth)
    bare.shutdown()

    with Sandbox(latency_ms=300) as slow, httpx.Client(limits=httpx.Limits(max_connections=10)) as client:
        slow.seed_namespace("raw", description="Raw", bucket="raw")
        url = f"{slow.url}/core/v1/namespace/raw/sync"
        auth = {"Authorization": f"Bearer {token_of(client, slow)}"}
        began = time.perf_counter()
        client.get(url, headers=auth).raise_for_status()
        one = time.perf_counter() - began
        with ThreadPoolExecutor(10) as pool:
            began = time.perf_counter()
            list(pool.map(lambda _: client.get(url, headers=auth).status_code, range(10)))
            ten = time.perf_counter() - began

    print(f"start + stop, median of 10: {statistics.median(starts) * 1000:.0f} ms")
    print("| what | ms per request | bare http.server | ratio |")
    print("|---|---|---|---|")
    print(f"| discover (public) | {discover:.2f} | {floor:.2f} | {discover / floor:.2f} x |")
    print(f"| GET …/sync (JWT checked) | {sync:.2f} | {floor:.2f} | {sync / floor:.2f} x |")
    print(f"10 concurrent requests at 300 ms: {ten:.2f} s, one alone: {one:.2f} s ({ten / one:.2f} x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
