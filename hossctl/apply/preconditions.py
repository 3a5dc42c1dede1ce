"""What moved between a plan and its write: pure comparisons of expected and fresh live facts.

Hoss has no conditional writes (no ETags, no versions), so the only defence against a
world that moved on (a dataset created while apply waited at its prompt, a second run
acting at the same time, a saved plan applied hours later) is to read the facts a change
rests on again immediately before the write and compare. The executor does the reading;
this module decides, and says what moved in words a person can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hossctl.plan.changes import Change, Expect, Row
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget

_ATTRIBUTE_NAMES = ("description", "object_store", "bucket")


@dataclass(frozen=True)
class Found:
    """Fresh facts about one namespace. ``exists`` is False when any read said it is gone;
    ``attributes``/``rows``/``datasets`` are None when they were not read."""

    exists: bool
    attributes: tuple[str, str, str] | None = None
    rows: tuple[LiveSyncTarget, ...] | None = None
    datasets: tuple[LiveDataset, ...] | None = None


def _attributes(live: LiveNamespace) -> tuple[str, str, str]:
    return (live.description, live.object_store, live.bucket)


def _row(r: LiveSyncTarget) -> Row:
    return (r.target_core_service, r.target_namespace, r.sync_type)


def show_row(row: Row) -> str:
    return f"{row[0]}#{row[1]} ({row[2]})"


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _attribute_moves(where: str, expected: tuple[str, str, str], now: tuple[str, str, str]) -> list[str]:
    parts = [
        f"{name} is now {new!r} (was {old!r})"
        for name, old, new in zip(_ATTRIBUTE_NAMES, expected, now, strict=True)
        if old != new
    ]
    return [f"namespace {where} changed: {'; '.join(parts)}"] if parts else []


def _row_moves(where: str, expected: Sequence[Row], found: Sequence[Row]) -> list[str]:
    added = sorted(set(found) - set(expected))
    removed = sorted(set(expected) - set(found))
    parts = []
    if added:
        parts.append(f"{', '.join(show_row(r) for r in added)} appeared")
    if removed:
        parts.append(f"{', '.join(show_row(r) for r in removed)} disappeared")
    return [f"the sync targets of {where} changed: {'; '.join(parts)}"] if parts else []


def _dataset_moves(where: str, rule: str, datasets: Sequence[LiveDataset]) -> list[str]:
    if rule == "none" and datasets:
        return [f"dataset(s) {_names([d.name for d in datasets])} appeared in {where}"]
    if rule == "none-syncing":
        syncing = [d.name for d in datasets if d.sync_enabled]
        if syncing:
            return [f"dataset(s) {_names(syncing)} in {where} now have sync enabled"]
    if rule == "none-duplex":
        duplex = [d.name for d in datasets if d.sync_enabled and d.sync_type == "duplex"]
        if duplex:
            return [f"dataset(s) {_names(duplex)} in {where} now use duplex sync"]
    return []


def moved(change: Change, found: Found) -> list[str]:
    """Every way the fresh facts differ from what ``change.expect`` says; empty: safe to write.

    A fact that should have been read but was not (``None``) counts as moved: a check
    that cannot read its facts blocks, it never passes.
    """
    expect: Expect | None = change.expect
    if expect is None:
        return []
    where = f"{change.server}/{change.namespace}"
    if expect.absent:
        return [f"namespace {where} appeared"] if found.exists else []
    if not found.exists:
        return [f"namespace {where} no longer exists"]
    out: list[str] = []
    if expect.attributes is not None:
        if found.attributes is None:
            out.append(f"the attributes of {where} could not be read")
        else:
            out += _attribute_moves(where, expect.attributes, found.attributes)
    if expect.sync_rows is not None or expect.sync_row is not None:
        if found.rows is None:
            out.append(f"the sync targets of {where} could not be read")
        else:
            rows = [_row(r) for r in found.rows]
            if expect.sync_rows is not None:
                out += _row_moves(where, expect.sync_rows, rows)
            if expect.sync_row is not None and expect.sync_row not in rows:
                out.append(f"sync target {show_row(expect.sync_row)} of {where} is no longer there")
    if expect.datasets is not None:
        if found.datasets is None:
            out.append(f"the datasets of {where} could not be read")
        else:
            out += _dataset_moves(where, expect.datasets, found.datasets)
    return out


def dataset_moves(change: Change, found: LiveDataset | None) -> list[str]:
    """How one dataset differs from what a dataset change expects of it; empty: safe to write.

    The dataset must still exist, have no delete scheduled (a delete turns sync off by itself,
    docs/hoss-server.md §8.3), and have exactly the sync state the plan saw.
    """
    expect = change.expect.dataset if change.expect is not None else None
    where = f"dataset {change.dataset!r} in {change.server}/{change.namespace}"
    if found is None:
        return [f"{where} no longer exists"]
    if found.deleting:
        return [f"{where} is being deleted ({found.delete_status})"]
    if expect is None:
        return []
    now = (found.sync_enabled, found.sync_type, found.sync_policy)
    if now == expect:
        return []
    def show(state: tuple[bool, str, str]) -> str:
        return f"{state[1] or 'sync'} {'on' if state[0] else 'off'}" + (", with a policy" if state[2] else "")
    return [f"the sync of {where} changed: it is {show(now)}, the plan saw {show(expect)}"]


def namespace_moves(where: str, old: LiveNamespace | None, new: LiveNamespace | None) -> list[str]:
    """How one namespace differs between two reads (for the re-plan after apply's prompt)."""
    if old is None and new is None:
        return []
    if old is None:
        return [f"namespace {where} appeared"]
    if new is None:
        return [f"namespace {where} was deleted"]
    out = _attribute_moves(where, _attributes(old), _attributes(new))
    out += _row_moves(where, [_row(r) for r in old.sync], [_row(r) for r in new.sync])
    if old.datasets is not None and new.datasets is not None:
        before = {d.name: d for d in old.datasets}
        after = {d.name: d for d in new.datasets}
        appeared = [n for n in after if n not in before]
        gone = [n for n in before if n not in after]
        changed = [n for n in after if n in before and after[n] != before[n]]
        if appeared:
            out.append(f"dataset(s) {_names(appeared)} appeared in {where}")
        if gone:
            out.append(f"dataset(s) {_names(gone)} disappeared from {where}")
        if changed:
            out.append(f"dataset(s) {_names(changed)} in {where} changed their sync or delete state")
    return out
