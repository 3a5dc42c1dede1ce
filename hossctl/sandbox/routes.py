"""The sandbox's one route table, and gin's way of matching it.

Matching follows gin v1.7 (docs/hoss-server.md §1): the path is percent-decoded before routing (so an
encoded ``/`` splits a segment and the route no longer matches), a parameter never spans a
``/``, a path that only matches with the trailing slash toggled is redirected (301 for GET,
307 otherwise), and anything else is the plain-text 404 (never a 405).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

from hossctl.sandbox.groups import GroupsApi
from hossctl.sandbox.handlers import Api
from hossctl.sandbox.messages import Request, Response


class Access(Enum):
    """Who may call a route (docs/hoss-server.md §2.5)."""

    PUBLIC = "public"  # no JWT (discover and the auth service)
    ANY = "any"  # any valid JWT
    PRIVILEGED = "privileged"  # role privileged, admin or service
    ADMIN = "admin"  # role admin or service

    def allows(self, role: str) -> bool:
        if self is Access.ADMIN:
            return role in ("admin", "service")
        if self is Access.PRIVILEGED:
            return role in ("privileged", "admin", "service")
        return True


Handler = Callable[[Request], Response]

CORE = "/core/v1"
AUTH = "/auth/v1"
DISCOVER_PATH = f"{CORE}/discover"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    access: Access

    def match(self, segments: list[str]) -> dict[str, str] | None:
        parts = self.pattern.split("/")
        if len(parts) != len(segments):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


def route_table(api: Api) -> list[Route]:
    """Every route the sandbox serves; collection routes end with "/" as in the real server."""
    ns = f"{CORE}/namespace/{{ns}}"
    ds = f"{ns}/dataset/{{ds}}"
    R, P, A, X = Route, Access.PUBLIC, Access.ANY, Access.ADMIN
    V = Access.PRIVILEGED
    groups = GroupsApi(api.store, api.issuer, api.accounts, api.service_secret)
    return [
        R("GET", f"{CORE}/discover", api.discover, P),
        R("GET", f"{CORE}/object_store/", api.list_object_stores, A),
        R("GET", f"{CORE}/object_store/{{name}}", api.get_object_store, A),
        R("GET", f"{CORE}/namespace/", api.list_namespaces, A),
        R("POST", f"{CORE}/namespace/", api.create_namespace, X),
        R("GET", ns, api.get_namespace, A),
        R("DELETE", ns, api.delete_namespace, X),
        R("GET", f"{ns}/sync", api.list_sync, A),
        R("PUT", f"{ns}/sync", api.put_sync, X),
        R("DELETE", f"{ns}/sync", api.delete_sync, X),
        R("GET", f"{ns}/sts", api.sts, A),
        R("GET", f"{ns}/dataset/", api.list_datasets, A),
        R("POST", f"{ns}/dataset/", api.create_dataset, A),
        R("GET", ds, api.get_dataset, A),
        R("DELETE", ds, api.delete_dataset, V),
        R("GET", f"{ds}/sync", api.get_dataset_sync, A),
        R("PUT", f"{ds}/sync", api.put_dataset_sync, V),
        R("DELETE", f"{ds}/sync", api.delete_dataset_sync, V),
        R("PUT", f"{CORE}/user/sync", api.sync_user, A),
        R("GET", f"{CORE}/configuration/sync", api.sync_configuration, A),
        # dataset permissions check the role inside, after the namespace lookup
        R("PUT", f"{ds}/user/{{username}}/access/{{level}}", groups.put_user_permission, A),
        R("DELETE", f"{ds}/user/{{username}}", groups.delete_user_permission, A),
        R("PUT", f"{ds}/group/{{group}}/access/{{level}}", groups.put_group_permission, A),
        R("DELETE", f"{ds}/group/{{group}}", groups.delete_group_permission, A),
        R("POST", f"{AUTH}/pat/exchange/jwt", api.exchange_pat, P),
        R("POST", f"{AUTH}/sat/exchange/jwt", api.exchange_sat, P),
        R("GET", f"{AUTH}/.well-known/openid-configuration", api.openid_configuration, P),
        R("GET", f"{AUTH}/keys", api.keys, P),
        R("GET", f"{AUTH}/ping", api.ping, P),
        # the auth service checks its own bearer (a PAT or a JWT) inside each handler
        R("POST", f"{AUTH}/group/", groups.create_group, P),
        R("GET", f"{AUTH}/group/{{group}}", groups.get_group, P),
        R("DELETE", f"{AUTH}/group/{{group}}", groups.delete_group, P),
        R("PUT", f"{AUTH}/group/{{group}}/user/{{username}}", groups.add_member, P),
        R("DELETE", f"{AUTH}/group/{{group}}/user/{{username}}", groups.remove_member, P),
        R("GET", f"{AUTH}/user/{{username}}", groups.get_user, P),
    ]


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


@dataclass(frozen=True)
class Redirect:
    status: int
    location: str


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def _find(self, method: str, raw_path: str) -> Match | None:
        segments = unquote(raw_path).split("/")
        for route in self._routes:
            if route.method == method:
                params = route.match(segments)
                if params is not None:
                    return Match(route, params)
        return None

    def resolve(self, method: str, raw_path: str, raw_query: str) -> Match | Redirect | None:
        found = self._find(method, raw_path)
        if found is not None:
            return found
        if len(raw_path) > 1 and raw_path.endswith("/"):
            toggled = raw_path[:-1]
        else:
            toggled = raw_path + "/"
        if self._find(method, toggled) is None:
            return None
        location = toggled + (f"?{raw_query}" if raw_query else "")
        return Redirect(301 if method == "GET" else 307, location)
