"""Dataset sync messages: what a dataset sync PUT sends, how long it takes, and what the sync service
does with it (docs/hoss-server.md §8.4, §7.5).

The source side follows server/core/pkg/api/sync.go ``EnableSyncDataset`` (lines 533-621) and
server/core/pkg/sync/endpoints.go ``SyncDatasetHandler`` (lines 114-187); the sync service follows
server/sync/pkg/message/api.go ``Execute`` (lines 92-134) and ``handleSync`` (lines 136-235).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from hossctl.cli import cli
from hossctl.errors import HossctlError
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

LOGGER = "hossctl.sandbox.sync"
NS = "/core/v1/namespace/{}/dataset/"
POLICY = json.dumps(
    {
        "Version": "1",
        "Statements": [
            {"Id": "csv", "Conditions": [{"Left": "object:key", "Operator": "==", "Right": "*.csv"}]}
        ],
    }
)
SETTLE_S = 0.4  # time for a message that should not come


def _wait(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


@pytest.fixture
def pair(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, tmp_path: Path
) -> Callable[..., tuple[Sandbox, Sandbox, httpx.Client, httpx.Client]]:
    """A and B sharing an identity, each with a sync service and namespace ``shared``, linked duplex
    both ways (seeded rows: seeding sends no message). Returns A, B and an admin client on each."""

    def make(**options: Any) -> tuple[Sandbox, Sandbox, httpx.Client, httpx.Client]:
        common = {"identity": str(tmp_path / "identity.json"), "sync_service": True, "sync_delay_ms": 0}
        a, b = sandbox_factory(**common, **options), sandbox_factory(**common)
        for sandbox, other in ((a, b), (b, a)):
            sandbox.seed_namespace("shared")
            sandbox.seed_sync("shared", other.core_url, "shared", "duplex")
        on_a, on_b = sandbox_api(a), sandbox_api(b)
        on_b.put("/core/v1/user/sync")  # so B's admin lists what the admin group may see
        return a, b, on_a, on_b

    return make


def test_duplex_enable_creates_the_dataset_its_sync_and_its_permissions_at_the_target(
    pair: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """SyncDatasetHandler, lines 125-183: ``put-ds-sync``, ``put-ds-duplex`` with the policy, then
    one ``put-ds-perm`` per permission; handleSync, lines 141-220: POST the dataset (dataset.go
    CreateDataset gives the service account's dataset no permissions, lines 107-117), PUT its sync
    (as the sync service, so the target sends nothing on), PUT each group permission."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    a, b, on_a, on_b = pair(dataset_sync_delay=0.05)
    created = on_a.post(NS.format("shared"), json={"name": "ds1", "description": "Recordings"})
    assert created.status_code == 201
    enabled = on_a.put(NS.format("shared") + "ds1/sync", json={"sync_type": "duplex", "sync_policy": POLICY})
    assert enabled.status_code == 204

    def at_b() -> dict[str, Any] | None:
        answer = on_b.get(NS.format("shared") + "ds1")
        return answer.json() if answer.status_code == 200 else None

    assert _wait(lambda: (at_b() or {}).get("permissions") is not None and len(at_b()["permissions"]) == 2)
    dataset = at_b()
    assert dataset is not None
    assert (dataset["description"], dataset["owner"]["username"]) == ("Recordings", "HOSS-Service")
    assert (dataset["sync_enabled"], dataset["sync_type"], dataset["sync_policy"]) == (True, "duplex", POLICY)
    assert dataset["permissions"] == [
        {"group": {"group_name": "admin-hoss-default-group"}, "permission": "rw"},
        {"group": {"group_name": "admin"}, "permission": "rw"},
    ]
    # B got its dataset sync from the sync service (User-Agent exec-env/hoss-sync-service), so it
    # sent nothing back to A (sync.go lines 611-618).
    time.sleep(SETTLE_S)
    assert f"-> {a.core_url}" not in caplog.text
    for event in ("put-ds-sync", "put-ds-duplex", "put-ds-perm"):
        assert f"{event} shared/ds1 -> {b.core_url} shared delivered" in caplog.text


def test_simplex_enable_creates_the_dataset_and_permissions_but_no_sync(pair: Callable[..., Any]) -> None:
    """SyncDatasetHandler, lines 146-162: ``put-ds-duplex`` only for the type ``duplex``."""
    a, _, on_a, on_b = pair(dataset_sync_delay=0.05)
    a.seed_dataset("shared", "ds2", owner="admin")
    assert on_a.put(NS.format("shared") + "ds2/sync", json={"sync_type": "simplex"}).status_code == 204
    assert _wait(lambda: len(on_b.get(NS.format("shared")).json()) == 1)
    dataset = on_b.get(NS.format("shared") + "ds2").json()
    assert (dataset["sync_enabled"], dataset["sync_type"], dataset["sync_policy"]) == (False, "simplex", "")
    assert {p["group"]["group_name"] for p in dataset["permissions"]} == {"admin-hoss-default-group", "admin"}


def test_an_existing_target_dataset_is_fine(
    pair: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """makeSyncApiRequest, line 263: a POST answered 403 (already exists) counts as done."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    a, b, on_a, _ = pair()
    a.seed_dataset("shared", "ds3")
    b.seed_dataset("shared", "ds3")
    assert on_a.put(NS.format("shared") + "ds3/sync", json={"sync_type": "simplex"}).status_code == 204
    assert _wait(lambda: "put-ds-perm shared/ds3" in caplog.text)
    assert f"put-ds-sync shared/ds3 -> {b.core_url} shared delivered (HTTP 403)" in caplog.text


def test_no_sync_rows_no_target_dataset(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """api.go Match, lines 74-89: a namespace with no sync rows has no populated configuration, so no
    worker takes the message, and the target dataset is never created (docs/hoss-server.md §8.4)."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    identity = str(tmp_path / "identity.json")
    a = sandbox_factory(identity=identity, sync_service=True, sync_delay_ms=0)
    b = sandbox_factory(identity=identity)
    for sandbox in (a, b):
        sandbox.seed_namespace("lonely")
    a.seed_dataset("lonely", "ds")
    enabled = sandbox_api(a).put(NS.format("lonely") + "ds/sync", json={"sync_type": "duplex"})
    assert enabled.status_code == 204
    assert _wait(lambda: caplog.text.count("dropped: namespace lonely") >= 3)
    time.sleep(SETTLE_S)
    assert b.datasets("lonely") == []
    for event in ("put-ds-sync", "put-ds-duplex", "put-ds-perm"):
        assert f"sync service: {event} lonely/ds dropped: namespace lonely has no sync configuration" in (
            caplog.text
        )


def test_without_a_sync_service_messages_go_nowhere(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """A core with no sync service consuming its exchange: the PUT still answers 204 and nothing
    else happens (docs/hoss-server.md §7.4)."""
    identity = str(tmp_path / "identity.json")
    a, b = sandbox_factory(identity=identity), sandbox_factory(identity=identity)
    for sandbox, other in ((a, b), (b, a)):
        sandbox.seed_namespace("shared")
        sandbox.seed_sync("shared", other.core_url, "shared", "duplex")
    a.seed_dataset("shared", "ds")
    token = httpx.post(
        f"{a.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {a.admin_pat}"}
    ).json()["id_token"]
    answer = httpx.put(
        f"{a.core_url}/namespace/shared/dataset/ds/sync",
        json={"sync_type": "duplex"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 204
    time.sleep(SETTLE_S)
    assert b.datasets("shared") == []


DELAY_S = 0.25


@pytest.mark.parametrize(
    ("first", "second", "minimum", "maximum"),
    [
        ("duplex", None, 2, 3),  # put-ds-sync, pause, put-ds-duplex, pause, put-ds-perm
        ("simplex", None, 1, 2),  # put-ds-sync, pause, put-ds-perm
        ("simplex", "simplex", 0, 1),  # an update of a simplex sync: nothing to send, no pause
        ("simplex", "duplex", 1, 2),  # an update to duplex: pause, put-ds-duplex
    ],
    ids=["duplex-first", "simplex-first", "simplex-update", "duplex-update"],
)
def test_the_put_waits_like_the_real_handler(
    sandbox_factory: SandboxFactory,
    sandbox_api: ApiFactory,
    first: str,
    second: str | None,
    minimum: int,
    maximum: int,
) -> None:
    """endpoints.go SyncDatasetHandler, lines 146-148 and 165-167: ``time.Sleep(2 * time.Second)``
    before ``put-ds-duplex`` and before the permissions, on the first enable only for the latter;
    the answer waits for both (the measured time is that of the last PUT)."""
    sandbox = sandbox_factory(dataset_sync_delay=DELAY_S)
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    path = NS.format("default") + "ds/sync"
    for sync_type in [first] if second is None else [first, second]:
        started = time.monotonic()
        assert api.put(path, json={"sync_type": sync_type}).status_code == 204
        took = time.monotonic() - started
    assert minimum * DELAY_S <= took < maximum * DELAY_S


def test_a_negative_delay_is_one_sentence() -> None:
    with pytest.raises(HossctlError) as raised:
        Sandbox(dataset_sync_delay=-0.5)
    assert raised.value.message == "Dataset sync delay -0.5 s is negative; give 0 or more seconds."
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--dataset-sync-delay", "-1"])
    assert result.exit_code == 1  # like every option error: never click's 2
    assert result.output == "Error: Dataset sync delay -1.0 s is negative; give 0 or more seconds.\n"
