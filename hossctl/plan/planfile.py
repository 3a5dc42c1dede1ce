"""Saved plans (``plan --out FILE``) for ``apply FILE``.

A plan file is a record of what was reviewed, not an authority: ``apply PLANFILE`` loads
the config again (from ``-f``), checks that it is the config the plan was made from
(``config_digest``), plans it again against freshly read servers with apply's own options,
and applies only if that fresh plan is exactly the saved one. So a plan file edited by
hand can make apply refuse, never act: server URLs and PAT variables come from the
config alone, and every safety check runs again. The file holds the plan (the same JSON
as ``plan --json``, plus the fingerprint facts), the config digest and, per server key,
the base URL and the *name* of the PAT variable, for people reading it. Credential
values are never written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hossctl.errors import HossctlError
from hossctl.plan.changes import Plan
from hossctl.render.plan_json import (
    FORMAT_VERSION,
    PlanFormatError,
    change_to_dict,
    plan_from_dict,
    plan_to_dict,
)
from hossctl.sanitize import json_text

KIND = "hossctl-plan"
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    servers: Mapping[str, tuple[str, str]]  # key -> (base URL, name of the PAT variable)
    config_digest: str
    config_files: tuple[str, ...] = ()  # as given to plan, for messages only


def to_document(
    plan: Plan,
    servers: Mapping[str, tuple[str, str]],
    *,
    config_digest: str,
    config_files: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "config_digest": config_digest,
        "config_files": list(config_files),
        "servers": {key: {"url": url, "pat_env": env} for key, (url, env) in sorted(servers.items())},
        "plan": plan_to_dict(plan, include_facts=True),
    }


def save(
    path: str | Path,
    plan: Plan,
    servers: Mapping[str, tuple[str, str]],
    *,
    config_digest: str,
    config_files: Sequence[str] = (),
) -> None:
    document = to_document(plan, servers, config_digest=config_digest, config_files=config_files)
    text = json_text(document) + "\n"
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
    version = doc.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # not True, not 1.0, not "1"
        raise PlanFormatError(
            f"it was made by another hossctl version (format_version {json.dumps(version)[:40]}; this "
            f"hossctl reads {FORMAT_VERSION}): run `hossctl plan --out` again with this hossctl"
        )
    servers = _servers(doc)
    digest = doc.get("config_digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise PlanFormatError("it has no valid config_digest")
    files = doc.get("config_files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise PlanFormatError("its config_files is not a list of paths")
    plan = plan_from_dict(doc.get("plan"))
    for change in plan.changes:
        keys = [change.server]
        if change.action == "enable_sync" and change.target_server is not None:
            keys.append(change.target_server)
        for key in keys:
            if key not in servers:
                raise PlanFormatError(f"change {change.id!r} refers to server {key!r}, which is not listed")
    return SavedPlan(
        plan=plan, servers=MappingProxyType(servers), config_digest=digest, config_files=tuple(files)
    )


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


def _fact_label(key: str) -> str:
    kind, _, what = key.partition(":")
    if kind == "namespace":
        return f"namespace {what}"
    if kind == "object_stores":
        return f"the object stores of {what}"
    return key


def differences(saved: Plan, fresh: Plan) -> list[str]:
    """How a saved plan differs from the plan made now from the same config, in words.

    Empty means apply may go ahead: the same changes, resting on the same live facts.
    """
    out: list[str] = []
    old = {c.id: change_to_dict(c) for c in saved.changes}
    new = {c.id: change_to_dict(c) for c in fresh.changes}
    gone = [cid for cid in old if cid not in new]
    added = [cid for cid in new if cid not in old]
    edited = [cid for cid in old if cid in new and old[cid] != new[cid]]
    if gone:
        out.append(f"the plan file has changes the config no longer calls for ({', '.join(gone[:5])})")
    if added:
        out.append(f"the config now calls for changes the plan file lacks ({', '.join(added[:5])})")
    if edited:
        out.append(f"changes differ from what the config calls for ({', '.join(edited[:5])})")
    if not (gone or added or edited) and list(old) != list(new):
        out.append("the changes are in another order than the config calls for")
    if saved.targets != fresh.targets:
        made = " ".join(f"--target {t}" for t in saved.targets) or "no --target"
        out.append(f"the plan was made with {made}: give apply the same --target options")
    facts = sorted(k for k in set(saved.facts) | set(fresh.facts) if saved.facts.get(k) != fresh.facts.get(k))
    if facts:
        shown = ", ".join(_fact_label(k) for k in facts[:5])
        more = f" and {len(facts) - 5} more" if len(facts) > 5 else ""
        out.append(f"the live state it rests on has changed ({shown}{more})")
    return out
