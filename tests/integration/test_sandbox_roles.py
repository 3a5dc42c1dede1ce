"""Role checks (docs/hoss-server.md §2.5): a role too low is 401 with a JSON body, before anything else."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]


ADMIN_ONLY = [
    (
        "POST",
        "/core/v1/namespace/",
        {"name": "n", "description": "d", "object_store_name": "default", "bucket_name": "b"},
    ),
    ("DELETE", "/core/v1/namespace/default", None),
    (
        "PUT",
        "/core/v1/namespace/default/sync",
        {"target_core_service": "http://x/core/v1", "sync_type": "simplex"},
    ),
    (
        "DELETE",
        "/core/v1/namespace/default/sync",
        {"target_core_service": "http://x/core/v1", "sync_type": "simplex"},
    ),
    ("DELETE", "/core/v1/namespace/default/dataset/ds", None),
    ("PUT", "/core/v1/namespace/default/dataset/ds/sync", {"sync_type": "simplex"}),
    ("DELETE", "/core/v1/namespace/default/dataset/ds/sync", None),
    # even a missing namespace or a bad body: the role check comes first
    ("PUT", "/core/v1/namespace/missing/sync", {}),
    ("POST", "/core/v1/namespace/", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_user_role_is_refused(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, method: str, path: str, body: object
) -> None:
    sandbox = sandbox_factory()
    sandbox.seed_dataset("default", "ds", owner="user")
    user = sandbox_api(sandbox, "user")
    response = user.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "User is unauthorized"}
    assert [n["name"] for n in sandbox.namespaces()] == ["default"]
    assert sandbox.datasets("default")[0]["delete_status"] == "NOT_SCHEDULED"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/core/v1/object_store/", 200),
        ("GET", "/core/v1/object_store/default", 200),
        ("GET", "/core/v1/namespace/", 200),
        ("GET", "/core/v1/namespace/default", 200),
        ("GET", "/core/v1/namespace/default/sync", 200),
        ("GET", "/core/v1/namespace/default/dataset/", 200),
        ("GET", "/core/v1/namespace/default/sts", 200),
        ("PUT", "/core/v1/user/sync", 204),
    ],
)
def test_user_role_may_read(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, method: str, path: str, status: int
) -> None:
    sandbox = sandbox_factory()
    assert sandbox_api(sandbox, "user").request(method, path).status_code == status


def test_sts_credentials_shape(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sandbox = sandbox_factory()
    creds = sandbox_api(sandbox, "user").get("/core/v1/namespace/default/sts").json()
    assert set(creds) == {
        "access_key_id",
        "secret_access_key",
        "session_token",
        "expiration",
        "endpoint",
        "region",
    }
    assert creds["expiration"].endswith("Z")
    assert sandbox_api(sandbox).get("/core/v1/namespace/missing/sts").status_code == 404
