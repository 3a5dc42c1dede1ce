"""Strict reading of the Hoss core's JSON answers into the snapshot's typed values.

A reconciler that reads "unknown" as "empty" deletes data: an HTML login page, a truncated
body or a list of strings in place of the dataset list would otherwise read as "no
datasets", and a namespace record whose fields have the wrong types would read as "changed"
and be replaced. So every record is checked field by field, against the shapes the real
server sends (docs/hoss-server.md §5–§8), and turned into typed values here, at the edge; nothing
past this module guesses.

Everything here is pure: a decoded JSON value goes in, a typed value comes out, or
``MalformedAnswer`` says in a few words exactly what was wrong (``item 3 has 'description'
5, not a string``). List items are counted from 0, as in the JSON array. The client adds
which server and which request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget

DELETE_STATUSES = ("NOT_SCHEDULED", "SCHEDULED", "IN_PROGRESS", "ERROR")
SHOWN_VALUE_CHARS = 40

T = TypeVar("T")


class MalformedAnswer(ValueError):
    """A JSON answer whose shape is not the one the real server sends; the text says how."""


def shown(value: object, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A JSON value as it appeared in the answer, ASCII-escaped and cut short, for messages.

    ASCII escaping keeps control characters (and anything else a terminal could act on)
    out of the one-line error.
    """
    try:
        text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    except (TypeError, ValueError):  # not reachable for decoded JSON; never fail while reporting
        text = ascii(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _object(value: object, subject: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{subject} is {shown(value)}, not an object")
    return value


def _field(record: Mapping[str, Any], key: str, subject: str, label: str | None = None) -> object:
    """``record[key]``; ``label`` names a nested field in messages (``'object_store.name'``)."""
    if key not in record:
        raise MalformedAnswer(f"{subject} has no {label or key!r}")
    return record[key]


def _string(record: Mapping[str, Any], key: str, subject: str, label: str | None = None) -> str:
    value = _field(record, key, subject, label)
    if not isinstance(value, str):
        raise MalformedAnswer(f"{subject} has {label or key!r} {shown(value)}, not a string")
    return value


def _boolean(record: Mapping[str, Any], key: str, subject: str) -> bool:
    value = _field(record, key, subject)
    if not isinstance(value, bool):
        raise MalformedAnswer(f"{subject} has {key!r} {shown(value)}, not true or false")
    return value


def _list(body: object, *, null_is_empty: bool, what: str) -> list[Any]:
    """The items of a list answer. ``null`` is empty only where the real server sends it (§6.1)."""
    if body is None and null_is_empty:
        return []
    if not isinstance(body, list):
        hint = f" (an empty {what} is [])" if body is None else ""
        raise MalformedAnswer(f"the answer is {shown(body)}, not a list{hint}")
    return body


def _items(
    body: object, parse: Callable[[object, str], T], *, null_is_empty: bool, what: str
) -> tuple[T, ...]:
    return tuple(
        parse(item, f"item {index}")
        for index, item in enumerate(_list(body, null_is_empty=null_is_empty, what=what))
    )


# -- records ---------------------------------------------------------------------------------


def namespace(value: object, subject: str = "the namespace") -> LiveNamespace:
    """A namespace record (§6): ``name``, ``description``, ``object_store.name``, ``bucket_name``.

    Its sync targets are a separate request, so ``sync`` is left empty.
    """
    record = _object(value, subject)
    name = _string(record, "name", subject)
    description = _string(record, "description", subject)
    store = _field(record, "object_store", subject)
    if not isinstance(store, dict):
        raise MalformedAnswer(f"{subject} has 'object_store' {shown(store)}, not an object")
    store_name = _string(store, "name", subject, label="object_store.name")
    bucket = _string(record, "bucket_name", subject)
    return LiveNamespace(name=name, description=description, object_store=store_name, bucket=bucket)


def sync_target(value: object, subject: str = "the sync target") -> LiveSyncTarget:
    """A row of ``GET …/sync`` (§7.1), every field kept exactly as stored."""
    record = _object(value, subject)
    return LiveSyncTarget(
        target_core_service=_string(record, "target_core_service", subject),
        target_namespace=_string(record, "target_namespace", subject),
        sync_type=_string(record, "sync_type", subject),
    )


def dataset(value: object, subject: str = "the dataset") -> LiveDataset:
    """The fields of a dataset record (§8.3) that the safety checks and dataset sync count on."""
    record = _object(value, subject)
    name = _string(record, "name", subject)
    sync_enabled = _boolean(record, "sync_enabled", subject)
    sync_type = _string(record, "sync_type", subject)
    status = _field(record, "delete_status", subject)
    if not isinstance(status, str) or status not in DELETE_STATUSES:
        raise MalformedAnswer(
            f"{subject} has 'delete_status' {shown(status)}, not one of {', '.join(DELETE_STATUSES)}"
        )
    policy = _string(record, "sync_policy", subject)
    return LiveDataset(
        name=name, sync_enabled=sync_enabled, sync_type=sync_type, delete_status=status, sync_policy=policy
    )


def sync_configuration_row(
    value: object, subject: str = "the sync configuration"
) -> tuple[str, LiveSyncTarget]:
    """An item of ``GET /configuration/sync`` (§7.5): its source namespace and its row.

    ``source_policies`` is checked for shape (an object of strings) but not kept: dataset sync
    state is read from the dataset lists, which also carry the type.
    """
    record = _object(value, subject)
    source = _string(record, "source_namespace", subject)
    _string(record, "source_core_service", subject)
    policies = _field(record, "source_policies", subject)
    if policies is not None and not (
        isinstance(policies, dict) and all(isinstance(v, str) for v in policies.values())
    ):
        raise MalformedAnswer(f"{subject} has 'source_policies' {shown(policies)}, not an object of strings")
    return source, sync_target(record, subject)


def object_store_name(value: object, subject: str = "the object store") -> str:
    """The name of an object store record (§5); nothing else of it is used."""
    return _string(_object(value, subject), "name", subject)


# -- whole answers -----------------------------------------------------------------------------


def namespaces(body: object) -> tuple[LiveNamespace, ...]:
    """A page of ``GET /namespace/``; ``null`` is an empty page (§6.1)."""
    return _items(body, namespace, null_is_empty=True, what="namespace page")


def object_stores(body: object) -> tuple[str, ...]:
    """A page of ``GET /object_store/``; ``null`` is an empty page (§5, §6.1)."""
    return _items(body, object_store_name, null_is_empty=True, what="object store page")


def sync_targets(body: object) -> tuple[LiveSyncTarget, ...]:
    """``GET /namespace/{ns}/sync``. The real server sends ``[]`` when there are none (§7.1);
    ``null`` is accepted as none too, since it cannot hide a row that would be deleted."""
    return _items(body, sync_target, null_is_empty=True, what="sync target list")


def sync_enabled(body: object) -> bool:
    """``GET …/dataset/{name}/sync``: a bare JSON boolean (§8.2)."""
    if not isinstance(body, bool):
        raise MalformedAnswer(f"the dataset's sync state is {shown(body)}, not true or false")
    return body


def sync_configuration(body: object) -> dict[str, tuple[LiveSyncTarget, ...]]:
    """``GET /configuration/sync``: every sync row of the server, by source namespace. The real
    server sends ``[]`` when there are none; ``null`` is not trusted as none."""
    out: dict[str, list[LiveSyncTarget]] = {}
    for source, row in _items(body, sync_configuration_row, null_is_empty=False, what="sync configuration"):
        out.setdefault(source, []).append(row)
    return {name: tuple(rows) for name, rows in out.items()}


def datasets(body: object) -> tuple[LiveDataset, ...]:
    """``GET /namespace/{ns}/dataset/``. The real server sends ``[]`` when it has none (§8.1),
    so ``null`` is not "no datasets": it is an answer hossctl cannot vouch for."""
    return _items(body, dataset, null_is_empty=False, what="dataset list")


def discover(body: object) -> Mapping[str, Any]:
    """The discover document (§4): an object.

    Its fields are judged where they are used: ``version`` by the client's version check (a
    missing one is an unsupported server, not a garbled answer), ``auth_service`` only when a
    PAT is exchanged, since a JWT from the environment never needs it.
    """
    return _object(body, "the answer")


def id_token(body: object) -> str:
    """The ``id_token`` of a PAT exchange answer (§2.1).

    The answer holds fresh tokens, so no value of it is ever shown, only which field was wrong.
    """
    if not isinstance(body, dict):
        raise MalformedAnswer("the answer is not an object")
    token = body.get("id_token")
    if not isinstance(token, str) or not token:
        raise MalformedAnswer("the answer has no non-empty string 'id_token'")
    return token
