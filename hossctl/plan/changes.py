"""The plan: a typed, ordered list of changes plus the safety violations found in it.

Like Terraform's plan, it is a value: computed by the pure ``planner``, rendered by
``render``, saved by ``planfile`` and executed by ``executor``. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Action = Literal[
    "create_namespace",
    "delete_namespace",
    "enable_sync",
    "disable_sync",
    "enable_dataset_sync",
    "update_dataset_sync",
    "disable_dataset_sync",
]
ACTIONS: tuple[Action, ...] = (
    "disable_dataset_sync",
    "disable_sync",
    "delete_namespace",
    "create_namespace",
    "enable_sync",
    "enable_dataset_sync",
    "update_dataset_sync",
)
DATASET_ACTIONS: frozenset[str] = frozenset(
    {"enable_dataset_sync", "update_dataset_sync", "disable_dataset_sync"}
)

CheckId = Literal[
    "namespace-not-empty",
    "protected",
    "datasets-syncing",
    "duplex-datasets",
    "unknown-object-store",
    "target-unreachable",
    "target-namespace-missing",
    "namespace-still-targeted",
    "bucket-shared",
    "mass-delete",
    "dataset-sync-without-target",
    "dataset-duplex-needs-namespace-duplex",
    "datasets-unreadable",
]


@dataclass(frozen=True)
class PlanOptions:
    """Command-line choices that change what the safety checks decide.

    They are never read from a plan file: ``apply PLANFILE`` plans again with the options
    given to *apply*, so an edited plan file cannot switch a check off.
    """

    target_check: bool = True
    allow_mass_delete: bool = False
    # Overrides every server's ``delete_threshold`` (percent) when set.
    delete_threshold: int | None = None
    # ``--target SERVER[/NAMESPACE]``: plan only these and what they depend on.
    targets: tuple[str, ...] = ()
    # ``--no-drift`` turns this off: datasets are then read only where a change, a check or a
    # managed datasets block needs them, and live drift is not reported.
    drift: bool = True


# Why a change is in the plan: a closed set, so that tools (and the checks) can act on it;
# ``Change.reason`` holds the same in a sentence, with the names and values.
ReasonCode = Literal[
    "declared-missing",  # declared in the config, missing on the server
    "attributes-differ",  # a replace: description, object store or bucket differ
    "ensure-absent",  # declared with ensure: absent
    "undeclared-with-prune",  # not declared, and the server prunes
    "type-change",  # a sync row's type changes: disable, then enable
    "reverse-of-duplex",  # the reverse row of a declared duplex link
    "not-declared",  # a row a declared namespace's (complete) sync list does not have
    "duplex-link-removed",  # the reverse row of a duplex link that no end declares any more
    "duplex-now-simplex",  # the reverse row of a duplex link that became simplex
    "duplicate-spelling",  # the same target stored under another spelling
    "re-enable-after-replace",  # a declared row, enabled again after its namespace's replace
    "dataset-sync-declared",  # datasets.sync wants the dataset syncing, and it is not
    "dataset-sync-differs",  # the dataset syncs with another type or policy than declared
    "dataset-sync-off",  # datasets.sync: off, and the dataset syncs
    "dataset-sync-paused",  # off while its namespace's sync targets change, so it never syncs unlinked
    "dataset-sync-resumed",  # on again after that pause, as declared
]
REASON_CODES: tuple[ReasonCode, ...] = (
    "declared-missing",
    "attributes-differ",
    "ensure-absent",
    "undeclared-with-prune",
    "type-change",
    "reverse-of-duplex",
    "not-declared",
    "duplex-link-removed",
    "duplex-now-simplex",
    "duplicate-spelling",
    "re-enable-after-replace",
    "dataset-sync-declared",
    "dataset-sync-differs",
    "dataset-sync-off",
    "dataset-sync-paused",
    "dataset-sync-resumed",
)

DatasetRule = Literal["none", "none-syncing", "none-duplex"]
Row = tuple[str, str, str]  # exact target_core_service, target namespace, sync type
DatasetState = tuple[bool, str, str]  # sync_enabled, sync_type and sync_policy, exactly as stored
NsRef = tuple[str, str]  # (server key, namespace name)


@dataclass(frozen=True)
class Expect:
    """The live facts a change rests on, read again just before its write.

    Hoss has no conditional writes, so the executor re-reads these facts and compares
    them immediately before each destructive request: whatever moved between plan and
    write (a dataset created while apply waited at its prompt, a second run acting at the
    same time) blocks the change instead of being destroyed by it.

    * ``absent``: a create; the server's own 403 on the first attempt is the check.
    * ``attributes``: (description, object_store, bucket) of the live namespace (a delete).
    * ``sync_rows``: every outgoing sync row of the namespace, exactly (a delete removes them all).
    * ``sync_row``: the exact row a disable removes must still be there, with this type.
    * ``datasets``: what its dataset list must show: ``none`` at all (a delete), ``none-syncing``
      (a sync target's removal), ``none-duplex`` (a duplex → simplex change).
    * ``dataset``: the sync state of the one dataset a dataset change writes; the dataset must
      also still exist and have no delete scheduled.
    """

    absent: bool = False
    attributes: tuple[str, str, str] | None = None
    sync_rows: tuple[Row, ...] | None = None
    sync_row: Row | None = None
    datasets: DatasetRule | None = None
    dataset: DatasetState | None = None


@dataclass(frozen=True)
class Change:
    """One operation on one server.

    A replace is two changes (``delete_namespace`` then ``create_namespace``), both with
    ``replace=True`` and ``forced_by`` naming the attributes that differ; renderers show
    them as one ``-/+`` item. Sync changes carry the exact ``target_core_service`` to send:
    for ``disable_sync`` the string stored on the server, for ``enable_sync`` the
    canonical core URL.
    """

    id: str
    action: Action
    server: str
    namespace: str
    reason: str
    reason_code: ReasonCode = "declared-missing"
    depends_on: tuple[str, ...] = ()
    replace: bool = False
    forced_by: tuple[str, ...] = ()
    # create_namespace
    description: str | None = None
    object_store: str | None = None
    bucket: str | None = None
    # enable_sync / disable_sync
    target_core_service: str | None = None
    target_namespace: str | None = None
    sync_type: str | None = None
    # The config server key the sync target points at, when it is managed here.
    target_server: str | None = None
    # enable_dataset_sync / update_dataset_sync / disable_dataset_sync: the dataset, and for the
    # first two the policy to send (None: the server's default open policy). ``sync_type`` is
    # the type to set, or for a disable the type the dataset had.
    dataset: str | None = None
    sync_policy: str | None = None
    # What must still hold on the server just before the write (None: nothing is re-read).
    expect: Expect | None = None


@dataclass(frozen=True)
class Violation:
    """A safety check that failed for one change. ``severity == "warning"`` does not block."""

    check: CheckId
    change: str  # Change.id
    server: str
    namespace: str
    message: str
    resolution: str
    severity: Literal["error", "warning"] = "error"
    # ``change`` is "" for a finding about the live state that no change of the plan causes
    # (a dataset syncing in a namespace without a compatible target): shown apart from changes.
    # Where in the config the change comes from ("FILE:LINE:COL"), when it comes from a declaration.
    position: str | None = None


@dataclass(frozen=True)
class Summary:
    create: int = 0
    replace: int = 0
    delete: int = 0
    enable_sync: int = 0
    disable_sync: int = 0
    enable_dataset_sync: int = 0
    update_dataset_sync: int = 0
    disable_dataset_sync: int = 0



@dataclass(frozen=True)
class Plan:
    """Changes in a valid execution order, their violations, and the live facts they rest on.

    ``facts`` maps a fact key (see ``fingerprint``) to a digest of the live value it had
    when the plan was made; ``apply PLANFILE`` refuses a plan whose facts changed.
    """

    changes: tuple[Change, ...] = ()
    violations: tuple[Violation, ...] = ()
    facts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # ``--target``: the plan covers only these SERVER or SERVER/NAMESPACE (and what they need).
    targets: tuple[str, ...] = ()
    # What a reviewer should know that is neither a change nor a violation: datasets left
    # alone (a delete is scheduled), and what an admin token cannot see (docs/hoss-server.md §8.1).
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "error")

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == "warning")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def summary(self) -> Summary:
        counts = dict.fromkeys(ACTIONS, 0)
        replace = 0
        for c in self.changes:
            if c.replace:
                replace += c.action == "create_namespace"
            else:
                counts[c.action] += 1
        return Summary(
            create=counts["create_namespace"],
            replace=replace,
            delete=counts["delete_namespace"],
            enable_sync=counts["enable_sync"],
            disable_sync=counts["disable_sync"],
            enable_dataset_sync=counts["enable_dataset_sync"],
            update_dataset_sync=counts["update_dataset_sync"],
            disable_dataset_sync=counts["disable_dataset_sync"],
        )
