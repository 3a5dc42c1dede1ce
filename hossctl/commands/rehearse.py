"""``hossctl rehearse -f CONFIG``: apply the config for real, to sandbox copies of the live servers.

``plan`` predicts; a rehearsal finds out. It reads every managed server (read-only, like
``export``: no ``PUT /user/sync`` either), starts one in-process sandbox per server seeded with
what it read (namespaces, sync rows re-pointed to the stand-ins, datasets with their sync flags
and delete status), applies the config to the sandboxes exactly as ``apply`` would, and plans
again. What it catches that a plan cannot: an order that fails mid-apply, a duplex row that does
not verify, a check that only trips on a change's own precondition. Production is never written.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hossctl.commands.environment import temporary_environment
from hossctl.commands.seed import SeedNamespace, apply_seed
from hossctl.errors import HossctlError
from hossctl.live.client import run
from hossctl.plan.changes import PlanOptions
from hossctl.plan.model import Config, Namespace
from hossctl.plan.snapshot import LiveNamespace, Snapshot
from hossctl.values import replace

if TYPE_CHECKING:
    from hossctl.apply.executor import ApplyResult
    from hossctl.live.client import ClientOptions
    from hossctl.plan.changes import Plan
    from hossctl.sandbox import Sandbox

# A scheduled delete stays scheduled during the rehearsal, as the snapshot showed it.
_KEEP_SCHEDULED_S = 24 * 3600.0


@dataclass(frozen=True)
class Rehearsal:
    plan: Plan
    applied: ApplyResult | None  # None when the plan's checks blocked it, as apply would refuse
    after: Plan | None  # the plan against the sandboxes after the apply


def stand_in_config(config: Config, urls: Mapping[str, str], pat_envs: Mapping[str, str]) -> Config:
    """The config aimed at the stand-ins: each server's URL and PAT variable, and every sync target
    that names a managed server re-pointed to that server's stand-in."""
    from hossctl.urls import normalise_core_url

    cores = {key: normalise_core_url(url) for key, url in urls.items()}

    def namespace(ns: Namespace) -> Namespace:
        sync = tuple(
            replace(t, core_url=cores[t.target_server]) if t.target_server in cores else t for t in ns.sync
        )
        return replace(ns, sync=sync)

    servers = tuple(
        replace(
            server,
            url=urls[server.key],
            core_url=cores[server.key],
            pat_env=pat_envs[server.key],
            auth_url=None,
            allow_insecure_http=False,
            namespaces=tuple(namespace(ns) for ns in server.namespaces),
        )
        for server in config.servers
    )
    return replace(config, servers=servers)


def _stand_in(core_url: str, cores: Mapping[str, str]) -> str:
    return cores.get(core_url, core_url)


def copy_of(live: Mapping[str, LiveNamespace], cores: Mapping[str, str]) -> list[SeedNamespace]:
    """What a stand-in is seeded with: the live namespaces, rows between managed servers re-pointed
    (``cores`` maps a live core URL to its stand-in's), and their datasets."""
    return [
        SeedNamespace(
            ns.name,
            ns.description,
            ns.object_store,
            ns.bucket,
            tuple(
                (_stand_in(row.target_core_service, cores), row.target_namespace, row.sync_type)
                for row in ns.sync
            ),
            ns.datasets or (),
        )
        for ns in (live[name] for name in sorted(live))
    ]


async def _read_production(config: Config, options: ClientOptions, parallelism: int) -> Snapshot:
    from hossctl.live.client import endpoint_of, open_clients
    from hossctl.live.reader import read_datasets, read_scope, read_snapshot

    async with open_clients(map(endpoint_of, config.servers), options) as clients:
        snapshot = await read_snapshot(
            read_scope(config), clients, parallelism=parallelism, ca_bundle=options.ca_bundle
        )
        everything = [(key, name) for key, state in snapshot.servers.items() for name in state.namespaces]
        return await read_datasets(
            snapshot, clients, everything, parallelism=parallelism, refresh_groups=False
        )


async def _rehearse_on(config: Config, options: PlanOptions, parallelism: int) -> Rehearsal:
    from hossctl.apply.executor import execute
    from hossctl.commands.plan import compute_plan
    from hossctl.live.client import ClientOptions, endpoint_of, open_clients

    client_options = ClientOptions(connections=parallelism)
    async with open_clients(map(endpoint_of, config.servers), client_options) as clients:
        planned = (await compute_plan(config, clients, parallelism=parallelism, options=options)).plan
        if planned.errors:
            return Rehearsal(planned, None, None)
        applied = await execute(planned, clients, parallelism=parallelism)
        after = (await compute_plan(config, clients, parallelism=parallelism, options=options)).plan
        return Rehearsal(planned, applied, after)


def rehearse(
    config: Config,
    *,
    options: PlanOptions,
    client_options: ClientOptions,
    parallelism: int = 16,
) -> Rehearsal:
    """Read production, seed one sandbox per server, apply there and plan again."""
    from hossctl.sandbox import Sandbox

    snapshot = run(_read_production(config, client_options, parallelism))
    unread = [
        (key, ns.name, ns.datasets_error)
        for key, state in snapshot.servers.items()
        for ns in state.namespaces.values()
        if ns.datasets is None
    ]
    if unread:  # a copy without those datasets would pass checks that production fails
        key, name, why = unread[0]
        raise HossctlError(
            f"could not read the datasets of {len(unread)} namespace(s), e.g. {key}/{name} "
            f"({why or 'not addressable'}), so their copies would look empty: fix the server's answers "
            "or the token's access, then rehearse again"
        )
    with ExitStack() as stack:
        sandboxes: dict[str, Sandbox] = {}
        for server in config.servers:
            state = snapshot.servers[server.key]
            stores = state.object_stores or ("default",)
            # No dataset sync pauses: the copies have no sync service to order messages for, and the
            # apply never enables dataset sync, so a pause could only slow a stray PUT down.
            sandbox = Sandbox(
                host="127.0.0.1",
                port=0,
                object_stores=stores,
                delete_delay=_KEEP_SCHEDULED_S,
                dataset_sync_delay=0,
            )
            sandbox.start()
            stack.callback(sandbox.stop)
            sandboxes[server.key] = sandbox
        cores = {snapshot.servers[key].core_url: sandbox.core_url for key, sandbox in sandboxes.items()}
        for key, sandbox in sandboxes.items():
            apply_seed(sandbox, copy_of(snapshot.servers[key].namespaces, cores))
        variables = {key: f"HOSSCTL_REHEARSAL_{secrets.token_hex(4).upper()}" for key in sandboxes}
        rehearsal = stand_in_config(config, {key: sb.url for key, sb in sandboxes.items()}, variables)
        with temporary_environment({variables[key]: sb.admin_pat for key, sb in sandboxes.items()}):
            return run(_rehearse_on(rehearsal, options, parallelism))


def verdict(result: Rehearsal) -> tuple[int, str]:
    """The exit code and the one sentence that ends the report."""
    if result.applied is None:
        return 1, "Rehearsal: the plan's safety checks block it, so apply would refuse it; nothing applied."
    failed = [r for r in result.applied.results if r.status != "done"]
    if failed:
        names = ", ".join(f"{r.change.id} ({r.status})" for r in failed[:5])
        return 1, f"Rehearsal: the apply did not converge: {len(failed)} change(s) not done: {names}."
    if result.after is not None and result.after.changes:
        return 1, (
            f"Rehearsal: the apply finished, but planning again still shows {len(result.after.changes)} "
            "change(s): a second apply would be needed."
        )
    return 0, "Rehearsal: the apply converged in one run, and planning again shows no changes."


def rehearse_command(
    paths: Sequence[str],
    *,
    options: PlanOptions,
    client_options: ClientOptions,
    parallelism: int,
) -> int:
    import sys

    import click

    from hossctl.config.loader import load_config
    from hossctl.render.text import render_text

    config = load_config(paths)
    result = rehearse(config, options=options, client_options=client_options, parallelism=parallelism)
    click.echo(render_text(result.plan).rstrip("\n"))
    if result.applied is not None:
        done = sum(1 for r in result.applied.results if r.status == "done")
        click.echo(f"\nApplied to the stand-ins: {done} of {len(result.applied.results)} change(s) done.")
    code, sentence = verdict(result)
    click.echo(sentence, err=code != 0)
    click.echo("Production servers were only read.")
    sys.stdout.flush()
    return code
