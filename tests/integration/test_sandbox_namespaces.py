"""Object stores and namespaces: paging quirks, create errors, delete semantics.

See docs/hoss-server.md §5 and §6.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

NS = "/core/v1/namespace/"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "proj",
        "description": "Project",
        "object_store_name": "default",
        "bucket_name": "proj",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_object_stores(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sandbox = sandbox_factory(object_stores=("default", "archive"))
    api = sandbox_api(sandbox)
    stores = api.get("/core/v1/object_store/").json()
    assert [s["name"] for s in stores] == ["default", "archive"]
    assert stores[0] == {
        "name": "default",
        "description": "Default object store",
        "endpoint": "http://localhost:9000",
        "type": "minio",
    }
    assert api.get("/core/v1/object_store/archive").json()["name"] == "archive"
    missing = api.get("/core/v1/object_store/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "Resource not found"})
    assert api.get("/core/v1/object_store/?limit=1&offset=1").json()[0]["name"] == "archive"
    assert api.get("/core/v1/object_store/?offset=5").json() is None


def test_no_default_store_means_no_bootstrap_namespace(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    sandbox = sandbox_factory(object_stores=("s1",))
    assert sandbox_api(sandbox).get(NS).json() is None  # zero namespaces: JSON null, not []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [f"ns{i:02d}" for i in range(24)]),  # default limit 25 (with "default" first)
        ("?limit=0", [f"ns{i:02d}" for i in range(30)]),  # limit=0 means all
        ("?limit=5&offset=26", ["ns25", "ns26", "ns27", "ns28", "ns29"]),
        ("?limit=10&offset=28", ["ns27", "ns28", "ns29"]),
        ("?offset=31", None),  # past the end: JSON null
        ("?limit=3&offset=500", None),
    ],
)
def test_namespace_paging(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, query: str, expected: list[str] | None
) -> None:
    sandbox = sandbox_factory()
    for i in range(30):
        sandbox.seed_namespace(f"ns{i:02d}")
    response = sandbox_api(sandbox).get(NS + query)
    assert response.status_code == 200
    body = response.json()
    if expected is None:
        assert body is None and response.content == b"null"
    else:
        names = [n["name"] for n in body]
        assert names == (["default", *expected] if query in ("", "?limit=0") else expected)


@pytest.mark.parametrize("query", ["?limit=-1", "?offset=-2", "?limit=abc", "?offset=1.5", "?limit="])
def test_bad_paging_is_unhandled_error(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, query: str
) -> None:
    response = sandbox_api(sandbox_factory()).get(NS + query)
    assert (response.status_code, response.json()) == (500, {"error": "Unhandled error"})


def test_create_returns_201_and_namespace_json(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    sandbox = sandbox_factory()
    api = sandbox_api(sandbox)
    response = api.post(NS, json=_body(extra="ignored"))
    assert response.status_code == 201
    created = response.json()
    assert created == {
        "name": "proj",
        "description": "Project",
        "bucket_name": "proj",
        "object_store": {
            "name": "default",
            "description": "Default object store",
            "endpoint": "http://localhost:9000",
            "type": "minio",
        },
    }
    assert api.get("/core/v1/namespace/proj").json() == created
    # names are case-sensitive; buckets may be shared
    assert api.post(NS, json=_body(name="Proj")).status_code == 201


@pytest.mark.parametrize(
    "content",
    [
        _body(name=...),
        _body(description=...),
        _body(object_store_name=...),
        _body(bucket_name=...),
        _body(description=""),
        _body(name=""),
        _body(name=5),
        _body(bucket_name=None),
        [],
        "x",
        None,
    ],
)
def test_create_bind_failures_are_400(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, content: Any
) -> None:
    sandbox = sandbox_factory()
    response = sandbox_api(sandbox).post(NS, json=content)
    assert (response.status_code, response.json()) == (400, {"error": "Unhandled error"})
    assert len(sandbox.namespaces()) == 1


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"name": "x"'])
def test_create_malformed_body_is_400(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, raw: bytes
) -> None:
    response = sandbox_api(sandbox_factory()).post(
        NS, content=raw, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, {"error": "Unhandled error"})


def test_create_unknown_store_and_duplicate(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    api = sandbox_api(sandbox_factory())
    response = api.post(NS, json=_body(object_store_name="nope"))
    assert (response.status_code, response.json()) == (404, {"error": "Resource not found"})
    response = api.post(NS, json=_body(name="default"))
    assert (response.status_code, response.json()) == (403, {"error": "Resource already exists"})


def test_get_missing_namespace(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    response = sandbox_api(sandbox_factory()).get("/core/v1/namespace/missing")
    assert (response.status_code, response.json()) == (404, {"error": "Resource not found"})


def test_delete_is_204_even_when_missing(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sandbox = sandbox_factory()
    response = sandbox_api(sandbox).delete("/core/v1/namespace/missing")
    assert (response.status_code, response.content) == (204, b"")


def test_delete_cascades_without_emptiness_check(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    sandbox = sandbox_factory()
    sandbox.seed_namespace("full", bucket="full")
    sandbox.seed_sync("full", "http://other:8080/core/v1", "full", "duplex")
    sandbox.seed_dataset("full", "ds1", sync_enabled=True)
    sandbox.seed_dataset("full", "ds2", delete_status="SCHEDULED")
    api = sandbox_api(sandbox)
    assert api.delete("/core/v1/namespace/full").status_code == 204
    assert api.get("/core/v1/namespace/full").status_code == 404
    assert sandbox.sync_targets("full") == [] and sandbox.datasets("full") == []
    # recreated under the same name, nothing of the old one survives (rows were cascaded, not hidden)
    sandbox.seed_namespace("full", bucket="full")
    assert sandbox.sync_targets("full") == [] and sandbox.datasets("full") == []
    assert api.get("/core/v1/namespace/full/dataset/").json() == []
    with sandbox._store._tx() as db:  # permissions rows went with their datasets
        assert db.execute("SELECT COUNT(*) FROM permissions").fetchone()[0] == 0
