"""A sandbox restarted on the same --data file shows the same state (and resurrects bootstrap)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]


def test_restart_keeps_everything(
    tmp_path: Path, sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    data = str(tmp_path / "hoss.sqlite")
    first = sandbox_factory(data=data)
    api = sandbox_api(first)
    api.post(
        "/core/v1/namespace/",
        json={"name": "p", "description": "d", "object_store_name": "default", "bucket_name": "pb"},
    )
    api.put(
        "/core/v1/namespace/p/sync", json={"target_core_service": "http://t/core/v1", "sync_type": "duplex"}
    )
    api.post("/core/v1/namespace/p/dataset/", json={"name": "ds", "description": ""})
    dataset = api.get("/core/v1/namespace/p/dataset/ds").json()
    pats = (first.admin_pat, first.user_pat)
    first.stop()

    second = sandbox_factory(data=data)
    assert (second.admin_pat, second.user_pat) == pats
    api2 = sandbox_api(second)
    assert [n["name"] for n in api2.get("/core/v1/namespace/").json()] == ["default", "p"]
    assert api2.get("/core/v1/namespace/p/sync").json() == [
        {"target_core_service": "http://t/core/v1", "target_namespace": "p", "sync_type": "duplex"}
    ]
    assert api2.get("/core/v1/namespace/p/dataset/ds").json() == dataset


def test_bootstrap_is_not_duplicated_and_is_resurrected(
    tmp_path: Path, sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    data = str(tmp_path / "hoss.sqlite")
    first = sandbox_factory(data=data)
    assert sandbox_api(first).delete("/core/v1/namespace/default").status_code == 204
    assert first.namespaces() == []
    first.stop()
    second = sandbox_factory(data=data)
    assert second.namespaces() == [
        {
            "name": "default",
            "description": "Default namespace",
            "object_store": "default",
            "bucket_name": "data",
        }
    ]
    second.stop()
    third = sandbox_factory(data=data)
    assert len(third.namespaces()) == 1


def test_given_pats_override_stored_ones(tmp_path: Path, sandbox_factory: SandboxFactory) -> None:
    data = str(tmp_path / "hoss.sqlite")
    sandbox_factory(data=data).stop()
    admin = "hp_" + "Z" * 30
    assert sandbox_factory(data=data, admin_pat=admin).admin_pat == admin


def test_file_uses_wal_and_real_constraints(tmp_path: Path, sandbox_factory: SandboxFactory) -> None:
    data = tmp_path / "hoss.sqlite"
    sandbox_factory(data=str(data)).stop()
    db = sqlite3.connect(data)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        sync_sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'sync_configurations'").fetchone()[
            0
        ]
        assert "UNIQUE (source_namespace_id, target_core_service, target_namespace)" in sync_sql
        assert "ON DELETE CASCADE" in sync_sql
    finally:
        db.close()


def test_in_memory_sandboxes_are_independent(sandbox_factory: SandboxFactory) -> None:
    a, b = sandbox_factory(), sandbox_factory()
    a.seed_namespace("only-a")
    assert [n["name"] for n in b.namespaces()] == ["default"]
    assert a.admin_pat != b.admin_pat
