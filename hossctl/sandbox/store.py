"""SQLite persistence for the sandbox, shaped like the real core database.

The constraints are the ones the real server relies on (docs/hoss-server.md §6.4, §7): unique names,
UNIQUE(source namespace, target core service, target namespace) for sync rows, and
ON DELETE CASCADE from namespaces to datasets, permissions and outgoing sync rows, so a
namespace delete behaves exactly like the real one. One connection guarded by one lock keeps
every request atomic under the threaded server; requests never hold the lock while they sleep.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS object_stores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('minio', 's3'))
);
CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    object_store_id INTEGER NOT NULL REFERENCES object_stores(id) ON DELETE CASCADE,
    bucket_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    UNIQUE (user_id, group_id)
);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created TEXT NOT NULL,
    root_directory TEXT NOT NULL,
    delete_on TEXT,
    delete_status TEXT NOT NULL DEFAULT 'NOT_SCHEDULED'
        CHECK (delete_status IN ('NOT_SCHEDULED', 'SCHEDULED', 'IN_PROGRESS', 'ERROR')),
    owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    sync_enabled INTEGER NOT NULL DEFAULT 0,
    sync_type TEXT NOT NULL DEFAULT 'simplex',
    sync_policy TEXT NOT NULL DEFAULT '',
    UNIQUE (namespace_id, name)
);
CREATE TABLE IF NOT EXISTS permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    permission TEXT NOT NULL CHECK (permission IN ('r', 'rw')),
    UNIQUE (dataset_id, group_id)
);
CREATE TABLE IF NOT EXISTS sync_configurations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    target_core_service TEXT NOT NULL,
    target_namespace TEXT NOT NULL,
    sync_type TEXT NOT NULL,
    UNIQUE (source_namespace_id, target_core_service, target_namespace)
);
-- server/core/pkg/database/migrations/0001_initial.go lines 128-196 and 0003_sync_policy.go lines
-- 28-36: one timestamp, moved by triggers whenever a sync row changes, a dataset is deleted, or a
-- dataset's sync settings change; GET /configuration/sync answers 304 against it.
CREATE TABLE IF NOT EXISTS sync_configuration_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_updated TEXT NOT NULL
);
INSERT OR IGNORE INTO sync_configuration_meta VALUES (1, strftime('%Y-%m-%d %H:%M:%f', 'now'));
CREATE TRIGGER IF NOT EXISTS sync_configuration_inserted AFTER INSERT ON sync_configurations
BEGIN UPDATE sync_configuration_meta SET last_updated = strftime('%Y-%m-%d %H:%M:%f', 'now'); END;
CREATE TRIGGER IF NOT EXISTS sync_configuration_updated AFTER UPDATE ON sync_configurations
BEGIN UPDATE sync_configuration_meta SET last_updated = strftime('%Y-%m-%d %H:%M:%f', 'now'); END;
CREATE TRIGGER IF NOT EXISTS sync_configuration_deleted AFTER DELETE ON sync_configurations
BEGIN UPDATE sync_configuration_meta SET last_updated = strftime('%Y-%m-%d %H:%M:%f', 'now'); END;
CREATE TRIGGER IF NOT EXISTS dataset_sync_deleted AFTER DELETE ON datasets
BEGIN UPDATE sync_configuration_meta SET last_updated = strftime('%Y-%m-%d %H:%M:%f', 'now'); END;
CREATE TRIGGER IF NOT EXISTS dataset_sync_updated AFTER UPDATE OF sync_enabled, sync_policy ON datasets
WHEN OLD.sync_enabled IS NOT NEW.sync_enabled OR OLD.sync_type IS NOT NEW.sync_type
    OR OLD.sync_policy IS NOT NEW.sync_policy
BEGIN UPDATE sync_configuration_meta SET last_updated = strftime('%Y-%m-%d %H:%M:%f', 'now'); END;
"""

# The auth service's own database (server/auth/pkg/database/migrations/0001_initial.go): users, groups
# with a description, and memberships. It is separate from core's users/groups/memberships above,
# which core only refreshes from the JWT on ``PUT /user/sync`` (docs/hoss-server.md §8.1, §13).
AUTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL REFERENCES auth_groups(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
    UNIQUE (group_id, user_id)
);
"""

DEFAULT_SYNC_POLICY = '{"Version":"1","Statements":[]}'


class NotFound(Exception):
    """A looked-up row does not exist (the real server's ``pg: no rows``)."""


class AlreadyExists(Exception):
    """An insert hit a unique key."""


class StoreClosed(Exception):
    """The sandbox stopped while a request (e.g. one sleeping its latency) was still in flight."""


def now_utc() -> datetime:
    """Current time with a non-zero microsecond part.

    Go trims a zero fraction from RFC3339Nano, and the official client then fails to parse
    ``created``; the sandbox never produces that one-in-a-million timestamp.
    """
    now = datetime.now(UTC)
    return now if now.microsecond else now.replace(microsecond=1)


def go_time(value: str | None) -> str:
    """Render a stored ISO timestamp as Go's RFC3339Nano in UTC (fraction trimmed, ``Z``)."""
    if not value:
        return "0001-01-01T00:00:00Z"
    moment = datetime.fromisoformat(value).astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class DatasetRow:
    """A dataset as stored, with the parts of its namespace the JSON needs."""

    id: int
    namespace: str
    name: str
    description: str
    created: str
    root_directory: str
    delete_on: str | None
    delete_status: str
    owner: str | None
    sync_enabled: bool
    sync_type: str
    sync_policy: str


class Store:
    """The sandbox's database; every public method is one atomic transaction."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.RLock()
        self._closed = False
        target = path if path else ":memory:"
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys=ON")
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        self._conn.executescript(AUTH_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreClosed()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # settings -----------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # object stores ------------------------------------------------------------------------

    def ensure_object_store(self, name: str, description: str, endpoint: str, kind: str = "minio") -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO object_stores(name, description, endpoint, type) VALUES (?, ?, ?, ?)",
                (name, description, endpoint, kind),
            )

    def list_object_stores(self, limit: int, offset: int) -> list[dict[str, Any]]:
        sql, params = _paged("SELECT * FROM object_stores ORDER BY id", limit, offset)
        with self._tx() as db:
            return [_object_store_json(row) for row in db.execute(sql, params)]

    def get_object_store(self, name: str) -> dict[str, Any]:
        with self._tx() as db:
            row = db.execute("SELECT * FROM object_stores WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(name)
        return _object_store_json(row)

    # namespaces ---------------------------------------------------------------------------

    def create_namespace(self, name: str, description: str, object_store: str, bucket: str) -> dict[str, Any]:
        with self._tx() as db:
            store = db.execute("SELECT id FROM object_stores WHERE name = ?", (object_store,)).fetchone()
            if store is None:
                raise NotFound(object_store)
            try:
                db.execute(
                    "INSERT INTO namespaces(name, description, object_store_id, bucket_name) "
                    "VALUES (?, ?, ?, ?)",
                    (name, description, store["id"], bucket),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(name) from exc
            return _namespace_json(_namespace_row(db, name))

    def ensure_namespace(self, name: str, description: str, object_store: str, bucket: str) -> None:
        try:
            self.create_namespace(name, description, object_store, bucket)
        except AlreadyExists:
            pass

    def list_namespaces(self, limit: int, offset: int) -> list[dict[str, Any]]:
        sql, params = _paged(_NAMESPACE_SELECT + " ORDER BY n.id", limit, offset)
        with self._tx() as db:
            return [_namespace_json(row) for row in db.execute(sql, params)]

    def get_namespace(self, name: str) -> dict[str, Any]:
        with self._tx() as db:
            return _namespace_json(_namespace_row(db, name))

    def delete_namespace(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM namespaces WHERE name = ?", (name,))

    # sync targets -------------------------------------------------------------------------

    def list_sync(self, namespace: str) -> list[dict[str, str]]:
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            rows = db.execute(
                "SELECT target_core_service, target_namespace, sync_type FROM sync_configurations "
                "WHERE source_namespace_id = ? ORDER BY id",
                (ns_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def sync_configuration(self) -> tuple[datetime, list[dict[str, Any]]]:
        """When the sync configuration last changed, and every sync row with the policies of its
        namespace's sync-enabled datasets by root directory (database.go lines 312-344)."""
        with self._tx() as db:
            stamp = db.execute("SELECT last_updated FROM sync_configuration_meta").fetchone()[0]
            rows = db.execute(
                "SELECT s.source_namespace_id, n.name AS source_namespace, s.target_core_service, "
                "s.target_namespace, s.sync_type FROM sync_configurations s "
                "JOIN namespaces n ON n.id = s.source_namespace_id ORDER BY s.id"
            ).fetchall()
            policies: dict[int, dict[str, str]] = {}
            for row in rows:
                ns_id = row["source_namespace_id"]
                if ns_id not in policies:
                    found = db.execute(
                        "SELECT root_directory, sync_policy FROM datasets "
                        "WHERE namespace_id = ? AND sync_enabled ORDER BY id",
                        (ns_id,),
                    ).fetchall()
                    policies[ns_id] = {d["root_directory"]: d["sync_policy"] for d in found}
        last_updated = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        return last_updated, [
            {
                "sync_type": row["sync_type"],
                "source_namespace": row["source_namespace"],
                "source_policies": dict(policies[row["source_namespace_id"]]),
                "target_core_service": row["target_core_service"],
                "target_namespace": row["target_namespace"],
            }
            for row in rows
        ]

    def require_namespace(self, namespace: str) -> None:
        with self._tx() as db:
            _namespace_id(db, namespace)

    def add_sync(
        self, namespace: str, target_core_service: str, target_namespace: str, sync_type: str
    ) -> bool:
        """Insert a sync row; False (and no change) when the key already exists, like the server."""
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            cursor = db.execute(
                "INSERT OR IGNORE INTO sync_configurations"
                "(source_namespace_id, target_core_service, target_namespace, sync_type) VALUES (?, ?, ?, ?)",
                (ns_id, target_core_service, target_namespace, sync_type),
            )
            return cursor.rowcount == 1

    def remove_sync(self, namespace: str, target_core_service: str, target_namespace: str) -> None:
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            db.execute(
                "DELETE FROM sync_configurations WHERE source_namespace_id = ? "
                "AND target_core_service = ? AND target_namespace = ?",
                (ns_id, target_core_service, target_namespace),
            )

    # users and groups ---------------------------------------------------------------------

    def ensure_user(self, username: str) -> None:
        """Create a user core has never seen, with only its default group (docs/hoss-server.md §8.1)."""
        with self._tx() as db:
            _ensure_user(db, username)

    def set_memberships(self, username: str, groups: list[str]) -> None:
        with self._tx() as db:
            user_id = _ensure_user(db, username)
            db.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))
            for group in groups:
                group_id = _ensure_group(db, group)
                db.execute(
                    "INSERT OR IGNORE INTO memberships(user_id, group_id) VALUES (?, ?)", (user_id, group_id)
                )

    # the auth service's users, groups and memberships ---------------------------------------

    def seed_auth_user(
        self, username: str, full_name: str, email: str, role: str, groups: tuple[str, ...]
    ) -> None:
        """Create the built-in groups, and an auth user with its memberships the first time it is seen.

        The auth service creates ``admin`` and ``public`` at every start if missing
        (``configuration.go``). A user is created once, like ``CreateUser``: later starts leave its
        memberships alone, so the ones changed through the API survive a restart on the same file.
        """
        given, _, family = full_name.partition(" ")
        with self._tx() as db:
            for group, description in BUILTIN_AUTH_GROUPS.items():
                _ensure_auth_group(db, group, description)
            cursor = db.execute(
                "INSERT OR IGNORE INTO auth_users(username, full_name, given_name, family_name, email, role)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (username, full_name, given, family, email, role),
            )
            if cursor.rowcount != 1:
                return
            for group in groups:
                group_id = _ensure_auth_group(db, group, f"Personal group for user {username}")
                db.execute(
                    "INSERT OR IGNORE INTO auth_memberships(group_id, user_id) VALUES (?, ?)",
                    (group_id, cursor.lastrowid),
                )

    def auth_group_names(self, username: str) -> list[str]:
        """The user's groups in the auth database, in membership order: the JWT's ``groups`` claim."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT g.group_name FROM auth_memberships m JOIN auth_groups g ON g.id = m.group_id"
                " JOIN auth_users u ON u.id = m.user_id WHERE u.username = ? ORDER BY m.id",
                (username,),
            ).fetchall()
        return [str(row["group_name"]) for row in rows]

    def is_auth_member(self, username: str, group: str) -> bool:
        return group in self.auth_group_names(username)

    def create_auth_group(self, group: str, description: str, creator: str) -> dict[str, str]:
        """Insert a group (AlreadyExists on its unique name) and make its creator a member."""
        with self._tx() as db:
            try:
                cursor = db.execute(
                    "INSERT INTO auth_groups(group_name, description) VALUES (?, ?)", (group, description)
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(group) from exc
            user = db.execute("SELECT id FROM auth_users WHERE username = ?", (creator,)).fetchone()
            if user is not None:
                db.execute(
                    "INSERT INTO auth_memberships(group_id, user_id) VALUES (?, ?)",
                    (cursor.lastrowid, user["id"]),
                )
        return {"group_name": group, "description": description}

    def get_auth_group(self, group: str) -> dict[str, Any]:
        """``database.Group`` with its members; ``memberships`` is omitted when empty (``omitempty``)."""
        with self._tx() as db:
            row = _auth_group(db, group)
            members = db.execute(
                "SELECT u.* FROM auth_memberships m JOIN auth_users u ON u.id = m.user_id"
                " WHERE m.group_id = ? ORDER BY m.id",
                (row["id"],),
            ).fetchall()
        result: dict[str, Any] = {"group_name": row["group_name"], "description": row["description"]}
        if members:
            result["memberships"] = [{"user": _auth_user_json(member)} for member in members]
        return result

    def delete_auth_group(self, group: str) -> None:
        """Delete by name, cascading memberships; a missing group is not an error (``DeleteGroup``)."""
        with self._tx() as db:
            db.execute("DELETE FROM auth_groups WHERE group_name = ?", (group,))

    def add_auth_member(self, group: str, username: str) -> None:
        """Insert-or-nothing; NotFound for a missing group, then for a missing user."""
        with self._tx() as db:
            group_id = int(_auth_group(db, group)["id"])
            db.execute(
                "INSERT OR IGNORE INTO auth_memberships(group_id, user_id) VALUES (?, ?)",
                (group_id, _auth_user_id(db, username)),
            )

    def remove_auth_member(self, group: str, username: str) -> None:
        """Delete a membership (none is fine); NotFound for a missing group, then for a missing user."""
        with self._tx() as db:
            group_id = int(_auth_group(db, group)["id"])
            db.execute(
                "DELETE FROM auth_memberships WHERE group_id = ? AND user_id = ?",
                (group_id, _auth_user_id(db, username)),
            )

    def get_auth_user(self, username: str) -> dict[str, Any]:
        """``database.User`` with its groups; ``memberships`` is omitted when empty."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM auth_users WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise NotFound(username)
            groups = db.execute(
                "SELECT g.group_name, g.description FROM auth_memberships m"
                " JOIN auth_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY m.id",
                (row["id"],),
            ).fetchall()
        result = _auth_user_json(row)
        if groups:
            result["memberships"] = [{"group": dict(group)} for group in groups]
        return result

    # dataset permissions --------------------------------------------------------------------

    def set_dataset_permission(self, namespace: str, name: str, group: str, permission: str) -> None:
        """Insert or update one group's permission, keeping the row (and so the JSON order) if it exists."""
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            db.execute(
                "INSERT INTO permissions(dataset_id, group_id, permission) VALUES (?, ?, ?)"
                " ON CONFLICT(dataset_id, group_id) DO UPDATE SET permission = excluded.permission",
                (row["id"], _ensure_group(db, group), permission),
            )

    def remove_dataset_permission(self, namespace: str, name: str, group: str) -> None:
        """Delete one group's permission; none is fine. Core creates the group on the way, as here."""
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            db.execute(
                "DELETE FROM permissions WHERE dataset_id = ? AND group_id = ?",
                (row["id"], _ensure_group(db, group)),
            )

    # datasets -----------------------------------------------------------------------------

    def create_dataset(
        self,
        namespace: str,
        name: str,
        description: str,
        owner: str,
        permissions: dict[str, str],
        *,
        sync_enabled: bool = False,
        sync_type: str = "simplex",
        sync_policy: str = "",
        delete_status: str = "NOT_SCHEDULED",
        delete_delay: float = 0.0,
    ) -> None:
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            owner_id = _ensure_user(db, owner)
            delete_on = None
            if delete_status != "NOT_SCHEDULED":
                delete_on = (now_utc() + timedelta(seconds=delete_delay)).isoformat()
            try:
                cursor = db.execute(
                    "INSERT INTO datasets(namespace_id, name, description, created, root_directory,"
                    " delete_on, delete_status, owner_id, sync_enabled, sync_type, sync_policy)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ns_id,
                        name,
                        description,
                        now_utc().isoformat(),
                        f"{name}/",
                        delete_on,
                        delete_status,
                        owner_id,
                        int(sync_enabled),
                        sync_type,
                        sync_policy,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(name) from exc
            for group, permission in permissions.items():
                db.execute(
                    "INSERT OR REPLACE INTO permissions(dataset_id, group_id, permission) VALUES (?, ?, ?)",
                    (cursor.lastrowid, _ensure_group(db, group), permission),
                )

    def visible_datasets(self, namespace: str, username: str) -> list[tuple[DatasetRow, dict[str, str]]]:
        """Datasets one of the user's groups *as recorded in this database* may see (§8.1)."""
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            rows = db.execute(
                _DATASET_SELECT + " WHERE d.namespace_id = ? AND d.id IN ("
                "SELECT p.dataset_id FROM permissions p JOIN memberships m ON m.group_id = p.group_id "
                "JOIN users u ON u.id = m.user_id WHERE u.username = ?) ORDER BY d.id",
                (ns_id, username),
            ).fetchall()
            return [(_dataset_row(row), _permissions(db, int(row["id"]))) for row in rows]

    def all_datasets(self, namespace: str) -> list[DatasetRow]:
        with self._tx() as db:
            ns_id = _namespace_id(db, namespace)
            rows = db.execute(
                _DATASET_SELECT + " WHERE d.namespace_id = ? ORDER BY d.id", (ns_id,)
            ).fetchall()
        return [_dataset_row(row) for row in rows]

    def get_dataset(self, namespace: str, name: str) -> tuple[DatasetRow, dict[str, str]]:
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            return _dataset_row(row), _permissions(db, int(row["id"]))

    def schedule_dataset_delete(self, namespace: str, name: str, delay_seconds: float) -> None:
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            when = (now_utc() + timedelta(seconds=delay_seconds)).isoformat()
            db.execute(
                "UPDATE datasets SET delete_status = 'SCHEDULED', delete_on = ? WHERE id = ?",
                (when, row["id"]),
            )

    # the delete worker (server/core/pkg/worker/worker.go) ---------------------------------

    def reset_errored_deletes(self) -> int:
        """At start-up, ERROR rows become SCHEDULED with no delay (worker.go lines 18-33)."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE datasets SET delete_status = 'SCHEDULED', delete_on = ?"
                " WHERE delete_status = 'ERROR'",
                (now_utc().isoformat(),),
            )
            return cursor.rowcount

    def next_delete_due(self) -> datetime | None:
        """The earliest ``delete_on`` of a SCHEDULED dataset, if any."""
        with self._tx() as db:
            rows = db.execute("SELECT delete_on FROM datasets WHERE delete_status = 'SCHEDULED'").fetchall()
        times = [datetime.fromisoformat(row["delete_on"]) for row in rows if row["delete_on"]]
        return min(times) if times else None

    def run_due_deletes(self) -> int:
        """Delete every SCHEDULED dataset whose ``delete_on`` has passed (worker.go lines 41-141);
        its permissions cascade. Returns how many."""
        now = now_utc()
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, delete_on FROM datasets WHERE delete_status = 'SCHEDULED'"
            ).fetchall()
            due = [
                int(r["id"]) for r in rows if r["delete_on"] and datetime.fromisoformat(r["delete_on"]) < now
            ]
            # The real worker passes through IN_PROGRESS (and turns sync off, then waits 25 s if it
            # was on) while it empties the object store; the sandbox has no objects, so the row goes
            # in one step and IN_PROGRESS is never seen.
            for dataset_id in due:
                db.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        return len(due)

    def set_dataset_sync(self, namespace: str, name: str, sync_type: str, sync_policy: str) -> None:
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            db.execute(
                "UPDATE datasets SET sync_enabled = 1, sync_type = ?, sync_policy = ? WHERE id = ?",
                (sync_type, sync_policy, row["id"]),
            )

    def clear_dataset_sync(self, namespace: str, name: str) -> None:
        with self._tx() as db:
            row = _dataset(db, namespace, name)
            if row["sync_enabled"]:
                db.execute(
                    "UPDATE datasets SET sync_enabled = 0, sync_type = '', sync_policy = '' WHERE id = ?",
                    (row["id"],),
                )


_NAMESPACE_SELECT = (
    "SELECT n.name AS name, n.description AS description, n.bucket_name AS bucket_name,"
    " o.name AS os_name, o.description AS os_description, o.endpoint AS os_endpoint, o.type AS os_type"
    " FROM namespaces n JOIN object_stores o ON o.id = n.object_store_id"
)

_DATASET_SELECT = (
    "SELECT d.*, n.name AS namespace_name, u.username AS owner_name FROM datasets d"
    " JOIN namespaces n ON n.id = d.namespace_id LEFT JOIN users u ON u.id = d.owner_id"
)


def _paged(sql: str, limit: int, offset: int) -> tuple[str, tuple[int, ...]]:
    """go-pg semantics: limit 0 means no LIMIT clause at all."""
    if limit == 0:
        return sql + " LIMIT -1 OFFSET ?", (offset,)
    return sql + " LIMIT ? OFFSET ?", (limit, offset)


def _object_store_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "endpoint": row["endpoint"],
        "type": row["type"],
    }


def _namespace_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "object_store": {
            "name": row["os_name"],
            "description": row["os_description"],
            "endpoint": row["os_endpoint"],
            "type": row["os_type"],
        },
        "bucket_name": row["bucket_name"],
    }


def _namespace_row(db: sqlite3.Connection, name: str) -> sqlite3.Row:
    row = db.execute(_NAMESPACE_SELECT + " WHERE n.name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(name)
    result: sqlite3.Row = row
    return result


def _namespace_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM namespaces WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise NotFound(name)
    return int(row["id"])


def _ensure_group(db: sqlite3.Connection, group: str) -> int:
    db.execute("INSERT OR IGNORE INTO groups(group_name) VALUES (?)", (group,))
    return int(db.execute("SELECT id FROM groups WHERE group_name = ?", (group,)).fetchone()["id"])


def _ensure_user(db: sqlite3.Connection, username: str) -> int:
    row = db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
    if row is not None:
        return int(row["id"])
    user_id = int(db.execute("INSERT INTO users(username) VALUES (?)", (username,)).lastrowid or 0)
    group_id = _ensure_group(db, f"{username}-hoss-default-group")
    db.execute("INSERT INTO memberships(user_id, group_id) VALUES (?, ?)", (user_id, group_id))
    return user_id


def _dataset(db: sqlite3.Connection, namespace: str, name: str) -> sqlite3.Row:
    ns_id = _namespace_id(db, namespace)
    row = db.execute(_DATASET_SELECT + " WHERE d.namespace_id = ? AND d.name = ?", (ns_id, name)).fetchone()
    if row is None:
        raise NotFound(name)
    result: sqlite3.Row = row
    return result


def _dataset_row(row: sqlite3.Row) -> DatasetRow:
    return DatasetRow(
        id=int(row["id"]),
        namespace=str(row["namespace_name"]),
        name=str(row["name"]),
        description=str(row["description"]),
        created=str(row["created"]),
        root_directory=str(row["root_directory"]),
        delete_on=row["delete_on"],
        delete_status=str(row["delete_status"]),
        owner=row["owner_name"],
        sync_enabled=bool(row["sync_enabled"]),
        sync_type=str(row["sync_type"]),
        sync_policy=str(row["sync_policy"]),
    )


def _permissions(db: sqlite3.Connection, dataset_id: int) -> dict[str, str]:
    rows = db.execute(
        "SELECT g.group_name, p.permission FROM permissions p JOIN groups g ON g.id = p.group_id "
        "WHERE p.dataset_id = ? ORDER BY p.id",
        (dataset_id,),
    ).fetchall()
    return {str(row["group_name"]): str(row["permission"]) for row in rows}


BUILTIN_AUTH_GROUPS = {
    "admin": "Group for all admin users. This group is automatically added to all datasets and can only be"
    " removed by an administrator.",
    "public": "Group containing *all* users. You can grant this group read-only permissions to a dataset.",
}


def _ensure_auth_group(db: sqlite3.Connection, group: str, description: str) -> int:
    db.execute(
        "INSERT OR IGNORE INTO auth_groups(group_name, description) VALUES (?, ?)", (group, description)
    )
    return int(db.execute("SELECT id FROM auth_groups WHERE group_name = ?", (group,)).fetchone()["id"])


def _auth_group(db: sqlite3.Connection, group: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM auth_groups WHERE group_name = ?", (group,)).fetchone()
    if row is None:
        raise NotFound(group)
    result: sqlite3.Row = row
    return result


def _auth_user_id(db: sqlite3.Connection, username: str) -> int:
    row = db.execute("SELECT id FROM auth_users WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise NotFound(username)
    return int(row["id"])


def _auth_user_json(row: sqlite3.Row) -> dict[str, Any]:
    """The auth service's ``database.User`` JSON (every sandbox account has a verified email)."""
    return {
        "username": row["username"],
        "full_name": row["full_name"],
        "given_name": row["given_name"],
        "family_name": row["family_name"],
        "email": row["email"],
        "email_verified": True,
        "role": row["role"],
    }
