"""Executes a plan against the live servers as a dependency graph, verifying every change.

The server answers 204 to many operations it silently ignored (docs/hoss-server.md §10.1), so a
status code proves nothing: every mutation is followed by a read-back, and a change whose
effect cannot be seen is a failure. Scheduling (``Schedule``) is pure and separate from
the I/O so that its ordering and stop-on-failure rules can be tested without servers.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from hossctl.apply.preconditions import Found, dataset_moves, moved
from hossctl.errors import HossApiError, HossctlError, ServerUnreachableError
from hossctl.plan.changes import Change, Plan, Summary
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget

Status = Literal["done", "failed", "blocked", "skipped", "unknown"]
T = TypeVar("T")


class ExecutorClient(Protocol):
    """The one-server client ``execute`` works through: exactly the ``HossClient`` methods it
    calls, with their signatures (``HossClient`` satisfies it structurally; tests pass fakes)."""

    async def namespace(self, name: str) -> LiveNamespace | None: ...

    async def create_namespace(self, name: str, description: str, object_store: str, bucket: str) -> None: ...

    async def delete_namespace(self, name: str) -> None: ...

    async def sync_targets(self, namespace: str) -> tuple[LiveSyncTarget, ...]: ...

    async def put_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> None: ...

    async def delete_sync(self, namespace: str, target_core_service: str, target_namespace: str) -> None: ...

    async def user_sync(self) -> None: ...

    async def datasets(self, namespace: str) -> tuple[LiveDataset, ...]: ...

    async def dataset(self, namespace: str, dataset: str) -> LiveDataset | None: ...

    async def dataset_sync_enabled(self, namespace: str, dataset: str) -> bool: ...

    async def put_dataset_sync(
        self, namespace: str, dataset: str, sync_type: str, policy: str | None
    ) -> None: ...

    async def delete_dataset_sync(self, namespace: str, dataset: str) -> None: ...


# A destructive change reads up to three facts at once just before its write (namespace,
# sync rows, datasets); the connection pool must hold them all, or the reads queue behind
# each other and one round trip becomes three.
PRECONDITION_READS = 3


def connections_for(parallelism: int) -> int:
    """Connections per server that let ``parallelism`` changes read their preconditions at once."""
    return max(1, parallelism) * PRECONDITION_READS


class ChangeFailed(Exception):
    """A change whose mutation or read-back showed it did not take effect."""


class ChangeBlocked(Exception):
    """A change whose precondition no longer holds (or could not be read): it was not sent."""


class Stop:
    """A request to stop, shared between a signal handler and ``execute``.

    After ``request`` no new change starts; changes already sent get ``grace_s`` seconds
    to finish and be verified, and whatever is still in flight then is cancelled and
    reported with an unknown outcome. ``running`` is kept current by ``execute`` so that a
    second signal can name the changes whose outcome nobody will know.
    """

    def __init__(self, grace_s: float = 30.0) -> None:
        self.grace_s = grace_s
        self.signum: int | None = None
        self.event = asyncio.Event()
        self.running: dict[str, Change] = {}

    def request(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    status: Status
    duration_s: float
    error: str | None = None


@dataclass(frozen=True)
class DuplexLink:
    """Both directions of a duplex link between two managed servers; done only when both are."""

    a: ChangeResult
    b: ChangeResult

    @property
    def label(self) -> str:
        a, b = self.a.change, self.b.change
        return f"{a.server}/{a.namespace} <-> {b.server}/{b.namespace}"

    @property
    def verified(self) -> bool:
        return self.a.status == "done" and self.b.status == "done"


@dataclass(frozen=True)
class ApplyResult:
    """Every change of the plan with its outcome, in plan order."""

    results: tuple[ChangeResult, ...]
    links: tuple[DuplexLink, ...] = ()

    def _with(self, status: Status) -> tuple[ChangeResult, ...]:
        return tuple(r for r in self.results if r.status == status)

    @property
    def done(self) -> tuple[ChangeResult, ...]:
        return self._with("done")

    @property
    def failed(self) -> tuple[ChangeResult, ...]:
        return self._with("failed")

    @property
    def blocked(self) -> tuple[ChangeResult, ...]:
        return self._with("blocked")

    @property
    def skipped(self) -> tuple[ChangeResult, ...]:
        return self._with("skipped")

    @property
    def unknown(self) -> tuple[ChangeResult, ...]:
        return self._with("unknown")

    @property
    def ok(self) -> bool:
        return len(self.done) == len(self.results)

    @property
    def counts(self) -> Summary:
        """What was actually done; a replace counts once (its create)."""
        return Plan(changes=tuple(r.change for r in self.done)).summary

    def complete_line(self) -> str:
        c = self.counts
        line = (
            f"Apply complete: {c.create} created, {c.replace} replaced, {c.delete} deleted, "
            f"{c.enable_sync} sync enabled, {c.disable_sync} sync disabled"
        )
        if c.enable_dataset_sync or c.update_dataset_sync or c.disable_dataset_sync:
            line += (
                f"; dataset sync: {c.enable_dataset_sync} enabled, {c.update_dataset_sync} updated, "
                f"{c.disable_dataset_sync} disabled"
            )
        return line + "."


class Schedule:
    """Which changes may start now, given what finished: a pure state machine.

    A change becomes ready once all its ``depends_on`` are done; ready changes start in
    plan order. After the first failure nothing new starts (running ones may finish), so
    whatever was never started is reported as not attempted.
    """

    def __init__(self, changes: Sequence[Change]) -> None:
        self._index: dict[str, int] = {}
        for i, change in enumerate(changes):
            if change.id in self._index:
                raise HossctlError(f"The plan lists change {change.id!r} twice; make a new plan.")
            self._index[change.id] = i
        self._ids = [c.id for c in changes]
        self._waiting: dict[str, int] = {}
        self._dependents: dict[str, list[str]] = {cid: [] for cid in self._ids}
        for change in changes:
            deps = set(change.depends_on)
            for dep in deps:
                if dep not in self._index:
                    raise HossctlError(
                        f"Change {change.id!r} depends on {dep!r}, which is not in the plan; make a new plan."
                    )
                self._dependents[dep].append(change.id)
            self._waiting[change.id] = len(deps)
        self._ready: list[int] = [self._index[c] for c, n in self._waiting.items() if n == 0]
        heapq.heapify(self._ready)
        self._check_acyclic()
        self.running: set[str] = set()
        self.done: set[str] = set()
        self.failed: set[str] = set()
        self.halted = False  # interrupted: nothing new starts, although nothing failed

    def _check_acyclic(self) -> None:
        waiting = dict(self._waiting)
        queue = [self._ids[i] for i in self._ready]
        seen = 0
        while queue:
            cid = queue.pop()
            seen += 1
            for dep in self._dependents[cid]:
                waiting[dep] -= 1
                if waiting[dep] == 0:
                    queue.append(dep)
        if seen != len(self._ids):
            stuck = sorted(c for c, n in waiting.items() if n > 0)
            raise HossctlError(
                f"The plan's dependencies form a cycle ({', '.join(stuck[:5])}); make a new plan."
            )

    @property
    def stopped(self) -> bool:
        return bool(self.failed) or self.halted

    def start(self, limit: int) -> list[str]:
        """Take up to ``limit`` ready changes (plan order) and mark them running."""
        started: list[str] = []
        while self._ready and len(started) < limit and not self.stopped:
            cid = self._ids[heapq.heappop(self._ready)]
            self.running.add(cid)
            started.append(cid)
        return started

    def finish(self, change_id: str, ok: bool) -> None:
        self.running.discard(change_id)
        if not ok:
            self.failed.add(change_id)
            return
        self.done.add(change_id)
        for dep in self._dependents[change_id]:
            self._waiting[dep] -= 1
            if self._waiting[dep] == 0:
                heapq.heappush(self._ready, self._index[dep])

    def not_attempted(self) -> list[str]:
        return [c for c in self._ids if c not in self.done and c not in self.failed and c not in self.running]

    def why_not_attempted(self, change_id: str, deps: Sequence[str]) -> str:
        failed = [d for d in deps if d in self.failed]
        if failed:
            return f"not attempted: depends on {', '.join(failed)}, which failed"
        pending = [d for d in deps if d not in self.done]
        if pending:
            return f"not attempted: depends on {', '.join(pending)}, which was not attempted"
        if self.halted and not self.failed:
            return "not attempted: apply was interrupted"
        return "not attempted: apply stopped after a failure"


async def execute(
    plan: Plan,
    clients: Mapping[str, ExecutorClient],
    *,
    parallelism: int = 16,
    on_event: Callable[[ChangeResult], None] | None = None,
    stop: Stop | None = None,
) -> ApplyResult:
    """Run the plan's changes as a graph with at most ``parallelism`` in flight.

    Each destructive change first re-reads the facts it rests on (``Change.expect``); a
    change whose facts moved is blocked, and like a failure it stops new changes from
    starting. ``stop`` (set by a signal handler) stops new changes too, and bounds how long
    the ones in flight may take.
    """
    schedule = Schedule(plan.changes)
    by_id = {c.id: c for c in plan.changes}
    results: dict[str, ChangeResult] = {}
    tasks: dict[asyncio.Task[ChangeResult], str] = {}
    limit = max(1, parallelism)
    context = _Context(clients)
    loop = asyncio.get_running_loop()
    stop_waiter = asyncio.ensure_future(stop.event.wait()) if stop is not None else None
    deadline: float | None = None
    try:
        while True:
            if stop is not None and stop.requested and deadline is None:
                schedule.halted = True
                deadline = loop.time() + stop.grace_s
            for cid in schedule.start(limit - len(tasks)):
                task = asyncio.create_task(_run(by_id[cid], context))
                tasks[task] = cid
                if stop is not None:
                    stop.running[cid] = by_id[cid]
            if not tasks:
                break
            waiting: set[asyncio.Future[Any]] = set(tasks)
            if stop_waiter is not None and not stop_waiter.done():
                waiting.add(stop_waiter)
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            finished, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for done in finished:
                if done is stop_waiter:
                    continue
                cid = tasks.pop(done)  # type: ignore[call-overload]
                result = done.result()
                results[cid] = result
                if stop is not None:
                    stop.running.pop(cid, None)
                schedule.finish(cid, result.status == "done")
                if on_event is not None:
                    on_event(result)
            if deadline is not None and tasks and loop.time() >= deadline:
                await _abandon(tasks, by_id, results, on_event, stop)
                break
    finally:
        if stop_waiter is not None:
            stop_waiter.cancel()
    for cid in schedule.not_attempted():
        if cid in results:
            continue
        change = by_id[cid]
        results[cid] = ChangeResult(
            change, "skipped", 0.0, schedule.why_not_attempted(cid, change.depends_on)
        )
    ordered = tuple(results[c.id] for c in plan.changes)
    return ApplyResult(ordered, _duplex_links(ordered))


async def _abandon(
    tasks: dict[asyncio.Task[ChangeResult], str],
    by_id: Mapping[str, Change],
    results: dict[str, ChangeResult],
    on_event: Callable[[ChangeResult], None] | None,
    stop: Stop | None,
) -> None:
    """Cancel what is still in flight after the grace period; its outcome is unknown."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for cid in tasks.values():
        result = ChangeResult(
            by_id[cid], "unknown", 0.0,
            "outcome unknown: apply was interrupted while this change was in flight; "
            "run `hossctl plan` to see whether it took effect",
        )
        results[cid] = result
        if stop is not None:
            stop.running.pop(cid, None)
        if on_event is not None:
            on_event(result)
    tasks.clear()


def _duplex_links(results: Sequence[ChangeResult]) -> tuple[DuplexLink, ...]:
    enables: dict[tuple[str, str, str, str], ChangeResult] = {}
    for r in results:
        c = r.change
        if c.action == "enable_sync" and c.sync_type == "duplex" and c.target_server:
            enables[(c.server, c.namespace, c.target_server, c.target_namespace or c.namespace)] = r
    links: list[DuplexLink] = []
    for (server, ns, target, target_ns), a in enables.items():
        b = enables.get((target, target_ns, server, ns))
        if b is not None and (server, ns) < (target, target_ns):
            links.append(DuplexLink(a, b))
    return tuple(links)


class _Context:
    """What the change functions share within one execution: the clients, and one
    ``PUT /user/sync`` per server before its first dataset list (docs/hoss-server.md §8.1)."""

    def __init__(self, clients: Mapping[str, ExecutorClient]) -> None:
        self.clients = clients
        self._user_sync: dict[str, asyncio.Future[None]] = {}

    async def user_synced(self, server: str) -> None:
        future = self._user_sync.get(server)
        if future is None:
            future = asyncio.ensure_future(self.clients[server].user_sync())
            self._user_sync[server] = future
        await asyncio.shield(future)


async def _run(change: Change, context: _Context) -> ChangeResult:
    started = time.monotonic()
    client = context.clients.get(change.server)
    try:
        if client is None:
            raise ChangeFailed(f"no connection to server {change.server!r} was set up")
        await _ACTIONS[change.action](change, client, context)
    except ChangeBlocked as exc:
        return ChangeResult(change, "blocked", time.monotonic() - started, str(exc))
    except (ChangeFailed, HossctlError) as exc:
        return ChangeResult(change, "failed", time.monotonic() - started, str(exc))
    except Exception as exc:  # an unforeseen transport error must not hide the other results
        return ChangeResult(change, "failed", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    return ChangeResult(change, "done", time.monotonic() - started)


class _Gone:
    """A read answered by the core's own 404: the namespace does not exist (any more)."""


_GONE = _Gone()


async def _unless_gone(read: Awaitable[T]) -> T | _Gone:
    try:
        return await read
    except HossApiError as exc:
        if exc.not_found:
            return _GONE
        raise


async def _check_expect(change: Change, client: ExecutorClient, context: _Context) -> None:
    """Re-read what ``change.expect`` names and block the change if any of it moved.

    The reads run concurrently (one round trip); only the ``PUT /user/sync`` that must
    precede the first dataset list of a server adds one, once per server and run.
    """
    expect = change.expect
    if expect is None or (expect.attributes is None and expect.sync_rows is None and expect.sync_row is None):
        return
    name = change.namespace

    async def attributes() -> tuple[str, str, str] | _Gone | None:
        if expect.attributes is None:
            return None
        live = await client.namespace(name)
        return _GONE if live is None else (live.description, live.object_store, live.bucket)

    async def rows() -> tuple[LiveSyncTarget, ...] | _Gone | None:
        if expect.sync_rows is None and expect.sync_row is None:
            return None
        return await _unless_gone(client.sync_targets(name))

    async def datasets() -> tuple[LiveDataset, ...] | _Gone | None:
        if expect.datasets is None:
            return None
        await context.user_synced(change.server)
        return await _unless_gone(client.datasets(name))

    try:
        facts = await asyncio.gather(attributes(), rows(), datasets())
    except HossctlError as exc:
        raise ChangeBlocked(
            f"could not verify that {change.server}/{name} is still as planned, so the change was not "
            f"sent: {exc}"
        ) from None
    found_attributes, found_rows, found_datasets = facts
    found = Found(
        exists=not any(isinstance(fact, _Gone) for fact in facts),
        attributes=None if isinstance(found_attributes, _Gone) else found_attributes,
        rows=None if isinstance(found_rows, _Gone) else found_rows,
        datasets=None if isinstance(found_datasets, _Gone) else found_datasets,
    )
    problems = moved(change, found)
    if problems:
        raise ChangeBlocked(
            f"{'; '.join(problems)} after the plan was made, so the change was not sent; "
            "run `hossctl plan` to review the new situation"
        )


async def _read(read: Awaitable[T]) -> T:
    """A read-back (the transport already retried it as its policy allows).

    When it fails, the mutation may or may not have happened: say so, since the next apply
    (which plans from a fresh read) is what settles it.
    """
    try:
        return await read
    except (ServerUnreachableError, HossApiError) as exc:
        raise ChangeFailed(f"the request was sent but its effect could not be read back: {exc}") from None


def _namespace_differences(live: LiveNamespace, change: Change) -> list[str]:
    found = {"description": live.description, "object_store": live.object_store, "bucket": live.bucket}
    asked = {"description": change.description, "object_store": change.object_store, "bucket": change.bucket}
    return [f"{key} is {found[key]!r}, not {asked[key]!r}" for key in found if found[key] != asked[key]]


def _where(change: Change) -> str:
    return f"namespace {change.namespace!r} on {change.server}"


async def _create_namespace(change: Change, client: ExecutorClient, context: _Context) -> None:
    try:
        await client.create_namespace(
            change.namespace, change.description or "", change.object_store or "", change.bucket or ""
        )
    except HossApiError as exc:
        if exc.status != 403:
            raise
        if not exc.replayed and change.expect is not None and change.expect.absent:
            # No attempt of ours can have reached the server: someone else made it.
            raise ChangeBlocked(
                f"namespace {change.server}/{change.namespace} appeared after the plan was made "
                "(the server answered 403: it already exists), so it was not created; run "
                "`hossctl plan` to review the new situation"
            ) from None
        # An earlier attempt whose answer was lost: fine iff the namespace is what we asked.
    except ServerUnreachableError as exc:
        raise ChangeFailed(
            f"the create was sent but no answer came back, so whether it took effect is unknown: {exc}"
        ) from None
    live = await _read(client.namespace(change.namespace))
    if live is None:
        raise ChangeFailed(f"{_where(change)} is missing despite a success answer to the create")
    differences = _namespace_differences(live, change)
    if differences:
        raise ChangeFailed(f"{_where(change)} exists with different attributes: {'; '.join(differences)}")


async def _delete_namespace(change: Change, client: ExecutorClient, context: _Context) -> None:
    await _check_expect(change, client, context)
    await client.delete_namespace(change.namespace)
    if await _read(client.namespace(change.namespace)) is not None:
        raise ChangeFailed(f"{_where(change)} is still there despite a success answer to the DELETE")


def _target(change: Change) -> str:
    return f"sync target {change.target_core_service}#{change.target_namespace or change.namespace}"


def _matching_rows(rows: Sequence[LiveSyncTarget], change: Change) -> list[LiveSyncTarget]:
    target_ns = change.target_namespace or change.namespace
    return [
        row
        for row in rows
        if row.target_core_service == change.target_core_service
        and (row.target_namespace or change.namespace) == target_ns
    ]


async def _enable_sync(change: Change, client: ExecutorClient, context: _Context) -> None:
    await client.put_sync(
        change.namespace,
        change.target_core_service or "",
        change.target_namespace or "",
        change.sync_type or "",
    )
    rows = _matching_rows(await _read(client.sync_targets(change.namespace)), change)
    if not rows:
        raise ChangeFailed(
            f"{_target(change)} of {_where(change)} is missing despite a success answer to the PUT"
        )
    types = sorted({row.sync_type for row in rows})
    if change.sync_type not in types:
        raise ChangeFailed(
            f"{_target(change)} of {_where(change)} has sync type {', '.join(types)}, "
            f"not {change.sync_type}: the server answered 204 but kept the row it already had "
            "(a PUT never changes the type; a type change is a disable, then an enable)"
        )


async def _disable_sync(change: Change, client: ExecutorClient, context: _Context) -> None:
    await _check_expect(change, client, context)
    await client.delete_sync(
        change.namespace, change.target_core_service or "", change.target_namespace or ""
    )
    rows = _matching_rows(await _read(client.sync_targets(change.namespace)), change)
    if rows:
        raise ChangeFailed(
            f"{_target(change)} of {_where(change)} is still there despite a success answer to the DELETE"
        )


def _dataset_where(change: Change) -> str:
    return f"dataset {change.dataset!r} in {change.server}/{change.namespace}"


async def _set_dataset_sync(change: Change, client: ExecutorClient, context: _Context) -> None:
    """Enable, update or disable one dataset's sync: precondition, write, read-back.

    The real PUT updates the row and then sends its messages, sleeping 2-4 s; a failed send
    answers 500 *after* the update (docs/hoss-server.md §8.4). So a 500 or a lost answer is not
    retried: the read-back decides, and the change counts as done when the state is as asked.
    """
    namespace, dataset = change.namespace, change.dataset or ""
    try:
        before = await client.dataset(namespace, dataset)
    except HossctlError as exc:
        raise ChangeBlocked(
            f"could not verify that {_dataset_where(change)} is still as planned, so the change was not "
            f"sent: {exc}"
        ) from None
    problems = dataset_moves(change, before)
    if problems:
        raise ChangeBlocked(
            f"{'; '.join(problems)} after the plan was made, so the change was not sent; "
            "run `hossctl plan` to review the new situation"
        )
    disable = change.action == "disable_dataset_sync"
    unanswered: str | None = None
    try:
        if disable:
            await client.delete_dataset_sync(namespace, dataset)
        else:
            await client.put_dataset_sync(namespace, dataset, change.sync_type or "", change.sync_policy)
    except HossApiError as exc:
        if exc.status < 500:
            raise
        unanswered = f"the server answered {exc.status} ({exc.message})"
    except ServerUnreachableError as exc:
        unanswered = f"no answer came back ({exc})"
    record, enabled = await asyncio.gather(
        _read(client.dataset(namespace, dataset)), _read(client.dataset_sync_enabled(namespace, dataset))
    )
    problem = _dataset_sync_problem(change, record, enabled)
    if problem is not None:
        sent = f"; {unanswered}" if unanswered else " despite a success answer"
        raise ChangeFailed(f"{_dataset_where(change)} {problem}{sent}")


def _dataset_sync_problem(change: Change, record: LiveDataset | None, enabled: bool) -> str | None:
    """What the read-back shows that is not what the change asked for, or None."""
    from hossctl.syncpolicy import canonical

    if record is None:
        return "disappeared"
    if record.sync_enabled != enabled:
        return "reads back inconsistently (its record and its sync endpoint disagree)"
    if change.action == "disable_dataset_sync":
        return "still has sync enabled" if enabled else None
    if not enabled:
        return "still has sync disabled"
    if record.sync_type != change.sync_type:
        return f"syncs {record.sync_type}, not {change.sync_type}"
    if canonical(record.sync_policy) != canonical(change.sync_policy or ""):
        return "has another sync policy than the one sent"
    return None


_ACTIONS: dict[str, Callable[[Change, ExecutorClient, _Context], Awaitable[None]]] = {
    "create_namespace": _create_namespace,
    "delete_namespace": _delete_namespace,
    "enable_sync": _enable_sync,
    "disable_sync": _disable_sync,
    "enable_dataset_sync": _set_dataset_sync,
    "update_dataset_sync": _set_dataset_sync,
    "disable_dataset_sync": _set_dataset_sync,
}
