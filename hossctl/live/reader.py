"""Reads the live state of every managed server into one immutable Snapshot.

This is the slow part of ``plan``: one request per namespace for its sync targets. Each
server's sync lists are read by ``parallelism`` workers, starting with the first page of the
namespace list, so the wall time approaches (1 page + namespaces ÷ parallelism) round trips
rather than one round trip per namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hossctl.errors import HossApiError, HossctlError
from hossctl.live import wire
from hossctl.live.client import HossClient, probe_discover
from hossctl.plan.model import Config
from hossctl.plan.snapshot import (
    LiveDataset,
    LiveNamespace,
    LiveSyncTarget,
    ServerState,
    Snapshot,
    make_server_state,
    make_snapshot,
)
from hossctl.render.progress import NO_PROGRESS, Progress
from hossctl.urls import is_addressable, try_normalise_core_url

_T = TypeVar("_T")

# How many listed namespaces may have their sync lists read while the listing still goes on.
# Reading ahead pays only while pages are still arriving: 16 workers need about 31 round trips
# to read one page's 500 sync lists while the next page takes one, so a head start of a few
# thousand names already outlasts any listing. A listing that never ends (a broken or hostile server,
# stopped at MAX_LISTED) then costs its pages and these reads, not one read per listed name.
READ_AHEAD_NAMES = 2_000


def _sorted_targets(targets: Iterable[LiveSyncTarget]) -> tuple[LiveSyncTarget, ...]:
    return tuple(sorted(targets, key=lambda t: (t.target_core_service, t.target_namespace, t.sync_type)))


# Adapters for callers that hold the client's dict records (``get_namespace``, ``get_sync``,
# ``list_datasets``). Those records were validated by the client already; these convert them
# with the same strict rules (``wire.MalformedAnswer`` on a wrong shape), never a default.


def live_sync_target(row: Mapping[str, Any]) -> LiveSyncTarget:
    return wire.sync_target(dict(row))


def live_namespace(row: Mapping[str, Any], sync: Iterable[Mapping[str, Any]] = ()) -> LiveNamespace:
    return replace(wire.namespace(dict(row)), sync=_sorted_targets(live_sync_target(s) for s in sync))


def live_dataset(row: Mapping[str, Any]) -> LiveDataset:
    return wire.dataset(dict(row))


@dataclass(frozen=True)
class ReadScope:
    """What one run reads: the managed servers, by key, and the unmanaged sync targets to probe.

    Built once per run (``read_scope`` for a config, or by export from its sources), so the
    reader needs neither a whole Config nor a fake one.
    """

    servers: tuple[str, ...]
    probe: frozenset[str] = frozenset()  # canonical core URLs of targets that no managed server is


def read_scope(config: Config) -> ReadScope:
    managed = {server.core_url for server in config.servers}
    declared = {
        try_normalise_core_url(target.core_url)
        for server in config.servers
        for ns in server.namespaces
        for target in ns.sync
    }
    return ReadScope(tuple(server.key for server in config.servers), frozenset(declared - managed))


async def _counted(read: Awaitable[_T], progress: Progress) -> _T:
    result = await read
    progress.advance()
    return result


async def _together(*reads: Awaitable[Any]) -> list[Any]:
    """Run ``reads`` concurrently; the first failure cancels the rest and is raised as it is.

    ``asyncio.gather`` would leave the others running after a failure, and a TaskGroup would
    wrap the error in an ExceptionGroup that no caller expects.
    """
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _read_server(
    client: HossClient, key: str, parallelism: int, progress: Progress = NO_PROGRESS
) -> ServerState:
    """One server's state. Sync lists are read by ``parallelism`` workers while the namespace
    pages are still arriving, so a long list costs one page's round trip, not one per page.

    While pages are being fetched, one worker waits, so that the next page always finds a free
    connection (``connections`` is ``parallelism`` for plan) instead of queueing behind sync reads.
    Past READ_AHEAD_NAMES listed names, every worker waits for the end of the list: a listing
    that long is rare, and one that never ends (a broken or hostile server, stopped at
    MAX_LISTED) should cost its pages, not a sync read for each name on them.
    """
    progress.expect(3)  # the version, the object stores, the namespace list; then one per namespace
    version = await client.server_version()
    progress.advance()
    by_name: dict[str, LiveNamespace] = {}
    syncs: dict[str, tuple[LiveSyncTarget, ...] | None] = {}
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    workers = max(1, parallelism)
    listed = asyncio.Event()
    reading = asyncio.Event()  # cleared while a listing past READ_AHEAD_NAMES goes on
    reading.set()

    each = not client.reads_sync_configuration  # one sync read per namespace

    async def list_namespaces() -> None:
        async for page in client.namespace_pages():
            addressable = 0
            for ns in page:
                if ns.name in by_name:  # a namespace created while paging can shift into a second page
                    continue
                by_name[ns.name] = ns
                if is_addressable(ns.name) and each:
                    addressable += 1
                    queue.put_nowait(ns.name)
                elif not is_addressable(ns.name):
                    syncs[ns.name] = ()  # listed but unroutable (§9): keep it, without sync
            progress.expect(addressable)
            if len(by_name) > READ_AHEAD_NAMES:
                reading.clear()
        progress.advance()
        listed.set()
        reading.set()
        for _ in range(workers):
            queue.put_nowait(None)

    async def read_syncs(waits_for_list: bool) -> None:
        if waits_for_list:
            await listed.wait()
        while (name := await queue.get()) is not None:
            await reading.wait()
            try:
                syncs[name] = await client.sync_targets(name)
            except HossApiError as exc:
                if not exc.not_found:
                    raise
                syncs[name] = None  # deleted between the list and this read
            finally:
                progress.advance()

    if client.reads_sync_configuration:
        # One request for every row (§7.5) instead of one per namespace, while the pages
        # arrive; a namespace without rows is absent from the answer.
        progress.expect(1)
        stores, _, rows = await _together(
            _counted(client.object_stores(), progress),
            list_namespaces(),
            _counted(client.sync_configuration(), progress),
        )
        for name in by_name:
            syncs.setdefault(name, rows.get(name, ()))
    else:
        stores, *_ = await _together(
            _counted(client.object_stores(), progress),
            list_namespaces(),
            *(read_syncs(waits_for_list=index == 0 and workers > 1) for index in range(workers)),
        )
    namespaces = {
        name: replace(ns, sync=_sorted_targets(found))
        for name, ns in by_name.items()
        if (found := syncs[name]) is not None
    }
    return make_server_state(
        key=key,
        core_url=client.core_url,
        version=version,
        object_stores=tuple(sorted(set(stores))),
        namespaces=namespaces,
    )


async def read_snapshot(
    scope: ReadScope,
    clients: Mapping[str, HossClient],
    *,
    parallelism: int = 16,
    ca_bundle: str | None = None,
    probe_timeout: float = 5.0,
    progress: Progress = NO_PROGRESS,
) -> Snapshot:
    """Every managed server's namespaces, sync targets and object stores, plus target reachability.

    ``parallelism`` bounds the concurrent requests per server. Targets that are managed
    servers are reachable by construction (their reads succeeded or this raised); the
    others are probed with an unauthenticated discover. ``progress`` counts the reads as the
    namespace lists reveal how many there will be. ``ca_bundle`` is the one the clients trust,
    so that the probe trusts the same CAs.
    """
    keys = scope.servers
    probe_task = asyncio.ensure_future(
        probe_discover(sorted(scope.probe), ca_bundle=ca_bundle, timeout=probe_timeout)
    )
    try:
        states = await asyncio.gather(
            *(
                _read_server(clients[key], key, parallelism, progress)
                for key in keys
            )
        )
        reachable = await probe_task
    finally:
        if not probe_task.done():
            probe_task.cancel()
    reachable.update({state.core_url: True for state in states})
    return make_snapshot({state.key: state for state in states}, reachable=reachable)


Datasets = tuple[tuple[LiveDataset, ...] | None, str | None]  # the datasets, or None and why


async def read_datasets(
    snapshot: Snapshot,
    clients: Mapping[str, HossClient],
    needs: Iterable[tuple[str, str]],
    *,
    parallelism: int = 16,
    progress: Progress = NO_PROGRESS,
    refresh_groups: bool = True,
) -> Snapshot:
    """A new Snapshot with the datasets of the (server, namespace) pairs the checks need.

    ``PUT /user/sync`` runs first on each server, because dataset lists are filtered by the
    caller's groups as core last recorded them (§8.1): a stale record would hide datasets.

    A dataset list that fails or cannot be trusted does not end the run: that namespace's
    datasets stay unknown (``datasets`` None) with the reason in ``datasets_error``, and the
    safety checks block whatever needed them. The rest of the plan is still worth showing.
    """
    wanted: dict[str, list[str]] = {}
    for key, name in sorted(set(needs)):
        state = snapshot.server(key)
        if state is None or state.namespace(name) is None or not is_addressable(name):
            continue
        wanted.setdefault(key, []).append(name)

    progress.expect(sum(1 + len(names) for names in wanted.values()))

    async def read_server(key: str) -> tuple[str, dict[str, Datasets]]:
        client = clients[key]
        if refresh_groups:  # rehearse reads without it: it writes nothing to a server, not even this
            await client.user_sync()
        progress.advance()
        semaphore = asyncio.Semaphore(max(1, parallelism))

        async def one(name: str) -> Datasets:
            async with semaphore:
                try:
                    found = await client.datasets(name)
                except HossApiError as exc:
                    if exc.not_found:
                        return (), None  # the namespace vanished: nothing left in it
                    return None, exc.message
                except HossctlError as exc:  # unreachable, or the token stopped working
                    return None, exc.message
                finally:
                    progress.advance()
            return tuple(sorted(found, key=lambda d: d.name)), None

        names = wanted[key]
        found = await asyncio.gather(*(one(name) for name in names))
        return key, dict(zip(names, found, strict=True))

    results = dict(await asyncio.gather(*(read_server(key) for key in wanted)))
    servers: dict[str, ServerState] = {}
    for key, state in snapshot.servers.items():
        datasets = results.get(key)
        if not datasets:
            servers[key] = state
            continue
        namespaces = {
            name: replace(ns, datasets=datasets[name][0], datasets_error=datasets[name][1])
            if name in datasets
            else ns
            for name, ns in state.namespaces.items()
        }
        servers[key] = make_server_state(
            state.key, state.core_url, state.version, state.object_stores, namespaces
        )
    return make_snapshot(servers, snapshot.reachable)
