"""execute() against an in-memory stand-in for HossClient that mimics the server's quirks.

These cover what a sandbox cannot provoke on demand: a create whose answer is lost, the
exact number of changes in flight, and which changes a failure leaves unstarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hossctl.apply.executor import ApplyResult, ChangeResult, execute
from hossctl.errors import HossApiError
from hossctl.plan.changes import Change, Expect, Plan
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget

URL_B = "http://b.example/core/v1"
URL_A = "http://a.example/core/v1"


def _same_target(row: Mapping[str, str], target_core_service: str, target_namespace: str) -> bool:
    return row["target_core_service"] == target_core_service and row["target_namespace"] == target_namespace


class FakeServer:
    """Namespaces and sync rows with the real server's silent no-ops (docs/hoss-server.md §10.1)."""

    def __init__(self, key: str) -> None:
        self.server = key
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.sync: dict[str, list[dict[str, str]]] = {}
        self.dataset_rows: dict[str, tuple[LiveDataset, ...]] = {}
        self.lose_create_answer: set[str] = set()
        self.fail_put: set[str] = set()
        self.ignore_delete_sync = False
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls: list[tuple[str, str]] = []

    async def _enter(self, what: str, name: str) -> None:
        self.calls.append((what, name))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1

    def _error(self, status: int, method: str) -> HossApiError:
        return HossApiError(
            f"server '{self.server}' answered {status}",
            server=self.server,
            status=status,
            error="Resource not found" if status == 404 else None,
            method=method,
            path="/",
        )

    async def create_namespace(self, name: str, description: str, object_store: str, bucket: str) -> None:
        await self._enter("create", name)
        if name in self.namespaces:
            raise self._error(403, "POST")
        self.namespaces[name] = {
            "name": name,
            "description": description,
            "object_store": {"name": object_store},
            "bucket_name": bucket,
        }
        self.sync[name] = []
        if name in self.lose_create_answer:
            # What the transport reports when its first attempt's answer was lost and the
            # replay met the namespace that attempt had made.
            self.lose_create_answer.discard(name)
            replay = self._error(403, "POST")
            replay.replayed = True
            raise replay

    async def namespace(self, name: str) -> LiveNamespace | None:
        await self._enter("get", name)
        found = self.namespaces.get(name)
        if found is None:
            return None
        store = found.get("object_store")
        return LiveNamespace(
            name,
            found.get("description", ""),
            store["name"] if isinstance(store, dict) else "",
            found.get("bucket_name", ""),
        )

    async def delete_namespace(self, name: str) -> None:
        await self._enter("delete", name)
        self.namespaces.pop(name, None)
        self.sync.pop(name, None)

    async def sync_targets(self, namespace: str) -> tuple[LiveSyncTarget, ...]:
        await self._enter("get_sync", namespace)
        if namespace not in self.sync:
            raise self._error(404, "GET")
        return tuple(
            LiveSyncTarget(r["target_core_service"], r["target_namespace"], r["sync_type"])
            for r in self.sync[namespace]
        )

    async def put_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> None:
        await self._enter("put_sync", namespace)
        if namespace in self.fail_put:
            raise self._error(500, "PUT")
        rows = self.sync[namespace]
        if not any(_same_target(r, target_core_service, target_namespace) for r in rows):
            rows.append(
                {
                    "target_core_service": target_core_service,
                    "target_namespace": target_namespace,
                    "sync_type": sync_type,
                }
            )

    async def delete_sync(self, namespace: str, target_core_service: str, target_namespace: str) -> None:
        await self._enter("delete_sync", namespace)
        if self.ignore_delete_sync:
            return
        self.sync[namespace] = [
            r for r in self.sync[namespace] if not _same_target(r, target_core_service, target_namespace)
        ]

    async def user_sync(self) -> None:
        await self._enter("user_sync", "")

    async def datasets(self, namespace: str) -> tuple[LiveDataset, ...]:
        await self._enter("get_datasets", namespace)
        if namespace not in self.namespaces:
            raise self._error(404, "GET")
        return self.dataset_rows.get(namespace, ())

    # dataset sync: the real PUT updates the row, then sends its messages; ``fail_after_update``
    # answers 500 after the update, as a failed send does (docs/hoss-server.md §8.4)
    fail_after_update: bool = False

    async def dataset(self, namespace: str, dataset: str) -> LiveDataset | None:
        await self._enter("get_dataset", dataset)
        return next((d for d in self.dataset_rows.get(namespace, ()) if d.name == dataset), None)

    async def dataset_sync_enabled(self, namespace: str, dataset: str) -> bool:
        found = await self.dataset(namespace, dataset)
        if found is None:
            raise self._error(404, "GET")
        return found.sync_enabled

    async def put_dataset_sync(
        self, namespace: str, dataset: str, sync_type: str, policy: str | None
    ) -> None:
        await self._enter("put_dataset_sync", dataset)
        stored = policy or '{"Version":"1","Statements":[]}'
        self.dataset_rows[namespace] = tuple(
            replace(d, sync_enabled=True, sync_type=sync_type, sync_policy=stored)
            if d.name == dataset
            else d
            for d in self.dataset_rows.get(namespace, ())
        )
        if self.fail_after_update:
            raise self._error(500, "PUT")

    async def delete_dataset_sync(self, namespace: str, dataset: str) -> None:
        await self._enter("delete_dataset_sync", dataset)


def create(name: str, server: str = "a", deps: tuple[str, ...] = (), replace: bool = False) -> Change:
    return Change(
        id=f"{server}/{name}/create",
        action="create_namespace",
        server=server,
        namespace=name,
        reason="r",
        depends_on=deps,
        replace=replace,
        description="d",
        object_store="default",
        bucket="data",
    )


def enable(name: str, server: str, target: str, sync_type: str, deps: tuple[str, ...] = ()) -> Change:
    return Change(
        id=f"{server}/{name}/enable",
        action="enable_sync",
        server=server,
        namespace=name,
        reason="r",
        depends_on=deps,
        target_core_service=URL_B if target == "b" else URL_A,
        target_namespace=name,
        sync_type=sync_type,
        target_server=target,
    )


def run(changes: list[Change], servers: Mapping[str, FakeServer], parallelism: int = 16) -> ApplyResult:
    events: list[ChangeResult] = []
    result = asyncio.run(
        execute(
            Plan(changes=tuple(changes)),
            servers,
            parallelism=parallelism,
            on_event=events.append,
        )
    )
    assert sorted(e.change.id for e in events) == sorted(
        r.change.id for r in result.results if r.status != "skipped"
    )
    return result


def status(result: ApplyResult) -> dict[str, str]:
    return {r.change.id: r.status for r in result.results}


def test_parallelism_bounds_changes_in_flight() -> None:
    a = FakeServer("a")
    a.delay = 0.01
    result = run([create(f"n{i}") for i in range(10)], {"a": a}, parallelism=3)
    assert result.ok
    assert a.max_in_flight == 3
    assert set(a.namespaces) == {f"n{i}" for i in range(10)}
    assert (
        result.complete_line()
        == "Apply complete: 10 created, 0 replaced, 0 deleted, 0 sync enabled, 0 sync disabled."
    )


def test_failure_stops_new_changes_but_running_ones_finish() -> None:
    a = FakeServer("a")
    a.namespaces["x"] = {"name": "x"}
    a.sync["x"] = []
    a.fail_put.add("x")
    a.delay = 0.01
    changes = [
        enable("x", "a", "b", "simplex"),
        create("slow"),
        create("later"),
        create("after", deps=("a/slow/create",)),
    ]
    result = run(changes, {"a": a}, parallelism=2)
    assert status(result) == {
        "a/x/enable": "failed",
        "a/slow/create": "done",
        "a/later/create": "skipped",
        "a/after/create": "skipped",
    }
    assert "answered 500" in (result.failed[0].error or "")
    assert "later" not in a.namespaces


def test_every_failure_is_reported() -> None:
    a = FakeServer("a")
    for name in ("x", "y"):
        a.namespaces[name] = {"name": name}
        a.sync[name] = []
        a.fail_put.add(name)
    result = run([enable("x", "a", "b", "simplex"), enable("y", "a", "b", "simplex")], {"a": a})
    assert len(result.failed) == 2


def test_create_whose_answer_was_lost_is_verified_by_reading_it_back() -> None:
    a = FakeServer("a")
    a.lose_create_answer.add("n")
    result = run([create("n")], {"a": a})
    assert result.ok
    assert [c for c in a.calls if c[0] in ("create", "get")] == [("create", "n"), ("get", "n")]


def test_a_403_on_a_first_attempt_is_someone_elses_namespace() -> None:
    a = FakeServer("a")
    a.namespaces["n"] = {"name": "n", "description": "d", "object_store": {"name": "s"}, "bucket_name": "x"}
    change = replace(create("n"), expect=Expect(absent=True))
    result = run([change], {"a": a})
    [only] = result.results
    assert only.status == "blocked"
    assert only.error is not None and only.error.startswith("namespace a/n appeared after the plan was made")


def test_existing_namespace_with_other_attributes_is_a_failure() -> None:
    a = FakeServer("a")
    a.namespaces["n"] = {
        "name": "n",
        "description": "other",
        "object_store": {"name": "default"},
        "bucket_name": "data",
    }
    result = run([create("n")], {"a": a})
    assert status(result) == {"a/n/create": "failed"}
    assert "different attributes" in (result.failed[0].error or "")
    assert "description is 'other'" in (result.failed[0].error or "")


def test_enable_silently_ignored_because_of_another_type_fails() -> None:
    a = FakeServer("a")
    a.namespaces["n"] = {"name": "n"}
    a.sync["n"] = [{"target_core_service": URL_B, "target_namespace": "n", "sync_type": "simplex"}]
    result = run([enable("n", "a", "b", "duplex")], {"a": a})
    assert status(result) == {"a/n/enable": "failed"}
    assert "sync type simplex, not duplex" in (result.failed[0].error or "")


def test_disable_of_the_exact_stored_string_is_verified_gone() -> None:
    a = FakeServer("a")
    a.namespaces["n"] = {"name": "n"}
    stored = URL_B + "/"  # not canonical: only this exact string deletes the row
    a.sync["n"] = [{"target_core_service": stored, "target_namespace": "n", "sync_type": "simplex"}]
    change = Change(
        id="a/n/disable",
        action="disable_sync",
        server="a",
        namespace="n",
        reason="r",
        target_core_service=stored,
        target_namespace="n",
        sync_type="simplex",
    )
    assert run([change], {"a": a}).ok
    assert a.sync["n"] == []
    a.sync["n"] = [{"target_core_service": stored, "target_namespace": "n", "sync_type": "simplex"}]
    a.ignore_delete_sync = True  # answers 204, deletes nothing
    result = run([change], {"a": a})
    assert status(result) == {"a/n/disable": "failed"}
    assert "still there" in (result.failed[0].error or "")


def test_duplex_link_is_reported_once_and_needs_both_sides() -> None:
    a, b = FakeServer("a"), FakeServer("b")
    changes = [
        create("n", "a"),
        create("n", "b"),
        enable("n", "a", "b", "duplex", deps=("a/n/create", "b/n/create")),
        enable("n", "b", "a", "duplex", deps=("a/n/create", "b/n/create")),
    ]
    result = run(changes, {"a": a, "b": b})
    assert [link.label for link in result.links] == ["a/n <-> b/n"]
    assert result.links[0].verified
    b2 = FakeServer("b")
    b2.fail_put.add("n")
    result = run(changes, {"a": FakeServer("a"), "b": b2})
    assert not result.links[0].verified


def test_replace_counts_once() -> None:
    a = FakeServer("a")
    a.namespaces["n"] = {"name": "n", "description": "old"}
    a.sync["n"] = []
    delete = Change(
        id="a/n/delete", action="delete_namespace", server="a", namespace="n", reason="r", replace=True
    )
    result = run([delete, create("n", deps=("a/n/delete",), replace=True)], {"a": a})
    assert (
        result.complete_line()
        == "Apply complete: 0 created, 1 replaced, 0 deleted, 0 sync enabled, 0 sync disabled."
    )
    assert a.namespaces["n"]["description"] == "d"


def test_missing_client_is_a_failure_not_a_crash() -> None:
    result = run([create("n", server="nowhere")], {})
    assert status(result) == {"nowhere/n/create": "failed"}


def _enable_dataset(dataset: str = "d1") -> Change:
    return Change(
        id=f"a/raw/dataset:{dataset}/enable", action="enable_dataset_sync", server="a", namespace="raw",
        reason="r", reason_code="dataset-sync-declared", dataset=dataset, sync_type="duplex",
        expect=Expect(dataset=(False, "simplex", "")),
    )


def _server_with_a_dataset(*, fail_after_update: bool) -> FakeServer:
    server = FakeServer("a")
    server.namespaces["raw"] = {"name": "raw", "object_store": {"name": "default"}}
    server.dataset_rows["raw"] = (LiveDataset("d1", False, "simplex", "NOT_SCHEDULED", ""),)
    server.fail_after_update = fail_after_update
    return server


def test_a_500_after_the_dataset_update_counts_as_done_when_the_state_reads_back_right() -> None:
    server = _server_with_a_dataset(fail_after_update=True)
    result = asyncio.run(execute(Plan(changes=(_enable_dataset(),)), {"a": server}))
    assert [(r.status, r.error) for r in result.results] == [("done", None)]
    assert [what for what, _ in server.calls].count("put_dataset_sync") == 1  # not retried


def test_a_dataset_change_whose_effect_does_not_show_fails_and_says_the_server_answered() -> None:
    server = _server_with_a_dataset(fail_after_update=False)

    async def ignored(namespace: str, dataset: str, sync_type: str, policy: str | None) -> None:
        raise server._error(500, "PUT")  # 500 before any update: nothing changed

    server.put_dataset_sync = ignored  # type: ignore[method-assign]
    result = asyncio.run(execute(Plan(changes=(_enable_dataset(),)), {"a": server}))
    [only] = result.results
    assert only.status == "failed"
    assert only.error is not None and only.error.startswith(
        "dataset 'd1' in a/raw still has sync disabled; the server answered 500"
    )
