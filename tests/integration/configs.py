"""Building blocks of the configs the integration tests write (one namespace declaration)."""

from __future__ import annotations

from typing import Any


def ns(name: str, *sync: dict[str, str], description: str = "Managed") -> dict[str, Any]:
    """A present namespace on the ``default`` store, with its bucket named after it."""
    body: dict[str, Any] = {"description": description, "object_store": "default", "bucket": name}
    if sync:
        body["sync"] = list(sync)
    return body
