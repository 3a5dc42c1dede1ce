"""The HTTP shell: a thread per connection, HTTP/1.1 keep-alive, latency and faults.

Latency is slept in the connection's own thread before the request touches the store, so
concurrent requests overlap instead of queueing. Every response carries Content-Length
(except 204, which by HTTP has no body or length), so keep-alive clients never guess.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from hossctl.sandbox.faults import Fault, FaultPlan
from hossctl.sandbox.messages import NOT_FOUND_PAGE, ApiError, Request, Response, error_response
from hossctl.sandbox.routes import DISCOVER_PATH, Access, Match, Redirect, Router
from hossctl.sandbox.store import AlreadyExists, NotFound, StoreClosed
from hossctl.sandbox.tokens import Rejected, TokenIssuer


class App:
    """Turns one request into one response: routing, authentication, roles, error mapping."""

    def __init__(self, router: Router, issuer: TokenIssuer, latency_ms: int, faults: FaultPlan) -> None:
        self.router = router
        self.issuer = issuer
        self.latency_s = latency_ms / 1000
        self.faults = faults

    def handle(
        self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        resolved = self.router.resolve(method, raw_path, raw_query)
        if resolved is None:
            return NOT_FOUND_PAGE
        if isinstance(resolved, Redirect):
            return _redirect(method, resolved)
        request = Request(
            method=method,
            path=raw_path,
            query=parse_qs(raw_query, keep_blank_values=True),
            headers=headers,
            body=body,
            params=resolved.params,
        )
        return self._call(resolved, request)

    def _call(self, match: Match, request: Request) -> Response:
        access = match.route.access
        if access is not Access.PUBLIC:
            try:
                request.caller = self.issuer.verify(request.header("authorization"))
            except Rejected as exc:
                return Response(exc.status)
            if not access.allows(request.caller.role):
                return error_response(401, "User is unauthorized")
        try:
            return match.route.handler(request)
        except ApiError as exc:
            return exc.response
        except NotFound:
            return error_response(404, "Resource not found")
        except AlreadyExists:
            return error_response(403, "Resource already exists")
        except StoreClosed:
            return Response(503)
        except Exception as exc:  # a bug: answer like gin's Recovery, a bare 500
            print(
                f"hossctl sandbox: internal error on {request.method} {request.path}: {exc!r}",
                file=sys.stderr,
            )
            return Response(500)


def _redirect(method: str, redirect: Redirect) -> Response:
    body = b""
    content_type = None
    if method == "GET":
        text = "Moved Permanently"
        body = f'<a href="{redirect.location}">{text}</a>.\n\n'.encode()
        content_type = "text/html; charset=utf-8"
    return Response(redirect.status, body, content_type, (("Location", redirect.location),))


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5. A client opening 16 connections at once (as
    # hossctl's reads do) overflows it, and each refused SYN waits for the kernel's 1 s retry:
    # a sandbox that is slow for no reason a real server has. The kernel caps it at somaxconn.
    request_queue_size = 1024

    app: App  # set once the bound port, and so the sandbox URL, is known

    def __init__(self, address: tuple[str, int]) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (or a stop cutting connections) are normal, never a traceback.

        socketserver's default prints a traceback to stderr, which lands in the output of
        whatever CLI runs in the same process.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | ValueError):  # resets, broken pipes, timeouts, closed files
            return
        print(f"hossctl sandbox: connection error: {type(exc).__name__}", file=sys.stderr)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so a stopped sandbox really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hoss-sandbox"
    sys_version = ""
    timeout = 120
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid delayed-ACK stalls
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines may carry names users consider private, and tests stay quiet."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError:
            self._send(Response(400, b"400 Bad Request", "text/plain"))
            self.close_connection = True
            return
        raw_path, _, raw_query = self.path.partition("?")
        exempt = self.command == "GET" and raw_path == DISCOVER_PATH
        fault = None if exempt else app.faults.draw()
        if not exempt and app.latency_s > 0:
            time.sleep(app.latency_s)
        if fault is Fault.REJECT:
            self._send(error_response(503, "Service Unavailable"))
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = app.handle(self.command, raw_path, raw_query, headers, body)
        if fault is Fault.DROP:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)
