"""The imperative shell of ``plan``: read live state, let the pure planner decide, return both.

Datasets are read before the one diff: every namespace's on servers whose token sees them all
(the dataset sync drift warnings), or with ``--no-drift`` only those of managed ``datasets``
blocks, then a second round for any namespace the diff puts at risk that was not read yet.
Listing datasets costs a request per namespace and a ``PUT /user/sync`` first.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hossctl.errors import HossctlError
from hossctl.live.client import ClientOptions, HossClient, endpoint_of, open_clients, run
from hossctl.live.reader import read_datasets, read_scope, read_snapshot
from hossctl.plan import checks, planner
from hossctl.plan.changes import Plan, PlanOptions
from hossctl.plan.model import Config
from hossctl.plan.snapshot import Snapshot
from hossctl.render.progress import NO_PROGRESS, Progress
from hossctl.sanitize import printable

ADMIN_ROLES = frozenset({"admin", "service"})


async def require_admin_role(
    clients: Mapping[str, HossClient], servers: Iterable[str], *, why: str = "plan changes"
) -> None:
    """Refuse, before any dataset read or write, a server whose token is not admin (or service).

    Such a token could plan only half-truths: dataset lists show only what its groups can
    see (§8.1), so a namespace full of other people's data would pass ``namespace-not-empty``,
    and the server would refuse its writes anyway (§2.5). Reading with it is fine, so a server
    with nothing to change or check needs no admin.
    """
    for key in sorted(set(servers)):
        client = clients.get(key)
        if client is None:
            continue
        role = await client.role()
        if role in ADMIN_ROLES:
            continue
        has = f"role {role[:40]!r}" if role is not None else "no role claim"
        planning = why == "plan changes"
        what = "changes to plan" if planning else "datasets whose sync the config manages"
        doing = "planning changes" if planning else "managing dataset sync"
        raise HossctlError(
            f"server '{key}' has {what}, but its token has {has}, and {doing} needs "
            "role 'admin' (or 'service'), the only roles that see every dataset and may write: "
            f"use the PAT of a user with the admin role in ${client.pat_env}"
        )


@dataclass(frozen=True)
class PlanRun:
    """A plan and the live state it was made from (apply compares two of them after its prompt)."""

    snapshot: Snapshot
    plan: Plan


async def compute_plan(
    config: Config,
    clients: Mapping[str, HossClient],
    *,
    parallelism: int = 16,
    options: PlanOptions | None = None,
    progress: Progress = NO_PROGRESS,
    ca_bundle: str | None = None,
) -> PlanRun:
    """Read, diff, read the datasets the checks need, plan; ``progress`` counts every read.

    ``ca_bundle`` is the one the clients were opened with, for the probe of unmanaged targets.
    """
    options = options or PlanOptions()
    check_targets(config, options.targets)
    progress.phase(reading_label(config))
    snapshot = await read_snapshot(
        read_scope(config), clients, parallelism=parallelism, ca_bundle=ca_bundle, progress=progress
    )
    # Dataset sync is planned from the datasets, and checked for drift on every server whose
    # token sees them all; so they are read before the one diff of the plan.
    managed = _managed_datasets(config)
    await require_admin_role(clients, {key for key, _ in managed}, why="manage dataset sync")
    notes: list[str] = []
    everything: set[tuple[str, str]] = set()
    for key, state in sorted(snapshot.servers.items()):
        client = clients.get(key)
        if client is None:
            continue
        if not options.drift:  # only what the plan itself rests on
            everything.update(ref for ref in managed if ref[0] == key and ref[1] in state.namespaces)
            continue
        role = await client.role()
        if role in ADMIN_ROLES:
            everything.update((key, name) for name in state.namespaces)
        elif state.namespaces:
            notes.append(
                f"Dataset sync drift was not checked on server {key!r}: its token has role "
                f"{printable((role or 'none')[:40])!r}, which sees only its own groups' datasets."
            )
    if everything:
        progress.phase(f"Reading datasets on {', '.join(sorted({key for key, _ in everything}))}")
        snapshot = await read_datasets(
            snapshot, clients, everything, parallelism=parallelism, progress=progress
        )
    changes = planner.narrow(planner.diff(config, snapshot), options.targets)
    needs = checks.dataset_reads_needed(changes) - everything
    await require_admin_role(clients, {c.server for c in changes} | {key for key, _ in needs})
    if needs:  # only where the role check above let it through: the read is then complete
        snapshot = await read_datasets(snapshot, clients, needs, parallelism=parallelism, progress=progress)
    plan = planner.make_plan(config, snapshot, options, changes=changes, notes=notes)
    return PlanRun(snapshot=snapshot, plan=plan)


def _managed_datasets(config: Config) -> set[tuple[str, str]]:
    """The (server, namespace) pairs whose ``datasets`` block manages their datasets' sync."""
    return {
        (server.key, ns.name)
        for server in config.servers
        for ns in server.namespaces
        if ns.ensure == "present" and ns.datasets.managed
    }


def check_targets(config: Config, targets: Sequence[str]) -> None:
    """Every ``--target`` names a server of the config (a namespace may not exist yet)."""
    keys = [server.key for server in config.servers]
    for target in targets:
        server, _, namespace = target.partition("/")
        if server not in keys or (not namespace and "/" in target):
            raise HossctlError(
                f"--target {target!r} names no server of the config: give SERVER or SERVER/NAMESPACE "
                f"with one of {', '.join(keys)}"
            )


def reading_label(config: Config) -> str:
    """``Reading onprem, cloud`` (server keys are ``[a-z0-9_-]``, safe to print)."""
    return f"Reading {', '.join(server.key for server in config.servers)}"


async def _plan_with_clients(
    config: Config,
    *,
    parallelism: int,
    options: PlanOptions,
    client_options: ClientOptions,
    progress: Progress = NO_PROGRESS,
) -> PlanRun:
    async with open_clients(map(endpoint_of, config.servers), client_options) as clients:
        return await compute_plan(
            config,
            clients,
            parallelism=parallelism,
            options=options,
            progress=progress,
            ca_bundle=client_options.ca_bundle,
        )


def run_plan(
    config: Config,
    *,
    parallelism: int = 16,
    options: PlanOptions | None = None,
    client_options: ClientOptions | None = None,
    progress: Progress = NO_PROGRESS,
) -> PlanRun:
    """Synchronous entry point for the CLI."""
    client_options = client_options or ClientOptions(connections=parallelism)
    return run(  # asyncio.run, without formatting the plan it returns (see live.client.run)
        _plan_with_clients(
            config,
            parallelism=parallelism,
            options=options or PlanOptions(),
            client_options=client_options,
            progress=progress,
        )
    )


def transport_notices(config: Config) -> list[str]:
    """What a plan says on its first line: servers whose credentials cross the network unencrypted."""
    from hossctl.live.auth import insecure_notice

    notices = (insecure_notice(s.key, s.url, s.allow_insecure_http) for s in config.servers)
    return [notice for notice in notices if notice is not None]


def _write(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def _refuse_config_as_out(out: str, sources: Sequence[str]) -> None:
    """Refuse, before any network, an ``--out`` that is one of the config files.

    Saving there would replace the desired state with a plan of it: the next plan would
    read JSON as config, and with ``prune: true`` the lost declarations look like
    namespaces to delete. A symlink or hard link to the file counts as the file.
    """
    real = os.path.realpath(out)
    for source in sources:
        same = real == source
        if not same and os.path.exists(out) and os.path.exists(source):
            try:
                same = os.path.samefile(out, source)
            except OSError:
                same = False
        if same:
            raise HossctlError(
                f"--out {out} is one of the config files being planned ({source}); saving the plan there "
                "would overwrite the config: choose another path for --out"
            )


def plan_command(
    paths: Sequence[str],
    *,
    output: str = "text",
    conflicting_outputs: bool = False,
    out: str | None = None,
    detailed_exitcode: bool = False,
    parallelism: int = 16,
    options: PlanOptions | None = None,
    client_options: ClientOptions | None = None,
) -> int:
    """Everything ``hossctl plan`` does after option parsing; returns the exit code.

    A plan with error violations is still printed in full (reviewers need to see why),
    but it is not saved, and the exit code is 1. With ``--json`` an invalid config still
    gives one JSON document on stdout, the diagnostics of ``validate --json``, so a CI
    step that parses stdout has something to parse in every case it can act on.
    """
    from hossctl.config.loader import ConfigError, load_config
    from hossctl.plan import planfile
    from hossctl.render import text as render
    from hossctl.render.progress import status_line
    from hossctl.render.terminal import use_color
    from hossctl.sanitize import markdown_text

    if conflicting_outputs:
        raise HossctlError("--json and --markdown cannot be combined: choose one output format")
    try:
        config = load_config(list(paths))
    except ConfigError as exc:
        if output == "json":
            from hossctl.render.diagnostics_json import render as render_diagnostics

            _write(render_diagnostics(exc.diagnostics, None))
        raise
    if out:
        _refuse_config_as_out(out, config.sources)
    for warning in config.warnings:
        _write(str(warning), err=True)
    with status_line(sys.stderr, reading_label(config), "reads") as progress:
        run = run_plan(
            config,
            parallelism=parallelism,
            options=options,
            client_options=client_options,
            progress=progress,
        )
    plan = run.plan
    notices = transport_notices(config)
    if output == "json":
        text = render.render_json(plan)
        for notice in notices:  # stdout holds exactly one JSON document
            _write(notice, err=True)
    elif output == "markdown":
        text = "".join(f"> **{markdown_text(n)}**\n\n" for n in notices) + render.render_markdown(plan)
    else:
        color = use_color(sys.stdout)
        text = "".join(f"{printable(n)}\n\n" for n in notices) + render.render_text(plan, color=color)
    _write(text)
    errors = plan.errors
    if errors:
        count = len(errors)
        not_saved = f"; {printable(out)} was not written" if out else ""
        _write(
            f"Error: the plan has {count} safety violation{'s' if count != 1 else ''}{not_saved}: "
            "resolve them (see above) and plan again.",
            err=True,
        )
        return 1
    if out:
        servers = {server.key: (server.url, server.pat_env) for server in config.servers}
        from hossctl.plan.fingerprint import config_digest

        planfile.save(out, plan, servers, config_digest=config_digest(config), config_files=list(paths))
        shown = printable(out)
        _write(f"Saved the plan to {shown}; apply it with: hossctl apply {shown}", err=True)
    if detailed_exitcode and plan.has_changes:
        return 2
    return 0
