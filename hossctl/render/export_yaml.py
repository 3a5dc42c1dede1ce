"""Turning live servers into a version-1 config that plans to "No changes.".

This is how a team adopts hossctl: the namespaces they configured by hand become a config
in git. Everything here is pure; ``commands/export.py`` reads the live state through the same
reader as ``plan``, so what export writes is exactly what plan will compare against.

The output must be byte-identical for the same live state (re-exporting has to make a clean
diff), so nothing depends on dict order, timing or the order the server returned rows in, and
the header names the servers but carries no timestamp. Credentials are never written: only
the *name* of a non-default PAT variable.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from hossctl.config.structure import name_problem
from hossctl.errors import HossctlError
from hossctl.plan.model import DEFAULT_PAT_ENV
from hossctl.plan.snapshot import LiveNamespace, LiveSyncTarget, Snapshot
from hossctl.sanitize import needs_escape, printable
from hossctl.syncpolicy import canonical
from hossctl.urls import InvalidURL, base_url, normalise_core_url

# The schema's ``$id``; ``hossctl schema`` prints the same document for offline editors.
_SERVER_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYNC_TYPES = ("simplex", "duplex")


@dataclass(frozen=True)
class ExportSource:
    """One ``--server KEY=URL`` with its credential variable."""

    key: str
    url: str  # base URL, canonical
    core_url: str
    pat_env: str = DEFAULT_PAT_ENV
    auth_url: str | None = None
    allow_insecure_http: bool = False


@dataclass(frozen=True)
class ExportResult:
    text: str
    warnings: tuple[str, ...] = ()


def parse_sources(
    servers: Sequence[str],
    pat_envs: Sequence[str] = (),
    auth_urls: Sequence[str] = (),
    allow_insecure_http: bool = False,
) -> tuple[ExportSource, ...]:
    """Parse the ``--server`` and ``--pat-env`` options, sorted by key.

    Every mistake is one sentence naming the option, so the user never sees a traceback.
    """
    if not servers:
        raise HossctlError("Give at least one server to export with --server KEY=URL.")
    urls: dict[str, str] = {}
    for raw in servers:
        key, url = _split_pair(raw, "--server", "KEY=URL")
        if not _SERVER_KEY.fullmatch(key):
            raise HossctlError(
                f"--server {raw!r}: the key {key!r} must match [a-z0-9][a-z0-9_-]* "
                "(lower-case letters, digits, '_' and '-')."
            )
        if key in urls:
            raise HossctlError(f"--server: the key {key!r} is given twice; give each server a unique key.")
        if any(ch.isspace() or ord(ch) < 32 for ch in url):
            raise HossctlError(
                f"--server {key}=...: the URL must not contain whitespace or control characters."
            )
        try:
            core = normalise_core_url(url)
        except InvalidURL:
            raise HossctlError(
                f"--server {key}=...: {url!r} is not an http(s) URL; give the server's base URL, "
                "for example https://hoss.example.org."
            ) from None
        for other, other_url in urls.items():
            if normalise_core_url(other_url) == core:
                raise HossctlError(
                    f"--server: the keys {other!r} and {key!r} name the same server {base_url(core)}; "
                    "give it once."
                )
        urls[key] = url
    envs: dict[str, str] = {}
    for raw in pat_envs:
        key, var = _split_pair(raw, "--pat-env", "KEY=VAR")
        if key not in urls:
            raise HossctlError(f"--pat-env {raw!r}: {key!r} is not a key given with --server.")
        if key in envs:
            raise HossctlError(f"--pat-env: the key {key!r} is given twice.")
        if not _ENV_NAME.fullmatch(var):
            raise HossctlError(f"--pat-env {key}=...: {var!r} is not a valid environment variable name.")
        envs[key] = var
    auths: dict[str, str] = {}
    for raw in auth_urls:
        key, url = _split_pair(raw, "--auth-url", "KEY=URL")
        if key not in urls:
            raise HossctlError(f"--auth-url {raw!r}: {key!r} is not a key given with --server.")
        try:
            normalise_core_url(url)
        except InvalidURL:
            raise HossctlError(f"--auth-url {key}=...: {url!r} is not an http(s) URL.") from None
        auths[key] = url.rstrip("/")
    return tuple(
        ExportSource(
            key=key,
            url=base_url(urls[key]),
            core_url=normalise_core_url(urls[key]),
            pat_env=envs.get(key, DEFAULT_PAT_ENV),
            auth_url=auths.get(key),
            allow_insecure_http=allow_insecure_http,
        )
        for key in sorted(urls)
    )


def _split_pair(raw: str, option: str, form: str) -> tuple[str, str]:
    key, sep, value = raw.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise HossctlError(f"{option} {raw!r} is not of the form {form}.")
    return key, value


def render_export(sources: Sequence[ExportSource], snapshot: Snapshot) -> ExportResult:
    """The config text for ``sources`` as they stand in ``snapshot``, plus warnings.

    A namespace the config language cannot express faithfully is left out with a warning
    rather than written half-right: left out and with ``prune`` false, plan leaves it alone,
    while a wrong declaration would make plan propose changing live state.
    """
    ordered = sorted(sources, key=lambda s: s.key)
    by_core = {s.core_url: s.key for s in ordered}
    warnings: list[str] = []
    skipped: set[tuple[str, str]] = set()
    for source in ordered:
        state = snapshot.server(source.key)
        if state is None:
            raise HossctlError(f"Server {source.key!r} is missing from the live state that was read.")
        for name in sorted(state.namespaces):
            reason = _unmanageable(source, state.namespaces[name], by_core)
            if reason:
                skipped.add((source.key, name))
                warnings.append(f"{source.key}: namespace {name!r} left out: {reason}")
    for (server, name), (other, other_name) in _disagreeing_duplex(
        _links(ordered, snapshot, by_core, skipped)
    ):
        for key, ns in ((server, name), (other, other_name)):
            if (key, ns) not in skipped:
                skipped.add((key, ns))
                warnings.append(
                    f"{key}: namespace {ns!r} left out: the link {server}/{name} <-> {other}/{other_name} "
                    "is duplex on one end and simplex on the other; make both ends the same type, "
                    "then export again."
                )
    live_links = _links(ordered, snapshot, by_core, set())
    for server, name, other, other_name in _one_sided_duplex(
        _links(ordered, snapshot, by_core, skipped), live_links
    ):
        warnings.append(
            f"{server}: namespace {name!r} syncs duplex to {other}/{other_name}, which has no sync row "
            "back; the duplex link is half set up, and plan will propose adding the missing row."
        )

    servers_doc: dict[str, Any] = {}
    notes: list[str] = []
    for source in ordered:
        state = snapshot.servers[source.key]
        server_doc: dict[str, Any] = {"url": source.url}
        if source.pat_env != DEFAULT_PAT_ENV:
            server_doc["pat_env"] = source.pat_env
        if source.auth_url is not None:
            server_doc["auth_url"] = source.auth_url
        if source.allow_insecure_http:
            server_doc["allow_insecure_http"] = True
        namespaces: dict[str, Any] = {}
        for name in sorted(state.namespaces):
            if (source.key, name) not in skipped:
                live_ns = state.namespaces[name]
                namespaces[name] = _namespace_doc(live_ns, by_core)
                datasets, why_not = _datasets_doc(live_ns)
                if datasets is not None:
                    namespaces[name]["datasets"] = datasets
                elif why_not is not None:
                    notes.append(f"{source.key}/{name}: datasets sync left unmanaged: {why_not}")
        server_doc["namespaces"] = namespaces
        servers_doc[source.key] = server_doc

    # A comment holds no escapes, so the header shows the URLs as ``printable`` does: a C1
    # control there would make the file unreadable as YAML, and a bidi override would
    # reorder the header on the terminal that ``export`` without ``-o`` prints to.
    header = [
        "# Exported by `hossctl export` from: "
        + ", ".join(f"{s.key} = {printable(s.url)}" for s in ordered),
        *(f"# {printable(note)}" for note in notes),
    ]
    body = yaml.dump(
        {"version": 1, "servers": servers_doc},
        Dumper=_Dumper,
        sort_keys=False,  # insertion order above is already sorted, with `version` first
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
        indent=2,
    )
    return ExportResult("\n".join(header) + "\n" + _escape_format_characters(body), tuple(warnings))


_FORMAT_CHARACTERS = re.compile(r"[\u00a0-\U0010ffff]")


def _escape_format_characters(body: str) -> str:
    """Escape, in YAML's double-quoted syntax, the invisible characters PyYAML writes raw.

    With ``allow_unicode`` the emitter escapes C0, C1, DEL, surrogates, NEL, LS, PS and the
    BOM, but writes bidi overrides and zero-width characters as they are: valid YAML, but
    ``export`` without ``-o`` prints it on a terminal, where U+202E reverses the rest of the
    line. ``_represent_str`` double-quotes every string that holds one (none is printable),
    and the emitter never writes one as part of an escape of its own, so ``\\uNNNN`` in its
    place reads back as the same character.
    """

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if not needs_escape(char):
            return char
        code = ord(char)
        return f"\\u{code:04X}" if code < 0x10000 else f"\\U{code:08X}"

    return _FORMAT_CHARACTERS.sub(escape, body)


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, and double-quotes strings YAML would otherwise fold.

    PyYAML emits NEL, LS, PS and some control characters raw in plain or single-quoted
    scalars, where a YAML reader turns them into line breaks or spaces; the double-quoted
    style escapes them, so every live value reads back byte for byte.
    """

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # List items indented under their key, as in the README's examples.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None if value.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _unmanageable(source: ExportSource, ns: LiveNamespace, by_core: Mapping[str, str]) -> str | None:
    if name_problem(ns.name) is not None:
        return "its name is not a valid URL path segment, so no tool can address it; rename it by hand."
    for row in ns.sync:
        target = _target_of(row, by_core)
        if target is None:
            return (
                f"its sync target {row.target_core_service!r} is not an http(s) URL; "
                "remove that sync row by hand, then export again."
            )
        if row.sync_type not in _SYNC_TYPES:
            return (
                f"its sync target {target} has type {row.sync_type!r} (only simplex or duplex can be "
                "declared); fix that sync row by hand, then export again."
            )
        if name_problem(row.target_namespace) is not None:
            return (
                f"its sync target namespace {row.target_namespace!r} is not a valid URL path segment; "
                "remove that sync row by hand, then export again."
            )
        if target == source.key and row.target_namespace == ns.name:
            return "it syncs to itself; remove that sync row by hand, then export again."
    return None


def _target_of(row: LiveSyncTarget, by_core: Mapping[str, str]) -> str | None:
    """A server key when the target is an exported server, else its canonical core URL."""
    try:
        core = normalise_core_url(row.target_core_service)
    except InvalidURL:
        return None
    return by_core.get(core, core)


def _namespace_doc(ns: LiveNamespace, by_core: Mapping[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "description": ns.description,
        "object_store": ns.object_store,
        "bucket": ns.bucket,
    }
    entries = sorted(
        {_sync_entry(row, by_core) for row in ns.sync},
        key=lambda e: (e[0], e[1], e[2]),
    )
    if len(entries) > 1:
        doc["allow_multiple_sync_targets"] = True
    if entries:
        doc["sync"] = [_sync_doc(ns.name, target, target_ns, kind) for target, target_ns, kind in entries]
    return doc


def _datasets_doc(ns: LiveNamespace) -> tuple[dict[str, Any] | None, str | None]:
    """``datasets:`` for a namespace whose visible datasets all share one sync state.

    None with a reason (for a comment) where they differ, where that one state breaks the rule
    a plan would then block on (docs/hoss-server.md §8.4), or where they could not be read; None
    without one where there is nothing to go by (no visible dataset).
    """
    if ns.datasets is None:
        # Not read (None) says nothing; a failed read is worth a comment.
        failed = ns.datasets_error
        return None, f"its datasets could not be read ({failed})" if failed else None
    live = [d for d in ns.datasets if not d.deleting]
    if not live:
        return None, None
    states = Counter(
        (d.sync_type, canonical(d.sync_policy)) if d.sync_enabled else ("off", None) for d in live
    )
    if len(states) > 1:
        kinds = Counter(kind for kind, _ in states.elements())
        shown = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        same_type = len(kinds) == 1
        return None, f"its datasets differ ({shown}{', with different policies' if same_type else ''})"
    ((kind, policy),) = states
    if kind not in ("off", "simplex", "duplex"):
        return None, f"its datasets sync with type {kind!r}, which cannot be declared"
    offered = max((2 if r.sync_type == "duplex" else 1 for r in ns.sync), default=0)
    needed = {"off": 0, "simplex": 1, "duplex": 2}[kind]
    if needed > offered:
        has = "no sync target" if offered == 0 else "only simplex sync targets"
        return None, f"its datasets all sync {kind}, but the namespace has {has}"
    doc: dict[str, Any] = {"sync": kind}
    if policy is not None and policy != canonical(""):
        doc["policy"] = json.loads(policy)
    return doc, None


def _sync_entry(row: LiveSyncTarget, by_core: Mapping[str, str]) -> tuple[str, str, str]:
    target = _target_of(row, by_core)
    assert target is not None  # rows without a URL target are left out by _unmanageable
    return target, row.target_namespace, row.sync_type


def _sync_doc(name: str, target: str, target_ns: str, sync_type: str) -> dict[str, str]:
    doc = {"target": target}
    if target_ns != name:
        doc["namespace"] = target_ns
    doc["type"] = sync_type
    return doc


_Link = tuple[str, str, str, str]  # source server, source namespace, target server, target namespace


def _links(
    sources: Sequence[ExportSource],
    snapshot: Snapshot,
    by_core: Mapping[str, str],
    skipped: set[tuple[str, str]],
) -> dict[_Link, str]:
    """Sync rows between exported servers, with their type, leaving out skipped namespaces."""
    rows: dict[_Link, str] = {}
    for source in sources:
        for name, ns in snapshot.servers[source.key].namespaces.items():
            if (source.key, name) in skipped:
                continue
            for row in ns.sync:
                target = _target_of(row, by_core)
                if target is not None and target in by_core.values():
                    rows[(source.key, name, target, row.target_namespace)] = row.sync_type
    return rows


def _disagreeing_duplex(rows: Mapping[_Link, str]) -> Iterable[tuple[tuple[str, str], tuple[str, str]]]:
    """Pairs of exported namespaces whose link is duplex on one end and simplex on the other.

    The config language refuses such a pair (it cannot be written truthfully), so both ends
    are left out; each pair is reported once, from its lexically smaller end.
    """
    for (server, name, other, other_name), sync_type in sorted(rows.items()):
        back = rows.get((other, other_name, server, name))
        if (
            back is not None
            and (server, name) < (other, other_name)
            and (sync_type == "duplex") != (back == "duplex")
        ):
            yield (server, name), (other, other_name)


def _one_sided_duplex(declared: Mapping[_Link, str], live: Mapping[_Link, str]) -> Iterable[_Link]:
    """Declared duplex links whose reverse row is missing on the (exported) target server.

    Declared as they are, since the missing row is a real defect (nothing syncs back), and
    plan will propose adding it; the warning says so before the user is surprised.
    """
    for (server, name, other, other_name), sync_type in sorted(declared.items()):
        if sync_type == "duplex" and (other, other_name, server, name) not in live:
            yield server, name, other, other_name
