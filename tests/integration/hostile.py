"""A hostile HTTP proxy in front of a real sandbox: it forwards every request, but garbles chosen answers.

hossctl must never read an answer it cannot trust as "empty" or as a default: a login page, a
truncated body or a list of strings in place of a dataset list would otherwise let a namespace
delete through. The sandbox always answers correctly, so the garbling happens here, in real HTTP
between hossctl and a real server, with nothing mocked.

Discover answers are rewritten so that their ``auth_service`` points at the proxy, so the PAT
exchange goes through it too (as it would behind a real reverse proxy). Each mode is one rule
in ``RULES``: which requests it rewrites, and how; add a mode by adding a rule.

Usage::

    with HostileProxy(sandbox.url, "html") as proxy:
        ...  # point hossctl at proxy.url
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

JSON = "application/json; charset=utf-8"
DISCOVER_PATH = "/core/v1/discover"
# Path patterns (matched against the whole path, without query); {ns} is the proxy's ``namespace``.
DATASET_LIST = r"/core/v1/namespace/[^/]+/dataset/"
NAMESPACE_LIST = r"/core/v1/namespace/"
SYNC_LIST_OF_NS = r"/core/v1/namespace/{ns}/sync"
PAT_EXCHANGE = r"/auth/v1/pat/exchange/jwt"
# A token-bearing answer in the wrong format: no error may quote it.
FRESH_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl"
_HOP_BY_HOP = frozenset(
    {"host", "connection", "keep-alive", "content-length", "transfer-encoding", "accept-encoding"}
)
_PASSED_BACK = ("location", "retry-after")  # answer headers forwarded besides Content-Type
# Longer than the 80 characters an error may quote, with a newline and a terminal escape early on.
LOGIN_PAGE = (
    b"<html><head><title>Sign in</title></head>\n<body>\x1b[2J<form action=/login>"
    + b"<input name=user>" * 8
    + b"</form></body></html>"
)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


Rewrite = Callable[[Answer, "HostileProxy"], Answer]


@dataclass(frozen=True)
class Rule:
    """Rewrite the answers of ``method`` requests whose path (without query) matches ``pattern``."""

    method: str
    pattern: str
    rewrite: Rewrite


def _fixed(status: int, content_type: str, body: bytes) -> Rewrite:
    return lambda _answer, _proxy: Answer(status, content_type, body)


def _garble_namespace_record(answer: Answer, proxy: HostileProxy) -> Answer:
    """The namespace list with ``proxy.namespace``'s record given a number and a null."""
    records = json.loads(answer.body) if answer.status == 200 else None
    if not isinstance(records, list):
        return answer
    for record in records:
        if isinstance(record, dict) and record.get("name") == proxy.namespace:
            record["description"] = 5
            record["bucket_name"] = None
    return Answer(answer.status, answer.content_type, json.dumps(records).encode())


RULES: dict[str, Rule] = {
    # GET …/namespace/<ns>/dataset/
    "html": Rule(
        "GET",
        DATASET_LIST,
        _fixed(200, "text/html; charset=utf-8", LOGIN_PAGE),
    ),
    "invalid-json": Rule("GET", DATASET_LIST, _fixed(200, "application/json", b'[{"name": ')),
    "non-objects": Rule("GET", DATASET_LIST, _fixed(200, "application/json", b'["precious"]')),
    "wrong-types": Rule(
        "GET",
        DATASET_LIST,
        _fixed(
            200,
            JSON,
            b'[{"name": 5, "sync_enabled": false, "sync_type": "simplex", "delete_status": "NOT_SCHEDULED"}]',
        ),
    ),
    "null": Rule("GET", DATASET_LIST, _fixed(200, JSON, b"null")),
    # gin's answer for a route it does not know, not the core's "Resource not found" (§1, §3)
    "route-404": Rule("GET", DATASET_LIST, _fixed(404, "text/plain", b"404 page not found")),
    # GET …/namespace/ (every page)
    "namespace-wrong-types": Rule("GET", NAMESPACE_LIST, _garble_namespace_record),
    # POST /auth/v1/pat/exchange/jwt
    "exchange-not-json": Rule(
        "POST", PAT_EXCHANGE, _fixed(201, "text/plain", f"id_token={FRESH_TOKEN}\n".encode())
    ),
    # GET …/namespace/<namespace>/sync
    "sync-non-objects": Rule(
        "GET", SYNC_LIST_OF_NS, _fixed(200, JSON, b'["https://partner.example/core/v1"]')
    ),
}
DATASET_MODES = ("html", "invalid-json", "non-objects", "wrong-types", "null")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # not socketserver's 5: concurrent connects must not wait 1 s for a retry

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (hossctl stopping after an error) is no news."""


class HostileProxy:
    """A started proxy on a free loopback port; ``url`` is its base URL. Stop it with ``stop()``
    or by leaving the ``with`` block. ``namespace`` is the record that namespace rules garble."""

    def __init__(self, upstream: str, mode: str, *, namespace: str = "scratch2") -> None:
        """``mode`` is a key of ``RULES``, or "transparent" to garble nothing but discover."""
        self.upstream = upstream.rstrip("/")
        self.rule = None if mode == "transparent" else RULES[mode]
        self.namespace = namespace
        self._path = re.compile(
            self.rule.pattern.replace("{ns}", re.escape(quote(namespace, safe=""))) if self.rule else "(?!)"
        )
        self.rewritten = 0  # how many answers were garbled (observable in tests)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30, follow_redirects=False)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> HostileProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Forward one request upstream, then apply the discover rewrite and this mode's rule."""
        with self._lock:
            self.requests.append((method, path))
        try:
            resp = self._http.request(method, self.upstream + path, headers=headers, content=body)
        except httpx.TransportError:
            return Answer(502, "text/plain", b"502 Bad Gateway")
        passed = tuple((name, resp.headers[name]) for name in _PASSED_BACK if name in resp.headers)
        answer = Answer(resp.status_code, resp.headers.get("content-type"), resp.content, passed)
        bare = path.split("?", 1)[0]
        if method == "GET" and bare == DISCOVER_PATH and answer.status == 200:
            document: dict[str, Any] = json.loads(answer.body)
            document["auth_service"] = f"{self.url}/auth/v1"
            answer = Answer(answer.status, answer.content_type, json.dumps(document).encode())
        if self.rule is not None and method == self.rule.method and self._path.fullmatch(bare):
            with self._lock:
                self.rewritten += 1
            answer = self.rule.rewrite(answer, self)
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as hossctl's pooled connections expect

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer = proxy.answer(self.command, self.path, headers, body)
                self.send_response(answer.status)
                if answer.content_type:
                    self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers:
                    self.send_header(name, value)
                if answer.status not in (204, 304):
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.status not in (204, 304):
                    self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args: Any) -> None:
                return None

        return Handler
