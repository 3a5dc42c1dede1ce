"""The desired state: an immutable model produced by the config loader.

The planner consumes only this module's types, never raw YAML. Positions travel with
every element so that errors found later (by the planner or a safety check) can still
point at the line of the config that caused them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from hossctl.sanitize import printable
from hossctl.values import field, value

SyncType = Literal["simplex", "duplex"]
Ensure = Literal["present", "absent"]
# ``datasets.sync``: unmanaged leaves every dataset's sync as it is (the default, and all that
# version 0.1 did); off, simplex and duplex are what every dataset of the namespace should do.
DatasetSyncMode = Literal["unmanaged", "off", "simplex", "duplex"]
DEFAULT_PAT_ENV = "HOSS_PAT"
# Percent of a server's live namespaces one plan may delete or replace before ``mass-delete``
# blocks it: a wrong -f, a wrong URL or an emptied file with prune: true looks like this.
DEFAULT_DELETE_THRESHOLD = 30


@value(order=True)
class Position:
    """1-based line and column of a key or value in a config file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@value
class SyncTarget:
    """One declared sync target of a namespace.

    ``target`` is what the user wrote (a server key or a URL); ``target_server`` is the
    config server key it resolves to (also when a URL names a server of this config),
    else None; ``core_url`` is always the canonical core URL (``urls.normalise_core_url``).
    """

    target: str
    target_server: str | None
    core_url: str
    namespace: str
    type: SyncType
    position: Position | None = field(default=None, compare=False)


@value
class DatasetSync:
    """What a namespace declares about its datasets' sync (the ``datasets`` block).

    ``policy`` is the sync policy document as compact JSON, or None for the server's default
    (an open policy); ``exclude`` holds the ``except`` glob patterns of dataset names left alone.
    """

    sync: DatasetSyncMode = "unmanaged"
    policy: str | None = None
    exclude: tuple[str, ...] = ()
    position: Position | None = field(default=None, compare=False)

    @property
    def managed(self) -> bool:
        return self.sync != "unmanaged"

    def excludes(self, dataset: str) -> bool:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(dataset, pattern) for pattern in self.exclude)


UNMANAGED = DatasetSync()


@value
class Namespace:
    """A declared namespace. For ``ensure == "absent"`` the attributes may be empty."""

    name: str
    description: str = ""
    object_store: str = ""
    bucket: str = ""
    protect: bool = False
    ensure: Ensure = "present"
    sync: tuple[SyncTarget, ...] = ()
    allow_multiple_sync_targets: bool = False
    position: Position | None = field(default=None, compare=False)
    datasets: DatasetSync = UNMANAGED


@value
class Server:
    """A managed Hoss server. ``url`` is the base URL, ``core_url`` the canonical core URL."""

    key: str
    url: str
    core_url: str
    pat_env: str = DEFAULT_PAT_ENV
    prune: bool = False
    namespaces: tuple[Namespace, ...] = ()
    position: Position | None = field(default=None, compare=False)
    delete_threshold: int = DEFAULT_DELETE_THRESHOLD
    # Where this server's PAT may be exchanged when its auth service is not on its own origin.
    auth_url: str | None = None
    # Plain http to a host that is not this machine carries the PAT unencrypted: opt-in only.
    allow_insecure_http: bool = False
    # The variable holding a service account secret (hsvc_…), used only for the one-request read
    # of every sync row (docs/hoss-server.md §7.5); None: one sync read per namespace.
    service_secret_env: str | None = None

    def namespace(self, name: str) -> Namespace | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Namespace]:
        """Built on first use: the checks look a namespace up for each of 10,000 of them, and a
        scan each time made a plan of 10,000 spend 5.6 s there (BENCHMARKS.md, issue 15). Not a
        field, so equality, hashing, ``asdict`` and the fingerprint never see it; the first of
        two namespaces with one name wins, as the scan had it."""
        return {ns.name: ns for ns in reversed(self.namespaces)}


@value
class Diagnostic:
    """An error or warning found in the config, with where it is.

    ``rule`` is a stable id from ``RULES`` (``validate --json`` prints it), so that CI
    annotations and editors can group or silence a kind of finding without parsing the
    sentence, which may be reworded at any time.
    """

    message: str
    position: Position | None = None
    severity: Literal["error", "warning"] = "error"
    rule: str = "config"

    def __str__(self) -> str:
        """``FILE:LINE:COL: message`` as printed, with control and bidi characters escaped.

        Messages quote config values and file names, which a hostile or broken config can
        fill with ESC or CR; one diagnostic must stay one line for editors and CI to parse.
        """
        where = f"{self.position}: " if self.position else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return printable(f"{where}{prefix}{self.message}")


# The closed set of ``Diagnostic.rule`` ids, with what each covers; schemas/diagnostics.schema.json
# lists the same ids (a unit test keeps the two equal). Add an id rather than reuse one for a
# different kind of finding: consumers filter on them.
RULES: dict[str, str] = {
    "config": "any other problem with the config as a whole",
    "file": "a config path that cannot be read: missing, unreadable, not a regular file, empty directory",
    "encoding": "a file that is not UTF-8 text",
    "yaml-syntax": "YAML that does not parse, a second document, a forbidden control character",
    "yaml-duplicate-key": "a key given twice in one mapping",
    "yaml-unsupported": "YAML features hossctl does not read: tags, misused aliases or merges, complex keys",
    "yaml-limit": "a file too large, too deeply nested or expanding too far through aliases",
    "token-literal": "a key or value that looks like an access token",
    "interpolation": "a ${VAR} reference that is malformed or names an unset variable",
    "schema": "a structural error against schemas/config.schema.json: type, required or unknown key, name",
    "server-conflict": "a server split over several files whose files disagree on a setting",
    "duplicate-namespace": "a namespace declared twice for one server",
    "duplicate-url": "two servers with the same URL",
    "invalid-url": "a url, auth_url or sync target URL hossctl cannot use",
    "missing-url": "a server without a url",
    "protected-absent": "a namespace with ensure: absent and protect: true",
    "absent-with-sync": "a namespace with ensure: absent that declares sync targets",
    "multiple-sync-targets": "more than one sync target without allow_multiple_sync_targets",
    "unknown-target": "a sync target that is neither a server of the config nor a URL",
    "self-sync": "a namespace that syncs to itself",
    "duplicate-target": "the same sync target declared twice",
    "target-absent": "a sync target declared ensure: absent",
    "link-type-mismatch": "a link declared from both ends with different types",
    "bucket-shared": "two namespaces of one server on the same object store and bucket (a warning)",
    "dataset-sync": "a datasets block that cannot work: an invalid sync policy, a policy without sync, "
    "or dataset sync declared on an absent namespace",
}


@value
class Config:
    """The whole desired state: servers sorted by key, namespaces sorted by name.

    ``sources`` holds the real paths of the files it was read from, so that nothing
    hossctl writes (``plan --out``) can overwrite one of them.
    """

    servers: tuple[Server, ...]
    warnings: tuple[Diagnostic, ...] = ()
    sources: tuple[str, ...] = field(default=(), compare=False)

    def server(self, key: str) -> Server | None:
        for server in self.servers:
            if server.key == key:
                return server
        return None

    def server_by_core_url(self, core_url: str) -> Server | None:
        for server in self.servers:
            if server.core_url == core_url:
                return server
        return None
