"""Groups, memberships and dataset group permissions (docs/hoss-server.md §13), checked against the Go
source of the real server (the mirror of WyssCenter/hybrid-object-store at HEAD; line ranges below), and
the official ``examples/example-admin.py`` of hoss-client 0.7.6 run unmodified but for its URL."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

GROUP = "/auth/v1/group"
DS = "/core/v1/namespace/default/dataset"
EXAMPLE = Path(__file__).parent / "upstream" / "example-admin.py"
EXAMPLE_SHA256 = "d044985f3777e0f9dbe819a053e33140d5dbea96579bba682f57407fa961ffc0"
ADMIN_USER = {
    "username": "admin",
    "full_name": "Sandbox Admin",
    "given_name": "Sandbox",
    "family_name": "Admin",
    "email": "admin@sandbox.invalid",
    "email_verified": True,
    "role": "admin",
}
NOT_AUTHORIZED = {"error": "user is not authorized"}


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory()


def _claims_groups(sandbox: Sandbox, pat: str) -> str:
    import jwt

    response = httpx.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"}
    )
    groups: str = jwt.decode(response.json()["id_token"], options={"verify_signature": False})["groups"]
    return groups


def test_create_group(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """server/auth/pkg/api/groups.go CreateGroup (32-65), database.go CreateGroup (205-220), error.go:
    privileged/admin only (else 401 "user is not authorized"), 201 with the bare group (memberships nil,
    omitted), the creator becomes a member, a duplicate is 500 "record already exists", a name ending in
    hoss-default-group or over 64 characters is 500 "group name is invalid". main.go registers
    ``POST group/``, so the client's ``POST /group`` gets gin's 307 first."""
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    redirect = admin.post(GROUP, json={"name": "g1", "description": "d"})
    assert (redirect.status_code, redirect.headers["location"]) == (307, f"{GROUP}/")
    created = admin.post(f"{GROUP}/", json={"name": "g1", "description": "first"})
    assert (created.status_code, created.json()) == (201, {"group_name": "g1", "description": "first"})
    assert admin.get(f"{GROUP}/g1").json()["memberships"] == [{"user": ADMIN_USER}]
    again = admin.post(f"{GROUP}/", json={"name": "g1", "description": "other"})
    assert (again.status_code, again.json()) == (500, {"error": "record already exists"})
    for name in ("x-hoss-default-group", "n" * 65):
        bad = admin.post(f"{GROUP}/", json={"name": name, "description": ""})
        assert (bad.status_code, bad.json()) == (500, {"error": "group name is invalid"})
    assert admin.post(f"{GROUP}/", json={"name": "n" * 64, "description": ""}).status_code == 201
    denied = user.post(f"{GROUP}/", json={"name": "g2", "description": "d"})
    assert (denied.status_code, denied.json()) == (401, NOT_AUTHORIZED)


def test_create_group_binding(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """groups.go CreateGroup (44-49): ``name`` and ``description`` are ``binding:"required"``;
    ``description`` is a *string, so "" is accepted. A failed BindJSON has already written 400."""
    admin = sandbox_api(sandbox)
    missing = admin.post(f"{GROUP}/", json={"name": "g"})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "Key: 'CreateGroupRequest.Description' Error:Field validation for 'Description' "
        "failed on the 'required' tag"
    }
    assert admin.post(f"{GROUP}/", json={"name": "", "description": "d"}).status_code == 400
    assert admin.post(f"{GROUP}/", content=b"{").status_code == 400
    assert admin.post(f"{GROUP}/", json={"name": "g", "description": ""}).status_code == 201


def test_auth_bearer(sandbox: Sandbox) -> None:
    """server/auth/main.go AuthorizationMiddleware (114-166): a PAT or a JWT; no header, another scheme,
    an unknown PAT or a bad JWT is 401 {"error":"Unauthorized"}."""
    url = f"{sandbox.url}{GROUP}/admin"
    for headers in (
        {},
        {"Authorization": "Basic x"},
        {"Authorization": "Bearer hp_nope"},
        {"Authorization": "Bearer not.a.jwt"},
    ):
        response = httpx.get(url, headers=headers)
        assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})
    by_pat = httpx.get(url, headers={"Authorization": f"Bearer {sandbox.admin_pat}"})
    assert by_pat.status_code == 200


def test_get_group(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """groups.go GetGroup (125-149), database.go GetGroup (223-235): a non-privileged caller must be a
    member (else 401); a missing group is 500 "record not found"; members are {"user": database.User}.
    configuration.go (211-230) creates ``admin`` and ``public`` at start."""
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    assert admin.get(f"{GROUP}/admin").json() == {
        "group_name": "admin",
        "description": "Group for all admin users. This group is automatically added to all datasets and "
        "can only be removed by an administrator.",
        "memberships": [{"user": ADMIN_USER}],
    }
    assert "memberships" not in admin.get(f"{GROUP}/public").json()
    missing = admin.get(f"{GROUP}/nope")
    assert (missing.status_code, missing.json()) == (500, {"error": "record not found"})
    own = user.get(f"{GROUP}/user-hoss-default-group")
    assert own.json()["description"] == "Personal group for user user"
    denied = user.get(f"{GROUP}/admin")
    assert (denied.status_code, denied.json()) == (401, NOT_AUTHORIZED)
    assert user.get(f"{GROUP}/nope").status_code == 401  # the membership check comes first


def test_add_and_remove_member(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """groups.go UpdateGroupUser (167-189) and RemoveGroupUser (207-234), util.go
    validateAdminOrPrivilegedMember (42-53), database.go UpdateGroupMembership (238-263, ON CONFLICT DO
    NOTHING) and RemoveGroupMembership (266-290): admin, or privileged and a member (else 401); a
    missing group or user is 500 "record not found"; add is 200 ``{}`` (the Membership has only hidden
    fields), twice too; remove is 204, also when not a member; only an admin removes from ``public``."""
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    admin.post(f"{GROUP}/", json={"name": "team", "description": "d"})
    added = admin.put(f"{GROUP}/team/user/user")
    assert (added.status_code, added.json()) == (200, {})
    assert admin.put(f"{GROUP}/team/user/user").status_code == 200
    members = [m["user"]["username"] for m in admin.get(f"{GROUP}/team").json()["memberships"]]
    assert members == ["admin", "user"]
    for path in (f"{GROUP}/nope/user/user", f"{GROUP}/team/user/nobody"):
        for method in ("PUT", "DELETE"):
            response = admin.request(method, path)
            assert (response.status_code, response.json()) == (500, {"error": "record not found"})
    denied = user.put(f"{GROUP}/team/user/user")  # a member, but role user
    assert (denied.status_code, denied.json()) == (401, NOT_AUTHORIZED)
    assert user.delete(f"{GROUP}/team/user/user").status_code == 401
    removed = admin.delete(f"{GROUP}/team/user/user")
    assert (removed.status_code, removed.content) == (204, b"")
    assert admin.delete(f"{GROUP}/team/user/user").status_code == 204
    assert admin.delete(f"{GROUP}/public/user/user").status_code == 204


def test_delete_group(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """groups.go DeleteGroup (82-108), database.go DeleteGroup (293-304): ``admin`` and ``public`` are
    400; admin or privileged member (else 401); 204 with no body, for a missing group too; the
    memberships go with it (ON DELETE CASCADE, migrations/0001_initial.go)."""
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    for name in ("admin", "public"):
        response = admin.delete(f"{GROUP}/{name}")
        assert (response.status_code, response.json()) == (
            400,
            {"error": "The public and admin groups cannot be deleted."},
        )
    admin.post(f"{GROUP}/", json={"name": "gone", "description": "d"})
    assert user.delete(f"{GROUP}/gone").status_code == 401
    assert (admin.delete(f"{GROUP}/gone").status_code, admin.get(f"{GROUP}/gone").status_code) == (204, 500)
    assert admin.delete(f"{GROUP}/never").status_code == 204
    assert "gone" not in _claims_groups(sandbox, sandbox.admin_pat).split(",")


def test_get_user_lists_memberships(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """groups.go GetUser (250-260), database.go GetUser (93-105): any caller; the user with
    {"group": {...}} memberships; a missing user is 500 "record not found" (hoss-client looks for
    "not found")."""
    user = sandbox_api(sandbox, "user")
    body = user.get("/auth/v1/user/admin").json()
    assert [m["group"]["group_name"] for m in body.pop("memberships")] == [
        "admin-hoss-default-group",
        "admin",
    ]
    assert body == ADMIN_USER
    missing = user.get("/auth/v1/user/nobody")
    assert (missing.status_code, missing.json()) == (500, {"error": "record not found"})


def test_jwt_groups_follow_auth_memberships(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, tmp_path: Path
) -> None:
    """auth tokens.go CreateGigantumTokens (148-154): ``groups`` is read from the auth database at each
    exchange, in membership order; the memberships persist in the data file across a restart."""
    data = str(tmp_path / "sb.db")
    sandbox = sandbox_factory(data=data)
    assert _claims_groups(sandbox, sandbox.user_pat) == "user-hoss-default-group"
    admin = sandbox_api(sandbox)
    admin.post(f"{GROUP}/", json={"name": "team", "description": "d"})
    admin.put(f"{GROUP}/team/user/user")
    assert _claims_groups(sandbox, sandbox.user_pat) == "user-hoss-default-group,team"
    sandbox.stop()
    again = sandbox_factory(data=data)
    assert _claims_groups(again, again.user_pat) == "user-hoss-default-group,team"
    assert _claims_groups(again, again.admin_pat) == "admin-hoss-default-group,admin,team"


def test_set_group_permission(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """server/core/pkg/api/dataset_perms.go UpdateGroupDatasetPerms (60-80) and updateDatasetPerms
    (83-183), database/permissions.go UpdateDatasetPermissions (99-126): ``public`` only ``r``,
    ``admin`` never ``r`` (400); then namespace 404, role 401 (privileged/admin/service), dataset 404, a
    bad level 400 "Invalid input" (Postgres enum); any group name (core GetOrCreateGroup), upsert; 204."""
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    sandbox.seed_dataset("default", "ds")
    put = admin.put(f"{DS}/ds/group/team/access/r")
    assert (put.status_code, put.content) == (204, b"")
    assert admin.put(f"{DS}/ds/group/team/access/rw").status_code == 204
    perms = admin.get(f"{DS}/ds").json()["permissions"]
    assert perms[-1] == {"group": {"group_name": "team"}, "permission": "rw"}
    assert len(perms) == 3
    cases = [
        (
            admin,
            f"{DS}/ds/group/public/access/rw",
            400,
            "The public group can only be added with read-only permissions.",
        ),
        (
            admin,
            f"{DS}/ds/group/admin/access/r",
            400,
            "The admin group permissions cannot be set to read-only.",
        ),
        (admin, "/core/v1/namespace/nope/dataset/ds/group/team/access/r", 404, "Resource not found"),
        (user, "/core/v1/namespace/nope/dataset/ds/group/team/access/r", 404, "Resource not found"),
        (user, f"{DS}/ds/group/team/access/r", 401, "User is unauthorized"),
        (admin, f"{DS}/nope/group/team/access/r", 404, "Resource not found"),
        (admin, f"{DS}/ds/group/team/access/x", 400, "Invalid input"),
    ]
    for client, path, status, error in cases:
        response = client.put(path)
        assert (response.status_code, response.json()) == (status, {"error": error}), path
    assert admin.put(f"{DS}/ds/group/public/access/r").status_code == 204


def test_remove_group_permission_and_user_permissions(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """dataset_perms.go RemoveGroupDatasetPerms (231-244) and removeDatasetPerms (247-347): ``admin`` is
    400, then the same checks as a PUT; 204, also when the group had no permission.
    UpdateUserDatasetPerms (30-39) and RemoveUserDatasetPerms (203-211) act on <user>-hoss-default-group."""
    admin = sandbox_api(sandbox)
    sandbox.seed_dataset("default", "ds")
    response = admin.delete(f"{DS}/ds/group/admin")
    assert (response.status_code, response.json()) == (400, {"error": "The admin group can not be removed."})
    assert admin.delete(f"{DS}/ds/group/never").status_code == 204
    assert admin.delete(f"{DS}/nope/group/never").status_code == 404
    assert sandbox_api(sandbox, "user").delete(f"{DS}/ds/group/never").status_code == 401
    assert admin.put(f"{DS}/ds/user/user/access/r").status_code == 204
    groups = [p["group"]["group_name"] for p in admin.get(f"{DS}/ds").json()["permissions"]]
    assert groups == ["admin-hoss-default-group", "admin", "user-hoss-default-group"]
    assert sandbox_api(sandbox, "user").get(f"{DS}/ds").status_code == 200  # the JWT's groups now match
    assert admin.delete(f"{DS}/ds/user/admin").status_code == 204
    groups = [p["group"]["group_name"] for p in admin.get(f"{DS}/ds").json()["permissions"]]
    assert groups == ["admin", "user-hoss-default-group"]


def test_group_permission_grants_access_after_membership(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    """The pieces together: a dataset GET goes by the JWT's groups (docs/hoss-server.md §8.2), which the
    auth service fills from its memberships at the next exchange; the list goes by core's records,
    refreshed by ``PUT /user/sync`` (core groups.go SyncCurrentUserGroups, 120-139)."""
    admin = sandbox_api(sandbox)
    sandbox.seed_dataset("default", "ds")
    admin.post(f"{GROUP}/", json={"name": "team", "description": "d"})
    admin.put(f"{DS}/ds/group/team/access/r")
    assert sandbox_api(sandbox, "user").get(f"{DS}/ds").status_code == 500  # no permission (§3)
    admin.put(f"{GROUP}/team/user/user")
    user = sandbox_api(sandbox, "user")  # a fresh token carries "team"
    assert user.get(f"{DS}/ds").status_code == 200
    assert user.get(f"{DS}/").json() == []
    assert user.put("/core/v1/user/sync").status_code == 204
    assert [d["name"] for d in user.get(f"{DS}/").json()] == ["ds"]


def test_official_example_admin_runs_twice(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """hoss-client's examples/example-admin.py, vendored unmodified (tests/integration/upstream/), with
    only its server URL replaced, run in a subprocess with HOSS_PAT = the admin PAT. The second run takes
    the "already exists" paths: the dataset (scheduled for delete by the first run, still there) and the
    group. The script touches no object storage.

    The delete worker waits an hour here: with the real default (removal within about 2 s) whether the
    second run meets the scheduled dataset would depend on how long the first run's exit took."""
    pytest.importorskip("hoss")
    sandbox = sandbox_factory(delete_delay=3600)
    source = EXAMPLE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == EXAMPLE_SHA256, "the vendored upstream file was modified"
    text = source.decode()
    assert text.count('"http://localhost"') == 1
    script = tmp_path / "example-admin.py"
    script.write_text(text.replace('"http://localhost"', repr(sandbox.url)))
    env = {k: v for k, v in os.environ.items() if k != "HOSS_JWT"}
    env["HOSS_PAT"] = sandbox.admin_pat
    outputs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    first, second = outputs
    assert "already exists" not in first
    assert "Dataset test1 already exists" in second
    assert "Group test_group1 already exists" in second
    for out in outputs:
        assert (
            "Group(name='test_group1', description='test description', members=[User(username='admin'" in out
        )
        assert "\ttest_group1: rw" in out
    assert [(d["name"], d["delete_status"]) for d in sandbox.datasets("default")] == [("test1", "SCHEDULED")]
