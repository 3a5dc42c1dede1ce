"""The live state of the managed servers: an immutable value read once per run.

Only ``reader`` builds it (I/O); the planner and the safety checks read it (pure).
``target_core_service`` strings are kept exactly as stored on the server, because a
DELETE with any other spelling silently deletes nothing (docs/hoss-server.md §7.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hossctl.urls import try_normalise_core_url


@dataclass(frozen=True)
class LiveSyncTarget:
    target_core_service: str  # exact string stored on the server
    target_namespace: str
    sync_type: str  # free text on the server; hossctl only writes simplex/duplex

    @property
    def core_url(self) -> str:
        """Canonical form for comparison with the config."""
        return try_normalise_core_url(self.target_core_service)


@dataclass(frozen=True)
class LiveDataset:
    name: str
    sync_enabled: bool
    sync_type: str
    delete_status: str
    # The policy document exactly as stored: "" when sync is off (docs/hoss-server.md §8.3).
    sync_policy: str = ""

    @property
    def deleting(self) -> bool:
        """A delete is scheduled, running or failed: the dataset is on its way out (§8.3)."""
        return self.delete_status != "NOT_SCHEDULED"


@dataclass(frozen=True)
class LiveNamespace:
    name: str
    description: str
    object_store: str
    bucket: str
    sync: tuple[LiveSyncTarget, ...] = ()
    # None: not read (only read where a safety check needs them), or unreadable.
    datasets: tuple[LiveDataset, ...] | None = None
    # Why the datasets are unknown when their list was asked for and could not be read or
    # trusted; the safety checks quote it, since unknown is never taken for empty.
    datasets_error: str | None = None


@dataclass(frozen=True)
class ServerState:
    """What one managed server holds. ``namespaces`` is keyed by exact name."""

    key: str
    core_url: str
    version: str
    object_stores: tuple[str, ...]
    namespaces: Mapping[str, LiveNamespace] = field(default_factory=lambda: MappingProxyType({}))

    def namespace(self, name: str) -> LiveNamespace | None:
        return self.namespaces.get(name)


@dataclass(frozen=True)
class Snapshot:
    """Live state of every managed server, plus the reachability of sync target servers.

    ``reachable`` maps a canonical core URL (managed or not) to whether its discover
    answered; absent means it was not contacted. Servers not managed here are never read
    further: hossctl holds no credentials for them.
    """

    servers: Mapping[str, ServerState]
    reachable: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))

    def server(self, key: str) -> ServerState | None:
        return self.servers.get(key)


def make_snapshot(
    servers: Mapping[str, ServerState],
    reachable: Mapping[str, bool] | None = None,
) -> Snapshot:
    """Build a Snapshot whose mappings are read-only views of private copies."""
    return Snapshot(
        servers=MappingProxyType(dict(servers)),
        reachable=MappingProxyType(dict(reachable or {})),
    )


def make_server_state(
    key: str,
    core_url: str,
    version: str,
    object_stores: tuple[str, ...],
    namespaces: Mapping[str, LiveNamespace],
) -> ServerState:
    return ServerState(key, core_url, version, object_stores, MappingProxyType(dict(namespaces)))
