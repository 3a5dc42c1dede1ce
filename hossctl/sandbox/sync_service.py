"""A simulated Hoss sync service: API sync messages delivered over HTTP, late or never.

See docs/hoss-server.md §7.4, §7.5 and §8.4.

Opt-in per sandbox, so tests and users can watch what the real stack does after a duplex PUT or a
dataset sync enable: some time after the 204 the reverse row (or the target dataset) appears, or
never does (the message was lost, or the target refused the call). Like the real service
(server/sync), it holds one auth endpoint and one service secret, exchanges the secret at
``POST {auth}/sat/exchange/jwt`` for a service JWT (server/libs/hoss-service/credentials.go
``GetServiceJWT``, lines 25-65) and sends that one token to every core, so a core whose auth
service has another issuer or key answers 401. It calls cores at the exact ``target_core_service``
string of the source's sync rows. A failure is only logged, at debug level on the
``hossctl.sandbox.sync`` logger and never with a traceback, and never retried.

One worker thread per service delivers due messages in order, so a stopped sandbox has nothing
left running behind it. Data objects are out of scope: no bucket events, no object copies.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # httpx is imported when a sync service starts: the sandbox itself stays import-light
    import httpx

SYNC_SERVICE_AGENT = "exec-env/hoss-sync-service"

# Event types of server/core/pkg/sync/endpoints.go (lines 14-18) that the sandbox's core publishes.
PUT_NS_DUPLEX = "put-ns-duplex"
PUT_DS_SYNC = "put-ds-sync"
PUT_DS_DUPLEX = "put-ds-duplex"
PUT_DS_PERM = "put-ds-perm"

# Short, because the targets are local sandboxes; a target that hangs must not hold up a stop.
CONNECT_TIMEOUT_S = 2.0
TIMEOUT_S = 5.0

log = logging.getLogger("hossctl.sandbox.sync")

# source namespace -> its sync rows ({target_core_service, target_namespace, sync_type}); [] if none.
SyncRows = Callable[[str], list[dict[str, str]]]


@dataclass(frozen=True)
class ApiMessage:
    """One API sync message, the fields of ``ApiEventMsg`` (endpoints.go lines 21-47) that the
    sandbox uses; ``source_endpoint`` is implied, since each sandbox has its own sync service."""

    event_type: str
    namespace: str
    dataset: str = ""
    description: str = ""
    group: str = ""
    permission: str = ""
    target_core_service: str = ""
    target_namespace: str = ""
    sync_policy: str = ""

    def __str__(self) -> str:
        if self.event_type == PUT_NS_DUPLEX:
            return f"{self.event_type} {self.namespace} -> {self.target_core_service} {self.target_namespace}"
        return f"{self.event_type} {self.source()}"

    def source(self) -> str:
        """The namespace, or namespace/dataset, the message is about."""
        return f"{self.namespace}/{self.dataset}" if self.dataset else self.namespace


@dataclass(frozen=True)
class _Call:
    """One request of ``handleSync`` (server/sync/pkg/message/api.go lines 136-235)."""

    method: str
    url: str
    body: bytes | None
    expected: tuple[int, ...]


@dataclass(frozen=True, order=True)
class _Queued:
    """A message waiting for its delivery time."""

    due: float
    seq: int
    message: ApiMessage = field(compare=False)


class SyncService:
    """Delivers one sandbox's API sync messages to the cores its sync rows name, after a delay,
    dropping some, with the service JWT it gets from its auth endpoint."""

    def __init__(
        self,
        source_core_url: str,
        auth_url: str,
        service_secret: str,
        sync_rows: SyncRows,
        delay_ms: int,
        drop_rate: float,
        seed: int,
    ) -> None:
        self.source_core_url = source_core_url
        self.auth_url = auth_url
        self.delay_s = delay_ms / 1000
        self.drop_rate = drop_rate
        self._secret = service_secret
        self._sync_rows = sync_rows
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._queue: list[_Queued] = []
        self._seq = 0
        self._closed = False
        self._client: httpx.Client | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._thread = threading.Thread(target=self._run, name="hoss-sandbox-sync", daemon=True)

    def start(self) -> None:
        import httpx

        # trust_env=False: a proxy from the environment must not come between two local sandboxes.
        self._client = httpx.Client(
            timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": SYNC_SERVICE_AGENT},
            trust_env=False,
        )
        self._thread.start()

    def publish(self, message: ApiMessage) -> None:
        """Queue a message; never blocks the request that sent it. Drops are drawn in arrival order,
        standing in for a message the RabbitMQ queue lost while the sync service was down (§7.4)."""
        with self._cond:
            if self._closed:
                return
            if self.drop_rate > 0 and self._rng.random() < self.drop_rate:
                log.debug("sync service: %s lost (simulated drop)", message)
                return
            self._seq += 1
            heapq.heappush(self._queue, _Queued(time.monotonic() + self.delay_s, self._seq, message))
            self._cond.notify_all()

    def close(self, timeout_s: float = TIMEOUT_S + 1) -> None:
        """Forget pending messages and wait for a request in flight, so nothing is sent after stop."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        if self._client is not None and not self._thread.is_alive():
            self._client.close()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def _next(self) -> ApiMessage | None:
        with self._cond:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._queue).message
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (message := self._next()) is not None:
            try:
                self._execute(message)
            except Exception as exc:  # the real service logs and carries on
                log.debug("sync service: %s not delivered (%s)", message, type(exc).__name__)

    def _execute(self, message: ApiMessage) -> None:
        """``ApiSyncNotification.Match`` and ``Execute`` (server/sync/pkg/message/api.go lines 74-134).

        The real service reloads ``GET /configuration/sync`` and finds the source namespace among the
        populated configurations; the sandbox reads the source's rows from its own store. A namespace
        without rows has no populated configuration: no worker matches, and the message is dropped.
        Every row of the namespace is a target, except that ``put-ns-duplex`` goes only to the row it
        names. The real service sends to the targets in parallel and waits; this one in row order.
        """
        rows = self._sync_rows(message.namespace)
        if not rows:
            log.debug(
                "sync service: %s dropped: namespace %s has no sync configuration", message, message.namespace
            )
            return
        for row in rows:
            target_core, target_namespace = row["target_core_service"], row["target_namespace"]
            if message.event_type == PUT_NS_DUPLEX and (
                target_namespace != message.target_namespace or target_core != message.target_core_service
            ):
                continue
            if self.closed:
                return
            call = self._call(message, target_core, target_namespace)
            self._send(f"{message.event_type} {message.source()} -> {target_core} {target_namespace}", call)

    def _call(self, message: ApiMessage, target_core: str, target_namespace: str) -> _Call:
        """``handleSync`` (api.go lines 136-235) and the expected statuses of ``makeSyncApiRequest``
        (lines 250-277): PUT 204, POST 201 or 403 ("already exists" is success).

        The ``put-ds-sync`` and ``put-ns-duplex`` bodies are built as the real ``fmt.Sprintf`` builds
        them, without JSON escaping, so a name or description holding ``"`` or ``\\`` makes a body the
        target refuses with 400, as on a real installation. Path segments are percent-encoded (Go
        pastes them in; names with ``?`` or ``#`` differ, which nobody should rely on).
        """
        ns = f"{target_core}/namespace/{quote(target_namespace, safe='')}"
        ds = f"{ns}/dataset/{quote(message.dataset, safe='')}"
        if message.event_type == PUT_DS_PERM:
            group, permission = quote(message.group, safe=""), quote(message.permission, safe="")
            return _Call("PUT", f"{ds}/group/{group}/access/{permission}", None, (204,))
        if message.event_type == PUT_DS_SYNC:
            body = f'{{"name":"{message.dataset}", "description":"{message.description}"}}'
            return _Call("POST", f"{ns}/dataset/", body.encode(), (201, 403))
        if message.event_type == PUT_DS_DUPLEX:
            duplex = {"sync_type": "duplex", "sync_policy": message.sync_policy}
            return _Call("PUT", f"{ds}/sync", json.dumps(duplex, separators=(",", ":")).encode(), (204,))
        if message.event_type == PUT_NS_DUPLEX:
            body = (
                f'{{"target_core_service":"{self.source_core_url}","target_namespace":"{message.namespace}",'
                '"sync_type":"duplex"}'
            )
            return _Call("PUT", f"{ns}/sync", body.encode(), (204,))
        raise ValueError(f"unhandled API sync event type {message.event_type}")

    def _send(self, what: str, call: _Call) -> None:
        """``makeSyncApiRequest`` (api.go lines 238-300) with the service's one ID token.

        A 401 makes it exchange the service secret again and resend that one request once. The real
        service never holds a stale token (its auth key persists and it renews every 3 hours), so there
        a 401 always means an untrusted token; a sandbox's auth service, restarted in memory with a new
        key, can leave a stale one. A second 401 is the untrusted case, and is logged like any failure.
        """
        token = self._service_token()
        if token is None:
            log.debug("sync service: %s not delivered: no service JWT", what)
            return
        try:
            status = self._request(call, token)
            if status == 401 and not self.closed:
                renewed = self._service_token(renew=True)
                if renewed is not None and renewed != token:
                    status = self._request(call, renewed)
        except Exception as exc:  # httpx.HTTPError, and anything else a broken target causes
            log.debug("sync service: %s failed: no answer from the target (%s)", what, type(exc).__name__)
            return
        if status in call.expected:
            log.debug("sync service: %s delivered (HTTP %d)", what, status)
        elif status == 401:
            log.debug(
                "sync service: %s failed at the target with HTTP 401 (it does not trust this service JWT)",
                what,
            )
        else:
            log.debug("sync service: %s failed at the target with HTTP %d", what, status)

    def _request(self, call: _Call, token: str) -> int:
        assert self._client is not None
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        response = self._client.request(call.method, call.url, content=call.body, headers=headers)
        return response.status_code

    def _service_token(self, renew: bool = False) -> str | None:
        """The cached service id_token, exchanged again past half its life (the real service renews
        every ``refresh_intervals.auth_token``, 3 h of a 6 h token) or when ``renew`` asks.

        ``GetServiceJWT`` (credentials.go lines 25-65): ``POST {auth}/sat/exchange/jwt`` with the
        secret as the bearer, anything but 201 is an error; nothing but the status is logged.
        """
        if not renew and self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        assert self._client is not None
        self._token = None
        requested = time.monotonic()
        try:
            response = self._client.post(
                f"{self.auth_url}/sat/exchange/jwt", headers={"Authorization": f"Bearer {self._secret}"}
            )
        except Exception as exc:  # httpx.HTTPError
            log.debug(
                "sync service: service JWT exchange at %s failed (%s)", self.auth_url, type(exc).__name__
            )
            return None
        if response.status_code != 201:
            log.debug(
                "sync service: service JWT exchange at %s failed with HTTP %d",
                self.auth_url,
                response.status_code,
            )
            return None
        try:
            token: object = response.json()["id_token"]
            lifetime = _lifetime(token)
        except (ValueError, KeyError, TypeError):  # not JSON, no id_token, not a JWT with iat and exp
            log.debug("sync service: service JWT exchange at %s gave no usable id_token", self.auth_url)
            return None
        assert isinstance(token, str)  # _lifetime checked it
        self._token = token
        self._renew_at = requested + lifetime / 2
        return token


def _lifetime(token: object) -> float:
    """``exp - iat`` of a JWT, read without verifying it (the targets verify it)."""
    import jwt

    if not isinstance(token, str):
        raise TypeError("id_token is not a string")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ValueError("not a JWT") from None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp <= iat:
        raise ValueError("no iat/exp")
    return float(exp - iat)
