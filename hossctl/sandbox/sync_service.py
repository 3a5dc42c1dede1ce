"""A simulated Hoss sync service: the asynchronous, lossy ``put-ns-duplex`` forwarding.

See docs/hoss-server.md §7.4.

Opt-in per sandbox, so tests and users can watch what the real stack does to a duplex PUT: some
time after the 204 the reverse row appears on the target, or never does (the message was lost),
or stays the type it already had. The real service only logs a failure and never retries; so
does this one, at debug level on the ``hossctl.sandbox.sync`` logger, never with a traceback.

Targets are found in a process-wide registry of running sandboxes keyed by core URL, matched as
exact strings like the real service's ``core_services`` lookup. One worker thread per service
delivers due messages in order, so a stopped sandbox has nothing left running behind it.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hossctl.sandbox.tokens import SERVICE_ACCOUNT

SYNC_SERVICE_AGENT = "exec-env/hoss-sync-service"
SYNC_SERVICE_ACCOUNT = SERVICE_ACCOUNT  # the account SATforJWT mints the service JWT for

log = logging.getLogger("hossctl.sandbox.sync")

# (target namespace, JSON body) -> HTTP status of the sync service's PUT on that core.
ReversePut = Callable[[str, dict[str, str]], int]

_registry: dict[str, ReversePut] = {}
_registry_lock = threading.Lock()


def register(core_url: str, put: ReversePut) -> None:
    with _registry_lock:
        _registry[core_url] = put


def unregister(core_url: str, put: ReversePut) -> None:
    """Remove only this sandbox's entry, never one a later sandbox registered under the same URL."""
    with _registry_lock:
        if _registry.get(core_url) == put:
            del _registry[core_url]


def registered(core_url: str) -> ReversePut | None:
    with _registry_lock:
        return _registry.get(core_url)


@dataclass(frozen=True, order=True)
class _Message:
    """A ``put-ns-duplex`` message waiting for its delivery time."""

    due: float
    seq: int
    namespace: str = field(compare=False)
    target_core_service: str = field(compare=False)
    target_namespace: str = field(compare=False)


class SyncService:
    """Forwards one sandbox's duplex PUTs to their targets after a delay, dropping some."""

    def __init__(self, source_core_url: str, delay_ms: int, drop_rate: float, seed: int) -> None:
        self.source_core_url = source_core_url
        self.delay_s = delay_ms / 1000
        self.drop_rate = drop_rate
        self._rng = random.Random(seed)
        self._cond = threading.Condition()
        self._queue: list[_Message] = []
        self._seq = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hoss-sandbox-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def publish(self, namespace: str, target_core_service: str, target_namespace: str) -> None:
        """Queue a message; never blocks the request that sent it. Drops are drawn in arrival order."""
        with self._cond:
            if self._closed:
                return
            if self.drop_rate > 0 and self._rng.random() < self.drop_rate:
                log.debug(
                    "sync service: put-ns-duplex %s -> %s %s lost (simulated drop)",
                    namespace,
                    target_core_service,
                    target_namespace,
                )
                return
            self._seq += 1
            due = time.monotonic() + self.delay_s
            heapq.heappush(
                self._queue, _Message(due, self._seq, namespace, target_core_service, target_namespace)
            )
            self._cond.notify_all()

    def close(self, timeout_s: float = 5.0) -> None:
        """Forget pending messages and wait for a delivery in progress, so none runs after stop."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _next(self) -> _Message | None:
        with self._cond:
            while not self._closed:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._queue)
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (message := self._next()) is not None:
            try:
                self._forward(message)
            except Exception as exc:  # the real service logs and carries on
                log.debug("sync service: put-ns-duplex not forwarded (%s)", type(exc).__name__)

    def _forward(self, message: _Message) -> None:
        what = (
            f"put-ns-duplex {message.namespace} -> {message.target_core_service} {message.target_namespace}"
        )
        put = registered(message.target_core_service)
        if put is None:
            log.debug("sync service: %s not forwarded: no running core has that URL", what)
            return
        status = put(
            message.target_namespace,
            {
                "target_core_service": self.source_core_url,
                "target_namespace": message.namespace,
                "sync_type": "duplex",
            },
        )
        if status == 204:
            log.debug("sync service: %s forwarded", what)
        else:
            log.debug("sync service: %s failed at the target with HTTP %d", what, status)
