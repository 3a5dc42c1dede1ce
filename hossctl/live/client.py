"""The Hoss core API for one server: one method per endpoint, each answer parsed into typed values.

It exists because the official client is unsafe for a reconciler (docs/hoss-server.md §10): its
lists stop at 25 entries, it never quotes path segments, and it fails on ``null`` pages.
The layers below keep the rules in one place each: ``transport`` (connections, deadlines,
body limits, the one retry policy), ``auth.TokenSource`` (where the PAT may go, exchange,
refresh, role) and ``wire`` (what a well-formed answer looks like). This module turns
HTTP answers into values or into one sentence naming the server, the request and what to
do; no message, log line or exception ever carries a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from hossctl.errors import (
    NOT_FOUND_ERROR,
    AuthenticationError,
    HossApiError,
    HossctlError,
    MalformedAnswerError,
    ServerUnreachableError,
    UnaddressableNameError,
    UnsupportedVersionError,
)
from hossctl.live import wire
from hossctl.live.auth import (
    JWT_ENV,
    CredentialRouteError,
    TokenSource,
    check_plain_http,
    credential_routes,
)
from hossctl.live.transport import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    DEFAULT_TIMEOUT_S,
    RETRY_STATUSES,
    Answer,
    Retry,
    RetryBudget,
    Transport,
    TransportFailure,
    load_lock_backend,
)
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget
from hossctl.secretscan import redact
from hossctl.urls import CORE_PATH, InvalidURL, is_addressable
from hossctl.urls import base_url as _base_of

if TYPE_CHECKING:
    from hossctl.plan.model import Server

__all__ = [
    "JWT_ENV",
    "AuthenticationError",
    "HossApiError",
    "HossClient",
    "MalformedAnswerError",
    "ServerUnreachableError",
    "UnaddressableNameError",
    "UnsupportedVersionError",
]

PAGE_SIZE = 500
# Far above any real installation; a server that keeps sending new pages past it is broken.
MAX_LISTED = 200_000
SUPPORTED_VERSIONS = "0.2.x"
PROBE_TIMEOUT = 5.0
BODY_EXCERPT_CHARS = 80

_SUPPORTED_VERSION_RE = re.compile(r"0\.2\.\d+")

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Pure helpers (unit tested)


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


def is_json_content_type(value: str | None) -> bool:
    """Whether a Content-Type header is JSON (``application/json``, parameters allowed).

    The real server writes every JSON answer with gin's ``c.JSON``, which always sets it;
    anything else at a JSON endpoint is a proxy, an error page or another service.
    """
    return value is not None and value.split(";", 1)[0].strip().lower() == "application/json"


def body_excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of a body, quoted, with control characters escaped.

    ``repr`` escaping keeps newlines and terminal escape sequences of a hostile body out of
    the one-line error; an ellipsis marks a cut. Redact the text *before* calling this.
    """
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def with_query(url: str, params: Mapping[str, int] | None) -> str:
    """The URL as shown in messages (paging offsets matter)."""
    return url if not params else f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}"


def error_field(answer: Answer) -> str | None:
    """The Hoss ``{"error": "..."}`` text of a JSON answer, else None (bodies are shown apart)."""
    if not is_json_content_type(answer.content_type):
        return None
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """What a client needs to know of a server, and nothing more."""

    key: str
    url: str
    pat_env: str = "HOSS_PAT"
    auth_url: str | None = None
    allow_insecure_http: bool = False
    service_secret_env: str | None = None


def endpoint_of(server: Server) -> Endpoint:
    return Endpoint(
        server.key, server.url, server.pat_env, server.auth_url, server.allow_insecure_http,
        server.service_secret_env,
    )


SERVICE_SECRET_PATTERN = re.compile(r"hsvc_[A-Za-z0-9]+")


class HossClient:
    """One server's core API."""

    def __init__(
        self,
        *,
        server: str,
        base_url: str,
        pat: str | None = None,
        jwt: str | None = None,
        pat_env: str = "HOSS_PAT",
        auth_url: str | None = None,
        allow_insecure_http: bool = False,
        ca_bundle: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connections: int = 16,
        page_size: int = PAGE_SIZE,
        budget: RetryBudget | None = None,
        large_body_slot: asyncio.Semaphore | None = None,
        backoff_base: float | None = None,
        backoff_cap: float | None = None,
        clock: Callable[[], float] = time.time,
        service_secret: str | None = None,
        service_secret_env: str = "",
    ) -> None:
        self.server = server
        try:
            self.base_url = _base_of(base_url)
        except InvalidURL:
            raise HossctlError(f"server '{server}' has an invalid URL: use https://host[:port]") from None
        self.core_url = self.base_url + CORE_PATH
        self.pat_env = pat_env
        self.page_size = max(1, page_size)
        self._configured_auth = auth_url.rstrip("/") if auth_url else None
        self._allow_insecure_http = allow_insecure_http
        try:
            check_plain_http(server, self.base_url, allow_insecure_http)
        except CredentialRouteError as exc:
            raise AuthenticationError(str(exc), server=server) from None
        self.transport = Transport(
            connections=connections,
            timeout=timeout,
            ca_bundle=ca_bundle,
            budget=budget,
            large_body_slot=large_body_slot,
            backoff_base=BACKOFF_BASE if backoff_base is None else backoff_base,
            backoff_cap=BACKOFF_CAP if backoff_cap is None else backoff_cap,
        )
        def source(secret: str | None, static: str | None, env: str, service: bool) -> TokenSource:
            return TokenSource(
                server=server, base_url=self.base_url, transport=self.transport, pat=secret,
                jwt_token=static, pat_env=env, auth_url=self._auth_url, clock=clock, service=service,
            )

        self.tokens = source(pat, jwt, pat_env, False)
        # A service secret serves one request only: the one-request read of every sync row. It
        # never lists datasets (the service account sees none of them, §8.1) and never writes.
        self.service_tokens = (
            None if service_secret is None else source(service_secret, None, service_secret_env, True)
        )
        self._discover: Mapping[str, Any] | None = None
        self._discover_lock = asyncio.Lock()

    @property
    def exchanges(self) -> int:
        return self.tokens.exchanges

    async def __aenter__(self) -> HossClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    # -- errors -------------------------------------------------------------------------------

    def _clean(self, message: str) -> str:
        secrets = self.tokens.secrets + (self.service_tokens.secrets if self.service_tokens else ())
        return redact(message, secrets)

    def _unreachable(self, method: str, url: str, failure: TransportFailure) -> ServerUnreachableError:
        fix = (
            "pass the server's CA with --ca-bundle or SSL_CERT_FILE"
            if failure.tls
            else "check the URL in the config and that the server is up"
            if not failure.cause.startswith(("timed out", "sent a body"))
            else "check that the URL reaches the Hoss server itself; raise --timeout if it is just slow"
            if failure.cause.startswith("timed out")
            else "check that the URL reaches the Hoss server itself, not another service"
        )
        attempts = f"after {failure.attempts} attempt{'s' if failure.attempts != 1 else ''}"
        message = f"server '{self.server}' is unreachable: {method} {url} {failure.cause} ({attempts}); {fix}"
        if failure.cause.startswith("sent a body"):
            message = f"server '{self.server}' {failure.cause} to {method} {url}; {fix}"
        return ServerUnreachableError(self._clean(message), server=self.server, url=url)

    def _api_error(self, answer: Answer, method: str, url: str) -> HossApiError:
        status = answer.status
        error = error_field(answer)
        if error is not None:
            shown = f"{status} {self._clean(error)[:200]}"
        elif answer.body.strip():
            shown = f"{status} ({answer.shown_type}, body {self._excerpt(answer)})"
        else:
            shown = str(status)
        where = f"server '{self.server}' answered {shown} to {method} {url}"
        if status == 401 and error == "User is unauthorized":
            hint = f"the user behind {self.tokens.credential} lacks the admin role; use an admin's PAT"
        elif status in RETRY_STATUSES:
            hint = (
                f"still failing after {answer.attempts} attempts; the server is overloaded or down, "
                "try again later"
            )
        elif status == 500 and method == "PUT" and urlsplit(url).path.endswith("/sync"):
            # A namespace whose object store has no `queues:` entry in core's config has no sync
            # exchange, and every sync enable or change is a 500 (docs/hoss-server.md §7.2, §10).
            hint = (
                "the server could not change sync, most likely because this namespace's object store "
                "has no sync queue (add a `queues:` entry for it to core's config; see the server's logs)"
            )
        elif status >= 500:
            hint = "the server failed; check its logs (a 500 on sync changes often means a missing queue)"
        elif status == 404 and error is None:
            hint = f"check that {self.base_url} is the base URL of a Hoss server"
        else:
            hint = "see the Hoss API reference for this status"
        failure = HossApiError(
            self._clean(f"{where}: {hint}"), server=self.server, status=status, error=error, method=method,
            path=url,
        )
        failure.replayed = answer.replayed
        return failure

    def _excerpt(self, answer: Answer) -> str:
        # Redact the whole body first: a secret cut in half by the excerpt is unrecognisable.
        return body_excerpt(self._clean(answer.text))

    def _malformed(self, answer: Answer, method: str, url: str, what: str) -> MalformedAnswerError:
        message = (
            f"server '{self.server}' answered {method} {url} with {what}: check that {self.base_url} "
            "reaches the Hoss server itself, not a proxy or a login page"
        )
        return MalformedAnswerError(
            self._clean(message), server=self.server, status=answer.status, method=method, path=url,
            problem=self._clean(what),
        )

    def _decode(self, answer: Answer, method: str, url: str) -> Any:
        """The JSON of a 2xx answer at a JSON endpoint; anything else is a MalformedAnswerError."""
        shown = f"{answer.status} and {answer.shown_type}"
        if not is_json_content_type(answer.content_type):
            what = f"{shown} instead of JSON (body {self._excerpt(answer)})"
            raise self._malformed(answer, method, url, what)
        try:
            return json.loads(answer.body)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            raise self._malformed(
                answer, method, url, f"{shown}, but invalid JSON (body {self._excerpt(answer)})"
            ) from None

    def _shaped(self, parse: Callable[[Any], T], body: Any, answer: Answer, method: str, url: str) -> T:
        try:
            return parse(body)
        except wire.MalformedAnswer as exc:
            raise self._malformed(answer, method, url, f"a malformed answer ({exc})") from None

    # -- requests -------------------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, *, params: Mapping[str, int] | None = None, json_body: Any = None,
        bearer: str | None = None, retry: Retry = "idempotent",
    ) -> Answer:
        try:
            return await self.transport.send(
                method, url, params=params, json_body=json_body, bearer=bearer, retry=retry
            )
        except TransportFailure as exc:
            raise self._unreachable(method, with_query(url, params), exc) from None

    async def _core(
        self,
        method: str,
        path: str,
        *,
        expected: Iterable[int] = (200,),
        params: Mapping[str, int] | None = None,
        json_body: Any = None,
        retry: Retry = "idempotent",
        allow_404: bool = False,
        tokens: TokenSource | None = None,
    ) -> Answer | None:
        """An authenticated core call; raises the right error unless the status is expected."""
        await self.discover()
        url = f"{self.core_url}/{path}"
        source = tokens or self.tokens
        reauthenticated = False
        while True:
            bearer = await source.bearer()
            answer = await self._send(
                method, url, params=params, json_body=json_body, bearer=bearer, retry=retry
            )
            expired = answer.status == 401 and not answer.body.strip()
            if expired and source.uses_pat and not reauthenticated:
                # The token may have expired in flight: exchange once more and retry.
                reauthenticated = True
                source.invalidate()
                continue
            break
        shown = with_query(url, params)
        if answer.status in tuple(expected):
            return answer
        if allow_404 and answer.status == 404 and error_field(answer) == NOT_FOUND_ERROR:
            return None
        if answer.status == 401 and not answer.body.strip():
            raise self._token_rejected(method, shown)
        raise self._api_error(answer, method, shown)

    def _token_rejected(self, method: str, url: str) -> AuthenticationError:
        if self.tokens.uses_pat:
            message = (
                f"server '{self.server}' rejected the token exchanged for {self.tokens.credential} "
                f"(401 on {method} {url}): check that its core trusts its auth service and that this "
                "machine's clock is right"
            )
        else:
            message = (
                f"server '{self.server}' rejected {self.tokens.credential} (401 on {method} {url}): it has "
                f"expired or belongs to another server; set a fresh JWT or a PAT in ${self.pat_env}"
            )
        return AuthenticationError(self._clean(message), server=self.server)

    async def _auth_url(self) -> str:
        """Where the PAT may be exchanged: see ``auth.credential_routes``."""
        advertised = None if self._configured_auth else (await self.discover()).get("auth_service")
        try:
            return credential_routes(
                self.server,
                self.base_url,
                advertised_auth=advertised if isinstance(advertised, str) else None,
                configured_auth=self._configured_auth,
                allow_insecure_http=self._allow_insecure_http,
            )
        except CredentialRouteError as exc:
            raise AuthenticationError(self._clean(str(exc)), server=self.server) from None

    # -- API -------------------------------------------------------------------------------------

    async def discover(self) -> Mapping[str, Any]:
        """The server description (unauthenticated); checks the version once and caches it."""
        if self._discover is not None:
            return self._discover
        async with self._discover_lock:
            if self._discover is not None:
                return self._discover
            url = f"{self.core_url}/discover"
            answer = await self._send("GET", url)
            if answer.status != 200:
                raise self._api_error(answer, "GET", url)
            body = self._shaped(wire.discover, self._decode(answer, "GET", url), answer, "GET", url)
            version = body.get("version")
            if not isinstance(version, str) or not version_supported(version):
                found = f"version {version}" if isinstance(version, str) else "no version"
                raise UnsupportedVersionError(
                    self._clean(
                        f"server '{self.server}' at {self.base_url} reports Hoss {found}, but hossctl "
                        f"supports Hoss {SUPPORTED_VERSIONS}: use a hossctl release made for that server "
                        "version"
                    )
                )
            self._discover = body
            return body

    async def server_version(self) -> str:
        """The Hoss version discover reports (already checked to be a supported 0.2.x)."""
        return str((await self.discover())["version"])

    async def role(self) -> str | None:
        """The ``role`` claim of the token this client sends (None: no string role claim).

        Only an admin (or service) token may write (§2.5) and sees every dataset a safety
        check must count (§8.1).
        """
        await self.tokens.bearer()
        return self.tokens.role

    async def _get(
        self, path: str, parse: Callable[[Any], T], *, params: Mapping[str, int] | None = None,
        allow_404: bool = False, tokens: TokenSource | None = None,
    ) -> tuple[bytes, T] | None:
        """GET a JSON endpoint: the raw body and ``parse(body)``, or None for an allowed 404."""
        answer = await self._core("GET", path, params=params, allow_404=allow_404, tokens=tokens)
        if answer is None:
            return None
        url = with_query(f"{self.core_url}/{path}", params)
        body = self._decode(answer, "GET", url)
        return answer.body, self._shaped(parse, body, answer, "GET", url)

    async def _list_paged(self, collection: str, parse: Callable[[Any], tuple[T, ...]]) -> list[T]:
        """Every item of a collection (see ``_pages``)."""
        return [item async for page in self._pages(collection, parse) for item in page]

    async def _pages(
        self, collection: str, parse: Callable[[Any], tuple[T, ...]]
    ) -> AsyncIterator[tuple[T, ...]]:
        """A collection's pages as they arrive, paged by limit/offset (never limit=0: that means all).

        Paging ends at a short, empty or ``null`` page. A page that repeats the previous one
        (a server ignoring ``offset``) or a count past MAX_LISTED is an error, not a loop.
        """
        listed = 0
        path = core_path(collection, collection=True)
        previous: bytes | None = None
        while True:
            params = {"limit": self.page_size, "offset": listed}
            got = await self._get(path, parse, params=params)
            assert got is not None  # no 404 was allowed
            raw, page = got
            url = with_query(f"{self.core_url}/{path}", params)
            if page and raw == previous:
                raise self._bad_paging(url, "the same page as the previous offset (is offset ignored?)")
            listed += len(page)
            if listed > MAX_LISTED:
                raise self._bad_paging(url, f"more than {MAX_LISTED} {collection.replace('_', ' ')}s")
            yield page
            if len(page) < self.page_size:
                return
            previous = raw

    def _bad_paging(self, url: str, what: str) -> MalformedAnswerError:
        return MalformedAnswerError(
            self._clean(
                f"server '{self.server}' answered GET {url} with {what}: paging stopped; check that "
                f"{self.base_url} reaches the Hoss server itself"
            ),
            server=self.server, status=200, method="GET", path=url, problem=what,
        )

    async def object_stores(self) -> tuple[str, ...]:
        """The names of every object store, in the server's order."""
        return tuple(await self._list_paged("object_store", wire.object_stores))

    async def namespaces(self) -> tuple[LiveNamespace, ...]:
        """Every namespace, in the server's order, without sync targets (a separate request each)."""
        return tuple(await self._list_paged("namespace", wire.namespaces))

    def namespace_pages(self) -> AsyncIterator[tuple[LiveNamespace, ...]]:
        """Every namespace, a page at a time as each arrives: a reader can start on the first
        page's sync lists while the next page is on its way."""
        return self._pages("namespace", wire.namespaces)

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

    async def create_namespace(self, name: str, description: str, object_store: str, bucket: str) -> None:
        """POST a namespace. Replays are allowed: a replay that meets 403 carries ``replayed``,
        and the caller reads the namespace back to tell its own create from someone else's."""
        body = {
            "name": name,
            "description": description,
            "object_store_name": object_store,
            "bucket_name": bucket,
        }
        path = core_path("namespace", collection=True)
        answer = await self._core("POST", path, expected=(200, 201), json_body=body, retry="replayable")
        assert answer is not None
        url = f"{self.core_url}/{path}"
        self._shaped(wire.namespace, self._decode(answer, "POST", url), answer, "POST", url)

    async def delete_namespace(self, name: str) -> None:
        await self._core("DELETE", core_path("namespace", self._ns(name)), expected=(200, 204))

    def _sync_path(self, namespace: str) -> str:
        return core_path("namespace", self._ns(namespace), "sync")

    async def sync_targets(self, namespace: str) -> tuple[LiveSyncTarget, ...]:
        """A namespace's sync rows, each string exactly as stored (a DELETE must match it, §7.3)."""
        got = await self._get(self._sync_path(namespace), wire.sync_targets)
        assert got is not None
        return got[1]

    async def put_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> None:
        body = {
            "target_core_service": target_core_service,
            "target_namespace": target_namespace,
            "sync_type": sync_type,
        }
        await self._core("PUT", self._sync_path(namespace), expected=(200, 204), json_body=body)

    async def delete_sync(self, namespace: str, target_core_service: str, target_namespace: str) -> None:
        # The server ignores sync_type on DELETE but refuses a body without it (§7.3).
        body = {
            "target_core_service": target_core_service,
            "target_namespace": target_namespace,
            "sync_type": "simplex",
        }
        await self._core("DELETE", self._sync_path(namespace), expected=(200, 204), json_body=body)

    @property
    def reads_sync_configuration(self) -> bool:
        """Whether this client holds a service secret for the one-request read of every sync row."""
        return self.service_tokens is not None

    async def sync_configuration(self) -> dict[str, tuple[LiveSyncTarget, ...]]:
        """Every sync row of the server, by source namespace, in one request (§7.5).

        ``GET /configuration/sync`` answers only to a service account, so it goes with the
        service token; a namespace without rows is absent from the answer.
        """
        assert self.service_tokens is not None
        got = await self._get(
            core_path("configuration", "sync"), wire.sync_configuration, tokens=self.service_tokens
        )
        assert got is not None
        return got[1]

    async def user_sync(self) -> None:
        await self._core("PUT", core_path("user", "sync"), expected=(200, 204))

    def _dataset_path(self, namespace: str, dataset: str, *rest: str) -> str:
        return core_path("namespace", self._ns(namespace), "dataset", self._ns(dataset), *rest)

    async def dataset(self, namespace: str, dataset: str) -> LiveDataset | None:
        """One dataset's record (§8.2), or None when it no longer exists (404)."""
        got = await self._get(self._dataset_path(namespace, dataset), wire.dataset, allow_404=True)
        return None if got is None else got[1]

    async def dataset_sync_enabled(self, namespace: str, dataset: str) -> bool:
        got = await self._get(self._dataset_path(namespace, dataset, "sync"), wire.sync_enabled)
        assert got is not None
        return got[1]

    async def put_dataset_sync(
        self, namespace: str, dataset: str, sync_type: str, policy: str | None
    ) -> None:
        """Enable or update a dataset's sync. The real handler sleeps 2-4 s before it answers
        (§8.4), so callers run these side by side rather than one after the other."""
        body = {"sync_type": sync_type, "sync_policy": policy or ""}
        await self._core(
            "PUT", self._dataset_path(namespace, dataset, "sync"), expected=(200, 204), json_body=body
        )

    async def delete_dataset_sync(self, namespace: str, dataset: str) -> None:
        await self._core("DELETE", self._dataset_path(namespace, dataset, "sync"), expected=(200, 204))

    async def datasets(self, namespace: str) -> tuple[LiveDataset, ...]:
        """The namespace's datasets the caller's groups can see (§8.1), in every delete state.

        ``null`` is an error here, not "none": the real server sends ``[]`` for none.
        """
        path = core_path("namespace", self._ns(namespace), "dataset", collection=True)
        got = await self._get(path, wire.datasets)
        assert got is not None
        return got[1]


async def probe_discover(
    core_urls: Iterable[str], *, ca_bundle: str | None = None, timeout: float = PROBE_TIMEOUT
) -> dict[str, bool]:
    """Whether each core URL's discover answers 200 with a JSON object (unauthenticated).

    Used for sync targets hossctl does not manage: it only needs to know they are alive,
    so the deadline is short, no credential is sent, and failures are an answer, not an error.
    """
    urls = sorted(set(core_urls))
    if not urls:
        return {}
    transport = Transport(connections=4, timeout=timeout, ca_bundle=ca_bundle, max_body=1024 * 1024)

    async def one(core_url: str) -> bool:
        try:
            answer = await transport.send("GET", core_url.rstrip("/") + "/discover")
        except TransportFailure:
            return False
        if answer.status != 200 or not is_json_content_type(answer.content_type):
            return False
        try:
            return isinstance(json.loads(answer.body), dict)
        except ValueError:
            return False

    try:
        results = await asyncio.gather(*(one(u) for u in urls))
    finally:
        await transport.aclose()
    return dict(zip(urls, results, strict=True))


def client_from(
    endpoint: Endpoint,
    *,
    ca_bundle: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    connections: int = 16,
    budget: RetryBudget | None = None,
    large_body_slot: asyncio.Semaphore | None = None,
) -> HossClient:
    """A client whose credential comes from ``$pat_env``, else ``$HOSS_JWT``."""
    pat = os.environ.get(endpoint.pat_env, "").strip() or None
    service_secret = _service_secret(endpoint)
    jwt = None if pat else (os.environ.get(JWT_ENV, "").strip() or None)
    if pat is None and jwt is None:
        raise AuthenticationError(
            f"no credentials for server '{endpoint.key}': set ${endpoint.pat_env} to a personal access "
            f"token for {endpoint.url} (or ${JWT_ENV} to a JWT)",
            server=endpoint.key,
        )
    return HossClient(
        server=endpoint.key,
        base_url=endpoint.url,
        pat=pat,
        jwt=jwt,
        pat_env=endpoint.pat_env,
        auth_url=endpoint.auth_url,
        allow_insecure_http=endpoint.allow_insecure_http,
        ca_bundle=ca_bundle,
        timeout=timeout,
        connections=connections,
        budget=budget,
        large_body_slot=large_body_slot,
        service_secret=service_secret,
        service_secret_env=endpoint.service_secret_env or "",
    )


def _service_secret(endpoint: Endpoint) -> str | None:
    """The service secret from ``$service_secret_env``; None when none is configured or set (the
    read then falls back to one request per namespace)."""
    if endpoint.service_secret_env is None:
        return None
    secret = os.environ.get(endpoint.service_secret_env, "").strip() or None
    if secret is not None and not SERVICE_SECRET_PATTERN.fullmatch(secret):
        raise AuthenticationError(
            f"${endpoint.service_secret_env} for server '{endpoint.key}' does not hold a service secret "
            "(hsvc_ followed by letters and digits): set it to the server's SERVICE_AUTH_SECRET, or unset "
            "it to read sync rows one namespace at a time",
            server=endpoint.key,
        )
    return secret


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, returning ``main``'s result without ever formatting it.

    On Python 3.11, asyncio.run ends by putting back its SIGINT handler through
    ``signal.getsignal`` and ``signal.signal``, which try to turn the handler into an enum and,
    failing, format its repr: a partial holding the main task, whose repr holds the task's
    result. For a plan that result is the snapshot and the plan of every namespace: 26 ms at
    1,000 namespaces, ten times that at 10,000, spent twice after the work is done. Here the
    task's result is None and the value travels beside it.
    """
    kept: list[T] = []

    async def keep() -> None:
        kept.append(await main)

    asyncio.run(keep())
    return kept[0]


@dataclass(frozen=True)
class ClientOptions:
    """How a command talks to servers: its CA, its per-request deadline and its connections."""

    ca_bundle: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    connections: int = 16


@contextlib.asynccontextmanager
async def open_clients(
    endpoints: Iterable[Endpoint], options: ClientOptions = ClientOptions()
) -> AsyncIterator[dict[str, HossClient]]:
    """One client per server, sharing the run's retry budget and its large-body slot; all closed
    on exit. Every command opens its clients here."""
    budget = RetryBudget()
    slot = asyncio.Semaphore(1)
    load_lock_backend()
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, HossClient] = {}
        for endpoint in endpoints:
            client = client_from(
                endpoint,
                ca_bundle=options.ca_bundle,
                timeout=options.timeout,
                connections=options.connections,
                budget=budget,
                large_body_slot=slot,
            )
            clients[endpoint.key] = await stack.enter_async_context(client)
        yield clients
