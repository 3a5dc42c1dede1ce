"""Safety checks: which planned changes would hurt data or crash the sync service.

The checks read only the changes, the config and the snapshot (pure). A check that needs
facts the snapshot lacks (datasets not read, a target that could not be listed) does not
pass silently: unread datasets are an error, an unverifiable target is a warning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hossctl.model import Config
from hossctl.plan import Change, CheckId, PlanOptions, Violation
from hossctl.snapshot import LiveDataset, LiveNamespace, Snapshot
from hossctl.urls import try_normalise_core_url

NsRef = tuple[str, str]
_Key = tuple[str, str, str, str]  # server, namespace, canonical URL, target namespace


def _key(change: Change) -> _Key:
    return (
        change.server,
        change.namespace,
        try_normalise_core_url(change.target_core_service or ""),
        change.target_namespace or "",
    )


@dataclass(frozen=True)
class _DisableKind:
    """What a disable_sync means: a removal, a type change (from, to), or a duplicate cleanup."""

    removal: bool
    new_type: str | None = None


def _classify(changes: Sequence[Change], snapshot: Snapshot | None) -> dict[str, _DisableKind]:
    enables = {_key(c): c for c in changes if c.action == "enable_sync"}
    disabled_exact = {
        (c.server, c.namespace, c.target_core_service, c.target_namespace)
        for c in changes
        if c.action == "disable_sync"
    }
    out: dict[str, _DisableKind] = {}
    for c in changes:
        if c.action != "disable_sync":
            continue
        enable = enables.get(_key(c))
        if enable is not None:
            out[c.id] = _DisableKind(removal=False, new_type=enable.sync_type)
            continue
        kept: list[str] = []  # types of the rows for the same target that stay
        if snapshot is not None:
            live = _live(snapshot, c.server, c.namespace)
            kept = [
                r.sync_type
                for r in (live.sync if live is not None else ())
                if (r.core_url, r.target_namespace) == _key(c)[2:]
                and (c.server, c.namespace, r.target_core_service, r.target_namespace) not in disabled_exact
            ]
        if kept:  # another spelling of the same target stays: at most the type changes
            out[c.id] = _DisableKind(removal=False, new_type="duplex" if "duplex" in kept else kept[0])
        else:
            out[c.id] = _DisableKind(removal=True)
    return out


def _live(snapshot: Snapshot, server: str, namespace: str) -> LiveNamespace | None:
    state = snapshot.server(server)
    return None if state is None else state.namespace(namespace)


def dataset_reads_needed(changes: Sequence[Change]) -> frozenset[NsRef]:
    """Namespaces whose datasets the checks need: deleted or replaced ones, and those losing
    a sync target or going from duplex to simplex. Duplicate-spelling cleanups may be read
    too (they cannot be told from removals without the snapshot); reading more is harmless.
    """
    needs: set[NsRef] = set()
    kinds = _classify(changes, None)
    for c in changes:
        if c.action == "delete_namespace":
            needs.add((c.server, c.namespace))
        elif c.action == "disable_sync":
            kind = kinds[c.id]
            if kind.removal or _downgrade(c.sync_type, kind.new_type):
                needs.add((c.server, c.namespace))
    return frozenset(needs)


def _downgrade(old: str | None, new: str | None) -> bool:
    return old == "duplex" and new is not None and new != "duplex"


def _count_states(datasets: Sequence[LiveDataset]) -> str:
    counts = Counter(d.delete_status for d in datasets)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _names(datasets: Sequence[LiveDataset], limit: int = 5) -> str:
    names = sorted(d.name for d in datasets)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class _Checker:
    def __init__(self, changes: Sequence[Change], config: Config, snapshot: Snapshot, options: PlanOptions):
        self.changes = changes
        self.config = config
        self.snapshot = snapshot
        self.options = options
        self.target_severity: str = "error" if options.target_check else "warning"
        self.created = {(c.server, c.namespace) for c in changes if c.action == "create_namespace"}
        self.deleted = {(c.server, c.namespace) for c in changes if c.action == "delete_namespace"}
        self.disabled_exact = {
            (c.server, c.namespace, c.target_core_service, c.target_namespace)
            for c in changes
            if c.action == "disable_sync"
        }
        self.kinds = _classify(changes, snapshot)
        self.out: list[Violation] = []

    def flag(
        self, check: CheckId, change: Change, message: str, resolution: str, severity: str = "error"
    ) -> None:
        self.out.append(
            Violation(
                check=check, change=change.id, server=change.server, namespace=change.namespace,
                message=message, resolution=resolution,
                severity="warning" if severity == "warning" else "error",
                position=self.position_of(change),
            )
        )

    def position_of(self, change: Change) -> str | None:
        """The declaration a change comes from: its sync target, else its namespace, else
        (an undeclared namespace pruned or a reverse duplex half) its server."""
        server = self.config.server(change.server)
        if server is None:
            return None
        declared = server.namespace(change.namespace)
        if declared is not None and change.target_core_service is not None:
            canonical = try_normalise_core_url(change.target_core_service)
            for target in declared.sync:
                if (target.core_url, target.namespace) == (canonical, change.target_namespace):
                    return str(target.position) if target.position else None
        if declared is not None and declared.position is not None:
            return str(declared.position)
        return str(server.position) if server.position else None

    def exists_after(self, server: str, namespace: str) -> bool:
        ref = (server, namespace)
        if ref in self.created:
            return True
        return ref not in self.deleted and _live(self.snapshot, server, namespace) is not None

    def where(self, c: Change) -> str:
        return f"namespace {c.namespace!r} on server {c.server!r}"

    def run(self) -> tuple[Violation, ...]:
        for c in self.changes:
            if c.action == "delete_namespace":
                self.check_delete(c)
            elif c.action == "create_namespace":
                self.check_create(c)
            elif c.action == "disable_sync":
                self.check_disable(c)
            else:
                self.check_enable(c)
        return tuple(self.out)

    def check_delete(self, c: Change) -> None:
        verb = "replacing" if c.replace else "deleting"
        live = _live(self.snapshot, c.server, c.namespace)
        if live is not None and live.datasets is None:
            self.flag(
                "namespace-not-empty", c,
                f"the datasets of {self.where(c)} could not be read, so {verb} it cannot be shown to be safe",
                "make sure the credentials of this server can list the namespace's datasets, then plan again",
            )
        elif live is not None and live.datasets:
            ds = live.datasets
            self.flag(
                "namespace-not-empty", c,
                f"{self.where(c)} holds {len(ds)} dataset(s) ({_count_states(ds)}: {_names(ds)}); {verb} it "
                "would cascade-delete their records and strand their data in the bucket",
                "move or delete the datasets and wait until pending deletes have finished, or "
                + ("keep the namespace's current attributes" if c.replace else "keep the namespace"),
            )
        if not c.replace:
            self.check_still_targeted(c)
        server = self.config.server(c.server)
        declared = server.namespace(c.namespace) if server is not None else None
        if declared is not None and declared.protect:
            self.flag(
                "protected", c,
                f"{self.where(c)} has protect: true, and this plan would "
                f"{'replace' if c.replace else 'delete'} it",
                "set protect: false in the config if the namespace really must go"
                + (", or restore its current attributes" if c.replace else ", or declare it present again"),
            )

    def check_still_targeted(self, c: Change) -> None:
        """A sync row left pointing at a deleted namespace crash-loops the real sync service
        (hoss-api.md §7.4): every managed row that targets it must go in the same plan."""
        state = self.snapshot.server(c.server)
        if state is None:
            return
        sources = sorted(
            f"{key}/{ns.name}"
            for key, other in self.snapshot.servers.items()
            for ns in other.namespaces.values()
            if (key, ns.name) not in self.deleted
            for row in ns.sync
            if (row.core_url, row.target_namespace) == (state.core_url, c.namespace)
            and (key, ns.name, row.target_core_service, row.target_namespace) not in self.disabled_exact
        )
        if sources:
            self.flag(
                "namespace-still-targeted", c,
                f"{self.where(c)} would be deleted while sync targets on {', '.join(sources)} still point at "
                "it; the sync service fails on a target namespace that does not exist",
                "remove those sync targets first (declare the namespaces with sync lists that leave them "
                "out, or disable them by hand), or keep the namespace",
            )

    def check_create(self, c: Change) -> None:
        state = self.snapshot.server(c.server)
        stores = state.object_stores if state is not None else ()
        if c.object_store not in stores:
            known = ", ".join(repr(s) for s in stores) or "none"
            self.flag(
                "unknown-object-store", c,
                f"{self.where(c)} would be created on object store {c.object_store!r}, which the server "
                f"does not have (it has: {known})",
                "use one of the server's object stores, or have the object store added to the server first",
            )

    def check_disable(self, c: Change) -> None:
        kind = self.kinds[c.id]
        if not kind.removal and not _downgrade(c.sync_type, kind.new_type):
            return
        live = _live(self.snapshot, c.server, c.namespace)
        datasets = live.datasets if live is not None else None
        target = f"{c.target_core_service}#{c.target_namespace}"
        if datasets is None:
            what = "removing" if kind.removal else "downgrading from duplex to simplex"
            self.flag(
                "datasets-syncing" if kind.removal else "duplex-datasets", c,
                f"the datasets of {self.where(c)} could not be read, so {what} its sync target "
                f"{target} cannot be shown to be safe",
                "make sure the credentials of this server can list the namespace's datasets, then plan again",
            )
            return
        if kind.removal:
            syncing = [d for d in datasets if d.sync_enabled]
            if syncing:
                self.flag(
                    "datasets-syncing", c,
                    f"removing sync target {target} of {self.where(c)} while {len(syncing)} dataset(s) "
                    f"have sync enabled ({_names(syncing)})",
                    "disable sync on those datasets first, or keep the sync target in the config",
                )
        else:
            duplex = [d for d in datasets if d.sync_enabled and d.sync_type == "duplex"]
            if duplex:
                self.flag(
                    "duplex-datasets", c,
                    f"sync target {target} of {self.where(c)} goes from duplex to simplex while "
                    f"{len(duplex)} dataset(s) use duplex sync ({_names(duplex)})",
                    "switch those datasets to simplex sync (or disable their sync) first, "
                    "or keep the target duplex in the config",
                )

    def check_enable(self, c: Change) -> None:
        url = c.target_core_service or ""
        tn = c.target_namespace or ""
        target = f"{c.target_server or url}#{tn}"
        sev = self.target_severity
        if not self.exists_after(c.server, c.namespace):
            self.flag(
                "target-namespace-missing", c,
                f"{self.where(c)} does not exist and this plan does not create it, so the sync to "
                f"{target} (the other half of a duplex link) cannot be enabled",
                f"declare namespace {c.namespace!r} on server {c.server!r}, "
                "or remove the duplex link from the config",
                sev,
            )
        managed = c.target_server if c.target_server is not None else None
        if managed is None:
            found = self.config.server_by_core_url(try_normalise_core_url(url))
            managed = found.key if found is not None else None
        if managed is not None and self.snapshot.server(managed) is not None:
            if not self.exists_after(managed, tn):
                self.flag(
                    "target-namespace-missing", c,
                    f"sync from {self.where(c)} targets namespace {tn!r} on server {managed!r}, which does "
                    "not exist there and is not created by this plan",
                    f"declare namespace {tn!r} on server {managed!r}, or fix the sync target's namespace",
                    sev,
                )
            return
        canonical = try_normalise_core_url(url)
        reachable = self.snapshot.reachable.get(canonical)
        if reachable is False:
            self.flag(
                "target-unreachable", c,
                f"sync from {self.where(c)} targets {url}, whose discover endpoint did not answer",
                "check the URL and that the server is up; if only this machine cannot reach it, "
                "plan with --no-target-check",
                sev,
            )
        elif reachable is None:
            self.flag(
                "target-unreachable", c,
                f"sync from {self.where(c)} targets {url}, which was not contacted, so its reachability "
                "could not be verified",
                "plan again with the target declared in the config so that it is checked",
                "warning",
            )
        known = self.snapshot.remote_namespaces.get(canonical)
        if known is not None:
            if tn not in known:
                self.flag(
                    "target-namespace-missing", c,
                    f"sync from {self.where(c)} targets namespace {tn!r} on {url}, "
                    "which does not exist there",
                    f"create namespace {tn!r} on {url} first, or fix the sync target's namespace",
                    sev,
                )
        elif reachable is True:
            self.flag(
                "target-namespace-missing", c,
                f"sync from {self.where(c)} targets namespace {tn!r} on {url}, whose namespaces could not "
                "be listed, so its existence could not be verified",
                f"make sure namespace {tn!r} exists on {url} before applying",
                "warning",
            )


def run_checks(
    changes: Sequence[Change],
    config: Config,
    snapshot: Snapshot,
    options: PlanOptions | None = None,
    *,
    target_check: bool = True,
) -> tuple[Violation, ...]:
    """Every violation of the planned changes, in change order."""
    return _Checker(changes, config, snapshot, options or PlanOptions(target_check=target_check)).run()
