"""The planner: a pure function from (desired Config, live Snapshot) to an ordered list of changes.

Decisions a reviewer of a plan should know about:

* Hoss cannot update a namespace, so a changed description, object store or bucket is a
  replace: ``delete_namespace`` then ``create_namespace``, both ``replace=True``.
* Deleting a namespace (replace, ``ensure: absent`` or prune) cascades its *outgoing* sync
  rows on the server (docs/hoss-server.md §6.4). The planner does not plan ``disable_sync`` for
  rows the delete removes anyway: the extra calls would change nothing, and the delete's
  reason names the sync targets that go with it so the reviewer still sees them. After a
  replace the declared targets are re-enabled (``enable_sync`` after the create).
* A PUT on an existing (target, namespace) row is a silent no-op, so a type change is
  ``disable_sync`` (with the exact live string) then ``enable_sync`` (canonical URL).
* Targets are compared by canonical core URL + target namespace. When the server holds the
  same canonical target under several spellings, one row with the wanted type is kept and
  the extras are disabled by their exact strings.
* Ownership: a declared namespace's sync list is complete. Undeclared namespaces are left
  alone (unless their server prunes; even then a name holding '/' is left, since the API
  can never address it), with one exception that follows from "a duplex link
  is one link": a duplex row on an undeclared namespace that points at a namespace under
  this config's control (declared, or pruned) is the reverse half of a link this config
  owns, so it is ensured while the link is declared and removed when it no longer is
  (docs/hoss-server.md §10.4: removing a duplex link needs a DELETE on both servers). Simplex rows
  of undeclared namespaces stay untouched, even when they point at a namespace deleted here.
* The reverse half of a declared duplex link between two managed servers is ensured on the
  target even when the target does not declare it, and is never disabled for being
  undeclared there. An explicit declaration on the target wins over the implied row.
  The implied ``enable_sync`` is planned even when the reverse namespace will not exist;
  the ``target-namespace-missing`` check then flags both halves.
* Dataset sync (a namespace's ``datasets`` block, when not ``unmanaged``) is planned per
  dataset the admin token can see, except those matched by ``except`` and those whose delete
  is scheduled or running. A dataset never syncs without a compatible namespace target at any
  step of the plan: changes that lower a dataset's sync (off, or duplex → simplex) run before
  the namespace's sync targets are disabled, changes that need a new target run after it is
  enabled, and a dataset whose compatible target is removed and added again (a type change of
  the link) is paused before and resumed after (docs/hoss-server.md §8.4).
* Order: dataset syncs that go down, disables, deletes, creates, enables, dataset syncs that
  go up, each phase sorted by server, namespace and target. ``depends_on`` lists only real
  dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from hossctl.plan.changes import (
    ACTIONS,
    Action,
    Change,
    DatasetRule,
    DatasetState,
    Expect,
    NsRef,
    Plan,
    PlanOptions,
    ReasonCode,
)
from hossctl.plan.checks import MODE_LEVEL, dataset_notes, rows_level, run_checks, sync_level
from hossctl.plan.fingerprint import facts_for
from hossctl.plan.model import Config, DatasetSync, Namespace, Server, SyncTarget
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, ServerState, Snapshot
from hossctl.syncpolicy import canonical as canonical_policy
from hossctl.urls import is_addressable

ATTRIBUTES: tuple[str, ...] = ("description", "object_store", "bucket")
_PHASE: dict[Action, int] = {action: i for i, action in enumerate(ACTIONS)}

SyncKey = tuple[str, str]  # (canonical core URL, target namespace)


@dataclass(eq=False)
class _Draft:
    """A change before its id and dependencies are fixed: dependencies point at drafts, because
    ids are only unique once every change is known (odd names may collide and get a suffix).
    ``change`` holds every other field, so nothing here mirrors ``Change``; ``finish`` fills in
    ``id`` and ``depends_on``."""

    change: Change  # complete but for ``id`` and ``depends_on``
    base_id: str
    sort_key: tuple[str, ...]
    deps: list[_Draft] = field(default_factory=list)
    # Where it runs among the phases; dataset changes go early (lowering) or late (raising).
    phase: int = -1

    def __post_init__(self) -> None:
        if self.phase < 0:
            self.phase = _PHASE[self.change.action]


@dataclass(frozen=True)
class _Want:
    """A sync row wanted on one namespace."""

    type: str
    target_server: str | None
    reason: str
    code: ReasonCode


def _attrs_of(obj: Namespace | LiveNamespace) -> dict[str, str]:
    return {"description": obj.description, "object_store": obj.object_store, "bucket": obj.bucket}


def _attributes(live: LiveNamespace) -> tuple[str, str, str]:
    return (live.description, live.object_store, live.bucket)


def _row(row: LiveSyncTarget) -> tuple[str, str, str]:
    return (row.target_core_service, row.target_namespace, row.sync_type)


def forced_by(live: LiveNamespace, want: Namespace) -> tuple[str, ...]:
    """Names of the attributes whose difference forces a replace, in a fixed order. Three strings
    compared one by one: a structural diff (the renderer's before → after) is not needed here."""
    old, new = _attrs_of(live), _attrs_of(want)
    return tuple(name for name in ATTRIBUTES if old[name] != new[name])


def _empty_state(key: str, core_url: str) -> ServerState:
    return ServerState(key=key, core_url=core_url, version="", object_stores=())


def _sync_key(row: LiveSyncTarget) -> SyncKey:
    return (row.core_url, row.target_namespace)


def _dataset_rule(dropped: LiveSyncTarget, kept: Sequence[LiveSyncTarget]) -> DatasetRule | None:
    """What the datasets must not do when ``dropped`` goes and ``kept`` (same target) stays.

    Nothing left: a removal, so no dataset may sync. A duplex row going while only simplex
    spellings stay: a downgrade, so no dataset may use duplex. Otherwise nothing changes.
    """
    if not kept:
        return "none-syncing"
    if dropped.sync_type == "duplex" and not any(k.sync_type == "duplex" for k in kept):
        return "none-duplex"
    return None


_EARLY, _LATE = _PHASE["disable_dataset_sync"], _PHASE["enable_dataset_sync"]


def dataset_level(dataset: LiveDataset) -> int:
    return sync_level(dataset.sync_type) if dataset.sync_enabled else 0


def _target_label(core_url: str, target_server: str | None, namespace: str) -> str:
    return f"{target_server or core_url}#{namespace}"


class _PlanBuilder:
    """Collects the drafts of ``diff``'s changes, then links and orders them into the plan's changes."""

    def __init__(self, config: Config, snapshot: Snapshot) -> None:
        self.config = config
        self.snapshot = snapshot
        self.states: dict[str, ServerState] = {
            s.key: snapshot.server(s.key) or _empty_state(s.key, s.core_url) for s in config.servers
        }
        self.core_to_server = {s.core_url: s.key for s in config.servers}
        self.drafts: list[_Draft] = []
        self.creates: dict[NsRef, _Draft] = {}
        self.deletes: dict[NsRef, _Draft] = {}
        # (server, namespace, canonical URL, target namespace) -> disables of that key
        self.disables_by_key: dict[tuple[str, str, str, str], list[_Draft]] = {}
        self.enables: list[_Draft] = []

    # -- namespaces ---------------------------------------------------------------------

    def live(self, ref: NsRef) -> LiveNamespace | None:
        return self.states[ref[0]].namespace(ref[1])

    def pruned(self) -> set[NsRef]:
        out: set[NsRef] = set()
        for server in self.config.servers:
            if not server.prune:
                continue
            declared = {ns.name for ns in server.namespaces}
            live = self.states[server.key].namespaces
            # A name holding '/' can never be deleted through the API (docs/hoss-server.md §9): leave it.
            out.update((server.key, name) for name in live if name not in declared and is_addressable(name))
        return out

    def plan_namespaces(self, server: Server, pruned: set[NsRef]) -> None:
        for ns in server.namespaces:
            ref = (server.key, ns.name)
            live = self.live(ref)
            if ns.ensure == "absent":
                if live is not None:
                    self.add_delete(ref, live, "ensure: absent", "ensure-absent")
                continue
            if live is None:
                self.add_create(ns, server.key, "declared in config but missing on server", ())
                continue
            forced = forced_by(live, ns)
            if forced:
                old, new = _attrs_of(live), _attrs_of(ns)
                why = "; ".join(f"{a} differs: {old[a]!r} -> {new[a]!r}" for a in forced)
                delete = self.add_delete(ref, live, why, "attributes-differ", forced=forced)
                create = self.add_create(ns, server.key, why, forced)
                create.deps.append(delete)
        for ref in sorted(r for r in pruned if r[0] == server.key):
            live = self.live(ref)
            assert live is not None
            self.add_delete(ref, live, "not declared in config and prune is on", "undeclared-with-prune")

    def add_draft(self, change: Change, base_id: str, sort_key: tuple[str, ...]) -> _Draft:
        draft = _Draft(change, base_id, sort_key)
        self.drafts.append(draft)
        return draft

    def add_delete(
        self, ref: NsRef, live: LiveNamespace, why: str, code: ReasonCode, forced: tuple[str, ...] = ()
    ) -> _Draft:
        if live.sync:
            rows = ", ".join(
                sorted(f"{_target_label(r.target_core_service, None, r.target_namespace)} ({r.sync_type})"
                       for r in live.sync)
            )
            why = f"{why}; the delete also removes its sync targets: {rows}"
        change = Change(
            id="", action="delete_namespace", server=ref[0], namespace=ref[1], reason=why, reason_code=code,
            replace=bool(forced), forced_by=forced,
            expect=Expect(
                attributes=_attributes(live),
                sync_rows=tuple(sorted(_row(r) for r in live.sync)),
                datasets="none",
            ),
        )
        draft = self.deletes[ref] = self.add_draft(change, f"{ref[0]}/{ref[1]}/delete", ref)
        return draft

    def add_create(self, ns: Namespace, server: str, why: str, forced: tuple[str, ...]) -> _Draft:
        change = Change(
            id="", action="create_namespace", server=server, namespace=ns.name, reason=why,
            reason_code="attributes-differ" if forced else "declared-missing", replace=bool(forced),
            forced_by=forced, description=ns.description, object_store=ns.object_store, bucket=ns.bucket,
            expect=Expect(absent=True),
        )
        draft = self.add_draft(change, f"{server}/{ns.name}/create", (server, ns.name))
        self.creates[(server, ns.name)] = draft
        return draft

    # -- sync rows ----------------------------------------------------------------------

    def implied(self) -> dict[NsRef, dict[SyncKey, _Want]]:
        """Reverse halves of declared duplex links between managed servers, by the namespace holding them."""
        out: dict[NsRef, dict[SyncKey, _Want]] = {}
        for server in self.config.servers:
            for ns in server.namespaces:
                if ns.ensure != "present":
                    continue
                for t in ns.sync:
                    if t.type != "duplex" or t.target_server is None or t.target_server not in self.states:
                        continue
                    here, there = f"{server.key}/{ns.name}", f"{t.target_server}/{t.namespace}"
                    why = f"reverse direction of the duplex link declared by {here}"
                    if self.has_row((server.key, ns.name), (t.core_url, t.namespace), "duplex"):
                        why += f"; the link is one-sided: {here} → {there} exists, "
                        why += f"{there} → {here} is missing"
                    out.setdefault((t.target_server, t.namespace), {})[(server.core_url, ns.name)] = _Want(
                        "duplex", server.key, why, "reverse-of-duplex"
                    )
        return out

    def has_row(self, ref: NsRef, key: SyncKey, sync_type: str) -> bool:
        """Whether ``ref`` has a live row of that type to ``key`` that this plan keeps (a delete or
        a replace of the namespace removes its rows)."""
        live = self.live(ref)
        if live is None or ref in self.deletes:
            return False
        return any(_sync_key(r) == key and r.sync_type == sync_type for r in live.sync)

    def plan_sync(self, pruned: set[NsRef]) -> None:
        implied = self.implied()
        declared: dict[NsRef, Namespace] = {
            (s.key, ns.name): ns for s in self.config.servers for ns in s.namespaces
        }
        controlled = set(declared) | pruned
        refs = set(declared) | set(implied)
        for key, state in self.states.items():
            refs.update((key, name) for name in state.namespaces)
        for ref in sorted(refs):
            ns = declared.get(ref)
            live = self.live(ref)
            extra = implied.get(ref, {})
            gone = ref in self.deletes  # the delete removes every live row
            rows: Sequence[LiveSyncTarget] = () if (live is None or gone) else live.sync
            if ns is not None and ns.ensure == "present":
                want: dict[SyncKey, _Want] = {
                    (t.core_url, t.namespace): self.declared_want(t) for t in ns.sync
                }
                for k, w in extra.items():
                    want.setdefault(k, w)
                owned: set[NsRef] | None = None  # every row is owned
            else:
                want = dict(extra)
                owned = controlled  # only reverse halves of duplex links, besides the wanted keys
            replaced = live is not None and gone and self.deletes[ref].change.replace
            replaced_rows = {_sync_key(r): r.sync_type for r in live.sync} if (live and replaced) else {}
            self.diff_rows(ref, rows, want, owned, replaced_rows, declared)

    def declared_want(self, t: SyncTarget) -> _Want:
        return _Want(t.type, t.target_server, "declared in config but missing on server", "declared-missing")

    def points_at(self, row: LiveSyncTarget, refs: set[NsRef]) -> bool:
        server = self.core_to_server.get(row.core_url)
        return server is not None and (server, row.target_namespace) in refs

    def diff_rows(
        self,
        ref: NsRef,
        rows: Sequence[LiveSyncTarget],
        want: Mapping[SyncKey, _Want],
        owned: set[NsRef] | None,
        replaced_rows: Mapping[SyncKey, str],
        declared: Mapping[NsRef, Namespace],
    ) -> None:
        by_key: dict[SyncKey, list[LiveSyncTarget]] = {}
        for row in rows:
            by_key.setdefault(_sync_key(row), []).append(row)
        for key in sorted(set(by_key) | set(want)):
            present = sorted(by_key.get(key, []), key=lambda r: (r.target_core_service, r.sync_type))
            w = want.get(key)
            if w is None:
                dropped = present
                if owned is not None:  # an undeclared namespace: only stale duplex reverse halves
                    dropped = [r for r in present if r.sync_type == "duplex" and self.points_at(r, owned)]
                kept = [r for r in present if r not in dropped]  # other spellings left alone
                for row in dropped:
                    why, cause = self.why_undeclared(ref, row, declared)
                    self.add_disable(ref, row, why, cause, _dataset_rule(row, kept))
                continue
            matching = [r for r in present if r.sync_type == w.type]
            if matching:
                keep = next((r for r in matching if r.target_core_service == key[0]), matching[0])
                for row in present:
                    if row is not keep:
                        self.add_disable(
                            ref, row,
                            f"duplicate spelling of {_target_label(key[0], None, key[1])} "
                            f"(keeping {keep.target_core_service!r}, {keep.sync_type})",
                            "duplicate-spelling",
                            _dataset_rule(row, [keep]),
                        )
                continue
            if present:
                why = f"sync type changes {present[0].sync_type} -> {w.type}"
                downgrade: DatasetRule | None = "none-duplex" if w.type != "duplex" else None
                disables = [
                    self.add_disable(
                        ref, row, why, "type-change", downgrade if row.sync_type == "duplex" else None
                    )
                    for row in present
                ]
                code: ReasonCode = "type-change"
            else:
                disables = []
                old_type = replaced_rows.get(key)
                if old_type == w.type:
                    why = "re-enabled after the replace (the delete removes the namespace's sync targets)"
                    code = "re-enable-after-replace"
                elif old_type is not None:
                    why = f"sync type changes {old_type} -> {w.type} (re-enabled after the replace)"
                    code = "type-change"
                else:
                    why, code = w.reason, w.code
            self.add_enable(ref, key, w, why, code, disables)

    def why_undeclared(
        self, ref: NsRef, row: LiveSyncTarget, declared: Mapping[NsRef, Namespace]
    ) -> tuple[str, ReasonCode]:
        """Why a live row that nothing wants goes: the real cause, not just "not declared".

        A duplex row pointing at a managed namespace is the reverse half of a link that the
        other end owns too: if that end now declares the link simplex, or no longer at all,
        that is the cause the reviewer needs to see.
        """
        partner_server = self.core_to_server.get(row.core_url)
        if row.sync_type == "duplex" and partner_server is not None:
            partner = (partner_server, row.target_namespace)
            here = self.states[ref[0]].core_url
            back = next(
                (t for t in declared[partner].sync if (t.core_url, t.namespace) == (here, ref[1])), None
            ) if partner in declared and declared[partner].ensure == "present" else None
            where = f"{partner[0]}/{partner[1]}"
            if back is not None and back.type != "duplex":
                return (
                    f"reverse direction of the duplex link with {where}, which {where} now declares "
                    f"{back.type}",
                    "duplex-now-simplex",
                )
            if back is None:
                why = f"reverse direction of a duplex link that {where} no longer declares"
                return why, "duplex-link-removed"
        return "not declared in config (a declared namespace's sync list is complete)", "not-declared"

    def add_disable(
        self,
        ref: NsRef,
        row: LiveSyncTarget,
        why: str,
        code: ReasonCode,
        datasets: DatasetRule | None = None,
    ) -> _Draft:
        """``datasets``: what the namespace's datasets must not do for this disable to be safe:
        a removal leaves no dataset syncing, a duplex → simplex change no dataset on duplex."""
        canonical, tn = _sync_key(row)
        change = Change(
            id="", action="disable_sync", server=ref[0], namespace=ref[1], reason=why, reason_code=code,
            target_core_service=row.target_core_service, target_namespace=tn, sync_type=row.sync_type,
            target_server=self.core_to_server.get(canonical),
            expect=Expect(sync_row=_row(row), datasets=datasets),
        )
        draft = self.add_draft(
            change,
            f"{ref[0]}/{ref[1]}/sync:{row.target_core_service}#{tn}/disable",
            (*ref, canonical, tn, row.target_core_service),
        )
        self.disables_by_key.setdefault((*ref, canonical, tn), []).append(draft)
        return draft

    def add_enable(
        self, ref: NsRef, key: SyncKey, w: _Want, why: str, code: ReasonCode, disables: list[_Draft]
    ) -> None:
        change = Change(
            id="", action="enable_sync", server=ref[0], namespace=ref[1], reason=why, reason_code=code,
            target_core_service=key[0], target_namespace=key[1], sync_type=w.type,
            target_server=w.target_server or self.core_to_server.get(key[0]),
        )
        draft = self.add_draft(change, f"{ref[0]}/{ref[1]}/sync:{key[0]}#{key[1]}/enable", (*ref, *key))
        draft.deps.extend(disables)
        self.enables.append(draft)

    # -- dataset sync ---------------------------------------------------------------------

    def plan_datasets(self) -> None:
        # Each namespace's own sync target changes, grouped once, in the order they were added:
        # a scan of every change per namespace made 10,000 namespaces quadratic.
        disables_of: dict[NsRef, list[_Draft]] = {}
        for key, found in self.disables_by_key.items():
            disables_of.setdefault((key[0], key[1]), []).extend(found)
        enables_of: dict[NsRef, list[_Draft]] = {}
        for draft in self.enables:
            enables_of.setdefault((draft.change.server, draft.change.namespace), []).append(draft)
        for server in self.config.servers:
            for ns in server.namespaces:
                ref = (server.key, ns.name)
                live = self.live(ref)
                if (
                    ns.ensure != "present"
                    or not ns.datasets.managed
                    or live is None
                    or live.datasets is None  # unreadable: the checks say so, nothing is guessed
                    or ref in self.deletes
                ):
                    continue
                self.diff_datasets(
                    ref, ns.datasets, live, live.datasets, disables_of.get(ref, []), enables_of.get(ref, [])
                )

    def diff_datasets(
        self,
        ref: NsRef,
        declared: DatasetSync,
        live: LiveNamespace,
        datasets: Sequence[LiveDataset],
        disables: list[_Draft],
        enables: list[_Draft],
    ) -> None:
        """Dataset changes for one namespace, ordered around its sync target changes.

        ``steady`` is what the namespace's targets offer throughout the plan (the rows no change
        removes); a dataset that needs more than that while the targets change is paused first.
        """
        removed = {d.change.expect.sync_row for d in disables if d.change.expect is not None}
        steady = rows_level([r.sync_type for r in live.sync if _row(r) not in removed])
        rows_change = bool(disables)
        want = MODE_LEVEL[declared.sync]
        policy = declared.policy
        wanted_policy = canonical_policy(policy or "")
        for dataset in sorted(datasets, key=lambda d: d.name):
            if declared.excludes(dataset.name) or dataset.deleting:
                continue
            now = dataset_level(dataset)
            if want == 0:
                if now:
                    self.add_dataset_change(
                        ref, dataset, "disable_dataset_sync", "dataset-sync-off",
                        "datasets sync is off in the config", _EARLY, disables,
                    )
                continue
            same = (
                now > 0
                and dataset.sync_type == declared.sync
                and canonical_policy(dataset.sync_policy) == wanted_policy
            )
            if rows_change and now > steady and want > steady:
                # Its compatible target goes away for a while: pause it, resume it after.
                pause = self.add_dataset_change(
                    ref, dataset, "disable_dataset_sync", "dataset-sync-paused",
                    f"paused while the sync targets of {ref[0]}/{ref[1]} change, so that it never syncs "
                    "without a compatible target; it is enabled again after them",
                    _EARLY, disables,
                )
                self.add_dataset_change(
                    ref, dataset, "enable_dataset_sync", "dataset-sync-resumed",
                    f"enabled again ({declared.sync}) after the sync targets changed",
                    _LATE, [], after=[pause, *enables], policy=policy, sync_type=declared.sync,
                    found=(False, "", ""),  # as the pause leaves it (docs/hoss-server.md §8.4)
                )
                continue
            if same:
                continue
            action: Action = "update_dataset_sync" if now else "enable_dataset_sync"
            code: ReasonCode
            if now:
                parts = []
                if dataset.sync_type != declared.sync:
                    parts.append(f"sync type {dataset.sync_type} -> {declared.sync}")
                if canonical_policy(dataset.sync_policy) != wanted_policy:
                    parts.append("sync policy differs from the config's")
                why, code = "; ".join(parts) or "sync settings differ", "dataset-sync-differs"
            else:
                why, code = f"datasets sync is {declared.sync} in the config", "dataset-sync-declared"
            # Going down, it runs before the targets change (they can only shrink); needing more
            # than the steady targets offer, after the new ones are enabled.
            early = want < now and want <= steady
            self.add_dataset_change(
                ref, dataset, action, code, why, _EARLY if early else _LATE,
                disables if early else [],
                after=[] if want <= steady else enables,
                policy=policy, sync_type=declared.sync,
            )

    def add_dataset_change(
        self,
        ref: NsRef,
        dataset: LiveDataset,
        action: Action,
        code: ReasonCode,
        why: str,
        phase: int,
        before: Sequence[_Draft],
        *,
        after: Sequence[_Draft] = (),
        policy: str | None = None,
        sync_type: str | None = None,
        found: DatasetState | None = None,
    ) -> _Draft:
        """A dataset change that must run before the drafts ``before`` and after ``after``;
        ``found`` is the state it expects, when an earlier change of the plan sets it."""
        verb = action.split("_", 1)[0]
        change = Change(
            id="", action=action, server=ref[0], namespace=ref[1], reason=why, reason_code=code,
            dataset=dataset.name, sync_type=sync_type if sync_type is not None else dataset.sync_type,
            sync_policy=policy if verb != "disable" else None,
            expect=Expect(dataset=found or (dataset.sync_enabled, dataset.sync_type, dataset.sync_policy)),
        )
        base_id = f"{ref[0]}/{ref[1]}/dataset:{dataset.name}/{verb}"
        draft = self.add_draft(change, base_id, (*ref, dataset.name))
        draft.phase = phase
        draft.deps.extend(after)
        for later in before:
            later.deps.append(draft)
        return draft

    # -- ordering -----------------------------------------------------------------------

    def link(self) -> None:
        for enable in self.enables:
            c = enable.change
            refs = [(c.server, c.namespace)]
            if c.target_server is not None and c.target_namespace is not None:
                refs.append((c.target_server, c.target_namespace))
            for ref in refs:
                create = self.creates.get(ref)
                if create is not None and create not in enable.deps:
                    enable.deps.append(create)
        # rows on other namespaces that point at a deleted one go before it does
        for draft in self.drafts:
            c = draft.change
            if c.action == "disable_sync" and c.target_server and c.target_namespace is not None:
                delete = self.deletes.get((c.target_server, c.target_namespace))
                if delete is not None:
                    delete.deps.append(draft)

    def finish(self) -> tuple[Change, ...]:
        self.link()
        ordered = sorted(self.drafts, key=lambda d: (d.phase, d.sort_key))
        ids: dict[int, str] = {}
        seen: set[str] = set()
        for draft in ordered:
            cid, n = draft.base_id, 1
            while cid in seen:  # only names with '/' or '#' in odd places can collide
                n += 1
                cid = f"{draft.base_id}~{n}"
            seen.add(cid)
            ids[id(draft)] = cid
        position = {id(d): i for i, d in enumerate(ordered)}
        return tuple(
            replace(
                d.change,
                id=ids[id(d)],
                depends_on=tuple(ids[id(x)] for x in sorted(d.deps, key=lambda x: position[id(x)])),
            )
            for d in ordered
        )


def diff(config: Config, snapshot: Snapshot) -> tuple[Change, ...]:
    """Every change that turns the live state into the desired one, in a valid execution order."""
    builder = _PlanBuilder(config, snapshot)
    pruned = builder.pruned()
    for server in config.servers:
        builder.plan_namespaces(server, pruned)
    builder.plan_sync(pruned)
    builder.plan_datasets()
    return builder.finish()


def narrow(changes: Sequence[Change], targets: Sequence[str]) -> tuple[Change, ...]:
    """``--target``: the changes on the targets (``SERVER`` or ``SERVER/NAMESPACE``) and, transitively,
    every change they depend on, in plan order. Nothing else, so prune never reaches past them."""
    if not targets:
        return tuple(changes)
    wanted = set(targets)
    by_id = {c.id: c for c in changes}
    keep: set[str] = set()
    stack = [c.id for c in changes if c.server in wanted or f"{c.server}/{c.namespace}" in wanted]
    while stack:
        cid = stack.pop()
        if cid not in keep:
            keep.add(cid)
            stack.extend(by_id[cid].depends_on)
    return tuple(c for c in changes if c.id in keep)


def make_plan(
    config: Config,
    snapshot: Snapshot,
    options: PlanOptions | None = None,
    *,
    changes: Sequence[Change] | None = None,
    target_check: bool = True,
    notes: Sequence[str] = (),
) -> Plan:
    """The safety checks and the fingerprint of the live facts, for the changes of ``diff``.

    Pass the ``changes`` when they are already known (the plan workflow diffs once, before it
    reads datasets); otherwise they are diffed here and narrowed to ``options.targets``.
    ``target_check`` is shorthand for ``PlanOptions(target_check=...)`` when no options are given.
    """
    options = options or PlanOptions(target_check=target_check)
    if changes is None:
        changes = narrow(diff(config, snapshot), options.targets)
    planned = tuple(changes)
    violations = run_checks(planned, config, snapshot, options)
    return Plan(
        changes=planned,
        violations=violations,
        facts=MappingProxyType(facts_for(planned, snapshot)),
        targets=options.targets,
        notes=(*dataset_notes(config, snapshot), *notes),
    )
