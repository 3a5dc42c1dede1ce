"""A standalone hostile Hoss server, and a way to run the real CLI against it and measure the run.

Issue 10 found a client that trusted whatever answered: it sent the PAT wherever discover
pointed, read endless and huge bodies whole, waited for a drip for good, cut error text
before redacting it and printed servers' control characters raw. This server reproduces
each of those answers on purpose, one *mode* per case, so the tests can prove every case
ends in time, in one line, in bounded memory and without a credential leaving for a place
the config did not name.

Unlike ``hostile.py`` (a garbling proxy in front of a real sandbox), this is a server of its
own: the answers that matter here (a body that never ends, a byte every two seconds, a
chunked stream, a 400 MB body) cannot be made by rewriting a sandbox's complete answers.
Outside its mode it acts just well enough as a Hoss server for hossctl to reach the
interesting request: discover, the PAT exchange (a real HS256 JWT, so that redaction of JWT
fragments is tested on a real-looking token), object stores, namespaces, sync rows,
``PUT /user/sync`` and dataset lists.

Everything stays on 127.0.0.1, and every loop that sends is bounded (by a byte count, a
number of pages or ``stop()``), so a hossctl that fails to stop cannot make the server run
away either: it shows up as a test timeout instead.

Usage::

    with HostileServer("drip") as server:
        run = run_hossctl(["plan", "-f", write_config(tmp, server.url), "--timeout", "3"], env)
        server.seen  # every request, with its headers
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import secrets
import select
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from forkserver import Exited, fork_server

REPO = Path(__file__).resolve().parents[2]
JSON = "application/json; charset=utf-8"
VERSION = "0.2.13"
SIGNING_KEY = "hostile-server-signing-key-not-a-secret"
PAT_ENV = "HOSTILE_PAT"
PAT_EXCHANGE = "/auth/v1/pat/exchange/jwt"
NAMESPACE_LIST = "/core/v1/namespace/"
OBJECT_STORE = {"name": "default", "description": "d", "endpoint": "http://x", "type": "minio"}

MIB = 1024 * 1024
HUGE_BODY_BYTES = 400 * 1000 * 1000  # the 400 MB of the issue
STREAM_CAP_BYTES = 2 * 1024 * MIB  # an endless stream still ends here, whatever the client does
DRIP_INTERVAL_S = 2.0
DRIP_MAX_BYTES = 60  # two minutes of drip at most
MAX_PAGES_SERVED = 5_000  # 2.5 million names at 500 a page: far past hossctl's cap of 200,000
FILLER = "x" * 180  # the echo lands at offset 180, where a cut at 200 kept 20 characters of it

# Namespace names that act on a terminal or a renderer rather than show: a window title and a
# screen clear, a forged line, and a right-to-left override that reverses the rest of a line.
EVIL_NAMES = ("evil\x1b]0;PWNED\x07\x1b[2Jx", "a\r\nFAKE: Apply complete", "rev\u202eexe.txt")
EVIL_DATASET = "d\x1b[31mred\u202e"
CRLF_BODY = "upstream said:\r\nFAKE: Apply complete\r\nand then some"
NOT_HOSS_PAGE = (
    b"<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n<body>\n"
    b"<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n<hr>\n"
    b"<address>Apache/2.4.57 (Debian) Server at 127.0.0.1</address>\n</body>\n</html>\n"
)

MODES = (
    "normal",
    "pat-elsewhere",
    "endless-pages",
    "same-page",
    "endless-chunked",
    "drip",
    "huge-body",
    "huge-body-unsized",
    "gzip-bomb",
    "gzip-gzip-bomb",
    "bad-gzip",
    "stall",
    "always-503",
    "redirect-exchange",
    "redirect-core",
    "echo-auth-at-180",
    "echo-auth-at-60-text",
    "echo-pat-at-180",
    "echo-jwt-500",
    "echo-jwt-parts-500",
    "echo-jwt-text-500",
    "evil-names",
    "evil-names-blocked",
    "crlf-error",
    "crlf-error-json",
    "not-hoss-404",
)


@dataclass(frozen=True)
class Seen:
    """One request as it arrived: which listener, method, raw path and every header."""

    listener: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "authorization"), None)


class _Disconnected(Exception):
    """The client hung up: the answer is over."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # not socketserver's 5: concurrent connects must not wait 1 s for a retry
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (hossctl stopping at a limit) is the point, not news."""


@functools.cache
def gzip_bomb(decoded_mib: int = 256) -> bytes:
    """A valid gzip stream of ``decoded_mib`` MiB of zeros, about 1/1000 of that on the wire.

    Built without compressing it all: after a full flush the compressor starts afresh, so
    every MiB of zeros compresses to the same bytes, and the stream is one such segment
    repeated, an empty final block and the trailer (CRC-32 and length of the whole).
    """
    zeros = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    crc = 0
    for _ in range(decoded_mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (decoded_mib * MIB) & 0xFFFFFFFF)
    return header + segment * decoded_mib + end + trailer


@functools.cache
def gzip_gzip_bomb(decoded_mib: int = 1024) -> bytes:
    """``gzip_bomb`` gzipped once more (``Content-Encoding: gzip, gzip``): about 2 KB on the wire.

    The outer layer shrinks the inner 1 MB to a few KB, so the whole body arrives in one read,
    and a decoder that inflates that read in one call inflates all of it at once.
    """
    return gzip.compress(gzip_bomb(decoded_mib), compresslevel=9)


def mint_jwt() -> str:
    """A real-looking id_token: HS256, ``iat`` now, an hour to live, the admin role."""
    issued = int(time.time())
    claims = {"iat": issued, "exp": issued + 3600, "role": "admin", "sub": "hostile-admin", "aud": "hoss"}
    return jwt.encode(claims, SIGNING_KEY, algorithm="HS256")


def namespace_record(name: str) -> dict[str, Any]:
    return {"name": name, "description": "d", "object_store": OBJECT_STORE, "bucket_name": "b"}


class HostileServer:
    """A started server on a free loopback port (``url``), answering as ``mode`` says.

    ``seen`` lists every request it received. For ``pat-elsewhere`` and the redirect modes,
    ``elsewhere`` is a second, recording listener on another port (another origin): the auth
    service that discover names, or where the redirect points. ``minted`` holds every JWT
    issued, so that tests can look for them in hossctl's output.
    Stop it with ``stop()`` or by leaving the ``with`` block.
    """

    def __init__(self, mode: str = "normal", *, listener: str = "server", auth_service: str | None = None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
        self.mode = mode
        self.listener = listener
        self.seen: list[Seen] = []
        self.minted: list[str] = []
        self.pages_served = 0
        self.bytes_sent = 0
        # For drip and stall: how long hossctl waited on the request before it hung up. Measured
        # here, from the request's arrival, it is the request's deadline without start-up noise.
        self.held_s: list[float] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stop = threading.Event()
        # A second listener on another port (another origin) for the modes that point away.
        self.elsewhere: HostileServer | None = None
        if mode in ("pat-elsewhere", "redirect-exchange", "redirect-core"):
            self.elsewhere = HostileServer("normal", listener="elsewhere")
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if mode == "pat-elsewhere" and self.elsewhere is not None:
            auth_service = f"{self.elsewhere.url}/auth/v1"
        self.auth_service = auth_service or f"{self.url}/auth/v1"
        if mode == "gzip-bomb":  # built now, so that building it never counts in hossctl's time
            gzip_bomb()
        elif mode == "gzip-gzip-bomb":
            gzip_gzip_bomb()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self.elsewhere is not None:
            self.elsewhere.stop()

    def wait_idle(self, most: float) -> None:
        """Wait up to ``most`` seconds until no request is being answered. hossctl has exited
        when this is called, but a handler notices the hang-up only at its next poll, and the
        figures it records (``held_s``) must be in before anyone reads them."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=most)

    @property
    def all_seen(self) -> list[Seen]:
        """Requests at this server and at its second listener, if it has one."""
        return self.seen + (self.elsewhere.seen if self.elsewhere is not None else [])

    @property
    def secrets(self) -> list[str]:
        """Every JWT issued here or at the second listener."""
        return self.minted + (self.elsewhere.minted if self.elsewhere is not None else [])

    # -- what each request gets --------------------------------------------------------------

    def _answer(self, reply: _Reply, method: str, path: str, query: Mapping[str, list[str]]) -> None:
        mode = self.mode
        if mode == "not-hoss-404":
            return reply.raw(404, "text/html; charset=utf-8", NOT_HOSS_PAGE)
        if method == "GET" and path == "/core/v1/discover":
            return reply.json(200, {"version": VERSION, "auth_service": self.auth_service})
        if method == "POST" and path == PAT_EXCHANGE:
            return self._exchange(reply)
        if method == "GET" and path == "/core/v1/object_store/":
            return reply.json(200, [OBJECT_STORE] if _int(query, "offset") == 0 else None)
        if method == "GET" and path == NAMESPACE_LIST:
            return self._namespaces(reply, _int(query, "limit"), _int(query, "offset"))
        if method == "PUT" and path == "/core/v1/user/sync":
            return reply.raw(204, None, b"")
        # /core/v1/namespace/{ns}/sync and /core/v1/namespace/{ns}/dataset/
        parts = path.split("/")
        if method == "GET" and parts[:4] == ["", "core", "v1", "namespace"] and len(parts) in (6, 7):
            if parts[5:] == ["sync"]:
                return reply.json(200, [])
            if parts[5:] == ["dataset", ""]:
                return reply.json(200, self._datasets(unquote(parts[4])))
        return reply.json(404, {"error": "Resource not found"})

    def _datasets(self, name: str) -> list[dict[str, Any]]:
        if self.mode == "evil-names-blocked" and name == EVIL_NAMES[2]:
            record = {
                "sync_enabled": False,
                "sync_type": "simplex",
                "delete_status": "NOT_SCHEDULED",
                "sync_policy": "",
            }
            return [{"name": EVIL_DATASET, **record}]
        return []

    def _exchange(self, reply: _Reply) -> None:
        auth = reply.authorization or ""
        if self.mode == "echo-pat-at-180":
            return reply.json(500, {"error": FILLER + auth})
        if self.mode == "redirect-exchange" and self.elsewhere is not None:
            # 307 keeps the method and body: a client that followed would POST the PAT there.
            location = f"{self.elsewhere.url}{PAT_EXCHANGE}"
            return reply.raw(307, "text/plain", b"moved", headers=(("Location", location),))
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return reply.json(401, {"error": "Unauthorized"})
        token = mint_jwt()
        with self._lock:
            self.minted.append(token)
        return reply.json(201, {"id_token": token})

    def _namespaces(self, reply: _Reply, limit: int, offset: int) -> None:
        mode = self.mode
        with self._lock:
            self.pages_served += 1
            pages = self.pages_served
        if pages > MAX_PAGES_SERVED:
            return reply.json(500, {"error": "the hostile server's page cap was reached: the client loops"})
        auth = reply.authorization or ""
        token = auth.removeprefix("Bearer ")
        if mode == "endless-pages":
            # Always a full page of names never seen before, whatever limit is asked for.
            return reply.json(200, [namespace_record(f"ns-{offset + i:09d}") for i in range(max(1, limit))])
        if mode == "same-page":
            return reply.json(200, [namespace_record(f"same-{i:05d}") for i in range(max(1, limit))])
        if mode == "endless-chunked":
            return reply.chunked(200, JSON, _endless_json(self._stop))
        if mode == "drip":
            return reply.drip(200, JSON, self._stop)
        if mode == "huge-body":
            return reply.sized(200, JSON, HUGE_BODY_BYTES, _json_stream(HUGE_BODY_BYTES, self._stop))
        if mode == "huge-body-unsized":
            return reply.until_close(200, JSON, _json_stream(HUGE_BODY_BYTES, self._stop))
        if mode == "gzip-bomb":
            return reply.raw(200, JSON, gzip_bomb(), headers=(("Content-Encoding", "gzip"),))
        if mode == "bad-gzip":
            return reply.raw(200, JSON, b"[" + bytes(range(256)) * 4, headers=(("Content-Encoding", "gzip"),))
        if mode == "gzip-gzip-bomb":
            return reply.raw(200, JSON, gzip_gzip_bomb(), headers=(("Content-Encoding", "gzip, gzip"),))
        if mode == "stall":
            reply.hold(120.0)  # answer nothing, not even a status line, until hossctl hangs up
            return None
        if mode == "always-503":
            return reply.raw(503, "text/plain", b"busy", headers=(("Retry-After", "0"),))
        if mode == "redirect-core" and self.elsewhere is not None:
            location = f"{self.elsewhere.url}{NAMESPACE_LIST}"
            return reply.raw(302, "text/html", b"<a>moved</a>", headers=(("Location", location),))
        if mode == "echo-auth-at-180":
            return reply.json(500, {"error": FILLER + auth})
        if mode == "echo-auth-at-60-text":
            # A plain body is quoted up to 80 characters: at 60 the token straddles that cut.
            return reply.raw(500, "text/plain", (FILLER[:60] + auth).encode())
        if mode == "echo-jwt-500":
            return reply.json(500, {"error": f"invalid token {token}: signature rejected"})
        header, _, rest = token.partition(".")
        payload = rest.partition(".")[0]
        if mode == "echo-jwt-parts-500":  # no signature: the header and payload, joined and alone
            error = f"bad claims in {header}.{payload} (header {header}, payload {payload})"
            return reply.json(500, {"error": error})
        if mode == "echo-jwt-text-500":
            return reply.raw(500, "text/plain", f"{payload} {header} {token}".encode())
        if mode == "crlf-error":
            return reply.raw(500, "text/plain", CRLF_BODY.encode())
        if mode == "crlf-error-json":
            return reply.json(500, {"error": CRLF_BODY})
        names = EVIL_NAMES if mode.startswith("evil-names") else ("default",)
        records = [namespace_record(n) for n in names][offset : offset + max(1, limit)]
        return reply.json(200, records or None)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and chunked answers, as real servers do

            def _any(self) -> None:
                seen = Seen(server.listener, self.command, self.path, tuple(self.headers.items()))
                with server._lock:
                    server.seen.append(seen)
                    server._in_flight += 1
                try:
                    self._answer_one()
                finally:
                    with server._idle:
                        server._in_flight -= 1
                        server._idle.notify_all()

            def _answer_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if 0 < length <= MIB:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                reply = _Reply(self, server)
                try:
                    server._answer(reply, self.command, parts.path, parse_qs(parts.query))
                except _Disconnected:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                return None

        return Handler


def _int(query: Mapping[str, list[str]], key: str) -> int:
    try:
        return int(query.get(key, ["0"])[0])
    except ValueError:
        return 0


def _endless_json(stop: threading.Event) -> Iterator[bytes]:
    """``[`` and then namespace records forever (until STREAM_CAP_BYTES or ``stop``)."""
    record = (json.dumps(namespace_record("endless")) + ",").encode()
    block = record * (64 * 1024 // len(record))
    yield b"["
    sent = 1
    while sent < STREAM_CAP_BYTES and not stop.is_set():
        yield block
        sent += len(block)


def _json_stream(total: int, stop: threading.Event) -> Iterator[bytes]:
    """``total`` bytes of a JSON list of records, made 1 MiB at a time from one reused block."""
    record = (json.dumps(namespace_record("huge")) + ",").encode()
    block = (record * (MIB // len(record) + 1))[:MIB]
    yield b"["
    left = total - 2
    while left > 0 and not stop.is_set():
        piece = block if left >= len(block) else block[:left]
        yield piece
        left -= len(piece)
    yield b"]"


class _Reply:
    """Ways to answer one request; each stops when the client hangs up."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: HostileServer) -> None:
        self._h = handler
        self._server = server
        self._arrived = time.monotonic()
        self._hangup_recorded = False

    def _hung_up_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the client to close the connection; record when it did."""
        connection: socket.socket = self._h.connection
        readable, _, _ = select.select([connection], [], [], seconds)
        if not readable:
            return False
        try:
            closed = not connection.recv(1, socket.MSG_PEEK)
        except OSError:
            closed = True
        if closed:
            self._record_hangup()
        else:  # the client sent something (it should not have): do not spin on it
            time.sleep(seconds)
        return closed

    def _record_hangup(self) -> None:
        """Note once how long the client held this request before it hung up."""
        if not self._hangup_recorded:
            self._hangup_recorded = True
            with self._server._lock:
                self._server.held_s.append(time.monotonic() - self._arrived)

    def hold(self, most: float) -> None:
        """Answer nothing until the client hangs up, the server stops, or ``most`` seconds pass."""
        until = time.monotonic() + most
        while time.monotonic() < until and not self._server._stop.is_set():
            if self._hung_up_within(0.05):
                return

    @property
    def authorization(self) -> str | None:
        value: str | None = self._h.headers.get("Authorization")
        return value

    def _write(self, data: bytes) -> None:
        try:
            self._h.wfile.write(data)
        except OSError:  # BrokenPipe, ConnectionReset: hossctl stopped reading, as it should
            raise _Disconnected from None
        with self._server._lock:
            self._server.bytes_sent += len(data)

    def _head(self, status: int, content_type: str | None, headers: Iterable[tuple[str, str]]) -> None:
        self._h.send_response(status)
        if content_type:
            self._h.send_header("Content-Type", content_type)
        for name, value in headers:
            self._h.send_header(name, value)

    def raw(
        self, status: int, content_type: str | None, body: bytes, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        self._head(status, content_type, headers)
        if status not in (204, 304):
            self._h.send_header("Content-Length", str(len(body)))
        self._h.end_headers()
        if status not in (204, 304):
            self._write(body)

    def json(self, status: int, value: Any) -> None:
        self.raw(status, JSON, json.dumps(value).encode())

    def sized(self, status: int, content_type: str, length: int, chunks: Iterable[bytes]) -> None:
        """A body with an honest Content-Length, produced lazily."""
        self._head(status, content_type, [("Content-Length", str(length))])
        self._h.end_headers()
        for chunk in chunks:
            self._write(chunk)

    def until_close(self, status: int, content_type: str, chunks: Iterable[bytes]) -> None:
        """A body with neither length nor chunking: it ends when the connection closes."""
        self._h.close_connection = True
        self._head(status, content_type, [("Connection", "close")])
        self._h.end_headers()
        for chunk in chunks:
            self._write(chunk)

    def chunked(self, status: int, content_type: str, chunks: Iterable[bytes]) -> None:
        self._head(status, content_type, [("Transfer-Encoding", "chunked")])
        self._h.end_headers()
        for chunk in chunks:
            if chunk:
                self._write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self._write(b"0\r\n\r\n")

    def drip(self, status: int, content_type: str, stop: threading.Event) -> None:
        """A chunked body of one byte every DRIP_INTERVAL_S: every read succeeds, none finishes."""
        self._head(status, content_type, [("Transfer-Encoding", "chunked")])
        self._h.end_headers()
        self._write(b"1\r\n[\r\n")
        for _ in range(DRIP_MAX_BYTES):
            until = time.monotonic() + DRIP_INTERVAL_S
            while time.monotonic() < until:
                if stop.is_set() or self._hung_up_within(0.05):
                    raise _Disconnected
            try:
                self._write(b"1\r\n \r\n")
            except _Disconnected:  # the hang-up came between the poll and the write
                self._record_hangup()
                raise
        self._write(b"0\r\n\r\n")


# ---------------------------------------------------------------------------------------------
# Running hossctl against it


@dataclass(frozen=True)
class Run:
    """One finished hossctl process: its exit code, output, wall time and peak memory."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    wall_s: float
    peak_rss_mb: float
    killed: bool = False


def make_pat() -> str:
    """A PAT shaped like Hoss's: ``hp_`` and 30 letters and digits, different for every call."""
    alphabet = string.ascii_letters + string.digits
    return "hp_" + "".join(secrets.choice(alphabet) for _ in range(30))


def hossctl_env(pat: str) -> dict[str, str]:
    """The environment of a hossctl run: the PAT in PAT_ENV, no other Hoss credential, no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSS")}
    env.update({PAT_ENV: pat, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    return env


def write_config(directory: Path, url: str, *, evil: bool = False, auth_url: str | None = None) -> str:
    """A one-server config for ``url`` (JSON is YAML too).

    Normally it declares ``default`` exactly as the server lists it, so that a run that gets
    through reads "No changes."; for the evil-names modes it declares nothing and prunes, so
    that every hostile name shows up in the plan as a delete.
    """
    server: dict[str, Any] = {"url": url, "pat_env": PAT_ENV, "prune": evil}
    if auth_url is not None:
        server["auth_url"] = auth_url
    default = {"description": "d", "object_store": "default", "bucket": "b"}
    server["namespaces"] = {} if evil else {"default": default}
    path = directory / "hoss.yaml"
    path.write_text(json.dumps({"version": 1, "servers": {"hostile": server}}, indent=2), encoding="utf-8")
    return str(path)


def run_hossctl(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    kill_after: float = 60.0,
    tree: Path = REPO,
    fork: bool = True,
) -> Run:
    """``hossctl ARGS`` from ``tree``, measured: wall time and its own peak RSS. For this
    repository the run is a fork of tests/forkserver.py's warm process (the same entry point
    as the console script, without 0.4 s of imports). With ``fork`` False, or for another
    ``tree`` (an older hossctl), it runs as ``python -m hossctl``: what a benchmark compares.

    Peak RSS is the ``VmHWM`` of the process's own memory, polled from ``/proc`` while it runs
    (a high-water mark, so the last sample holds the peak). ``ru_maxrss`` is only the fallback:
    Linux folds the memory of the image a child replaced at ``exec`` into it, and with vfork
    that image is this (large) test process, so it would measure pytest, not hossctl. Output
    goes to files, not pipes, so a chatty process can never block on a full pipe while nothing
    reads it. A process still running after ``kill_after`` seconds is killed and reported as such.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        if fork and tree == REPO:  # a fork of a process that has imported it (tests/forkserver.py)
            with open(os.devnull, "rb") as stdin:
                run = fork_server(REPO).run(
                    list(args), dict(env), str(tree), (stdin.fileno(), out.fileno(), err.fileno())
                )
            pid = run.pid
            poll = run.poll
        else:
            process = subprocess.Popen(
                [sys.executable, "-m", "hossctl", *args], cwd=tree, env=dict(env), stdout=out, stderr=err
            )
            pid = process.pid

            def poll() -> Exited | None:
                done, status, usage = os.wait4(pid, os.WNOHANG)
                if done == 0:
                    return None
                process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
                return Exited(process.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)

        killed = False
        hwm_kb = 0
        while True:
            hwm_kb = max(hwm_kb, _vm_hwm_kb(pid))
            exited = poll()
            if exited is not None:
                break
            if not killed and time.perf_counter() - started > kill_after:
                os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.01)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    peak_kb = hwm_kb or exited.maxrss_kb
    return Run(tuple(args), exited.code, stdout, stderr, wall, peak_kb / 1024, killed)


def _vm_hwm_kb(pid: int) -> int:
    """The peak resident memory of ``pid``'s current image, in KiB (0 when /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def leaks(text: str, secrets: Iterable[str], window: int = 8) -> list[str]:
    """Every ``window``-character piece of a secret (at any position) that occurs in ``text``.

    Stricter than looking for whole secrets or their prefixes: a PAT cut anywhere, a JWT's
    header or payload on its own, a signature's tail, all show up here.
    """
    found: list[str] = []
    for secret in secrets:
        for start in range(max(0, len(secret) - window + 1)):
            piece = secret[start : start + window]
            if "." not in piece and piece in text:  # a JWT's dots only join its parts
                found.append(piece)
    return found


@dataclass(frozen=True)
class Case:
    """One hostile case that must end in one error line and exit 1.

    ``deadline_s`` is what the run may take by design beyond start-up: the ``--timeout`` it
    is given where the deadline is what ends it, the time to page up to MAX_LISTED, or 0
    for an answer refused as soon as it arrives. ``big`` cases may hold up to the 64 MiB body
    cap in memory; the others must stay near the baseline. ``expect`` is a phrase of the
    error line.
    """

    mode: str
    expect: str
    deadline_s: float = 0.0
    args: tuple[str, ...] = ()
    big: bool = False


SHORT_TIMEOUT = 3.0
_SHORT = ("--timeout", f"{SHORT_TIMEOUT:g}")
_LONG = ("--timeout", "30")  # these must end at the body cap, long before this deadline
_CAP = "sent a body larger than 64 MiB"
_READ_CAP_S = 2.0  # reading (and inflating) 64 MiB over loopback: about 0.4 s alone

CASES: dict[str, Case] = {
    c.mode: c
    for c in (
        Case("pat-elsewhere", "auth_url"),
        Case("endless-pages", "more than 200000 namespaces", 20.0, big=True),  # 6 s alone
        Case("same-page", "the same page as the previous offset"),
        Case("endless-chunked", _CAP, _READ_CAP_S, _LONG, big=True),
        Case("drip", f"timed out after {SHORT_TIMEOUT:g} s", SHORT_TIMEOUT, _SHORT),
        Case("huge-body", _CAP, 0.0, _LONG),
        Case("huge-body-unsized", _CAP, _READ_CAP_S, _LONG, big=True),
        Case("gzip-bomb", _CAP, _READ_CAP_S, _LONG, big=True),
        Case("gzip-gzip-bomb", _CAP, _READ_CAP_S, _LONG, big=True),
        Case("bad-gzip", "sent a body of invalid gzip data"),
        Case("stall", f"timed out after {SHORT_TIMEOUT:g} s", SHORT_TIMEOUT, _SHORT),
        Case("always-503", "answered 503", SHORT_TIMEOUT, _SHORT),
        Case("redirect-exchange", "answered 307"),
        Case("redirect-core", "answered 302"),
        Case("echo-auth-at-180", "answered 500"),
        Case("echo-auth-at-60-text", "answered 500"),
        Case("echo-pat-at-180", "answered 500"),
        Case("echo-jwt-500", "answered 500"),
        Case("echo-jwt-parts-500", "answered 500"),
        Case("echo-jwt-text-500", "answered 500"),
        Case("evil-names-blocked", "the plan has 1 safety violation"),
        Case("crlf-error", "answered 500"),
        Case("crlf-error-json", "answered 500"),
        Case("not-hoss-404", "answered 404"),
    )
}

# Every output hossctl has. A plan file and an export file are read back as outputs too.
FORMATS = ("text", "json", "markdown", "debug", "out", "export", "export-file", "apply")
PLAN_FILE = "hoss.plan"
EXPORT_FILE = "export.yaml"


def command(fmt: str, config: str, url: str, directory: Path, extra: Sequence[str] = ()) -> list[str]:
    """The hossctl arguments that produce output format ``fmt``."""
    plan = ["plan", "-f", config, *extra]
    export = ["export", "--server", f"hostile={url}", "--pat-env", f"hostile={PAT_ENV}", *extra]
    return {
        "text": plan,
        "json": [*plan, "--json"],
        "markdown": [*plan, "--markdown"],
        "debug": ["--debug", *plan],
        "out": [*plan, "--out", str(directory / PLAN_FILE)],
        "export": export,
        "export-file": [*export, "-o", str(directory / EXPORT_FILE)],
        "apply": ["apply", "-f", config, "--auto-approve", *extra],
    }[fmt]


@dataclass(frozen=True)
class Outcome:
    """One hossctl run against a fresh server in ``mode``: what it did and what the server saw."""

    mode: str
    fmt: str
    run: Run
    pat: str
    jwts: tuple[str, ...]  # every token the server(s) issued during the run
    seen: tuple[Seen, ...]  # every request, at the server and at its second listener
    files: Mapping[str, str]  # the plan or export file the run wrote, by name
    url: str
    elsewhere_url: str | None
    namespace_pages: int
    bytes_sent: int
    held_s: tuple[float, ...]

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.pat, *self.jwts)

    @property
    def outputs(self) -> str:
        """Everything the run wrote: stdout, stderr and files."""
        return "\n".join([self.run.stdout, self.run.stderr, *self.files.values()])


def execute(
    mode: str,
    fmt: str = "text",
    *,
    declare_auth_url: bool = False,
    tree: Path = REPO,
    kill_after: float = 60.0,
    fork: bool = True,
) -> Outcome:
    """Run hossctl once, in format ``fmt``, against a fresh server in ``mode`` and a fresh PAT
    (``fork``: see ``run_hossctl``)."""
    case = CASES.get(mode)
    pat = make_pat()
    with tempfile.TemporaryDirectory() as tmp, HostileServer(mode) as server:
        directory = Path(tmp)
        auth_url = server.elsewhere.url + "/auth/v1" if declare_auth_url and server.elsewhere else None
        config = write_config(directory, server.url, evil=mode.startswith("evil-names"), auth_url=auth_url)
        extra = case.args if case is not None else ()
        args = command(fmt, config, server.url, directory, extra)
        run = run_hossctl(args, hossctl_env(pat), kill_after=kill_after, tree=tree, fork=fork)
        server.wait_idle(5.0)
        written = (directory / PLAN_FILE, directory / EXPORT_FILE)
        files = {p.name: p.read_text("utf-8") for p in written if p.exists()}
        return Outcome(
            mode=mode,
            fmt=fmt,
            run=run,
            pat=pat,
            jwts=tuple(server.secrets),
            seen=tuple(server.all_seen),
            files=files,
            url=server.url,
            elsewhere_url=server.elsewhere.url if server.elsewhere else None,
            namespace_pages=server.pages_served,
            bytes_sent=server.bytes_sent,
            held_s=tuple(server.held_s),
        )
