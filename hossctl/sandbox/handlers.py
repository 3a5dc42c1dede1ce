"""The sandbox's core and auth API handlers, one method per route.

Each handler mirrors the real handler's order of checks (docs/hoss-server.md §5–§8), because the order
decides which error a client sees when several things are wrong at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from hossctl.sandbox.messages import (
    ApiError,
    Request,
    Response,
    bind,
    bind_error,
    empty,
    error_response,
    json_response,
    unhandled,
)
from hossctl.sandbox.store import DEFAULT_SYNC_POLICY, DatasetRow, Store, go_time, now_utc
from hossctl.sandbox.sync_service import (
    PUT_DS_DUPLEX,
    PUT_DS_PERM,
    PUT_DS_SYNC,
    PUT_NS_DUPLEX,
    SYNC_SERVICE_AGENT,
    ApiMessage,
)
from hossctl.sandbox.tokens import SERVICE_ACCOUNT, Account, Rejected, TokenIssuer
from hossctl.syncpolicy import NullPolicy
from hossctl.syncpolicy import parse as parse_policy

VERSION = "0.2.13"
BUILD = "sandbox"
SERVICES = ("db", "auth", "core", "sync", "minio", "reverse-proxy")
DEFAULT_PAGE = 25
_INTEGER = re.compile(r"[+-]?[0-9]+")
PRIVILEGED_ROLES = ("privileged", "admin", "service")  # api/util.go validatePrivileged
_INT64_MAX = 2**63 - 1


class _Bearer(Enum):
    """What auth's middleware records for the ``hsvc_`` bearer: ``c.Set("sat", …)`` and no user."""

    SERVICE_SECRET = "sat"


class Api:
    """Handlers bound to one sandbox's store, token issuer and accounts."""

    def __init__(
        self, store: Store, issuer: TokenIssuer, accounts: dict[str, Account], base_url: str
    ) -> None:
        self.store = store
        self.issuer = issuer
        self.accounts = accounts
        self.base_url = base_url
        self.delete_delay_minutes = 0
        self.delete_delay = 0.0  # seconds from a DELETE to the worker removing the row
        # Object stores configured without a sync queue (``--object-store NAME:no-queue``).
        self.no_queue_stores: frozenset[str] = frozenset()
        # Called after a dataset delete is scheduled, to wake the delete worker.
        self.on_delete_scheduled: Callable[[], None] | None = None
        # The API sync exchange: receives each API sync message (put-ns-duplex, put-ds-*); None when no
        # sync service is consuming, so messages go nowhere, as on a real core without one (§7.4).
        self.publish: Callable[[ApiMessage], None] | None = None
        # SyncDatasetHandler's ``time.Sleep(2 * time.Second)`` before each later message (§8.4).
        self.dataset_sync_delay = 2.0
        # The auth service's SERVICE_AUTH_SECRET: the one ``hsvc_`` bearer it accepts (§2.1).
        self.service_secret: str | None = None

    # discover and auth ----------------------------------------------------------------------

    def discover(self, request: Request) -> Response:
        return json_response(
            200,
            {
                "alive": "true",
                "dev": False,
                "version": VERSION,
                "build": BUILD,
                "services": list(SERVICES),
                "auth_service": f"{self.base_url}/auth/v1",
                "delete_delay_minutes": self.delete_delay_minutes,
            },
        )

    def exchange_pat(self, request: Request) -> Response:
        """server/auth/main.go ``AuthorizationMiddleware`` (lines 114-166), then
        server/auth/pkg/api/handler.go ``PATforJWT`` (lines 98-117): the bearer may be a PAT or a JWT.

        The correct service secret passes the middleware but sets no user, so ``getUser``
        (server/auth/pkg/api/util.go lines 17-24) fails: 401 ``{"error":"User info not available"}``.
        """
        bearer = self._auth_bearer(request)
        if bearer is _Bearer.SERVICE_SECRET:
            return error_response(401, "User info not available")
        # The groups claim is read from the auth database at each exchange (docs/hoss-server.md §2.2).
        groups = tuple(self.store.auth_group_names(bearer.username))
        return json_response(201, self.issuer.exchange(dataclasses.replace(bearer, groups=groups)))

    def exchange_sat(self, request: Request) -> Response:
        """server/auth/main.go ``AuthorizationMiddleware`` (lines 114-166), then
        server/auth/pkg/api/handler.go ``SATforJWT`` (lines 208-228): only the service secret gets the
        service account's tokens; a valid PAT or JWT passes the middleware and is refused with 403."""
        if self._auth_bearer(request) is not _Bearer.SERVICE_SECRET:
            return error_response(403, "SAT to JWT endpoint only available to service accouts")
        return json_response(201, self.issuer.exchange(SERVICE_ACCOUNT))

    def _auth_bearer(self, request: Request) -> Account | _Bearer:
        """The auth service's ``AuthorizationMiddleware`` (server/auth/main.go lines 114-166): an
        ``hp_`` PAT or a JWT gives its account, the ``hsvc_`` service secret gives ``SERVICE_SECRET``; no
        header, another scheme, an unknown PAT, a wrong secret or an invalid JWT is 401."""
        scheme, sep, token = (request.header("authorization") or "").partition(" ")
        if scheme != "Bearer" or not sep:
            raise ApiError(error_response(401, "Unauthorized"))
        if token.startswith("hsvc_"):
            # Compared with SERVICE_AUTH_SECRET (line 147); in constant time, which costs nothing.
            if self.service_secret is None or not secrets.compare_digest(token, self.service_secret):
                raise ApiError(error_response(401, "Unauthorized"))
            return _Bearer.SERVICE_SECRET
        account = self.accounts.get(token) if token.startswith("hp_") else self._jwt_account(token)
        if account is None:
            raise ApiError(error_response(401, "Unauthorized"))
        return account

    def _jwt_account(self, token: str) -> Account | None:
        """The auth service's ``authorizeJWT`` (server/auth/main.go lines 171-200) and
        ``userinfo.ParseUserClaims``: None for a 401; a panic in the claim checks is a bare 500."""
        try:
            claims = self.issuer.claims(token)
        except Rejected as exc:
            if exc.status == 500:
                raise ApiError(Response(500)) from None
            return None
        nickname = claims.get("nickname")
        if not isinstance(nickname, str):
            return None
        if claims.get("service") is not True and claims.get("email") is None:
            return None  # ParseUserClaims: "No email claim"
        for account in self.accounts.values():
            if account.username == nickname:
                return account
        role, groups, name = claims.get("role"), claims.get("groups"), claims.get("name")
        return Account(
            nickname,
            role if isinstance(role, str) and role else "user",
            tuple(groups.split(",")) if isinstance(groups, str) else (),
            name if isinstance(name, str) else "* *",
        )

    def openid_configuration(self, request: Request) -> Response:
        auth = f"{self.base_url}/auth/v1"
        return json_response(
            200,
            {
                "issuer": self.issuer.issuer,  # another sandbox's auth URL under a shared identity
                "authorization_endpoint": f"{auth}/auth",
                "token_endpoint": f"{auth}/token",
                "jwks_uri": f"{auth}/keys",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["HS256"],
            },
        )

    def keys(self, request: Request) -> Response:
        # The sandbox signs with a shared secret, which must never be published; an empty JWKS
        # is the honest answer.
        return json_response(200, {"keys": []})

    def ping(self, request: Request) -> Response:
        return json_response(200, {"alive": "true"})

    # object stores --------------------------------------------------------------------------

    def list_object_stores(self, request: Request) -> Response:
        limit, offset = _paging(request)
        return json_response(200, self.store.list_object_stores(limit, offset) or None)

    def get_object_store(self, request: Request) -> Response:
        return json_response(200, self.store.get_object_store(request.params["name"]))

    # namespaces -----------------------------------------------------------------------------

    def list_namespaces(self, request: Request) -> Response:
        limit, offset = _paging(request)
        # go-pg leaves a nil slice when nothing matches, which Go encodes as null (§6.1).
        return json_response(200, self.store.list_namespaces(limit, offset) or None)

    def create_namespace(self, request: Request) -> Response:
        body = bind(request, ("name", "description", "object_store_name", "bucket_name"))
        created = self.store.create_namespace(
            body["name"], body["description"], body["object_store_name"], body["bucket_name"]
        )
        return json_response(201, created)

    def get_namespace(self, request: Request) -> Response:
        return json_response(200, self.store.get_namespace(request.params["ns"]))

    def delete_namespace(self, request: Request) -> Response:
        # No lookup, no emptiness check: the real handler deletes by name and cascades (§6.4).
        self.store.delete_namespace(request.params["ns"])
        return empty()

    def sts(self, request: Request) -> Response:
        namespace = self.store.get_namespace(request.params["ns"])
        return json_response(
            200,
            {
                "access_key_id": "SANDBOX" + secrets.token_hex(6).upper(),
                "secret_access_key": secrets.token_urlsafe(30),
                "session_token": secrets.token_urlsafe(48),
                "expiration": go_time((now_utc() + timedelta(hours=1)).isoformat()),
                "endpoint": namespace["object_store"]["endpoint"],
                "region": "us-east-1",
            },
        )

    # namespace sync targets -----------------------------------------------------------------

    def list_sync(self, request: Request) -> Response:
        return json_response(200, self.store.list_sync(request.params["ns"]))

    def put_sync(self, request: Request) -> Response:
        namespace = request.params["ns"]
        self.store.require_namespace(namespace)
        body = bind(request, ("target_core_service", "sync_type"), ("target_namespace",))
        target_core_service, sync_type = body["target_core_service"], body["sync_type"]
        target_namespace = body["target_namespace"] or namespace
        self._require_sync_exchange(self.store.get_namespace(namespace))
        # An existing (target_core_service, target_namespace) is a silent no-op, whatever the type,
        # and sends nothing (§7.2 step 7).
        inserted = self.store.add_sync(namespace, target_core_service, target_namespace, sync_type)
        if (
            inserted
            and sync_type == "duplex"
            and request.header("user-agent") != SYNC_SERVICE_AGENT
            and self.publish is not None
        ):
            self.publish(
                ApiMessage(
                    PUT_NS_DUPLEX,
                    namespace,
                    target_core_service=target_core_service,
                    target_namespace=target_namespace,
                )
            )
        return empty()

    def sync_configuration(self, request: Request) -> Response:
        """server/core/pkg/api/sync.go ``GetSyncConfiguration``, lines 192-264: service accounts
        only; 304 when ``If-Modified-Since`` (RFC 1123, Go's ``time.RFC1123``) is *after* the last
        change, so echoing ``Last-Modified`` back (truncated to the second) still gets a 200."""
        if not request.user.service:
            raise ApiError(error_response(401, "User is unauthorized"))
        last_updated, configs = self.store.sync_configuration()
        stamp = last_updated.strftime("%a, %d %b %Y %H:%M:%S UTC")
        header = request.header("if-modified-since")
        if header:
            since = _rfc1123(header)
            if since is None:
                raise unhandled()  # time.Parse's error goes through HandleError
            if since > last_updated:
                return Response(304, b"", None, headers=(("Last-Modified", stamp),))
        source = f"{self.base_url}/core/v1"
        body = [
            {
                "sync_type": config["sync_type"],
                "source_core_service": source,
                "source_namespace": config["source_namespace"],
                "source_policies": config["source_policies"],
                "target_core_service": config["target_core_service"],
                "target_namespace": config["target_namespace"],
            }
            for config in configs
        ]
        response = json_response(200, body)
        return dataclasses.replace(response, headers=(*response.headers, ("Last-Modified", stamp)))

    def delete_sync(self, request: Request) -> Response:
        namespace = request.params["ns"]
        self.store.require_namespace(namespace)
        body = bind(request, ("target_core_service", "sync_type"), ("target_namespace",))
        self.store.remove_sync(namespace, body["target_core_service"], body["target_namespace"] or namespace)
        return empty()

    # users ----------------------------------------------------------------------------------

    def sync_user(self, request: Request) -> Response:
        self.store.set_memberships(request.user.username, [g for g in request.user.groups if g])
        return empty()

    # datasets -------------------------------------------------------------------------------

    def list_datasets(self, request: Request) -> Response:
        namespace = request.params["ns"]
        self.store.require_namespace(namespace)
        self.store.ensure_user(request.user.username)
        visible = self.store.visible_datasets(namespace, request.user.username)
        # The list query does not load the namespace's object store (§8.1).
        ns_json = self.store.get_namespace(namespace)
        ns_json["object_store"] = {"name": "", "description": "", "endpoint": "", "type": ""}
        return json_response(200, [dataset_json(row, perms, ns_json) for row, perms in visible])

    def create_dataset(self, request: Request) -> Response:
        """server/core/pkg/api/dataset.go ``CreateDataset``, lines 41-77: bind, then role, then names."""
        namespace = request.params["ns"]
        body = bind(request, ("name",), ("description",))
        # ``Description *string binding:"required"``: present and not null, but "" is fine.
        if json.loads(request.body).get("description") is None:
            raise bind_error()
        if request.user.role not in PRIVILEGED_ROLES:
            raise ApiError(error_response(401, "User is unauthorized"))
        self.store.require_namespace(namespace)
        name = body["name"]
        if "/" in name or "|" in name:
            raise unhandled()
        owner = request.user.username
        # No initial permissions for the service account (dataset.go lines 107-117): a dataset the sync
        # service creates gets its permissions from later put-ds-perm messages, or none (§8.1).
        permissions = {} if request.user.service else {f"{owner}-hoss-default-group": "rw", "admin": "rw"}
        self.store.create_dataset(namespace, name, body["description"], owner, permissions)
        return json_response(201, self._dataset_json(namespace, name))

    def get_dataset(self, request: Request) -> Response:
        namespace, name = request.params["ns"], request.params["ds"]
        row, perms = self.store.get_dataset(namespace, name)
        if not set(request.user.groups) & set(perms):
            raise unhandled()  # ErrNotPermitted is not mapped by the real server (§3)
        return json_response(200, dataset_json(row, perms, self.store.get_namespace(namespace)))

    def delete_dataset(self, request: Request) -> Response:
        self.store.schedule_dataset_delete(request.params["ns"], request.params["ds"], self.delete_delay)
        if self.on_delete_scheduled is not None:
            self.on_delete_scheduled()
        return empty()

    def get_dataset_sync(self, request: Request) -> Response:
        row, _ = self.store.get_dataset(request.params["ns"], request.params["ds"])
        return json_response(200, row.sync_enabled)

    def put_dataset_sync(self, request: Request) -> Response:
        """server/core/pkg/api/sync.go ``EnableSyncDataset``, lines 533-621: role (route), bind,
        policy (YAML or JSON, ``Version: "1"``), namespace, dataset, the store's API sync exchange,
        the update, then, unless the sync service itself is calling, the dataset's sync messages."""
        body = bind(request, ("sync_type",), ("sync_policy",))
        policy = body["sync_policy"] or DEFAULT_SYNC_POLICY
        try:
            problem = parse_policy(policy)
        except NullPolicy:
            raise ApiError(Response(500)) from None
        if problem is not None:
            raise ApiError(error_response(400, f"problem parsing sync_policy document: {problem}"))
        namespace, name = request.params["ns"], request.params["ds"]
        ns_json = self.store.get_namespace(namespace)
        row, permissions = self.store.get_dataset(namespace, name)
        self._require_sync_exchange(ns_json)
        # No check against the namespace's sync rows: the real server does not enforce it (§8.4).
        self.store.set_dataset_sync(namespace, name, body["sync_type"], policy)
        if request.header("user-agent") != SYNC_SERVICE_AGENT:
            self._sync_dataset(row, permissions, body["sync_type"], policy, is_update=row.sync_enabled)
        return empty()

    def _sync_dataset(
        self, row: DatasetRow, permissions: dict[str, str], sync_type: str, policy: str, is_update: bool
    ) -> None:
        """server/core/pkg/sync/endpoints.go ``SyncDatasetHandler``, lines 114-187, as the real one runs
        it, inside the request: ``put-ds-sync`` on the first enable; a pause and ``put-ds-duplex``
        when the type is exactly ``duplex``; on the first enable a pause and one ``put-ds-perm`` per
        permission the dataset had when it was read. The pauses really hold up the answer (the real
        handler's "Hack...should process within 2 seconds to ensure ordering"), whether or not a
        sync service consumes the messages."""
        namespace, name = row.namespace, row.name
        if not is_update:
            self._publish(ApiMessage(PUT_DS_SYNC, namespace, name, description=row.description))
        if sync_type == "duplex":
            time.sleep(self.dataset_sync_delay)
            self._publish(ApiMessage(PUT_DS_DUPLEX, namespace, name, sync_policy=policy))
        if not is_update:
            time.sleep(self.dataset_sync_delay)
            for group, permission in permissions.items():
                self._publish(ApiMessage(PUT_DS_PERM, namespace, name, group=group, permission=permission))

    def _publish(self, message: ApiMessage) -> None:
        if self.publish is not None:
            self.publish(message)

    def _require_sync_exchange(self, namespace: dict[str, Any]) -> None:
        """sync.go lines 333-347 (namespace) and 584-598 (dataset): a store without a ``queues:``
        entry has no API sync exchange, an error HandleError turns into 500 "Unhandled error"."""
        if namespace["object_store"]["name"] in self.no_queue_stores:
            raise unhandled()

    def delete_dataset_sync(self, request: Request) -> Response:
        self.store.clear_dataset_sync(request.params["ns"], request.params["ds"])
        return empty()

    def _dataset_json(self, namespace: str, name: str) -> dict[str, Any]:
        row, perms = self.store.get_dataset(namespace, name)
        return dataset_json(row, perms, self.store.get_namespace(namespace))


_RFC1123 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) [A-Za-z]{3,5}"
)


def _rfc1123(text: str) -> datetime | None:
    """Go's ``time.Parse(time.RFC1123, …)``; a zone abbreviation this machine does not know counts
    as UTC, as Go does on a UTC machine. None when it does not parse."""
    match = _RFC1123.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime.strptime(text[5:25], "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def dataset_json(row: DatasetRow, permissions: dict[str, str], namespace: dict[str, Any]) -> dict[str, Any]:
    """The §8.3 dataset JSON; ``permissions`` is omitted when there are none, like the server."""
    result: dict[str, Any] = {
        "namespace": namespace,
        "name": row.name,
        "description": row.description,
        "created": go_time(row.created),
        "root_directory": row.root_directory,
        "delete_on": go_time(row.delete_on),
        "delete_status": row.delete_status,
        "owner": None if row.owner is None else {"username": row.owner, "memberships": None},
        "sync_enabled": row.sync_enabled,
        "sync_type": row.sync_type,
        "sync_policy": row.sync_policy,
    }
    if permissions:
        result["permissions"] = [
            {"group": {"group_name": group}, "permission": permission}
            for group, permission in permissions.items()
        ]
    return result


def _paging(request: Request) -> tuple[int, int]:
    """gin's DefaultQuery + strconv.Atoi (server/core/pkg/api/namespace.go ``ListNamespaces``, lines
    172-182); bad, negative or int64-overflowing values end as a 500 (§6.1)."""
    values = []
    for name, default in (("limit", DEFAULT_PAGE), ("offset", 0)):
        raw = request.query_value(name)
        if raw is None:
            values.append(default)
            continue
        # strconv.Atoi fails beyond int64 (HandleError: 500 with its JSON body); a negative value
        # passes Atoi and fails in Postgres, the same 500.
        if not _INTEGER.fullmatch(raw) or not 0 <= int(raw) <= _INT64_MAX:
            raise unhandled()
        values.append(int(raw))
    return values[0], values[1]
