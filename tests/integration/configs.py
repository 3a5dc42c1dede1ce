"""Building blocks of the integration tests: a namespace declaration, export arguments, a server's state."""

from __future__ import annotations

from typing import Any

from hossctl.sandbox import Sandbox


def ns(name: str, *sync: dict[str, str], description: str = "Managed") -> dict[str, Any]:
    """A present namespace on the ``default`` store, with its bucket named after it."""
    body: dict[str, Any] = {"description": description, "object_store": "default", "bucket": name}
    if sync:
        body["sync"] = list(sync)
    return body


def export_args(onprem_url: str, cloud_url: str) -> list[str]:
    """``hossctl export`` of two servers, onprem and cloud, with PATs in ONPREM_PAT and CLOUD_PAT."""
    return [
        "export",
        "--server",
        f"onprem={onprem_url}",
        "--server",
        f"cloud={cloud_url}",
        "--pat-env",
        "onprem=ONPREM_PAT",
        "--pat-env",
        "cloud=CLOUD_PAT",
    ]


def server_state(sb: Sandbox) -> list[tuple[Any, ...]]:
    """Everything a write could change: each namespace, its sync rows and its datasets."""
    return [
        (
            n["name"],
            n["description"],
            n["object_store"],
            n["bucket_name"],
            sorted(
                (r["target_core_service"], r["target_namespace"], r["sync_type"])
                for r in sb.sync_targets(n["name"])
            ),
            sorted((d["name"], d["sync_enabled"], d["delete_status"]) for d in sb.datasets(n["name"])),
        )
        for n in sb.namespaces()
    ]
