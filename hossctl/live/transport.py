"""The one place hossctl talks HTTP: connections, deadlines, body limits and the one retry policy.

Everything a server sends is hostile until checked, so every request here is bounded:
a total deadline (not just a per-read timeout, which a body dripping one byte every few
seconds never trips), a cap on the body size (counted after content decoding, so a
compressed bomb is cut too, and inflated a bounded step at a time: see ``_Decoder``), and a
retry policy whose budget is shared by the whole run.
Redirects are never followed: a credential must not travel to wherever a server points.

HTTP itself is httpx's: its connection layer, httpcore, with h11 reading every answer.
hossctl drives httpcore's HTTP/1.1 connection through its public API and keeps its own small
pool (``_Connection``), because the layers above it cost more CPU per request than the
request itself (issue 15, BENCHMARKS.md): httpx's models and URL parsing, the connection
pool's bookkeeping, and anyio's socket streams, which wrap every read and write in cancel
scopes and exception maps. hossctl only runs on asyncio and bounds each request with one
total deadline, so httpcore reads and writes plain asyncio streams here (``_Stream``).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import logging
import os
import random
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import anyio
import httpcore

from hossctl import __version__
from hossctl.errors import HossctlError

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
# Idle connections older than this are opened anew rather than reused (httpx's default), so a
# server or proxy that drops idle connections rarely meets a request on one it just closed.
KEEPALIVE_S = 5.0
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
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
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
    """One verifying TLS context per CA source, shared by every connection (building one is slow).

    It offers only HTTP/1.1 by ALPN: that is the protocol ``_Connection`` speaks.
    """
    context = _load_context(ca_bundle)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _load_context(ca_bundle: str | None) -> ssl.SSLContext:
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
    return isinstance(exc, httpcore.ConnectError | httpcore.ConnectTimeout)


# What httpcore raises when a request gets no usable answer: the network failed, or the server
# broke HTTP (h11's verdict on what it sent). Anything else is a bug and is not retried.
_HTTP_ERRORS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may not stand in an HTTP request target as they are (h11 refuses them).
_UNSAFE_TARGET = re.compile(r'[^\x21-\x7e]|["<>\\^`{|}]')


class _BadURL(ValueError):
    pass


@functools.lru_cache(maxsize=64)
def _origin(prefix: str) -> tuple[httpcore.Origin, bytes]:
    """The origin of ``scheme://host[:port]`` and its Host header, parsed once per origin."""
    try:
        parts = urlsplit(prefix)
        port = parts.port
    except ValueError:
        raise _BadURL(prefix) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        raise _BadURL(prefix)
    try:
        raw = host.encode("ascii") if host.isascii() else host.encode("idna")
    except UnicodeError:
        raise _BadURL(prefix) from None
    shown = b"[" + raw + b"]" if b":" in raw else raw
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        shown += b":%d" % port
    return httpcore.Origin(scheme.encode("ascii"), raw, port or _DEFAULT_PORTS[scheme]), shown


def _locate(url: str) -> tuple[httpcore.URL, bytes]:
    """The httpcore URL of ``url`` and its Host header.

    hossctl's own URLs (canonical base URLs, quoted path segments, integer queries) need no
    more than a split; a path from elsewhere (an auth service URL a server advertised) is
    percent-encoded where HTTP needs it, and a fragment is never sent.
    """
    at = url.find("://")
    slash = url.find("/", at + 3) if at > 0 else -1
    origin, host = _origin(url if slash < 0 else url[:slash])
    target = "/" if slash < 0 else url[slash:].partition("#")[0]
    if _UNSAFE_TARGET.search(target):
        target = quote(target, safe="/%:@!$&'()*+,;=?~-._")
    return httpcore.URL(scheme=origin.scheme, host=origin.host, port=origin.port, target=target), host


def _answer_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class _Stream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection as httpcore reads and writes it, on asyncio's own streams.

    httpcore's default, anyio's streams, wraps every read and write in a cancel scope, an
    exception map and a checkpoint; hossctl needs none of that, since a request's one total
    deadline (``asyncio.timeout`` in ``Transport.send``) bounds every step. So httpcore's
    per-operation ``timeout`` is never set by hossctl and is not read here.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await self._reader.read(max_bytes)
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            await self._writer.drain()
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of an idle connection: has the server closed it?
            return self._reader.at_eof() or self._writer.is_closing()
        if info in ("ssl_object", "socket"):
            return self._writer.get_extra_info(info)
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        return None


class _Connection:
    """One keep-alive connection: httpcore's HTTP/1.1 connection over a ``_Stream``.

    It is opened on first use, and again when the next request goes to another origin (the
    auth service, or the next probed server), when the server closed it, or when the last
    request broke it; httpcore's connection says which (``is_idle``, ``has_expired``).
    """

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl = ssl_context
        self._http: httpcore.AsyncHTTP11Connection | None = None

    async def send(self, request: httpcore.Request) -> httpcore.Response:
        http = self._http
        origin = request.url.origin
        if http is None or not http.is_idle() or http.has_expired() or not http.can_handle_request(origin):
            if http is not None:
                await http.aclose()
            self._http = http = await self._open(origin)
        return await http.handle_async_request(request)

    async def _open(self, origin: httpcore.Origin) -> httpcore.AsyncHTTP11Connection:
        host = origin.host.decode("ascii")
        tls = self._ssl if origin.scheme == b"https" else None
        try:
            reader, writer = await asyncio.open_connection(
                host, origin.port, ssl=tls, server_hostname=host if tls else None, happy_eyeballs_delay=0.25
            )
        except OSError as exc:  # refused, unresolvable, unreachable, TLS (ssl.SSLError)
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return httpcore.AsyncHTTP11Connection(origin, _Stream(reader, writer), keepalive_expiry=KEEPALIVE_S)

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()


def load_lock_backend() -> None:
    """Import now what httpcore's first lock would import: anyio's asyncio backend.

    That is some 25 ms of imports (twice that on a busy machine), and they would otherwise
    happen inside the first request, counting against its deadline and delaying every read
    after it. Call it on the running event loop, before the first request.
    """
    anyio.Lock()


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
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._large = large_body_slot if large_body_slot is not None else asyncio.Semaphore(1)
        self._slots = asyncio.Semaphore(max(1, connections))
        self._all: list[_Connection] = []
        self._idle: list[_Connection] = []
        self._headers = [(b"User-Agent", f"hossctl/{__version__}".encode()), (b"Accept", b"application/json")]

    async def aclose(self) -> None:
        connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            await connection.aclose()

    def delay(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self._backoff_base, cap=self._backoff_cap)

    def _request(self, method: str, url: str, json_body: Any, bearer: str | None) -> httpcore.Request:
        target, host = _locate(url)
        headers = [(b"Host", host), *self._headers]
        if bearer is not None:
            headers.append((b"Authorization", b"Bearer " + bearer.encode("ascii")))
        content: bytes | None = None
        if json_body is not None:
            # As httpx encodes ``json=``: compact, UTF-8, and no NaN (which is not JSON).
            text = json.dumps(json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            content = text.encode()
            headers.append((b"Content-Type", b"application/json"))
        if content is not None or method in ("POST", "PUT", "PATCH"):
            headers.append((b"Content-Length", b"%d" % len(content or b"")))
        return httpcore.Request(method, target, headers=headers, content=content)

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
        shown = url if not params else f"{url}?{'&'.join(f'{k}={int(v)}' for k, v in params.items())}"
        try:
            request = self._request(method, shown, json_body, bearer)
        except _BadURL:
            raise TransportFailure("cannot be requested: not an http(s) URL", attempts=1) from None
        except UnicodeEncodeError:  # never shown: the value may be the credential
            raise TransportFailure("cannot be sent: the credential is not ASCII text", attempts=1) from None
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
            except _HTTP_ERRORS as exc:
                took = (time.perf_counter() - started) * 1000
                log.debug("%s %s -> %s (%.1f ms)", method, shown, type(exc).__name__, took)
                tls = _tls_failure(exc)
                # h11 refusing what hossctl would send: its text may quote a header (the credential),
                # and sending it again cannot help.
                local = isinstance(exc, httpcore.LocalProtocolError)
                detail = str(exc).strip() or type(exc).__name__
                if local:
                    detail = "hossctl could not write the request"
                cause = "TLS certificate verification failed" if tls else f"connection failed ({detail})"
                failure = TransportFailure(cause, attempts=attempt + 1, tls=tls)
                retryable = not tls and not local and (retry != "unsent-only" or _unsent(exc))
                if not retryable or not self._may_retry(attempt, deadline - loop.time()):
                    raise failure from None
                replayed = replayed or not _unsent(exc)
            else:
                self.answered = True
                took = (time.perf_counter() - started) * 1000
                log.debug("%s %s -> %d (%.1f ms)", method, shown, status, took)
                if status in RETRY_STATUSES and retry != "unsent-only":
                    hinted = retry_after_seconds(response_headers.get("retry-after"), self._backoff_cap)
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

    async def _attempt(self, request: httpcore.Request) -> tuple[int, dict[str, str], bytes]:
        """One exchange on a pooled connection: the most recently used idle one (the warmest),
        or a new one while fewer than ``connections`` exist."""
        await self._slots.acquire()
        if self._idle:
            connection = self._idle.pop()
        else:
            connection = _Connection(self._verify)
            self._all.append(connection)
        try:
            response = await connection.send(request)
            try:
                headers = _answer_headers(response.headers)
                stream = response.stream
                assert isinstance(stream, AsyncIterable)  # httpcore's async connections stream so
                body = await self._read_body(headers, stream)
            finally:
                await response.aclose()
        finally:
            self._idle.append(connection)
            self._slots.release()
        return response.status, headers, body

    async def _read_body(self, headers: Mapping[str, str], raw: AsyncIterable[bytes]) -> bytes:
        """The decoded body, stopping at ``max_body``; big bodies take turns (see FREE_BODY_BYTES).

        Both what arrives and what it decodes to count against ``max_body``; decoding is
        ``_Decoder``'s, in bounded steps, never httpx's inflate-a-whole-read.
        """
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _BodyTooLarge
        encoding = headers.get("content-encoding")
        decoder = None if encoding is None else _Decoder(encoding)
        body = _Body(self.max_body, self._large)
        received = 0
        try:
            async for piece in raw:
                received += len(piece)
                if received > self.max_body:
                    raise _BodyTooLarge
                if decoder is None:
                    await body.add(piece)
                else:
                    for part in decoder.feed(piece):
                        await body.add(part)
            for part in () if decoder is None else decoder.finish():
                await body.add(part)
        finally:
            body.release()
        return body.joined()


class _Body:
    """One decoded body as it grows: counted against the cap, holding the large-body slot past
    FREE_BODY_BYTES, so that one huge body at a time is read however many requests are open."""

    def __init__(self, cap: int, large: asyncio.Semaphore) -> None:
        self._cap = cap
        self._large = large
        self._holding = False
        self._size = 0
        self._chunks: list[bytes] = []

    async def add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._cap:
            raise _BodyTooLarge
        if self._size > FREE_BODY_BYTES and not self._holding:
            await self._large.acquire()
            self._holding = True
        self._chunks.append(piece)

    def release(self) -> None:
        if self._holding:
            self._holding = False
            self._large.release()

    def joined(self) -> bytes:
        return self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
