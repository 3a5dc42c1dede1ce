"""wire: every shape the real server sends is read exactly; every other shape is refused, saying how."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hossctl.live import wire
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget

STORE = {
    "name": "default",
    "description": "Default object store",
    "endpoint": "http://localhost",
    "type": "minio",
}
NS = {"name": "raw", "description": "Raw data", "object_store": STORE, "bucket_name": "raw-bucket"}
ROW = {"target_core_service": "https://h/core/v1/", "target_namespace": "mirror", "sync_type": "duplex"}
DS = {
    "namespace": {**NS, "object_store": {"name": "", "description": "", "endpoint": "", "type": ""}},
    "name": "ds1",
    "description": "",
    "created": "2022-06-22T16:39:53.123456Z",
    "root_directory": "ds1/",
    "delete_on": "0001-01-01T00:00:00Z",
    "delete_status": "SCHEDULED",
    "owner": {"username": "alice", "memberships": None},
    "sync_enabled": True,
    "sync_type": "simplex",
    "sync_policy": '{"Version":"1","Statements":[]}',
    "permissions": [{"group": {"group_name": "admin"}, "permission": "rw"}],
}


def _with(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``record`` with fields replaced; a value of ``...`` removes the field."""
    out = dict(record)
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


def test_the_real_shapes_are_read_exactly() -> None:
    assert wire.namespaces([NS]) == (LiveNamespace("raw", "Raw data", "default", "raw-bucket"),)
    assert wire.namespace(NS) == LiveNamespace("raw", "Raw data", "default", "raw-bucket")
    # Stored strings are kept byte for byte: a DELETE must send exactly them (§7.3).
    assert wire.sync_targets([ROW]) == (LiveSyncTarget("https://h/core/v1/", "mirror", "duplex"),)
    assert wire.datasets([DS]) == (LiveDataset("ds1", True, "simplex", "SCHEDULED", DS["sync_policy"]),)
    assert wire.object_stores([STORE, {"name": "cold"}]) == ("default", "cold")
    # sync_type is "" after dataset sync was disabled (§8.3), and description may be any string.
    assert wire.dataset(_with(DS, sync_type="", sync_enabled=False)).sync_type == ""
    assert wire.discover({"version": "0.2.13"}) == {"version": "0.2.13"}
    assert wire.id_token({"access_token": "a", "refresh_token": "r", "id_token": "i"}) == "i"


CONFIG = {
    "sync_type": "duplex",
    "source_core_service": "https://onprem.example.org/core/v1",
    "source_namespace": "raw",
    "source_policies": {"ds1/": '{"Version":"1","Statements":[]}'},
    "target_core_service": "https://cloud.example.org/core/v1",
    "target_namespace": "mirror",
}


def test_the_sync_configuration_is_read_by_source_namespace() -> None:
    second = {**CONFIG, "target_namespace": "other", "sync_type": "simplex", "source_policies": {}}
    assert wire.sync_configuration([CONFIG, second, {**CONFIG, "source_namespace": "b"}]) == {
        "raw": (
            LiveSyncTarget("https://cloud.example.org/core/v1", "mirror", "duplex"),
            LiveSyncTarget("https://cloud.example.org/core/v1", "other", "simplex"),
        ),
        "b": (LiveSyncTarget("https://cloud.example.org/core/v1", "mirror", "duplex"),),
    }
    assert wire.sync_configuration([]) == {}


@pytest.mark.parametrize("status", wire.DELETE_STATUSES)
def test_every_delete_state_counts(status: str) -> None:
    assert wire.dataset(_with(DS, delete_status=status)).delete_status == status


def test_null_is_an_empty_page_but_not_an_empty_dataset_list() -> None:
    assert wire.namespaces(None) == () and wire.object_stores(None) == () and wire.sync_targets(None) == ()
    assert wire.namespaces([]) == () and wire.datasets([]) == ()
    with pytest.raises(wire.MalformedAnswer) as info:
        wire.datasets(None)
    assert str(info.value) == "the answer is null, not a list (an empty dataset list is [])"


Parse = Callable[[Any], object]

BAD: list[tuple[str, Parse, Any, str]] = [
    # whole answers
    ("namespaces: an object", wire.namespaces, {"items": []}, 'the answer is {"items": []}, not a list'),
    ("namespaces: a string", wire.namespaces, "<html>", 'the answer is "<html>", not a list'),
    ("datasets: a number", wire.datasets, 0, "the answer is 0, not a list"),
    ("datasets: a string item", wire.datasets, ["precious"], 'item 0 is "precious", not an object'),
    ("datasets: a null item", wire.datasets, [DS, None], "item 1 is null, not an object"),
    ("sync: a list item", wire.sync_targets, [[1]], "item 0 is [1], not an object"),
    ("stores: an item without name", wire.object_stores, [STORE, {}], "item 1 has no 'name'"),
    ("stores: a number name", wire.object_stores, [{"name": 7}], "item 0 has 'name' 7, not a string"),
    # namespace records
    ("ns: description 5", wire.namespaces, [NS, NS, NS, _with(NS, description=5)],
     "item 3 has 'description' 5, not a string"),
    ("ns: bucket null", wire.namespaces, [_with(NS, bucket_name=None)],
     "item 0 has 'bucket_name' null, not a string"),
    ("ns: no bucket", wire.namespaces, [_with(NS, bucket_name=...)], "item 0 has no 'bucket_name'"),
    ("ns: name number", wire.namespaces, [_with(NS, name=1)], "item 0 has 'name' 1, not a string"),
    ("ns: store a string", wire.namespaces, [_with(NS, object_store="default")],
     "item 0 has 'object_store' \"default\", not an object"),
    ("ns: store null", wire.namespaces, [_with(NS, object_store=None)],
     "item 0 has 'object_store' null, not an object"),
    ("ns: store without name", wire.namespaces, [_with(NS, object_store={"type": "minio"})],
     "item 0 has no 'object_store.name'"),
    ("ns: store name false", wire.namespaces, [_with(NS, object_store={"name": False})],
     "item 0 has 'object_store.name' false, not a string"),
    ("ns: single record", wire.namespace, _with(NS, description=["a"]),
     "the namespace has 'description' [\"a\"], not a string"),
    ("ns: single not an object", wire.namespace, "raw", 'the namespace is "raw", not an object'),
    # sync rows
    ("sync: no type", wire.sync_targets, [_with(ROW, sync_type=...)], "item 0 has no 'sync_type'"),
    ("sync: target null", wire.sync_targets, [_with(ROW, target_core_service=None)],
     "item 0 has 'target_core_service' null, not a string"),
    ("sync: namespace number", wire.sync_targets, [ROW, _with(ROW, target_namespace=3)],
     "item 1 has 'target_namespace' 3, not a string"),
    # datasets
    ("ds: name number", wire.datasets, [_with(DS, name=5)], "item 0 has 'name' 5, not a string"),
    ("ds: sync_enabled a string", wire.datasets, [_with(DS, sync_enabled="true")],
     "item 0 has 'sync_enabled' \"true\", not true or false"),
    ("ds: sync_enabled 1", wire.datasets, [_with(DS, sync_enabled=1)],
     "item 0 has 'sync_enabled' 1, not true or false"),
    ("ds: no sync_enabled", wire.datasets, [_with(DS, sync_enabled=...)], "item 0 has no 'sync_enabled'"),
    ("ds: sync_type null", wire.datasets, [_with(DS, sync_type=None)],
     "item 0 has 'sync_type' null, not a string"),
    ("ds: unknown delete state", wire.datasets, [_with(DS, delete_status="DELETED")],
     "item 0 has 'delete_status' \"DELETED\", not one of NOT_SCHEDULED, SCHEDULED, IN_PROGRESS, ERROR"),
    ("ds: lower-case delete state", wire.datasets, [_with(DS, delete_status="scheduled")],
     "item 0 has 'delete_status' \"scheduled\", not one of NOT_SCHEDULED, SCHEDULED, IN_PROGRESS, ERROR"),
    ("ds: no delete state", wire.datasets, [_with(DS, delete_status=...)], "item 0 has no 'delete_status'"),
    ("ds: policy null", wire.datasets, [_with(DS, sync_policy=None)],
     "item 0 has 'sync_policy' null, not a string"),
    # configuration/sync
    ("config: null", wire.sync_configuration, None,
     "the answer is null, not a list (an empty sync configuration is [])"),
    ("config: no source namespace", wire.sync_configuration, [_with(CONFIG, source_namespace=...)],
     "item 0 has no 'source_namespace'"),
    ("config: policies a list", wire.sync_configuration, [_with(CONFIG, source_policies=["x"])],
     "item 0 has 'source_policies' [\"x\"], not an object of strings"),
    ("config: row without type", wire.sync_configuration, [_with(CONFIG, sync_type=...)],
     "item 0 has no 'sync_type'"),
    # discover and token answers
    ("discover: a list", wire.discover, [], "the answer is [], not an object"),
    ("token: not an object", wire.id_token, ["eyJ.secret"], "the answer is not an object"),
    ("token: missing", wire.id_token, {"access_token": "eyJ.secret"},
     "the answer has no non-empty string 'id_token'"),
    ("token: empty", wire.id_token, {"id_token": ""}, "the answer has no non-empty string 'id_token'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("parse", "body", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_each_bad_shape_says_what_was_wrong(parse: Parse, body: Any, message: str) -> None:
    with pytest.raises(wire.MalformedAnswer) as info:
        parse(body)
    assert str(info.value) == message


def test_shown_values_are_short_and_free_of_control_characters() -> None:
    assert wire.shown("a\nb\x1b[2J") == '"a\\nb\\u001b[2J"'
    long = wire.shown("x" * 100)
    assert len(long) == wire.SHOWN_VALUE_CHARS and long.endswith("…")
    with pytest.raises(wire.MalformedAnswer) as info:
        wire.namespaces([_with(NS, description={"é": "\u2028" * 50})])
    assert "\u2028" not in str(info.value) and "\n" not in str(info.value)
