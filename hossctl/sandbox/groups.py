"""Groups and memberships in the auth service, and group permissions on datasets in core.

The two services answer differently (docs/hoss-server.md §13). Auth checks its own bearer (a PAT or a
JWT; anything else is 401 ``{"error":"Unauthorized"}``), decides who may act from memberships in *its*
database, and answers database errors with their own text and a 500 (``record not found``, ``record
already exists``), which is how hoss-client recognises them. Core's permission routes answer through
its usual error mapping (§3), so they are declared ANY in the route table and check the role themselves,
after the namespace lookup, as the real handler does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from hossctl.sandbox.messages import ApiError, Request, Response, empty, error_response, json_response
from hossctl.sandbox.store import AlreadyExists, NotFound, Store
from hossctl.sandbox.tokens import Account, Caller, Rejected, TokenIssuer

DEFAULT_GROUP_SUFFIX = "hoss-default-group"
MAX_GROUP_NAME = 64  # groups.group_name is character varying(64)
_NOT_AUTHORIZED = "user is not authorized"  # auth's api.ErrUnauthorized


class GroupsApi:
    """The auth group routes and core's dataset-permission routes, over one sandbox's store."""

    def __init__(
        self,
        store: Store,
        issuer: TokenIssuer,
        accounts: dict[str, Account],
        service_secret: str | None = None,
    ) -> None:
        self.store = store
        self.issuer = issuer
        self.accounts = accounts
        self.service_secret = service_secret

    # auth: /auth/v1/group/... and /auth/v1/user/{username} ----------------------------------

    def create_group(self, request: Request) -> Response:
        caller = self._caller(request)
        if caller.role not in ("admin", "privileged"):
            return error_response(401, _NOT_AUTHORIZED)
        name, description = _bind_create_group(request.body)
        if name.endswith(DEFAULT_GROUP_SUFFIX) or len(name) > MAX_GROUP_NAME:
            return error_response(500, "group name is invalid")
        with _auth_errors():
            return json_response(201, self.store.create_auth_group(name, description, caller.username))

    def get_group(self, request: Request) -> Response:
        caller = self._caller(request)
        group = request.params["group"]
        if caller.role not in ("admin", "privileged") and not self.store.is_auth_member(
            caller.username, group
        ):
            return error_response(401, _NOT_AUTHORIZED)
        with _auth_errors():
            return json_response(200, self.store.get_auth_group(group))

    def delete_group(self, request: Request) -> Response:
        caller = self._caller(request)
        group = request.params["group"]
        if group in ("admin", "public"):
            return error_response(400, "The public and admin groups cannot be deleted.")
        if not self._admin_or_privileged_member(caller, group):
            return error_response(401, _NOT_AUTHORIZED)
        self.store.delete_auth_group(group)
        return empty()

    def add_member(self, request: Request) -> Response:
        caller = self._caller(request)
        group, username = request.params["group"], request.params["username"]
        if not self._admin_or_privileged_member(caller, group):
            return error_response(401, _NOT_AUTHORIZED)
        with _auth_errors():
            self.store.add_auth_member(group, username)
        # The handler returns the inserted database.Membership, whose fields are all hidden or nil.
        return json_response(200, {})

    def remove_member(self, request: Request) -> Response:
        caller = self._caller(request)
        group, username = request.params["group"], request.params["username"]
        if not self._admin_or_privileged_member(caller, group):
            return error_response(401, _NOT_AUTHORIZED)
        if group == "public" and caller.role != "admin":
            return error_response(400, "Only administrators can remove users from the 'public' group.")
        with _auth_errors():
            self.store.remove_auth_member(group, username)
        return empty()

    def get_user(self, request: Request) -> Response:
        # Any authenticated caller may read any user: ``GetUser`` (server/auth/pkg/api/groups.go lines
        # 250-260) never calls getUser, so the service secret may too.
        self._authenticate(request)
        with _auth_errors():
            return json_response(200, self.store.get_auth_user(request.params["username"]))

    def _caller(self, request: Request) -> Caller:
        """The caller a handler's ``getUser`` finds (server/auth/pkg/api/util.go lines 17-24): none for
        the service secret, which every group handler (groups.go lines 32-248) answers with 401."""
        caller = self._authenticate(request)
        if caller is None:
            raise ApiError(error_response(401, "User info not available"))
        return caller

    def _authenticate(self, request: Request) -> Caller | None:
        """Auth's ``AuthorizationMiddleware`` (server/auth/main.go lines 114-166): ``Bearer`` + a known
        PAT or a valid JWT gives its caller, the service secret None; anything else is 401."""
        scheme, sep, token = (request.header("authorization") or "").partition(" ")
        if scheme != "Bearer" or not sep:
            raise ApiError(error_response(401, "Unauthorized"))
        if token.startswith("hsvc_"):
            if self.service_secret is None or not secrets.compare_digest(token, self.service_secret):
                raise ApiError(error_response(401, "Unauthorized"))
            return None
        if token.startswith("hp_"):
            account = self.accounts.get(token)
            if account is None:
                raise ApiError(error_response(401, "Unauthorized"))
            return Caller(
                account.username, account.role, tuple(self.store.auth_group_names(account.username))
            )
        try:
            return self.issuer.verify(f"Bearer {token}")
        except Rejected:
            raise ApiError(error_response(401, "Unauthorized")) from None

    def _admin_or_privileged_member(self, caller: Caller, group: str) -> bool:
        """Auth's ``validateAdminOrPrivilegedMember``: membership as recorded in auth, not the JWT."""
        if caller.role == "admin":
            return True
        return caller.role == "privileged" and self.store.is_auth_member(caller.username, group)

    # core: /core/v1/namespace/{ns}/dataset/{ds}/{group|user}/... ------------------------------

    def put_group_permission(self, request: Request) -> Response:
        group, level = request.params["group"], request.params["level"]
        if group == "public" and level == "rw":
            return error_response(400, "The public group can only be added with read-only permissions.")
        if group == "admin" and level == "r":
            return error_response(400, "The admin group permissions cannot be set to read-only.")
        return self._update_permission(request, group, level)

    def put_user_permission(self, request: Request) -> Response:
        group = f"{request.params['username']}-{DEFAULT_GROUP_SUFFIX}"
        return self._update_permission(request, group, request.params["level"])

    def delete_group_permission(self, request: Request) -> Response:
        group = request.params["group"]
        if group == "admin":
            return error_response(400, "The admin group can not be removed.")
        return self._remove_permission(request, group)

    def delete_user_permission(self, request: Request) -> Response:
        return self._remove_permission(request, f"{request.params['username']}-{DEFAULT_GROUP_SUFFIX}")

    def _update_permission(self, request: Request, group: str, level: str) -> Response:
        namespace, dataset = self._permission_target(request)
        if level not in ("r", "rw"):  # Postgres rejects the enum value: ErrInvalidInput
            return error_response(400, "Invalid input")
        self.store.set_dataset_permission(namespace, dataset, group, level)
        return empty()

    def _remove_permission(self, request: Request, group: str) -> Response:
        namespace, dataset = self._permission_target(request)
        self.store.remove_dataset_permission(namespace, dataset, group)
        return empty()

    def _permission_target(self, request: Request) -> tuple[str, str]:
        """Core's order: namespace (404), role (401), dataset (404); any group name is accepted."""
        namespace, dataset = request.params["ns"], request.params["ds"]
        self.store.require_namespace(namespace)
        if request.user.role not in ("privileged", "admin", "service"):
            raise ApiError(error_response(401, "User is unauthorized"))
        self.store.get_dataset(namespace, dataset)
        return namespace, dataset


@contextmanager
def _auth_errors() -> Iterator[None]:
    """Auth writes the database error's text with a 500 (``database/error.go``)."""
    try:
        yield
    except NotFound:
        raise ApiError(error_response(500, "record not found")) from None
    except AlreadyExists:
        raise ApiError(error_response(500, "record already exists")) from None


def _bind_create_group(body: bytes) -> tuple[str, str]:
    """gin's ``BindJSON`` into ``CreateGroupRequest``: ``name`` non-empty, ``description`` present.

    A failed bind is a 400 carrying the error's text (the handler's later 500 cannot change the
    status gin already wrote). Missing fields give the validator's exact text; other failures an
    approximation of encoding/json's.
    """
    try:
        data = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(error_response(400, "invalid character in JSON body")) from None
    if body and data is None:
        data = {}
    if not isinstance(data, dict):
        text = "EOF" if not body else "json: cannot unmarshal into Go value of type api.CreateGroupRequest"
        raise ApiError(error_response(400, text))
    for field in ("name", "description"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise ApiError(
                error_response(400, f"json: cannot unmarshal into Go struct field CreateGroupRequest.{field}")
            )
    missing = [
        f"Key: 'CreateGroupRequest.{go}' Error:Field validation for '{go}' failed on the 'required' tag"
        for go, present in (
            ("GroupName", bool(data.get("name"))),
            ("Description", data.get("description") is not None),
        )
        if not present
    ]
    if missing:
        raise ApiError(error_response(400, "\n".join(missing)))
    return str(data["name"]), str(data["description"])
