"""Digests of the live facts a plan rests on, so that ``apply PLANFILE`` can refuse a stale plan.

A saved plan is only safe to apply against the world it was computed from. Rather than
storing that world, the plan stores one SHA-256 per fact it depends on; ``apply`` re-reads
the servers, recomputes the digests for the same changes and compares. Keys:

* ``namespace:<server>/<name>`` for every (server, namespace) a change touches, including
  the target namespaces of ``enable_sync`` on managed servers: existence, attributes,
  sorted sync rows and, where a change rests on them (a delete, a target removal or
  downgrade, a dataset sync change), the datasets. Datasets read only for drift warnings
  are left out, so ``--no-drift`` does not change a plan's facts;
* ``object_stores:<server>`` for every server a change touches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from hossctl.plan.changes import DATASET_ACTIONS, Change
from hossctl.plan.checks import dataset_reads_needed
from hossctl.plan.model import Config
from hossctl.plan.snapshot import LiveNamespace, Snapshot
from hossctl.values import asdict


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _namespace_fact(live: LiveNamespace | None, with_datasets: bool) -> Any:
    if live is None:
        return {"exists": False}
    return {
        "exists": True,
        "description": live.description,
        "object_store": live.object_store,
        "bucket": live.bucket,
        "sync": sorted([r.target_core_service, r.target_namespace, r.sync_type] for r in live.sync),
        "datasets": None
        if live.datasets is None or not with_datasets
        else sorted(
            [d.name, d.sync_enabled, d.sync_type, d.delete_status, d.sync_policy] for d in live.datasets
        ),
    }


def facts_for(changes: Sequence[Change], snapshot: Snapshot) -> dict[str, str]:
    """Fact key -> digest, for every live fact the changes rest on (sorted by key)."""
    touched: set[tuple[str, str]] = set()
    resting = set(dataset_reads_needed(changes)) | {
        (c.server, c.namespace) for c in changes if c.action in DATASET_ACTIONS
    }
    for c in changes:
        touched.add((c.server, c.namespace))
        if c.action == "enable_sync" and c.target_server is not None and c.target_namespace is not None:
            touched.add((c.target_server, c.target_namespace))
    facts: dict[str, str] = {}
    for server in sorted({s for s, _ in touched}):
        state = snapshot.server(server)
        stores = None if state is None else sorted(state.object_stores)
        facts[f"object_stores:{server}"] = _digest({"known": state is not None, "object_stores": stores})
    for server, name in sorted(touched):
        state = snapshot.server(server)
        live = None if state is None else state.namespace(name)
        facts[f"namespace:{server}/{name}"] = _digest(_namespace_fact(live, (server, name) in resting))
    return dict(sorted(facts.items()))


def _without_positions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items() if k != "position"}
    if isinstance(value, list | tuple):
        return [_without_positions(v) for v in value]
    return value


def config_digest(config: Config) -> str:
    """SHA-256 of everything the config declares, after interpolation, positions aside.

    A saved plan records it, and ``apply PLANFILE`` compares it with the config it is given,
    so that a plan is only ever applied together with the config it was made from (and
    comments or reformatting of that config do not count as a difference).
    """
    return _digest([_without_positions(asdict(server)) for server in config.servers])
