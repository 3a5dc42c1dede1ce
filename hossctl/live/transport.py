"""The one place hossctl talks HTTP: connections, deadlines, body limits and the one retry policy.

Everything a server sends is hostile until checked, so every request here is bounded:
a total deadline (not just a per-read timeout, which a body dripping one byte every few
seconds never trips), a cap on the body size (counted after content decoding, so a
compressed bomb is cut too, and inflated a bounded step at a time: see ``_Decoder``), and a
retry policy whose budget is shared by the whole run.
Redirects are never followed: a credential must not travel to wherever a server points.

It uses httpx's public transport API directly (``AsyncHTTPTransport.handle_async_request``)
rather than ``httpx.AsyncClient``: hossctl needs no cookies, redirects or auth flows, and
skipping that layer skips its per-request work. Each connection is its own transport with
one connection, because httpcore's pool bookkeeping grows with the pool's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import random
import ssl
import sys
import time
import types
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from hossctl import __version__
from hossctl.errors import HossctlError

# httpx's package imports its command-line tool, which imports rich and pygments (some 70
# modules, about 0.1 s of CPU) whenever they are installed, as they are next to hoss-client.
# hossctl never runs that tool. An empty module in its place makes httpx take the path it
# documents for "CLI extras not installed" (``from ._main import main`` raises ImportError).
sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))
import httpx  # noqa: E402

log = logging.getLogger("hossctl.http")

DEFAULT_TIMEOUT_S = 60.0
MAX_BODY_BYTES = 64 * 1024 * 1024
# Bodies up to this size are read freely; a larger one waits for the one "large body" slot,
# so a server answering every concurrent request with a huge body cannot multiply memory.
FREE_BODY_BYTES = 1024 * 1024
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.1
BACKOFF_CAP = 2.0
# A compressed body is inflated at most this much at a time (per coding layer), so the size cap
# is checked between steps; decodings are layered at most MAX_CODINGS deep.
INFLATE_STEP = 1024 * 1024
MAX_CODINGS = 2
# A server that has never answered (refused, unresolvable, TLS failure) is down, not flaky:
# this many attempts, then one clear error, instead of spending the run's retry budget.
UNANSWERED_ATTEMPTS = 4

Retry = Literal["idempotent", "replayable", "unsent-only"]


def backoff_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before retry number ``attempt`` (0-based): equal jitter over an exponential ceiling.

    Half the ceiling is fixed so retries always back off; the other half is random so
    parallel requests hitting the same overloaded server do not retry in lock step.
    """
    ceiling = min(cap, base * float(2 ** min(attempt, 30)))
    return ceiling / 2 + rand() * ceiling / 2


def retry_after_seconds(value: str | None, cap: float = BACKOFF_CAP) -> float | None:
    """A numeric Retry-After header, capped; HTTP dates are ignored (the jitter suffices)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def is_loopback(host: str) -> bool:
    """Whether a URL host is this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, with the default port filled in; ("", "", 0) when
    it is not one (a server may send anything as a URL)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return "", "", 0
    if scheme not in ("http", "https"):
        return "", "", 0
    return scheme, (parts.hostname or "").lower(), port


class RetryBudget:
    """Retries shared by every request of one run, on every server.

    A fixed number of retries per request makes a long run at a high fault rate almost
    sure to fail somewhere (1,000 reads at 50 % faults with 5 attempts each lose about 30).
    Here every request earns ``per_request`` retries for the whole run, which starts with
    ``initial``: at any fault rate below about two in three, the budget grows and the run
    keeps going; a server that fails nearly everything exhausts it and the run stops.
    """

    def __init__(self, *, initial: float = 20.0, per_request: float = 2.0, ceiling: float = 2000.0) -> None:
        self.tokens = initial
        self.per_request = per_request
        self.ceiling = ceiling
        self.retries = 0  # observable in tests and benchmarks

    def earn(self) -> None:
        self.tokens = min(self.ceiling, self.tokens + self.per_request)

    def spend(self) -> bool:
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        self.retries += 1
        return True


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer. ``replayed``: an earlier attempt of this request may have
    reached the server (its answer was lost), so a create meeting 403 may be its own."""

    status: int
    headers: httpx.Headers
    body: bytes
    attempts: int
    replayed: bool

    @property
    def content_type(self) -> str | None:
        value: str | None = self.headers.get("content-type")
        return value

    @property
    def shown_type(self) -> str:
        """The content type as a message shows it (cut, and quoted if it is not printable)."""
        ctype = self.content_type
        if ctype is None:
            return "no Content-Type"
        cut = ctype[:80]
        return f"Content-Type {cut if cut.isprintable() else repr(cut)}"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class TransportFailure(Exception):
    """No usable answer: the connection failed, the deadline passed or the body was too large.

    ``cause`` is a short phrase for a message ("timed out after 60 s"); ``tls`` marks a
    certificate problem, which no retry fixes. Callers turn it into a user-facing error.
    """

    def __init__(self, cause: str, *, attempts: int, tls: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.attempts = attempts
        self.tls = tls


class _BodyTooLarge(Exception):
    pass


class _BadEncoding(Exception):
    """The body's Content-Encoding is unknown or stacked too deep, or the body does not decode.

    ``cause`` reads after "server 'x' " in a message, like the body-size cause.
    """

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class _Inflater:
    """One gzip or deflate layer, handing on at most INFLATE_STEP bytes per piece."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._gzip = coding in ("gzip", "x-gzip")
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = True

    def inflate(self, data: bytes) -> Iterator[bytes]:
        while not self._z.eof:  # what follows the end of the stream is dropped, not kept
            try:
                out = self._z.decompress(data, INFLATE_STEP)
            except zlib.error:
                if self._first and not self._gzip:
                    # "deflate" sent raw, without its zlib wrapper, as some servers do.
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                cause = f"sent a body of invalid {self._coding} data (its Content-Encoding)"
                raise _BadEncoding(cause) from None
            self._first = False
            data = self._z.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < INFLATE_STEP:
                return

    def finish(self) -> Iterator[bytes]:
        yield from self.inflate(b"")
        # Nothing is pending after a short step: this only ends a stream that was cut short.
        rest = b"" if self._z.eof else self._z.flush()
        if rest:
            yield rest


class _Decoder:
    """Undoes a body's Content-Encoding without inflating more than INFLATE_STEP at once.

    httpx's own decoders inflate each network read in one call, so a 2 KB body sent as
    ``Content-Encoding: gzip, gzip`` became a gigabyte before any size check could see it
    (measured: 2 GB peak RSS against the hostile server). Here every layer hands on bounded
    pieces and the caller counts each one, so memory stays at the cap plus a step per layer.
    A body in a coding hossctl does not know is an error rather than read as plain text: it
    could not be trusted either way (an empty body in one is just empty). hossctl sends no
    Accept-Encoding, so a real server compresses nothing; a proxy in between might, with
    gzip or deflate.
    """

    def __init__(self, header: str | None) -> None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        shown = repr((header or "")[:40])
        self._refused: str | None = None
        if len(codings) > MAX_CODINGS:
            self._refused = f"sent a body encoded {len(codings)} times over (Content-Encoding {shown})"
        elif any(coding not in ("gzip", "x-gzip", "deflate") for coding in codings):
            self._refused = f"sent a body in a Content-Encoding hossctl cannot decode ({shown})"
        # Codings are listed in the order they were applied: the last is undone first.
        self._layers = [] if self._refused else [_Inflater(coding) for coding in reversed(codings)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._refused is not None and data:
            raise _BadEncoding(self._refused)
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        for index, layer in enumerate(self._layers):
            for piece in layer.finish():
                yield from self._through(index + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            if data:
                yield data
            return
        for piece in self._layers[index].inflate(data):
            yield from self._through(index + 1, piece)


@functools.lru_cache(maxsize=8)
def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context per CA source, shared by every connection (building one is slow)."""
    try:
        if ca_bundle:
            if not os.path.isfile(ca_bundle):
                raise HossctlError(f"CA bundle '{ca_bundle}' does not exist: pass a PEM file to --ca-bundle")
            return ssl.create_default_context(cafile=ca_bundle)
        if os.environ.get("SSL_CERT_FILE"):
            return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        if os.environ.get("SSL_CERT_DIR"):
            return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except (ssl.SSLError, OSError) as exc:
        source = f"'{ca_bundle}'" if ca_bundle else "$SSL_CERT_FILE/$SSL_CERT_DIR"
        raise HossctlError(
            f"cannot load the CA certificates from {source} ({exc.__class__.__name__}): "
            "point it at a readable PEM bundle"
        ) from None


def _tls_failure(exc: BaseException) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(exc.__cause__, ssl.SSLError)


def _unsent(exc: BaseException) -> bool:
    """A failure that proves the request never reached the server (safe to send again)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


class Transport:
    """Connections to one server (and its auth service), with deadlines, limits and retries."""

    def __init__(
        self,
        *,
        connections: int = 16,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_body: int = MAX_BODY_BYTES,
        ca_bundle: str | None = None,
        budget: RetryBudget | None = None,
        large_body_slot: asyncio.Semaphore | None = None,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
    ) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self.budget = budget if budget is not None else RetryBudget()
        self.answered = False  # has this server ever answered at all (any status)?
        self._verify = ssl_context(ca_bundle)
        self._size = max(1, connections)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._large = large_body_slot if large_body_slot is not None else asyncio.Semaphore(1)
        self._all: list[httpx.AsyncHTTPTransport] = []
        self._idle: list[httpx.AsyncHTTPTransport] = []
        self._released = asyncio.Condition()
        self._headers = {"User-Agent": f"hossctl/{__version__}", "Accept": "application/json"}

    async def aclose(self) -> None:
        connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.aclose()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[httpx.AsyncHTTPTransport]:
        """Borrow an idle connection (the most recently used: it is the warmest), or open one."""
        async with self._released:
            while not self._idle and len(self._all) >= self._size:
                await self._released.wait()
            if self._idle:
                connection = self._idle.pop()
            else:
                connection = httpx.AsyncHTTPTransport(
                    verify=self._verify,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    retries=0,
                )
                self._all.append(connection)
        try:
            yield connection
        finally:
            async with self._released:
                self._idle.append(connection)
                self._released.notify()

    def delay(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self._backoff_base, cap=self._backoff_cap)

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, int] | None = None,
        json_body: Any = None,
        bearer: str | None = None,
        retry: Retry = "idempotent",
    ) -> Answer:
        """One request, retried as ``retry`` allows, within one total deadline.

        ``idempotent``: retried on any connection failure and on 429/502/503/504.
        ``replayable``: the same, for a non-idempotent request whose replay the caller can
        recognise (a create meeting 403 is read back). ``unsent-only``: retried only when
        the request surely never reached the server.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        headers = dict(self._headers)
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        request = httpx.Request(method, url, params=params, json=json_body, headers=headers)
        shown = str(request.url)
        self.budget.earn()
        attempt = 0
        replayed = False
        while True:
            started = time.perf_counter()
            failure: TransportFailure | None = None
            try:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    status, response_headers, body = await self._attempt(request)
            except TimeoutError:
                log.debug("%s %s -> timeout (%.1f ms)", method, shown, (time.perf_counter() - started) * 1000)
                raise TransportFailure(f"timed out after {self.timeout:g} s", attempts=attempt + 1) from None
            except _BodyTooLarge:
                raise TransportFailure(
                    f"sent a body larger than {self.max_body // (1024 * 1024)} MiB", attempts=attempt + 1
                ) from None
            except _BadEncoding as exc:
                raise TransportFailure(exc.cause, attempts=attempt + 1) from None
            except httpx.TransportError as exc:
                took = (time.perf_counter() - started) * 1000
                log.debug("%s %s -> %s (%.1f ms)", method, shown, type(exc).__name__, took)
                tls = _tls_failure(exc)
                detail = str(exc).strip() or type(exc).__name__
                cause = "TLS certificate verification failed" if tls else f"connection failed ({detail})"
                failure = TransportFailure(cause, attempts=attempt + 1, tls=tls)
                retryable = not tls and (retry != "unsent-only" or _unsent(exc))
                if not retryable or not self._may_retry(attempt, deadline - loop.time()):
                    raise failure from None
                replayed = replayed or not _unsent(exc)
            else:
                self.answered = True
                took = (time.perf_counter() - started) * 1000
                log.debug("%s %s -> %d (%.1f ms)", method, shown, status, took)
                if status in RETRY_STATUSES and retry != "unsent-only":
                    hinted = retry_after_seconds(response_headers.get("Retry-After"), self._backoff_cap)
                    wait = max(self.delay(attempt), hinted or 0.0)
                    if self._may_retry(attempt, deadline - loop.time() - wait):
                        # A gateway's 502/504 may have passed the request on: a replay is possible.
                        replayed = replayed or status in (502, 504)
                        await asyncio.sleep(wait)
                        attempt += 1
                        continue
                return Answer(status, response_headers, body, attempt + 1, replayed)
            await asyncio.sleep(min(self.delay(attempt), max(0.0, deadline - loop.time())))
            attempt += 1

    def _may_retry(self, attempt: int, remaining: float) -> bool:
        if remaining <= 0:
            return False
        if not self.answered and attempt + 1 >= UNANSWERED_ATTEMPTS:
            return False
        return self.budget.spend()

    async def _attempt(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        async with self._connection() as connection:
            response = await connection.handle_async_request(request)
            try:
                body = await self._read_body(response)
            finally:
                await response.aclose()
        return response.status_code, response.headers, body

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, stopping at ``max_body``; big bodies take turns (see FREE_BODY_BYTES).

        Both what arrives and what it decodes to count against ``max_body``; decoding is
        ``_Decoder``'s, in bounded steps, never httpx's inflate-a-whole-read.
        """
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _BodyTooLarge
        decoder = _Decoder(response.headers.get("content-encoding"))
        chunks: list[bytes] = []
        size = 0
        received = 0
        holding = False

        async def keep(pieces: Iterator[bytes]) -> None:
            nonlocal size, holding
            for piece in pieces:
                size += len(piece)
                if size > self.max_body:
                    raise _BodyTooLarge
                if size > FREE_BODY_BYTES and not holding:
                    await self._large.acquire()
                    holding = True
                chunks.append(piece)

        try:
            async for raw in response.aiter_raw():
                received += len(raw)
                if received > self.max_body:
                    raise _BodyTooLarge
                await keep(decoder.feed(raw))
            await keep(decoder.finish())
        finally:
            if holding:
                self._large.release()
        return b"".join(chunks)
