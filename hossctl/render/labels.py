"""People-facing names of changes: ``+ namespace onprem/raw-data``, not change ids.

Ids (``onprem/raw/sync:http://127.0.0.1:18202/core/v1#raw/enable``) are for machines and stay
in JSON. Everything a person reads (the text and Markdown plans, apply's progress and report
lines, violations) names a change the same way, from this module. Values come back raw:
each output escapes them for its own medium (``sanitize``).
"""

from __future__ import annotations

from hossctl.plan.changes import Change
from hossctl.urls import try_normalise_core_url


def where(server: str, namespace: str) -> str:
    return f"{server}/{namespace}"


def target(change: Change) -> str:
    """Where a sync row points: ``cloud/raw`` on a managed server, ``URL#raw`` elsewhere.

    A managed target stored under another spelling than the canonical one says so, because a
    disable must send that exact string (docs/hoss-server.md §7.3).
    """
    url = change.target_core_service or ""
    namespace = change.target_namespace or ""
    if change.target_server is None:
        return f"{url}#{namespace}"
    label = where(change.target_server, namespace)
    if try_normalise_core_url(url) != url:
        label += f" (stored as {url!r})"
    return label


def symbol(change: Change) -> str:
    if change.replace:
        return "-/+"
    return {"create_namespace": "+", "delete_namespace": "-"}.get(change.action, "~")


def dataset_state(change: Change) -> str:
    """What a dataset change does to the dataset's sync: ``simplex → duplex``, ``duplex, new policy``."""
    before = change.expect.dataset if change.expect is not None else None
    if change.action == "enable_dataset_sync":
        return change.sync_type or ""
    if change.action == "disable_dataset_sync":
        return f"was {before[1] if before else change.sync_type}"
    if before is not None and before[1] != change.sync_type:
        return f"{before[1]} → {change.sync_type}"
    return f"{change.sync_type}, new policy"


def title(change: Change) -> str:
    """The change without its symbol, e.g. ``enable sync onprem/raw → cloud/raw (duplex)``."""
    if change.action in ("create_namespace", "delete_namespace"):
        return f"namespace {where(change.server, change.namespace)}"
    if change.dataset is not None:
        verb = change.action.split("_", 1)[0]
        dataset = f"{where(change.server, change.namespace)}/{change.dataset}"
        return f"{verb} sync of dataset {dataset} ({dataset_state(change)})"
    verb = "enable sync" if change.action == "enable_sync" else "disable sync"
    return f"{verb} {where(change.server, change.namespace)} → {target(change)} ({change.sync_type})"


def label(change: Change) -> str:
    """One change as apply's progress and report lines name it; a replace's halves say which."""
    if change.replace:
        half = "delete" if change.action == "delete_namespace" else "create"
        return f"-/+ {title(change)} ({half})"
    return f"{symbol(change)} {title(change)}"
