"""Saved plans (``plan --out FILE``) for ``apply FILE``.

The file holds everything apply needs to act without the config: the plan (the same JSON
as ``plan --json``, plus the fingerprint facts) and, per server key, the base URL and the
*name* of the environment variable holding its PAT. Credential values are never written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hossctl.errors import HossctlError
from hossctl.plan import Plan
from hossctl.plan_json import FORMAT_VERSION, PlanFormatError, plan_from_dict, plan_to_dict

KIND = "hossctl-plan"


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    servers: Mapping[str, tuple[str, str]]  # key -> (base URL, name of the PAT variable)


def to_document(plan: Plan, servers: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "servers": {key: {"url": url, "pat_env": env} for key, (url, env) in sorted(servers.items())},
        "plan": plan_to_dict(plan, include_facts=True),
    }


def save(path: str | Path, plan: Plan, servers: Mapping[str, tuple[str, str]]) -> None:
    text = json.dumps(to_document(plan, servers), indent=2, ensure_ascii=False) + "\n"
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HossctlError(f"Could not write the plan file {str(path)!r}: {exc.strerror or exc}.") from None


def _servers(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    raw = doc.get("servers")
    if not isinstance(raw, dict):
        raise PlanFormatError("it has no servers section")
    out: dict[str, tuple[str, str]] = {}
    for key, value in raw.items():
        if not (
            isinstance(value, dict)
            and isinstance(value.get("url"), str)
            and isinstance(value.get("pat_env"), str)
            and value["url"]
            and value["pat_env"]
        ):
            raise PlanFormatError(f"server {key!r} needs a url and a pat_env")
        out[key] = (value["url"], value["pat_env"])
    return out


def from_document(doc: Any) -> SavedPlan:
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise PlanFormatError("it is not a hossctl plan file")
    if doc.get("format_version") != FORMAT_VERSION:
        raise PlanFormatError(
            f"its format version is {doc.get('format_version')!r}, but this hossctl reads "
            f"version {FORMAT_VERSION!r}; run plan again with this hossctl"
        )
    servers = _servers(doc)
    plan = plan_from_dict(doc.get("plan"))
    for change in plan.changes:
        keys = [change.server]
        if change.action == "enable_sync" and change.target_server is not None:
            keys.append(change.target_server)
        for key in keys:
            if key not in servers:
                raise PlanFormatError(f"change {change.id!r} refers to server {key!r}, which is not listed")
    return SavedPlan(plan=plan, servers=MappingProxyType(servers))


def load(path: str | Path) -> SavedPlan:
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HossctlError(
            f"The plan file {where!r} does not exist; create it with `hossctl plan --out`."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise HossctlError(f"Could not read the plan file {where!r}: {reason}.") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if Path(where).suffix.lower() in (".yaml", ".yml"):
            raise HossctlError(
                f"{where!r} looks like a config file, not a saved plan: apply a config with "
                f"`hossctl apply -f {where}`, or save a plan with `hossctl plan --out FILE`."
            ) from None
        raise HossctlError(
            f"The plan file {where!r} is not valid JSON (line {exc.lineno}); it is corrupt, run plan again."
        ) from None
    try:
        return from_document(doc)
    except PlanFormatError as exc:
        raise HossctlError(f"The plan file {where!r} cannot be used: {exc}.") from None
