"""The ``Sandbox``: one local Hoss server (core + auth) with its lifecycle and direct seeding.

State that must survive a restart on the same data file lives in the database: the rows, the
PATs and the service secret (unless new ones are given) and the JWT signing secret. Bootstrap
runs at every start, as the real core does, so a deleted bootstrap namespace comes back
(docs/hoss-server.md §6.4).

Two sandboxes are two servers with two auth services, each with its own issuer and key, so
neither trusts the other's tokens (docs/hoss-server.md §10.13). A shared identity file makes them
two cores behind one auth service: both sign and verify with the issuer and key in the file.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import os
import socket
import tempfile
import threading
from types import TracebackType
from typing import Any

from hossctl.errors import HossctlError
from hossctl.sandbox.faults import FaultPlan
from hossctl.sandbox.handlers import Api
from hossctl.sandbox.routes import Router, route_table
from hossctl.sandbox.server import App, SandboxHTTPServer
from hossctl.sandbox.store import DEFAULT_SYNC_POLICY, NotFound, Store, StoreClosed, now_utc
from hossctl.sandbox.sync_service import SyncService
from hossctl.sandbox.tokens import (
    ADMIN,
    PAT_PATTERN,
    SERVICE_SECRET_PATTERN,
    USER,
    Account,
    TokenIssuer,
    generate_pat,
    generate_secret,
    generate_service_secret,
)

log = logging.getLogger("hossctl.sandbox.delete")

DEFAULT_STORE = "default"
OBJECT_STORE_ENDPOINT = "http://localhost:9000"
DELETE_STATUSES = ("NOT_SCHEDULED", "SCHEDULED", "IN_PROGRESS", "ERROR")
# The real default config (server/core/config.yaml) has dataset_delete_delay_minutes 0 and
# dataset_delete_period_seconds 2: a deleted dataset's row is gone within about 2 s.
DEFAULT_DELETE_DELAY = 2.0
NO_QUEUE = "no-queue"
# server/core/pkg/sync/endpoints.go SyncDatasetHandler sleeps 2 s before each later message (§8.4).
DEFAULT_DATASET_SYNC_DELAY = 2.0


class Sandbox:
    """A Hoss-compatible core + auth service on one port; see ``hossctl sandbox``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data: str | None = None,
        admin_pat: str | None = None,
        user_pat: str | None = None,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        object_stores: tuple[str, ...] | list[str] = (DEFAULT_STORE,),
        sync_service: bool = False,
        sync_delay_ms: int = 100,
        sync_drop_rate: float = 0.0,
        sync_seed: int = 0,
        delete_delay: float = DEFAULT_DELETE_DELAY,
        service_secret: str | None = None,
        identity: str | None = None,
        sync_auth_url: str | None = None,
        dataset_sync_delay: float = DEFAULT_DATASET_SYNC_DELAY,
    ) -> None:
        stores = [_store_option(option) for option in object_stores]
        _validate(port, admin_pat, user_pat, latency_ms, fault_rate, tuple(name for name, _ in stores))
        _validate_sync(sync_delay_ms, sync_drop_rate, service_secret, sync_service, sync_auth_url)
        if delete_delay < 0:
            raise HossctlError(f"Delete delay {delete_delay} s is negative; give 0 or more seconds.")
        if dataset_sync_delay < 0:
            raise HossctlError(
                f"Dataset sync delay {dataset_sync_delay} s is negative; give 0 or more seconds."
            )
        self.host = host
        self.port = port
        self.data = data
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.fault_seed = fault_seed
        self.object_stores = tuple(name for name, _ in stores)
        self.no_queue_stores = frozenset(name for name, queue in stores if not queue)
        self.delete_delay = delete_delay
        self._delete_worker: _DeleteWorker | None = None
        self.sync_service = sync_service
        self.sync_delay_ms = sync_delay_ms
        self.sync_drop_rate = sync_drop_rate
        self.sync_seed = sync_seed
        self.sync_auth_url = sync_auth_url.rstrip("/") if sync_auth_url else None
        self.identity = identity
        self.dataset_sync_delay = dataset_sync_delay
        self._sync: SyncService | None = None
        self._issuer_name: str | None = None
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        try:
            self._store = Store(data)
        except Exception as exc:  # sqlite3.Error, OSError
            raise HossctlError(
                f"Cannot open the sandbox data file {data!r} ({exc}); give a writable SQLite file path."
            ) from None
        self.admin_pat = self._persisted("admin_pat", admin_pat, generate_pat)
        self.user_pat = self._persisted("user_pat", user_pat, generate_pat)
        if self.admin_pat == self.user_pat:
            self.user_pat = self._persisted("user_pat", generate_pat(), generate_pat)
        # The auth service's SERVICE_AUTH_SECRET; never printed, so only who set it can use it.
        self.service_secret = self._persisted("service_secret", service_secret, generate_service_secret)
        self._secret = self._persisted("jwt_secret", None, generate_secret)
        self._bootstrap()

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        if self._stopped:
            raise HossctlError("This sandbox was stopped; create a new Sandbox to serve again.")
        try:
            server = SandboxHTTPServer((self.host, self.port))
        except OSError as exc:
            self._store.close()
            self._stopped = True
            raise HossctlError(_bind_message(self.host, self.port, exc)) from None
        self.port = server.server_address[1]
        issuer_name, secret = f"{self.url}/auth/v1", self._secret
        if self.identity is not None:
            try:
                issuer_name, secret = shared_identity(self.identity, issuer_name, secret)
            except HossctlError:
                server.server_close()
                self._store.close()
                self._stopped = True
                raise
        self._issuer_name = issuer_name
        issuer = TokenIssuer(secret, issuer_name)
        accounts: dict[str, Account] = {self.admin_pat: ADMIN, self.user_pat: USER}
        api = Api(self._store, issuer, accounts, self.url)
        api.service_secret = self.service_secret
        api.dataset_sync_delay = self.dataset_sync_delay
        api.delete_delay = self.delete_delay
        api.delete_delay_minutes = int(self.delete_delay // 60)
        api.no_queue_stores = self.no_queue_stores
        self._store.reset_errored_deletes()
        self._delete_worker = _DeleteWorker(self._store)
        api.on_delete_scheduled = self._delete_worker.wake
        self._delete_worker.start()
        server.app = App(
            Router(route_table(api)), issuer, self.latency_ms, FaultPlan(self.fault_rate, self.fault_seed)
        )
        self._server = server
        if self.sync_service:
            self._sync = SyncService(
                self.core_url,
                self.sync_auth,
                self.service_secret,
                self.sync_targets,
                self.sync_delay_ms,
                self.sync_drop_rate,
                self.sync_seed,
            )
            self._sync.start()
            api.publish = self._sync.publish
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="hoss-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        server, self._server = self._server, None
        if self._sync is not None:
            self._sync.close()
        if self._delete_worker is not None:
            self._delete_worker.close()
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL clients use; a wildcard bind address is reached through loopback."""
        host = self.host
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return f"http://{host}:{self.port}"
        if address.is_unspecified:
            host = "127.0.0.1" if address.version == 4 else "::1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def core_url(self) -> str:
        return f"{self.url}/core/v1"

    @property
    def issuer(self) -> str:
        """The ``iss`` of the tokens this sandbox mints and accepts: its own auth URL, or under a shared
        identity the auth URL of the sandbox that created the identity file."""
        return self._issuer_name or f"{self.url}/auth/v1"

    @property
    def sync_auth(self) -> str:
        """Where the sync service exchanges the service secret: ``sync_auth_url`` or this sandbox's auth."""
        return self.sync_auth_url or f"{self.url}/auth/v1"

    # direct seeding and reading (no HTTP, no latency, no faults) ----------------------------

    def seed_namespace(
        self,
        name: str,
        description: str = "Seeded namespace",
        object_store: str = DEFAULT_STORE,
        bucket: str | None = None,
    ) -> None:
        """Create a namespace; raises store.NotFound / store.AlreadyExists like the API would."""
        self._store.create_namespace(name, description, object_store, bucket if bucket is not None else name)

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace as the API would (cascading its datasets and sync rows): a second writer."""
        self._store.delete_namespace(name)

    def seed_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> None:
        self._store.add_sync(namespace, target_core_service, target_namespace, sync_type)

    def seed_dataset(
        self,
        namespace: str,
        name: str,
        owner: str = "admin",
        sync_enabled: bool = False,
        sync_type: str = "simplex",
        delete_status: str = "NOT_SCHEDULED",
    ) -> None:
        """A dataset as a user's create makes it: rw for the owner's default group and ``admin``.

        A ``SCHEDULED`` one is due ``delete_delay`` seconds from now, like a DELETE through the API.
        """
        if delete_status not in DELETE_STATUSES:
            raise ValueError(f"delete_status must be one of {', '.join(DELETE_STATUSES)}")
        self._store.create_dataset(
            namespace,
            name,
            "",
            owner,
            {f"{owner}-hoss-default-group": "rw", "admin": "rw"},
            sync_enabled=sync_enabled,
            sync_type=sync_type,
            sync_policy=DEFAULT_SYNC_POLICY if sync_enabled else "",
            delete_status=delete_status,
            delete_delay=self.delete_delay,
        )
        if self._delete_worker is not None:
            self._delete_worker.wake()

    def namespaces(self) -> list[dict[str, Any]]:
        return [
            {
                "name": ns["name"],
                "description": ns["description"],
                "object_store": ns["object_store"]["name"],
                "bucket_name": ns["bucket_name"],
            }
            for ns in self._store.list_namespaces(0, 0)
        ]

    def sync_targets(self, namespace: str) -> list[dict[str, str]]:
        """The namespace's sync rows; [] when the namespace does not exist."""
        try:
            return self._store.list_sync(namespace)
        except NotFound:
            return []

    def datasets(self, namespace: str) -> list[dict[str, Any]]:
        """Every dataset row of a namespace, whoever may see it; [] when it does not exist."""
        try:
            rows = self._store.all_datasets(namespace)
        except NotFound:
            return []
        return [
            {
                "name": row.name,
                "owner": row.owner,
                "delete_status": row.delete_status,
                "sync_enabled": row.sync_enabled,
                "sync_type": row.sync_type,
            }
            for row in rows
        ]

    # internals ------------------------------------------------------------------------------

    def _persisted(self, key: str, given: str | None, generate: Any) -> str:
        value = given or self._store.setting(key) or generate()
        self._store.set_setting(key, value)
        return str(value)

    def _bootstrap(self) -> None:
        for name in self.object_stores:
            description = "Default object store" if name == DEFAULT_STORE else f"Object store {name}"
            self._store.ensure_object_store(name, description, OBJECT_STORE_ENDPOINT)
        if DEFAULT_STORE in self.object_stores:
            self._store.ensure_namespace("default", "Default namespace", DEFAULT_STORE, "data")
        for account in (ADMIN, USER):
            self._store.seed_auth_user(
                account.username, account.name, account.email, account.role, account.groups
            )


class _DeleteWorker:
    """The background dataset delete worker (server/core/pkg/worker/worker.go
    ``DeleteDatasetWorker``, lines 12-148), one thread per sandbox that stops with it.

    Instead of the real 2 s polling period it sleeps until the next ``delete_on`` (rechecking every
    second, for a second writer on a shared data file), and a scheduled delete wakes it.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hoss-sandbox-delete", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._store.run_due_deletes()
                due = self._store.next_delete_due()
            except StoreClosed:
                return
            except Exception as exc:  # like the real worker: log and carry on
                log.debug("delete worker: %s", type(exc).__name__)
                due = None
            wait = 1.0
            if due is not None:
                wait = min(wait, max((due - now_utc()).total_seconds(), 0.0) + 0.01)
            self._wake.wait(wait)
            self._wake.clear()


def _store_option(option: str) -> tuple[str, bool]:
    """``NAME`` or ``NAME:no-queue`` -> (name, has a sync queue)."""
    name, sep, flag = option.rpartition(":")
    if sep and flag == NO_QUEUE:
        return name, False
    return option, True


def _validate(
    port: int,
    admin_pat: str | None,
    user_pat: str | None,
    latency_ms: int,
    fault_rate: float,
    object_stores: tuple[str, ...],
) -> None:
    if not 0 <= port <= 65535:
        raise HossctlError(f"Port {port} is out of range; give 0 (a free port) up to 65535.")
    for option, pat in (("admin", admin_pat), ("user", user_pat)):
        if pat is not None and not PAT_PATTERN.fullmatch(pat):
            raise HossctlError(
                f"The {option} PAT is not a Hoss PAT; it must be 'hp_' followed by letters and digits."
            )
    if admin_pat is not None and admin_pat == user_pat:
        raise HossctlError("The admin and user PATs are the same; give two different tokens.")
    if latency_ms < 0:
        raise HossctlError(f"Latency {latency_ms} ms is negative; give 0 or more milliseconds.")
    if not 0.0 <= fault_rate <= 1.0:
        raise HossctlError(f"Fault rate {fault_rate} is not a fraction; give a number from 0 to 1.")
    for name in object_stores:
        if not name or "|" in name or "/" in name:
            raise HossctlError(
                f"Object store name {name!r} is not allowed; use a non-empty name without '|' or '/'."
            )


def _validate_sync(
    delay_ms: int, drop_rate: float, service_secret: str | None, sync_service: bool, auth_url: str | None
) -> None:
    if delay_ms < 0:
        raise HossctlError(f"Sync delay {delay_ms} ms is negative; give 0 or more milliseconds.")
    if not 0.0 <= drop_rate <= 1.0:
        raise HossctlError(f"Sync drop rate {drop_rate} is not a fraction; give a number from 0 to 1.")
    if service_secret is not None and not SERVICE_SECRET_PATTERN.fullmatch(service_secret):
        raise HossctlError(
            "The service secret is not a Hoss service secret; it must be 'hsvc_' followed by letters "
            "and digits."
        )
    if auth_url is not None:
        if not sync_service:
            raise HossctlError(
                "A sync auth URL is only used by the sync service; also turn on --sync-service."
            )
        if not auth_url.startswith(("http://", "https://")):
            raise HossctlError(
                "The sync auth URL is not an http(s) URL; give an auth service's base, such as "
                "http://127.0.0.1:8001/auth/v1."
            )


def shared_identity(path: str, issuer: str, secret: str) -> tuple[str, str]:
    """The (issuer, signing secret) of an identity file, created from ours if it does not exist yet.

    Sandboxes that share the file sign and verify tokens alike, as cores behind one auth service
    do, so each trusts the other's tokens, the sync service's included. The file is written under
    a temporary name (``mkstemp``: ``O_EXCL``, mode 0600, as it holds a signing key) and linked into
    place, which fails if another sandbox got there first: then that one's file is read. A reader
    never sees a half-written file.
    """
    try:
        return _read_identity(path)
    except FileNotFoundError:
        pass
    try:
        fd, temporary = tempfile.mkstemp(prefix=".hoss-identity-", dir=os.path.dirname(os.path.abspath(path)))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump({"issuer": issuer, "secret": secret}, file)
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
        finally:
            os.unlink(temporary)
    except FileExistsError:
        return _read_identity(path)
    except OSError as exc:
        raise HossctlError(
            f"Cannot create the identity file {path!r} ({exc.strerror or type(exc).__name__}); "
            "give a path in a writable directory."
        ) from None
    return issuer, secret


def _read_identity(path: str) -> tuple[str, str]:
    """Raises FileNotFoundError when there is no file yet; HossctlError when it is not an identity."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise HossctlError(
            f"Cannot read the identity file {path!r} ({reason}); check its permissions."
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("issuer"), str)
        or not isinstance(data.get("secret"), str)
        or not data["issuer"]
        or not data["secret"]
    ):
        raise HossctlError(
            f"The identity file {path!r} does not hold a sandbox identity (a JSON object with string "
            "'issuer' and 'secret'); delete it or give another path."
        )
    return data["issuer"], data["secret"]


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"Port {port} on {host} is already in use; pick another with --port (0 picks a free port)."
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return f"Cannot listen on host {host!r}; give a local address such as 127.0.0.1."
    if exc.errno == errno.EACCES:
        return f"Not allowed to listen on port {port}; use a port above 1023 or 0 for a free one."
    return f"Cannot listen on {host}:{port} ({exc.strerror or exc}); try another --host or --port."
