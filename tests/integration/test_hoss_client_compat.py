"""The official hoss-client 0.7.6, unmodified, drives the sandbox through every call hossctl cares about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


class _Official:
    """The ``hoss`` package, imported by the first test that uses it: every pytest-xdist worker
    collects this module, and importing the client (boto3, requests) costs each a third of a second."""

    def __getattr__(self, name: str) -> Any:
        return getattr(pytest.importorskip("hoss"), name)


hoss: Any = _Official()


@pytest.fixture
def server(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Sandbox]:
    sandbox = sandbox_factory(delete_delay=3600)  # a deleted dataset stays SCHEDULED
    monkeypatch.setenv("HOSS_PAT", sandbox.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    return hoss.connect(sandbox.url), sandbox


def test_connect_and_list(server: tuple[Any, Sandbox]) -> None:
    client, _ = server
    stores = client.list_object_stores()
    assert [s.name for s in stores] == ["default"]
    assert client.get_object_store("default").object_store_type == "minio"
    names = [n.name for n in client.list_namespaces()]
    assert names == ["default"]
    ns = client.get_namespace("default")
    assert (ns.bucket, ns.description, ns.object_store.name) == ("data", "Default namespace", "default")


def test_namespace_and_sync_lifecycle(server: tuple[Any, Sandbox]) -> None:
    client, sandbox = server
    ns = client.create_namespace("proj", "Project data", "default", "proj-bucket")
    assert ns.name == "proj"
    with pytest.raises(hoss.AlreadyExistsException):
        client.create_namespace("proj", "Again", "default", "proj-bucket")
    with pytest.raises(hoss.NotFoundException):
        client.get_namespace("missing")

    assert ns.get_sync_configuration() == {"sync_enabled": False, "sync_targets": []}
    ns.enable_sync_target("https://other.example.com/anything", "duplex", "mirror")
    assert ns.get_sync_configuration() == {
        "sync_enabled": True,
        "sync_targets": [
            {
                "target_core_service": "https://other.example.com/core/v1",
                "target_namespace": "mirror",
                "sync_type": "duplex",
            }
        ],
    }
    ns.disable_sync_target("https://other.example.com", "mirror")
    assert ns.get_sync_configuration()["sync_enabled"] is False
    assert sandbox.sync_targets("proj") == []


def test_dataset_lifecycle(server: tuple[Any, Sandbox]) -> None:
    client, _ = server
    ns = client.create_namespace("lab", "Lab data", "default", "lab")
    client._sync_user_groups()
    ds = ns.create_dataset("run1", "first run")
    assert (ds.dataset_name, ds.description, ds.owner, ds.root_directory) == (
        "run1",
        "first run",
        "admin",
        "run1/",
    )
    assert ds.permissions == {"admin-hoss-default-group": "rw", "admin": "rw"}
    assert ds.delete_status == hoss.dataset.DeleteStatus.NOT_SCHEDULED
    assert ds.sync_type is None and ds.is_sync_enabled() is False

    ns.enable_sync_target("https://other.example.com", "simplex")
    ds.enable_sync("simplex", {"Version": "1", "Statements": []})
    again = ns.get_dataset("run1")
    assert again.sync_type == "simplex" and again.sync_policy == {"Version": "1", "Statements": []}
    assert again.is_sync_enabled() is True
    assert [d.dataset_name for d in ns.list_datasets()] == ["run1"]  # no-slash URL, follows the 301

    again.disable_sync()
    assert ns.get_dataset("run1").sync_type is None
    ns.delete_dataset("run1")
    assert ns.get_dataset("run1").delete_status == hoss.dataset.DeleteStatus.SCHEDULED

    with pytest.raises(hoss.HossException, match="must be empty"):  # the client's own check
        client.delete_namespace("lab")


def test_delete_empty_namespace(server: tuple[Any, Sandbox]) -> None:
    client, sandbox = server
    client.create_namespace("tmp", "Temporary", "default", "tmp")
    client.delete_namespace("tmp")
    assert [n["name"] for n in sandbox.namespaces()] == ["default"]


def test_user_pat_is_not_admin(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory()
    monkeypatch.setenv("HOSS_PAT", sandbox.user_pat)
    client = hoss.connect(sandbox.url)
    assert [n.name for n in client.list_namespaces()] == ["default"]
    with pytest.raises(hoss.NotAuthorizedException):
        client.create_namespace("nope", "Not allowed", "default", "nope")


def test_unknown_pat_is_rejected(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = sandbox_factory()
    monkeypatch.setenv("HOSS_PAT", "hp_" + "x" * 30)
    with pytest.raises(hoss.HossException, match="Could not retrieve JWT"):
        hoss.connect(sandbox.url)
