"""The one mapping between Plan objects and their JSON form (``schemas/plan.schema.json``).

``render_json`` writes it and ``planfile`` writes and reads it, so the printed plan and the
saved plan can never drift apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from hossctl.plan.changes import DATASET_ACTIONS, Change, Expect, Plan, Row, Violation

FORMAT_VERSION = 1
SCHEMA = "plan.schema.json"


class PlanFormatError(ValueError):
    """The document is not a plan this version of hossctl understands (one sentence)."""


def _row_to_dict(row: Row) -> dict[str, str]:
    return {"target_core_service": row[0], "target_namespace": row[1], "sync_type": row[2]}


def _row_from_dict(row: Mapping[str, str]) -> Row:
    return (row["target_core_service"], row["target_namespace"], row["sync_type"])


def expect_to_dict(e: Expect | None) -> dict[str, Any] | None:
    if e is None:
        return None
    attrs = e.attributes
    return {
        "absent": e.absent,
        "attributes": None
        if attrs is None
        else {"description": attrs[0], "object_store": attrs[1], "bucket": attrs[2]},
        "sync_rows": None if e.sync_rows is None else [_row_to_dict(r) for r in e.sync_rows],
        "sync_row": None if e.sync_row is None else _row_to_dict(e.sync_row),
        "datasets": e.datasets,
        "dataset": None
        if e.dataset is None
        else {"sync_enabled": e.dataset[0], "sync_type": e.dataset[1], "sync_policy": e.dataset[2]},
    }


def expect_from_dict(d: Mapping[str, Any] | None) -> Expect | None:
    if d is None:
        return None
    attrs = d["attributes"]
    return Expect(
        absent=d["absent"],
        attributes=None if attrs is None else (attrs["description"], attrs["object_store"], attrs["bucket"]),
        sync_rows=None if d["sync_rows"] is None else tuple(_row_from_dict(r) for r in d["sync_rows"]),
        sync_row=None if d["sync_row"] is None else _row_from_dict(d["sync_row"]),
        datasets=d["datasets"],
        dataset=None
        if d["dataset"] is None
        else (d["dataset"]["sync_enabled"], d["dataset"]["sync_type"], d["dataset"]["sync_policy"]),
    )


def change_to_dict(c: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "action": c.action,
        "server": c.server,
        "namespace": c.namespace,
        "reason": c.reason,
        "reason_code": c.reason_code,
        "depends_on": list(c.depends_on),
        "replace": c.replace,
        "forced_by": list(c.forced_by),
        "expect": expect_to_dict(c.expect),
    }
    if c.action == "create_namespace":
        out.update(description=c.description or "", object_store=c.object_store or "", bucket=c.bucket or "")
    elif c.action in ("enable_sync", "disable_sync"):
        out.update(
            target_core_service=c.target_core_service or "",
            target_namespace=c.target_namespace or "",
            sync_type=c.sync_type or "",
            target_server=c.target_server,
        )
    elif c.action in DATASET_ACTIONS:
        out.update(dataset=c.dataset or "", sync_type=c.sync_type or "", sync_policy=c.sync_policy)
    return out


def violation_to_dict(v: Violation) -> dict[str, Any]:
    return {
        "check": v.check,
        "change": v.change,
        "server": v.server,
        "namespace": v.namespace,
        "message": v.message,
        "resolution": v.resolution,
        "severity": v.severity,
        "position": v.position,
    }


def plan_to_dict(plan: Plan, *, include_facts: bool = False) -> dict[str, Any]:
    s = plan.summary
    out: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "targets": list(plan.targets),
        "changes": [change_to_dict(c) for c in plan.changes],
        "violations": [violation_to_dict(v) for v in plan.violations],
        "summary": dataclasses.asdict(s),  # Summary's fields are the schema's keys, in its order
        "notes": list(plan.notes),
    }
    if include_facts:
        out["facts"] = dict(plan.facts)
    return out


def _validate(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise PlanFormatError("it does not hold a plan object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanFormatError(
            f"its plan format version is {version!r}, but this hossctl reads version {FORMAT_VERSION!r}"
        )
    from jsonschema import Draft202012Validator

    from hossctl.schemas import load_schema

    validator = Draft202012Validator(load_schema(SCHEMA))
    error = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise PlanFormatError(f"it is not a valid plan ({where}: {error.message})")
    seen: set[str] = set()
    for change in doc["changes"]:
        cid = change["id"]
        if cid in seen:
            raise PlanFormatError(f"change id {cid!r} appears twice")
        missing = [d for d in change["depends_on"] if d not in seen]
        if missing:
            raise PlanFormatError(f"change {cid!r} depends on {missing[0]!r}, which does not come before it")
        seen.add(cid)
    for violation in doc["violations"]:
        if violation["change"] and violation["change"] not in seen:
            raise PlanFormatError(
                f"a violation refers to change {violation['change']!r}, which is not in the plan"
            )


def plan_from_dict(doc: Any) -> Plan:
    """Rebuild a Plan from its JSON form; PlanFormatError says what is wrong with it."""
    _validate(doc)
    changes = tuple(
        Change(
            id=c["id"],
            action=c["action"],
            server=c["server"],
            namespace=c["namespace"],
            reason=c["reason"],
            reason_code=c["reason_code"],
            depends_on=tuple(c["depends_on"]),
            replace=c["replace"],
            forced_by=tuple(c["forced_by"]),
            description=c.get("description"),
            object_store=c.get("object_store"),
            bucket=c.get("bucket"),
            target_core_service=c.get("target_core_service"),
            target_namespace=c.get("target_namespace"),
            sync_type=c.get("sync_type"),
            target_server=c.get("target_server"),
            dataset=c.get("dataset"),
            sync_policy=c.get("sync_policy"),
            expect=expect_from_dict(c.get("expect")),
        )
        for c in doc["changes"]
    )
    violations = tuple(
        Violation(
            check=v["check"],
            change=v["change"],
            server=v["server"],
            namespace=v["namespace"],
            message=v["message"],
            resolution=v["resolution"],
            severity=v["severity"],
            position=v.get("position"),
        )
        for v in doc["violations"]
    )
    facts = cast(Mapping[str, str], doc.get("facts", {}))
    return Plan(
        changes=changes,
        violations=violations,
        facts=MappingProxyType(dict(facts)),
        targets=tuple(doc.get("targets", [])),
        notes=tuple(doc.get("notes", [])),
    )
