"""Namespace sync targets with every quirk of docs/hoss-server.md §7.1–7.3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

SYNC = "/core/v1/namespace/default/sync"
T = "https://other.example.com/core/v1"


def _target(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"target_core_service": T, "target_namespace": "mirror", "sync_type": "simplex"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def setup(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> tuple[Sandbox, httpx.Client]:
    sandbox = sandbox_factory()
    return sandbox, sandbox_api(sandbox)


def test_empty_list_is_array_not_null(setup: tuple[Sandbox, httpx.Client]) -> None:
    _, api = setup
    response = api.get(SYNC)
    assert (response.status_code, response.content) == (200, b"[]")


def test_put_then_get(setup: tuple[Sandbox, httpx.Client]) -> None:
    _, api = setup
    response = api.put(SYNC, json=_target(sync_type="duplex"))
    assert (response.status_code, response.content) == (204, b"")
    assert api.get(SYNC).json() == [
        {"target_core_service": T, "target_namespace": "mirror", "sync_type": "duplex"}
    ]


def test_target_namespace_defaults_to_source(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    assert api.put(SYNC, json=_target(target_namespace=...)).status_code == 204
    assert api.put(SYNC, json=_target(target_core_service=T + "/", target_namespace="")).status_code == 204
    assert [t["target_namespace"] for t in sandbox.sync_targets("default")] == ["default", "default"]
    assert api.request("DELETE", SYNC, json=_target(target_namespace=...)).status_code == 204
    assert [t["target_core_service"] for t in sandbox.sync_targets("default")] == [T + "/"]


def test_put_existing_key_with_other_type_is_silent_noop(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    api.put(SYNC, json=_target(sync_type="simplex"))
    response = api.put(SYNC, json=_target(sync_type="duplex"))
    assert (response.status_code, response.content) == (204, b"")
    assert [t["sync_type"] for t in sandbox.sync_targets("default")] == ["simplex"]


def test_strings_match_exactly(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    for service in (T, T + "/", T.upper().replace("/CORE/V1", "/core/v1")):
        assert api.put(SYNC, json=_target(target_core_service=service)).status_code == 204
    assert api.put(SYNC, json=_target(target_namespace="Mirror")).status_code == 204
    assert len(sandbox.sync_targets("default")) == 4
    api.request("DELETE", SYNC, json=_target(target_core_service=T + "/"))
    assert T + "/" not in [t["target_core_service"] for t in sandbox.sync_targets("default")]
    assert len(sandbox.sync_targets("default")) == 3


def test_free_text_sync_type_is_stored(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    assert api.put(SYNC, json=_target(sync_type="Duplex")).status_code == 204
    assert sandbox.sync_targets("default")[0]["sync_type"] == "Duplex"


def test_delete_missing_target_is_204(setup: tuple[Sandbox, httpx.Client]) -> None:
    _, api = setup
    response = api.request("DELETE", SYNC, json=_target())
    assert (response.status_code, response.content) == (204, b"")


def test_delete_ignores_sync_type_but_requires_it(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    api.put(SYNC, json=_target(sync_type="duplex"))
    missing_type = api.request("DELETE", SYNC, json=_target(sync_type=...))
    assert (missing_type.status_code, missing_type.json()) == (400, {"error": "Unhandled error"})
    assert len(sandbox.sync_targets("default")) == 1
    assert api.request("DELETE", SYNC, json=_target(sync_type="simplex")).status_code == 204
    assert sandbox.sync_targets("default") == []


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    "body",
    [_target(target_core_service=...), _target(target_core_service=""), _target(sync_type=""), {}, None],
)
def test_bind_failures(setup: tuple[Sandbox, httpx.Client], method: str, body: Any) -> None:
    _, api = setup
    response = api.request(method, SYNC, json=body)
    assert (response.status_code, response.json()) == (400, {"error": "Unhandled error"})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_namespace_is_404_before_bind(setup: tuple[Sandbox, httpx.Client], method: str) -> None:
    _, api = setup
    response = api.request(method, "/core/v1/namespace/missing/sync", json={})
    assert (response.status_code, response.json()) == (404, {"error": "Resource not found"})


def test_dataset_flags_survive_sync_removal(setup: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, api = setup
    api.put(SYNC, json=_target())
    sandbox.seed_dataset("default", "ds", sync_enabled=True, sync_type="duplex")
    api.request("DELETE", SYNC, json=_target())
    assert sandbox.datasets("default")[0]["sync_enabled"] is True
