"""Safety checks: which planned changes would hurt data or crash the sync service.

The checks read only the changes, the config and the snapshot (pure). A check that needs
facts the snapshot lacks (datasets not read, a target that was not contacted) does not
pass silently: unread datasets are an error, an unverifiable target is a warning.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

from hossctl.plan.changes import DATASET_ACTIONS, Change, CheckId, NsRef, PlanOptions, Violation
from hossctl.plan.model import Config, DatasetSync
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, Snapshot
from hossctl.urls import try_normalise_core_url

_UNREADABLE_FIX = (
    "make sure this server's credentials can list the namespace's datasets and that nothing between hossctl "
    "and the server (a proxy, a login page) changes its answers, then plan again"
)
# A server with fewer live namespaces is never flagged by mass-delete: there, one or two
# deletes are already a large share, and routine.
MASS_DELETE_MIN_NAMESPACES = 10
_Key = tuple[str, str, str, str]  # server, namespace, canonical URL, target namespace


def _key(change: Change) -> _Key:
    return (
        change.server,
        change.namespace,
        try_normalise_core_url(change.target_core_service or ""),
        change.target_namespace or "",
    )


def _live(snapshot: Snapshot, server: str, namespace: str) -> LiveNamespace | None:
    state = snapshot.server(server)
    return None if state is None else state.namespace(namespace)


def sync_level(sync_type: str) -> int:
    """What a syncing dataset of this type needs of its namespace's targets: 1 any, 2 a duplex one
    (docs/hoss-server.md §8.4); the planner and the checks measure with the same yardstick."""
    return 2 if sync_type == "duplex" else 1


# What each datasets.sync value asks of a dataset, on the same scale: 0 no sync, 1 one-way,
# 2 two-way.
MODE_LEVEL = {"off": 0, "simplex": 1, "duplex": 2}


def rows_level(types: Sequence[str]) -> int:
    """What a namespace with sync rows of these types offers its datasets."""
    return max((sync_level(t) for t in types), default=0)


_NEEDS = {1: "a sync target", 2: "a duplex sync target"}


def dataset_reads_needed(changes: Sequence[Change]) -> frozenset[NsRef]:
    """Namespaces whose datasets the checks need: those whose changes expect something of
    their datasets (a delete or replace, a sync target's removal, a duplex → simplex change)."""
    return frozenset(
        (c.server, c.namespace) for c in changes if c.expect is not None and c.expect.datasets is not None
    )


def _count_states(datasets: Sequence[LiveDataset]) -> str:
    counts = Counter(d.delete_status for d in datasets)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _percent(count: int, total: int, threshold: int) -> str:
    """``count`` of ``total`` in percent, never rounded down onto the threshold it exceeds."""
    exact = count * 100 / total
    if exact == int(exact):
        return str(int(exact))
    shown = f"{exact:.1f}"
    if float(shown) <= threshold:
        shown = f"{math.ceil(exact * 10) / 10:.1f}"
    return shown


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
        self.mass_delete = self._mass_deletes()
        self.by_id = {c.id: c for c in changes}
        self.dataset_changes: dict[NsRef, list[Change]] = {}
        # The types of the rows each namespace gains, looked up per namespace by rows_after: a
        # scan of every change there made a plan of 10,000 enables quadratic.
        self.enabled_types: dict[NsRef, list[str]] = {}
        for c in changes:
            if c.action in DATASET_ACTIONS:
                self.dataset_changes.setdefault((c.server, c.namespace), []).append(c)
            elif c.action == "enable_sync":
                self.enabled_types.setdefault((c.server, c.namespace), []).append(c.sync_type or "")
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

    def flag_namespace(
        self, check: CheckId, ref: NsRef, message: str, resolution: str, severity: str = "error"
    ) -> None:
        """A finding about a namespace's live state that no change of the plan causes."""
        server = self.config.server(ref[0])
        declared = server.namespace(ref[1]) if server is not None else None
        position = declared.datasets.position or declared.position if declared is not None else None
        self.out.append(
            Violation(
                check=check, change="", server=ref[0], namespace=ref[1], message=message,
                resolution=resolution, severity="warning" if severity == "warning" else "error",
                position=str(position) if position else None,
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
            elif c.action == "enable_sync":
                self.check_enable(c)
        self.check_dataset_sync()
        return tuple(self.out)

    # -- dataset sync (docs/hoss-server.md §8.4: the server enforces none of this) ------------

    def rows_after(self, ref: NsRef) -> list[str]:
        """The types of a namespace's sync rows once the plan has run."""
        live = _live(self.snapshot, *ref)
        kept = [] if live is None or ref in self.deleted else [
            r.sync_type for r in live.sync if (*ref, r.target_core_service, r.target_namespace)
            not in self.disabled_exact
        ]
        return kept + self.enabled_types.get(ref, [])

    def check_dataset_sync(self) -> None:
        """A dataset may sync one-way only with a sync target, two-way only with a duplex one.

        Planned dataset changes that would break the rule are errors, and so is a managed
        namespace whose declared datasets sync its targets cannot carry. Live datasets that
        break it already, and that the plan leaves alone, are warnings: the server accepted
        them, and no data moves (or none comes back) until someone fixes them.
        """
        for server in self.config.servers:
            state = self.snapshot.server(server.key)
            if state is None:
                continue
            for name, live in sorted(state.namespaces.items()):
                ref = (server.key, name)
                if ref in self.deleted and ref not in self.created:
                    continue
                declared = server.namespace(name)
                managed = declared is not None and declared.ensure == "present" and declared.datasets.managed
                if managed and live.datasets is None:
                    self.flag_namespace(
                        "datasets-unreadable", ref,
                        f"could not read the datasets of {self.where_ref(ref)}, whose datasets sync is "
                        f"managed, so their sync cannot be planned: {live.datasets_error or 'not read'}",
                        _UNREADABLE_FIX,
                    )
                    continue
                end = rows_level(self.rows_after(ref))
                if managed and declared is not None:
                    self.check_declared_datasets(ref, declared.datasets.sync, end)
                if live.datasets is not None and self.options.drift:
                    self.check_drift(ref, live, end, declared.datasets if managed and declared else None)
            for new in server.namespaces:  # created by this plan: its targets must fit its datasets too
                if new.ensure == "present" and new.datasets.managed and new.name not in state.namespaces:
                    ref = (server.key, new.name)
                    self.check_declared_datasets(ref, new.datasets.sync, rows_level(self.rows_after(ref)))

    def where_ref(self, ref: NsRef) -> str:
        return f"namespace {ref[1]!r} on server {ref[0]!r}"

    def check_declared_datasets(self, ref: NsRef, mode: str, end: int) -> None:
        need = MODE_LEVEL.get(mode, 0)
        if need <= end:
            return
        check: CheckId = (
            "dataset-sync-without-target" if end == 0 else "dataset-duplex-needs-namespace-duplex"
        )
        has = "no sync target" if end == 0 else "only simplex sync targets"
        changes = [c for c in self.dataset_changes.get(ref, []) if c.action != "disable_dataset_sync"]
        affected = f" ({len(changes)} dataset change(s) in this plan)" if changes else ""
        message = (
            f"the config wants every dataset of {self.where_ref(ref)} to sync {mode}, but after this plan "
            f"the namespace has {has}{affected}; the server would accept it and no data would "
            + ("move" if end == 0 else "come back")
        )
        fix = (
            f"give the namespace {_NEEDS[need]} in its sync list, or set its datasets sync to "
            + ("off" if end == 0 else "simplex or off")
        )
        if changes:
            self.flag(check, changes[0], message, fix)
        else:
            self.flag_namespace(check, ref, message, fix)

    def check_drift(
        self, ref: NsRef, live: LiveNamespace, end: int, managed: DatasetSync | None
    ) -> None:
        """Live datasets that already break the rule and stay as they are: warnings, with the fix."""
        start = rows_level([r.sync_type for r in live.sync])
        touched = {c.dataset for c in self.dataset_changes.get(ref, [])}
        broken = [
            d for d in live.datasets or ()
            if d.sync_enabled and not d.deleting and d.name not in touched
            and (managed is None or managed.excludes(d.name))
            and sync_level(d.sync_type) > start and sync_level(d.sync_type) > end
        ]
        unlinked = [d for d in broken if end == 0]
        one_way = [d for d in broken if end > 0]
        where = self.where_ref(ref)
        if unlinked:
            self.flag_namespace(
                "dataset-sync-without-target", ref,
                f"{len(unlinked)} dataset(s) of {where} have sync enabled, but the namespace has no sync "
                f"target, so none of their data moves ({_names(unlinked)})",
                "give the namespace a sync target, or disable sync on those datasets "
                "(or declare datasets: {sync: off} for the namespace)",
                "warning",
            )
        if one_way:
            self.flag_namespace(
                "dataset-duplex-needs-namespace-duplex", ref,
                f"{len(one_way)} dataset(s) of {where} use duplex sync, but the namespace's sync targets are "
                f"simplex only, so nothing syncs back ({_names(one_way)})",
                "make the namespace's sync target duplex, or switch those datasets to simplex "
                "(or declare datasets: {sync: simplex} for the namespace)",
                "warning",
            )

    def datasets_before(self, c: Change, datasets: Sequence[LiveDataset]) -> list[LiveDataset]:
        """The datasets as they are when ``c`` runs: the dataset changes it waits for applied."""
        changed = {
            d.dataset: d for d in (self.by_id.get(i) for i in c.depends_on)
            if d is not None and d.action in DATASET_ACTIONS
        }
        out = []
        for dataset in datasets:
            change = changed.get(dataset.name)
            if change is None:
                out.append(dataset)
            elif change.action == "disable_dataset_sync":
                out.append(replace(dataset, sync_enabled=False, sync_type=""))
            else:
                out.append(replace(dataset, sync_enabled=True, sync_type=change.sync_type or ""))
        return out

    def check_delete(self, c: Change) -> None:
        verb = "replacing" if c.replace else "deleting"
        live = _live(self.snapshot, c.server, c.namespace)
        if live is not None and live.datasets is None:
            self.flag(
                "namespace-not-empty", c,
                f"could not verify that {self.where(c)} holds no datasets, so {verb} it cannot be shown "
                f"to be safe: {live.datasets_error or 'its datasets could not be read'}",
                _UNREADABLE_FIX,
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
        mass = self.mass_delete.get(c.id)
        if mass is not None:
            self.check_mass_delete(c, *mass)

    def _mass_deletes(self) -> dict[str, tuple[int, int, int]]:
        """(deleted, live, threshold) by the id of the first delete of each server over its threshold.

        Counted per plan, not per change: one delete is routine, but most of a server's
        namespaces going at once is what a wrong -f, a wrong URL or an emptied file with
        prune: true looks like. Servers with fewer than 10 namespaces are exempt: there, a
        single delete is already a large share.
        """
        out: dict[str, tuple[int, int, int]] = {}
        for server in self.config.servers:
            state = self.snapshot.server(server.key)
            live = len(state.namespaces) if state is not None else 0
            if live < MASS_DELETE_MIN_NAMESPACES:
                continue
            deletes = [c for c in self.changes if c.action == "delete_namespace" and c.server == server.key]
            count = len({c.namespace for c in deletes})
            threshold = (
                self.options.delete_threshold
                if self.options.delete_threshold is not None
                else server.delete_threshold
            )
            if count * 100 > threshold * live:
                out[deletes[0].id] = (count, live, threshold)
        return out

    def check_mass_delete(self, c: Change, count: int, live: int, threshold: int) -> None:
        from_cli = self.options.delete_threshold is not None
        whose = "the delete threshold given with --delete-threshold" if from_cli else "its delete threshold"
        allowed = self.options.allow_mass_delete
        raise_it = (
            "give a higher --delete-threshold"
            if from_cli
            else f"raise delete_threshold of server {c.server!r} in the config"
        )
        self.flag(
            "mass-delete", c,
            f"this plan would delete or replace {count} of {live} live namespaces "
            f"({_percent(count, live, threshold)} %) on server {c.server!r}, above {whose} of {threshold} %"
            + (" (allowed by --allow-mass-delete)" if allowed else ""),
            f"if this is intended, re-run with --allow-mass-delete or {raise_it}; if not, check the -f "
            f"files, the URL of server {c.server!r} and its prune setting",
            "warning" if allowed else "error",
        )

    @cached_property
    def rows_targeting(self) -> dict[tuple[str, str], list[tuple[str, str, LiveSyncTarget]]]:
        """Every live sync row by the (core URL, namespace) it points at, built on first use:
        scanning every row for each delete made a plan of many deletes quadratic."""
        index: dict[tuple[str, str], list[tuple[str, str, LiveSyncTarget]]] = {}
        for key, other in self.snapshot.servers.items():
            for ns in other.namespaces.values():
                for row in ns.sync:
                    index.setdefault((row.core_url, row.target_namespace), []).append((key, ns.name, row))
        return index

    def check_still_targeted(self, c: Change) -> None:
        """A sync row left pointing at a deleted namespace crash-loops the real sync service
        (docs/hoss-server.md §7.4): every managed row that targets it must go in the same plan."""
        state = self.snapshot.server(c.server)
        if state is None:
            return
        sources = sorted(
            f"{key}/{name}"
            for key, name, row in self.rows_targeting.get((state.core_url, c.namespace), ())
            if (key, name) not in self.deleted
            and (key, name, row.target_core_service, row.target_namespace) not in self.disabled_exact
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
        self.check_bucket_shared(c)

    def check_bucket_shared(self, c: Change) -> None:
        """Another live namespace on the new namespace's bucket: validate sees only declared ones.

        The sync service tells namespaces apart by bucket, and a dataset's files live under
        its name in the bucket, so a second namespace there mixes data; the usual cause is a
        rename, which Hoss does not have.
        """
        state = self.snapshot.server(c.server)
        if state is None:
            return
        server = self.config.server(c.server)
        new = repr(c.namespace)
        on = f"bucket {c.bucket!r} of object store {c.object_store!r}"
        for other in sorted(state.namespaces.values(), key=lambda n: n.name):
            if other.name == c.namespace or (other.object_store, other.bucket) != (c.object_store, c.bucket):
                continue  # the namespace being replaced, or another bucket
            old = repr(other.name)
            declared = server.namespace(other.name) if server is not None else None
            ref = (c.server, other.name)
            # It leaves the bucket if this plan deletes it, and a replace does not put it back there.
            stays = ref not in self.deleted or (
                ref in self.created
                and declared is not None
                and (declared.object_store, declared.bucket) == (c.object_store, c.bucket)
            )
            rename = declared is None
            if stays and rename:
                message = (
                    f"{self.where(c)} would be created on {on}, which live namespace {old} uses and this "
                    f"config does not declare; this looks like a rename, but Hoss has no rename: {old} and "
                    "its datasets stay where they are, and with the bucket shared the sync service, which "
                    "tells namespaces apart by bucket, would mix the two namespaces' data"
                )
            elif stays:
                message = (
                    f"{self.where(c)} would be created on {on}, which live namespace {old} also uses; the "
                    "sync service tells namespaces apart by bucket, so their data would get mixed up"
                )
            else:
                gone = "replaces it on another bucket" if ref in self.created else "deletes it"
                message = (
                    f"{self.where(c)} would be created on {on}, which live namespace {old} uses until this "
                    f"plan {gone}"
                    + ("; this looks like a rename, but Hoss has no rename" if rename else "")
                    + f": deleting {old} does not move its data, so its dataset files stay in the bucket, "
                    f"mixed with the data of {new}, where they block those dataset names from being reused"
                )
            self.flag(
                "bucket-shared", c, message,
                f"choose another bucket for {new}, or keep the old namespace's name {old} in the config; "
                f"to rename it, create {new} on another bucket, move the data there first, then delete {old}",
                "warning",
            )

    def check_disable(self, c: Change) -> None:
        """A removal must leave no dataset syncing, a duplex → simplex change none on duplex; the
        planner says which in ``expect.datasets`` (other disables, such as a duplicate spelling's,
        change nothing for the datasets)."""
        rule = c.expect.datasets if c.expect is not None else None
        if rule is None:
            return
        removal = rule == "none-syncing"
        live = _live(self.snapshot, c.server, c.namespace)
        datasets = live.datasets if live is not None else None
        if datasets is not None:  # the plan's own dataset changes run first
            datasets = tuple(self.datasets_before(c, datasets))
        target = f"{c.target_core_service}#{c.target_namespace}"
        if datasets is None:
            what = "removing" if removal else "downgrading from duplex to simplex"
            self.flag(
                "datasets-syncing" if removal else "duplex-datasets", c,
                f"could not verify that no dataset of {self.where(c)} "
                f"{'has sync enabled' if removal else 'uses duplex sync'}, so {what} its sync target "
                f"{target} cannot be shown to be safe: "
                f"{(live.datasets_error if live is not None else None) or 'its datasets could not be read'}",
                _UNREADABLE_FIX,
            )
            return
        if removal:
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
        managed = c.target_server
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
        # A server not managed here is only probed, never read (hossctl holds no credentials
        # there), so whether namespace ``tn`` exists on it is not checked.


def dataset_notes(config: Config, snapshot: Snapshot) -> tuple[str, ...]:
    """What a reviewer of dataset sync changes should know that is not a change or a finding."""
    skipped: list[str] = []
    managed = False
    for server in config.servers:
        state = snapshot.server(server.key)
        for ns in server.namespaces:
            live = state.namespace(ns.name) if state is not None else None
            if ns.ensure != "present" or not ns.datasets.managed or live is None:
                continue
            managed = True
            deleting = [d for d in live.datasets or () if d.deleting and not ns.datasets.excludes(d.name)]
            if deleting:
                skipped.append(
                    f"{len(deleting)} dataset(s) of {server.key}/{ns.name} are left as they are because "
                    f"their delete is scheduled or running ({_names(deleting)})"
                )
    if not managed:
        return ()
    return (
        *skipped,
        "Dataset sync is planned for the datasets an admin can see: a dataset without a permission for "
        "the admin group (such as one the sync service created whose permissions have not arrived yet) "
        "is neither listed nor changed (docs/hoss-server.md §8.1).",
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
