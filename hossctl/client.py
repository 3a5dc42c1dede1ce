"""An async client for one Hoss server's core API, shared by plan, apply and export.

It exists because the official client is unsafe for a reconciler (hoss-api.md §10): its
lists stop at 25 entries, it never quotes path segments, and it fails on ``null`` pages.
Here every call has a timeout, idempotent calls are retried with jittered backoff,
lists are paged explicitly, and every failure becomes one sentence naming the server,
the request and what to do. No message, log line or exception ever carries a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import random
import re
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from hossctl import wire
from hossctl.auth import TokenFormatError, redact, token_role, token_times
from hossctl.errors import HossctlError
from hossctl.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget
from hossctl.urls import CORE_PATH, InvalidURL, is_addressable
from hossctl.urls import base_url as _base_of

if TYPE_CHECKING:
    from hossctl.model import Server

PAGE_SIZE = 500
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.1
BACKOFF_CAP = 2.0
SUPPORTED_VERSIONS = "0.2.x"
JWT_ENV = "HOSS_JWT"
PROBE_TIMEOUT = 5.0
BODY_EXCERPT_CHARS = 80
NOT_FOUND_ERROR = "Resource not found"

T = TypeVar("T")

_SUPPORTED_VERSION_RE = re.compile(r"0\.2\.\d+")


class HossApiError(HossctlError):
    """A non-2xx answer (after retries). ``error`` is the server's ``error`` field, if any."""

    def __init__(
        self, message: str, *, server: str, status: int, error: str | None, method: str, path: str
    ) -> None:
        super().__init__(message)
        self.server = server
        self.status = status
        self.error = error
        self.method = method
        self.path = path

    @property
    def not_found(self) -> bool:
        """The core's own answer for a record that does not exist (§3).

        A 404 with any other body (gin's plain-text ``404 page not found`` for an unknown route,
        a proxy's page) says nothing about the record, so it must not be read as "gone".
        """
        return self.status == 404 and self.error == NOT_FOUND_ERROR


class MalformedAnswerError(HossApiError):
    """A 2xx answer hossctl cannot trust: not JSON, or JSON not shaped as the real server sends it.

    It is never read as empty or as a default: a proxy's login page in place of a dataset list
    would otherwise pass the emptiness check of a namespace delete. ``problem`` is what was
    wrong, without the server and request that the message adds.
    """

    def __init__(
        self, message: str, *, server: str, status: int, method: str, path: str, problem: str
    ) -> None:
        super().__init__(message, server=server, status=status, error=None, method=method, path=path)
        self.problem = problem


class ServerUnreachableError(HossctlError):
    """The connection failed or timed out on every attempt."""

    def __init__(self, message: str, *, server: str, url: str) -> None:
        super().__init__(message)
        self.server = server
        self.url = url


class AuthenticationError(HossctlError):
    """No credential, or the PAT/JWT was rejected."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class UnsupportedVersionError(HossctlError):
    """The server's discover reports a version hossctl was not built for."""


class UnaddressableNameError(HossctlError):
    """A name the server lists but whose URL it cannot route (it contains '/' or is empty)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers (unit tested)


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
    ceiling = min(cap, base * float(2**attempt))
    return ceiling / 2 + rand() * ceiling / 2


def quote_segment(segment: str) -> str:
    """Percent-encode one path segment, dots included, so ``.``/``..`` are not collapsed."""
    quoted = quote(segment, safe="")
    if quoted in (".", ".."):
        quoted = quoted.replace(".", "%2E")
    return quoted


def core_path(*segments: str, collection: bool = False) -> str:
    """Path below the core URL: literal route parts and quoted names alternate.

    Segments are given raw; even-indexed ones are route words (``namespace``, ``sync``),
    odd-indexed ones user data. Collection routes take the trailing slash the server needs.
    """
    parts = [seg if i % 2 == 0 else quote_segment(seg) for i, seg in enumerate(segments)]
    return "/".join(parts) + ("/" if collection else "")


def version_supported(version: str) -> bool:
    return _SUPPORTED_VERSION_RE.fullmatch(version.strip()) is not None


def retry_after_seconds(value: str | None, cap: float = BACKOFF_CAP) -> float | None:
    """A numeric Retry-After header, capped; HTTP dates are ignored (the jitter suffices)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), cap)


def is_json_content_type(value: str | None) -> bool:
    """Whether a Content-Type header is JSON (``application/json``, parameters allowed).

    The real server writes every JSON answer with gin's ``c.JSON``, which always sets it;
    anything else at a JSON endpoint is a proxy, an error page or another service.
    """
    return value is not None and value.split(";", 1)[0].strip().lower() == "application/json"


def body_excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of a body, quoted, with control characters escaped.

    ``repr`` escaping keeps newlines and terminal escape sequences of a hostile body out of
    the one-line error; an ellipsis marks a cut.
    """
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def with_query(url: str, params: Mapping[str, int] | None) -> str:
    """The URL as shown in messages and debug lines, its query included (paging offsets matter)."""
    return url if not params else f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}"


def error_field(resp: httpx.Response) -> str | None:
    """The Hoss ``{"error": "..."}`` text, or a short plain-text body, or None when empty."""
    text = resp.text.strip()
    if not text:
        return None
    try:
        body = resp.json()
    except ValueError:
        return text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:200]
    return text[:200]


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context per CA source, shared by every client (building one is slow)."""
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


class _NoCookies(httpx.Cookies):
    """A cookie jar that skips its work when a response sets no cookie (Hoss never does).

    httpx builds urllib request/response adapters for every response to feed its jar, a
    fifth of the client's CPU per request; skipping it for cookie-less responses changes nothing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def _debug_line(method: str, url: str, outcome: str, seconds: float) -> None:
    sys.stderr.write(f"debug: {method} {url} -> {outcome} ({seconds * 1000:.1f} ms)\n")
    sys.stderr.flush()


def _tls_failure(exc: httpx.TransportError) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(exc.__cause__, ssl.SSLError)


def _transport_cause(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    detail = str(exc).strip()
    if _tls_failure(exc):
        return "TLS certificate verification failed"
    return f"connection failed ({detail or exc.__class__.__name__})"


# ---------------------------------------------------------------------------------------------


class HossClient:
    """One server's core API over one pooled httpx.AsyncClient."""

    def __init__(
        self,
        *,
        server: str,
        base_url: str,
        pat: str | None = None,
        jwt: str | None = None,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        debug: bool = False,
        pat_env: str = "HOSS_PAT",
        parallelism: int = 16,
        page_size: int = PAGE_SIZE,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = server
        try:
            self.base_url = _base_of(base_url)
        except InvalidURL:
            raise HossctlError(f"server '{server}' has an invalid URL: use https://host[:port]") from None
        self.core_url = self.base_url + CORE_PATH
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.debug = debug
        self.pat_env = pat_env
        self.page_size = max(1, page_size)
        self._pat = pat or None
        self._static_jwt = jwt or None
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._clock = clock
        self._token: str | None = None
        self._role: str | None = None  # the token's role claim, read when the token is obtained
        self._token_deadline = 0.0
        self._token_lock = asyncio.Lock()
        self._discover: dict[str, Any] | None = None
        self._discover_lock = asyncio.Lock()
        self.exchanges = 0  # how many PAT exchanges this client made (observable in tests)
        # A pool of single-connection httpx clients rather than one client with N connections:
        # httpcore's pool bookkeeping is quadratic in its connection count and cost ~1.4 ms of
        # CPU per request at 16 connections, more than the request itself.
        self._size = max(1, parallelism)
        self._verify = _ssl_context(ca_bundle)
        self._connections: list[httpx.AsyncClient] = []
        self._idle: list[httpx.AsyncClient] = []
        self._released = asyncio.Condition()

    async def __aenter__(self) -> HossClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        connections, self._connections, self._idle = self._connections, [], []
        for http in connections:
            await http.aclose()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[httpx.AsyncClient]:
        """Borrow an idle connection (the most recently used: it is the warmest), or open one."""
        async with self._released:
            while not self._idle and len(self._connections) >= self._size:
                await self._released.wait()
            if self._idle:
                http = self._idle.pop()
            else:
                http = httpx.AsyncClient(
                    verify=self._verify,
                    timeout=httpx.Timeout(self.timeout),
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    follow_redirects=False,
                )
                if isinstance(getattr(http, "_cookies", None), httpx.Cookies):
                    http._cookies = _NoCookies()
                self._connections.append(http)
        try:
            yield http
        finally:
            async with self._released:
                self._idle.append(http)
                self._released.notify()

    # -- errors -------------------------------------------------------------------------------

    def _secrets(self) -> tuple[str | None, ...]:
        return (self._pat, self._static_jwt, self._token)

    def _clean(self, message: str) -> str:
        return redact(message, self._secrets())

    @property
    def _credential(self) -> str:
        if self._pat:
            return f"the personal access token in ${self.pat_env}"
        return f"the JWT in ${JWT_ENV}"

    def _api_error(self, resp: httpx.Response, method: str, url: str, attempts: int) -> HossApiError:
        status = resp.status_code
        error = error_field(resp)
        shown = f"{status} {error}" if error else str(status)
        where = f"server '{self.server}' answered {shown} to {method} {url}"
        if status == 401 and error == "User is unauthorized":
            hint = f"the user behind {self._credential} lacks the admin role; use an admin's PAT"
        elif status in RETRY_STATUSES:
            hint = (
                f"still failing after {attempts} attempts; the server is overloaded or down, try again later"
            )
        elif status >= 500:
            hint = "the server failed; check its logs (a 500 on sync changes often means a missing queue)"
        elif status == 404 and error and not error.startswith("{") and "Resource" not in error:
            hint = f"check that {self.base_url} is the base URL of a Hoss server"
        else:
            hint = "see the Hoss API reference for this status"
        return HossApiError(
            self._clean(f"{where}: {hint}"),
            server=self.server,
            status=status,
            error=error,
            method=method,
            path=url,
        )

    def _unreachable(self, method: str, url: str, exc: httpx.TransportError, attempts: int) -> HossctlError:
        cause = _transport_cause(exc, self.timeout)
        fix = (
            "pass the server's CA with --ca-bundle or SSL_CERT_FILE"
            if cause.startswith("TLS")
            else "check the URL in the config and that the server is up"
        )
        message = (
            f"server '{self.server}' is unreachable: {method} {url} {cause} "
            f"(after {attempts} attempt{'s' if attempts != 1 else ''}); {fix}"
        )
        return ServerUnreachableError(self._clean(message), server=self.server, url=url)

    # -- transport ------------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, int] | None = None,
        json_body: Any = None,
        authenticated: bool = True,
        bearer: str | None = None,
        idempotent: bool = True,
    ) -> tuple[httpx.Response, int]:
        """Send with retries; returns the final response and the number of attempts made."""
        shown_url = with_query(url, params)
        reauthenticated = False
        attempt = 0
        while True:
            headers: dict[str, str] = {}
            if bearer is not None:
                headers["Authorization"] = f"Bearer {bearer}"
            elif authenticated:
                headers["Authorization"] = f"Bearer {await self._bearer()}"
            started = time.perf_counter()
            try:
                async with self._connection() as http:
                    resp = await http.request(method, url, params=params, json=json_body, headers=headers)
            except httpx.TransportError as exc:
                if self.debug:
                    _debug_line(method, shown_url, exc.__class__.__name__, time.perf_counter() - started)
                # A refused connection never reached the server, so even a POST may be retried.
                retryable = (idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)) and (
                    not _tls_failure(exc)  # a certificate does not fix itself between attempts
                )
                if retryable and attempt < self.max_retries:
                    await asyncio.sleep(self._delay(attempt))
                    attempt += 1
                    continue
                raise self._unreachable(method, shown_url, exc, attempt + 1) from None
            if self.debug:
                _debug_line(method, shown_url, str(resp.status_code), time.perf_counter() - started)
            status = resp.status_code
            if status in RETRY_STATUSES and idempotent and attempt < self.max_retries:
                delay = self._delay(attempt)
                hinted = retry_after_seconds(resp.headers.get("Retry-After"), self._backoff_cap)
                await asyncio.sleep(max(delay, hinted or 0.0))
                attempt += 1
                continue
            if (
                status == 401
                and authenticated
                and bearer is None
                and self._pat
                and not resp.content.strip()
                and not reauthenticated
            ):
                # The token may have expired in flight: exchange once more and retry.
                reauthenticated = True
                self._token = None
                attempt += 1
                continue
            return resp, attempt + 1

    def _delay(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self._backoff_base, cap=self._backoff_cap)

    async def _core(
        self,
        method: str,
        path: str,
        *,
        expected: Iterable[int] = (200,),
        params: Mapping[str, int] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        allow_404: bool = False,
    ) -> httpx.Response | None:
        """An authenticated core call; raises the right error unless the status is expected."""
        await self.discover()
        url = f"{self.core_url}/{path}"
        resp, attempts = await self._send(
            method, url, params=params, json_body=json_body, idempotent=idempotent
        )
        if resp.status_code in tuple(expected):
            return resp
        if allow_404 and resp.status_code == 404 and error_field(resp) == NOT_FOUND_ERROR:
            return None
        if resp.status_code == 401 and not resp.content.strip():
            raise self._token_rejected(method, url)
        raise self._api_error(resp, method, url, attempts)

    def _token_rejected(self, method: str, url: str) -> AuthenticationError:
        if self._pat:
            message = (
                f"server '{self.server}' rejected the token exchanged for {self._credential} "
                f"(401 on {method} {url}): check that its core trusts its auth service and that this "
                "machine's clock is right"
            )
        else:
            message = (
                f"server '{self.server}' rejected {self._credential} (401 on {method} {url}): it has expired "
                f"or belongs to another server; set a fresh JWT or a PAT in ${self.pat_env}"
            )
        return AuthenticationError(self._clean(message), server=self.server)

    def _malformed(self, resp: httpx.Response, method: str, url: str, what: str) -> MalformedAnswerError:
        message = (
            f"server '{self.server}' answered {method} {url} with {what}: check that {self.base_url} "
            "reaches the Hoss server itself, not a proxy or a login page"
        )
        return MalformedAnswerError(
            self._clean(message),
            server=self.server,
            status=resp.status_code,
            method=method,
            path=url,
            problem=self._clean(what),
        )

    def _decode(self, resp: httpx.Response, method: str, url: str, *, show_body: bool = True) -> Any:
        """The JSON of a 2xx answer at a JSON endpoint; anything else is a MalformedAnswerError.

        The message shows the status, the content type and the start of the body (escaped, and
        with every known secret redacted before it is cut), unless ``show_body`` is False: an
        auth answer may hold fresh tokens that no redaction knows of.
        """
        ctype = resp.headers.get("content-type")

        def fail(what: str) -> MalformedAnswerError:
            if ctype is None:
                shown_type = "no Content-Type"
            else:
                cut = ctype[:BODY_EXCERPT_CHARS]
                shown_type = f"Content-Type {cut if cut.isprintable() else repr(cut)}"
            excerpt = f" (body {body_excerpt(self._clean(resp.text))})" if show_body else ""
            return self._malformed(resp, method, url, f"{resp.status_code} and {shown_type}{what}{excerpt}")

        if not is_json_content_type(ctype):
            raise fail(" instead of JSON")
        try:
            return json.loads(resp.content)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            raise fail(", but invalid JSON") from None

    def _shaped(self, parse: Callable[[Any], T], body: Any, resp: httpx.Response, method: str, url: str) -> T:
        """``parse(body)``, with a wrong shape reported as a MalformedAnswerError naming the request."""
        try:
            return parse(body)
        except wire.MalformedAnswer as exc:
            raise self._malformed(resp, method, url, f"a malformed answer ({exc})") from None

    # -- authentication ------------------------------------------------------------------------

    async def _bearer(self) -> str:
        if self._static_jwt is not None:
            if self._token is None:
                self._check_static_jwt(self._static_jwt)
                self._token = self._static_jwt
                self._role = token_role(self._static_jwt)
            return self._token
        if self._pat is None:
            raise AuthenticationError(
                f"no credentials for server '{self.server}': set ${self.pat_env} to a personal access "
                f"token (or ${JWT_ENV} to a JWT)",
                server=self.server,
            )
        token = self._token
        if token is not None and self._clock() < self._token_deadline:
            return token
        async with self._token_lock:
            # Another task may have exchanged while this one waited: reuse its token.
            if self._token is not None and self._clock() < self._token_deadline:
                return self._token
            return await self._exchange(self._pat)

    def _check_static_jwt(self, token: str) -> None:
        try:
            times = token_times(token)
        except TokenFormatError as exc:
            raise AuthenticationError(
                f"${JWT_ENV} for server '{self.server}' does not hold a usable token ({exc}): "
                f"set a JWT issued by {self.base_url}/auth/v1 or a PAT in ${self.pat_env}",
                server=self.server,
            ) from None
        if times.expired(self._clock()):
            raise AuthenticationError(
                f"the JWT in ${JWT_ENV} for server '{self.server}' has expired: set a fresh one "
                f"or a PAT in ${self.pat_env}",
                server=self.server,
            )

    async def _exchange(self, pat: str) -> str:
        discover = await self.discover()
        auth_service = discover.get("auth_service")
        if not isinstance(auth_service, str) or not auth_service.startswith(("http://", "https://")):
            raise MalformedAnswerError(
                f"server '{self.server}' answered GET {self.core_url}/discover without an absolute "
                f"'auth_service' URL, so its PAT cannot be exchanged: check that {self.base_url} is the "
                "base URL of a Hoss server",
                server=self.server,
                status=200,
                method="GET",
                path=f"{self.core_url}/discover",
                problem="no absolute 'auth_service' URL",
            )
        url = auth_service.rstrip("/") + "/pat/exchange/jwt"
        received_at = self._clock()
        resp, attempts = await self._send("POST", url, bearer=pat, idempotent=True)
        self.exchanges += 1
        if resp.status_code == 401:
            raise AuthenticationError(
                self._clean(
                    f"server '{self.server}' rejected {self._credential} (401 from {url}): check that "
                    f"the variable holds a valid PAT for {self.base_url}"
                ),
                server=self.server,
            )
        if resp.status_code not in (200, 201):
            raise self._api_error(resp, "POST", url, attempts)
        body = self._decode(resp, "POST", url, show_body=False)
        token = self._shaped(wire.id_token, body, resp, "POST", url)
        try:
            times = token_times(token)
        except TokenFormatError as exc:
            raise AuthenticationError(
                self._clean(
                    f"the auth service of server '{self.server}' at {url} returned an id_token "
                    f"hossctl cannot use ({exc}): check the server's auth service"
                ),
                server=self.server,
            ) from None
        self._token = token
        self._role = token_role(token)
        # Half the token's life counted from when we asked: immune to clock skew with the server.
        self._token_deadline = times.refresh_deadline(received_at)
        return token

    # -- API -------------------------------------------------------------------------------------
    #
    # Every answer is decoded strictly and checked by ``wire`` before anything reads it. The
    # typed methods (``namespaces``, ``namespace``, ``sync_targets``, ``datasets``,
    # ``object_stores``) return the snapshot's values; the ``list_*``/``get_*`` methods return
    # the same records as plain dicts, already validated the same way, for callers that still
    # work on dicts.

    async def discover(self) -> dict[str, Any]:
        """The server description (unauthenticated); checks the version once and caches it."""
        if self._discover is not None:
            return self._discover
        async with self._discover_lock:
            if self._discover is not None:
                return self._discover
            url = f"{self.core_url}/discover"
            resp, attempts = await self._send("GET", url, authenticated=False)
            if resp.status_code != 200:
                raise self._api_error(resp, "GET", url, attempts)
            body = dict(self._shaped(wire.discover, self._decode(resp, "GET", url), resp, "GET", url))
            version = body.get("version")
            if not isinstance(version, str) or not version_supported(version):
                found = f"version {version}" if isinstance(version, str) else "no version"
                raise UnsupportedVersionError(
                    f"server '{self.server}' at {self.base_url} reports Hoss {found}, but hossctl supports "
                    f"Hoss {SUPPORTED_VERSIONS}: use a hossctl release made for that server version"
                )
            self._discover = body
            return body

    async def server_version(self) -> str:
        """The Hoss version discover reports (already checked to be a supported 0.2.x)."""
        return str((await self.discover())["version"])

    async def role(self) -> str | None:
        """The ``role`` claim of the token this client sends (None: no string role claim).

        It obtains a token first if needed. It decides whether the token may plan changes:
        only an admin (or service) token may write (§2.5) and sees every dataset a safety
        check must count (§8.1).
        """
        await self._bearer()
        return self._role

    async def _get(
        self,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, int] | None = None,
        allow_404: bool = False,
    ) -> tuple[Any, T] | None:
        """GET a JSON endpoint: the decoded body and ``parse(body)``, or None for an allowed 404."""
        resp = await self._core("GET", path, params=params, allow_404=allow_404)
        if resp is None:
            return None
        url = with_query(f"{self.core_url}/{path}", params)
        body = self._decode(resp, "GET", url)
        return body, self._shaped(parse, body, resp, "GET", url)

    async def _get_list(
        self, path: str, parse: Callable[[Any], tuple[T, ...]], params: Mapping[str, int] | None = None
    ) -> tuple[list[dict[str, Any]], tuple[T, ...]]:
        """A GET answered with a JSON list of records: the records and their typed values.

        Whether ``null`` counts as an empty list is ``parse``'s decision (§6.1, §8.1).
        """
        got = await self._get(path, parse, params=params)
        assert got is not None  # no 404 was allowed
        body, typed = got
        return (list(body) if body is not None else []), typed

    async def _list_paged(
        self, collection: str, parse: Callable[[Any], tuple[T, ...]]
    ) -> tuple[list[dict[str, Any]], list[T]]:
        """Every item of a collection, paged by limit/offset (never limit=0: that means all)."""
        records: list[dict[str, Any]] = []
        items: list[T] = []
        path = core_path(collection, collection=True)
        while True:
            page_records, page = await self._get_list(
                path, parse, params={"limit": self.page_size, "offset": len(items)}
            )
            records.extend(page_records)
            items.extend(page)
            if len(page) < self.page_size:
                return records, items

    async def object_stores(self) -> tuple[str, ...]:
        """The names of every object store, in the server's order."""
        return tuple((await self._list_paged("object_store", wire.object_stores))[1])

    async def list_object_stores(self) -> list[dict[str, Any]]:
        return (await self._list_paged("object_store", wire.object_stores))[0]

    async def namespaces(self) -> tuple[LiveNamespace, ...]:
        """Every namespace, in the server's order, without sync targets (a separate request each)."""
        return tuple((await self._list_paged("namespace", wire.namespaces))[1])

    async def list_namespaces(self) -> list[dict[str, Any]]:
        return (await self._list_paged("namespace", wire.namespaces))[0]

    def _ns(self, name: str) -> str:
        if not is_addressable(name):
            raise UnaddressableNameError(
                f"namespace {name!r} on server '{self.server}' cannot be addressed through the Hoss API "
                "(names containing '/' are listed but never routed): manage it on the server directly"
            )
        return name

    async def namespace(self, name: str) -> LiveNamespace | None:
        """One namespace without its sync targets, or None if the server has no such namespace."""
        got = await self._get(core_path("namespace", self._ns(name)), wire.namespace, allow_404=True)
        return None if got is None else got[1]

    async def get_namespace(self, name: str) -> dict[str, Any] | None:
        got = await self._get(core_path("namespace", self._ns(name)), wire.namespace, allow_404=True)
        return None if got is None else dict(got[0])

    async def create_namespace(
        self, name: str, description: str, object_store: str, bucket: str
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "description": description,
            "object_store_name": object_store,
            "bucket_name": bucket,
        }
        path = core_path("namespace", collection=True)
        resp = await self._core("POST", path, expected=(200, 201), json_body=body, idempotent=False)
        assert resp is not None
        url = f"{self.core_url}/{path}"
        created = self._decode(resp, "POST", url)
        self._shaped(wire.namespace, created, resp, "POST", url)
        return dict(created)

    async def delete_namespace(self, name: str) -> None:
        await self._core("DELETE", core_path("namespace", self._ns(name)), expected=(200, 204))

    async def sync_targets(self, namespace: str) -> tuple[LiveSyncTarget, ...]:
        """A namespace's sync rows, each string exactly as stored (a DELETE must match it, §7.3)."""
        return (await self._get_list(self._sync_path(namespace), wire.sync_targets))[1]

    async def get_sync(self, namespace: str) -> list[dict[str, Any]]:
        return (await self._get_list(self._sync_path(namespace), wire.sync_targets))[0]

    def _sync_path(self, namespace: str) -> str:
        return core_path("namespace", self._ns(namespace), "sync")

    async def put_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> None:
        body = {
            "target_core_service": target_core_service,
            "target_namespace": target_namespace,
            "sync_type": sync_type,
        }
        path = core_path("namespace", self._ns(namespace), "sync")
        await self._core("PUT", path, expected=(200, 204), json_body=body)

    async def delete_sync(self, namespace: str, target_core_service: str, target_namespace: str) -> None:
        # The server ignores sync_type on DELETE but refuses a body without it (§7.3).
        body = {
            "target_core_service": target_core_service,
            "target_namespace": target_namespace,
            "sync_type": "simplex",
        }
        path = core_path("namespace", self._ns(namespace), "sync")
        await self._core("DELETE", path, expected=(200, 204), json_body=body)

    async def user_sync(self) -> None:
        await self._core("PUT", core_path("user", "sync"), expected=(200, 204))

    def _datasets_path(self, namespace: str) -> str:
        return core_path("namespace", self._ns(namespace), "dataset", collection=True)

    async def datasets(self, namespace: str) -> tuple[LiveDataset, ...]:
        """The namespace's datasets the caller's groups can see (§8.1), in every delete state.

        ``null`` is an error here, not "none": the real server sends ``[]`` for none.
        """
        return (await self._get_list(self._datasets_path(namespace), wire.datasets))[1]

    async def list_datasets(self, namespace: str) -> list[dict[str, Any]]:
        return (await self._get_list(self._datasets_path(namespace), wire.datasets))[0]


async def probe_discover(
    core_urls: Iterable[str],
    *,
    ca_bundle: str | None = None,
    timeout: float = PROBE_TIMEOUT,
    attempts: int = 2,
    debug: bool = False,
) -> dict[str, bool]:
    """Whether each core URL's discover answers 200 with a JSON object (unauthenticated).

    "JSON" means a JSON content type and a body that parses, as for every other answer.

    Used for sync targets hossctl does not manage: it only needs to know they are alive,
    so the timeout is short and failures are an answer, not an error.
    """
    urls = sorted(set(core_urls))
    if not urls:
        return {}
    async with httpx.AsyncClient(verify=_ssl_context(ca_bundle), timeout=httpx.Timeout(timeout)) as http:

        async def one(core_url: str) -> bool:
            url = core_url.rstrip("/") + "/discover"
            for attempt in range(max(1, attempts)):
                started = time.perf_counter()
                try:
                    resp = await http.get(url)
                except httpx.TransportError as exc:
                    if debug:
                        _debug_line("GET", url, exc.__class__.__name__, time.perf_counter() - started)
                    if attempt + 1 < attempts and isinstance(exc, httpx.ConnectError | httpx.ReadError):
                        await asyncio.sleep(backoff_delay(attempt))
                        continue
                    return False
                if debug:
                    _debug_line("GET", url, str(resp.status_code), time.perf_counter() - started)
                if resp.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                    await asyncio.sleep(backoff_delay(attempt))
                    continue
                if resp.status_code != 200 or not is_json_content_type(resp.headers.get("content-type")):
                    return False
                try:
                    return isinstance(json.loads(resp.content), dict)
                except ValueError:
                    return False
            return False

        results = await asyncio.gather(*(one(u) for u in urls))
    return dict(zip(urls, results, strict=True))


def client_from(
    key: str,
    url: str,
    pat_env: str,
    *,
    ca_bundle: str | None = None,
    debug: bool = False,
    timeout: float = 30.0,
    parallelism: int = 16,
) -> HossClient:
    """A client whose credential comes from ``$pat_env``, else ``$HOSS_JWT``."""
    pat = os.environ.get(pat_env, "").strip() or None
    jwt = None if pat else (os.environ.get(JWT_ENV, "").strip() or None)
    if pat is None and jwt is None:
        raise AuthenticationError(
            f"no credentials for server '{key}': set ${pat_env} to a personal access token for {url} "
            f"(or ${JWT_ENV} to a JWT)",
            server=key,
        )
    return HossClient(
        server=key,
        base_url=url,
        pat=pat,
        jwt=jwt,
        ca_bundle=ca_bundle,
        timeout=timeout,
        debug=debug,
        pat_env=pat_env,
        parallelism=parallelism,
    )


def client_for(
    server: Server,
    *,
    ca_bundle: str | None = None,
    debug: bool = False,
    timeout: float = 30.0,
    parallelism: int = 16,
) -> HossClient:
    return client_from(
        server.key,
        server.url,
        server.pat_env,
        ca_bundle=ca_bundle,
        debug=debug,
        timeout=timeout,
        parallelism=parallelism,
    )
