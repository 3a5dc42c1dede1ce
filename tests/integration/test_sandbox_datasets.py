"""Datasets: JSON shapes, visibility through core's recorded groups, delete scheduling, dataset sync
(docs/hoss-server.md §8)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

DS = "/core/v1/namespace/default/dataset/"
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,6}Z")


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    # a long delete delay: SCHEDULED datasets stay put while a test looks at them
    return sandbox_factory(delete_delay=3600)


def test_create_shape(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    response = sandbox_api(sandbox).post(DS, json={"name": "ds1", "description": "first"})
    assert response.status_code == 201
    body = response.json()
    assert CREATED.fullmatch(body["created"])
    assert body["namespace"]["object_store"]["name"] == "default"
    assert {k: v for k, v in body.items() if k not in ("created", "namespace")} == {
        "name": "ds1",
        "description": "first",
        "root_directory": "ds1/",
        "delete_on": "0001-01-01T00:00:00Z",
        "delete_status": "NOT_SCHEDULED",
        "owner": {"username": "admin", "memberships": None},
        "sync_enabled": False,
        "sync_type": "simplex",
        "sync_policy": "",
        "permissions": [
            {"group": {"group_name": "admin-hoss-default-group"}, "permission": "rw"},
            {"group": {"group_name": "admin"}, "permission": "rw"},
        ],
    }


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"description": "no name"}, 400, "Unhandled error"),
        ({"name": "", "description": ""}, 400, "Unhandled error"),
        ({"name": "a|b", "description": ""}, 500, "Unhandled error"),
        ({"name": "default-ds", "description": ""}, 403, "Resource already exists"),
    ],
)
def test_create_errors(
    sandbox: Sandbox, sandbox_api: ApiFactory, body: dict[str, str], status: int, error: str
) -> None:
    sandbox.seed_dataset("default", "default-ds")
    response = sandbox_api(sandbox).post(DS, json=body)
    assert (response.status_code, response.json()) == (status, {"error": error})
    missing = sandbox_api(sandbox).post(
        "/core/v1/namespace/nope/dataset/", json={"name": "x", "description": ""}
    )
    assert missing.status_code == 404


def test_list_is_filtered_by_groups_recorded_in_core(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    admin, user = sandbox_api(sandbox), sandbox_api(sandbox, "user")
    sandbox.seed_dataset("default", "by-user", owner="user")  # role user may not create (401)
    sandbox.seed_dataset("default", "by-admin")
    sandbox.seed_dataset("default", "by-alice", owner="alice")
    assert [d["name"] for d in user.get(DS).json()] == ["by-user"]
    # a fresh admin is known to core only with its default group until /user/sync
    assert [d["name"] for d in admin.get(DS).json()] == ["by-admin"]
    response = admin.put("/core/v1/user/sync")
    assert (response.status_code, response.content) == (204, b"")
    listed = admin.get(DS).json()
    assert sorted(d["name"] for d in listed) == ["by-admin", "by-alice", "by-user"]
    # the list does not load the namespace's object store
    assert listed[0]["namespace"]["object_store"] == {
        "name": "",
        "description": "",
        "endpoint": "",
        "type": "",
    }


def test_list_includes_every_delete_state_and_no_pagination(
    sandbox: Sandbox, sandbox_api: ApiFactory
) -> None:
    for i, status in enumerate(["NOT_SCHEDULED", "SCHEDULED", "IN_PROGRESS", "ERROR"] * 8):
        sandbox.seed_dataset("default", f"ds{i}", delete_status=status)
    listed = sandbox_api(sandbox).get(DS + "?limit=2").json()
    assert len(listed) == 32


def test_list_unknown_namespace_and_empty(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    api = sandbox_api(sandbox)
    assert api.get("/core/v1/namespace/nope/dataset/").status_code == 404
    assert api.get(DS).content == b"[]"


def test_get_uses_jwt_groups_and_no_permission_is_500(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    sandbox.seed_dataset("default", "mine", owner="admin")
    user = sandbox_api(sandbox, "user")
    response = user.get(DS + "mine")
    assert (response.status_code, response.json()) == (500, {"error": "Unhandled error"})
    assert sandbox_api(sandbox).get(DS + "mine").json()["owner"]["username"] == "admin"
    assert user.get(DS + "missing").status_code == 404


def test_delete_schedules(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    sandbox.seed_dataset("default", "old")
    api = sandbox_api(sandbox)
    response = api.delete(DS + "old")
    assert (response.status_code, response.content) == (204, b"")
    body = api.get(DS + "old").json()
    assert body["delete_status"] == "SCHEDULED"
    assert CREATED.fullmatch(body["delete_on"])
    assert api.delete(DS + "missing").status_code == 404


def test_dataset_sync_lifecycle(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    sync = DS + "ds/sync"
    assert api.get(sync).content == b"false"
    # not enforced by the server: no namespace sync target exists
    assert api.put(sync, json={"sync_type": "duplex"}).status_code == 204
    assert api.get(sync).content == b"true"
    body = api.get(DS + "ds").json()
    assert (body["sync_enabled"], body["sync_type"], body["sync_policy"]) == (
        True,
        "duplex",
        '{"Version":"1","Statements":[]}',
    )
    policy = '{"Version":"1","Statements":[{"Id":"x"}]}'
    assert api.put(sync, json={"sync_type": "simplex", "sync_policy": policy}).status_code == 204
    assert api.get(DS + "ds").json()["sync_policy"] == policy
    assert api.delete(sync).status_code == 204
    body = api.get(DS + "ds").json()
    assert (body["sync_enabled"], body["sync_type"], body["sync_policy"]) == (False, "", "")
    assert api.delete(sync).status_code == 204  # already off: no-op


def test_dataset_sync_errors(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    bad = api.put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": "{nope"})
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("problem parsing sync_policy document: ")
    assert api.put(DS + "ds/sync", json={}).json() == {"error": "Unhandled error"}
    assert api.put(DS + "missing/sync", json={"sync_type": "simplex"}).status_code == 404
    assert api.get(DS + "missing/sync").status_code == 404


def test_seeded_dataset_visible_to_admin_after_user_sync(sandbox: Sandbox, sandbox_api: ApiFactory) -> None:
    sandbox.seed_dataset("default", "seeded", owner="admin", sync_enabled=True, sync_type="duplex")
    api = sandbox_api(sandbox)
    api.put("/core/v1/user/sync")
    [listed] = api.get(DS).json()
    assert (listed["name"], listed["sync_enabled"], listed["sync_type"]) == ("seeded", True, "duplex")
