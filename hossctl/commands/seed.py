"""``hossctl sandbox --seed FILE``: a sandbox that starts as a copy of one server of a config.

The file is any valid config, typically what ``hossctl export`` wrote of production, so that a
CI job can plan and apply config changes against stand-ins without production credentials.
Namespaces declared present are created as declared; their sync rows are created exactly as
declared, except that a target naming another server of the file is re-pointed to the URL given
for it with ``--seed-url`` (the sandbox standing in for that server). Datasets are not in a
config, so a seeded sandbox has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hossctl.errors import HossctlError
from hossctl.plan.model import Config, Server
from hossctl.plan.snapshot import LiveDataset
from hossctl.urls import InvalidURL, normalise_core_url

if TYPE_CHECKING:
    from hossctl.sandbox import Sandbox


@dataclass(frozen=True)
class SeedNamespace:
    name: str
    description: str
    object_store: str
    bucket: str
    sync: tuple[tuple[str, str, str], ...]  # (target core URL, target namespace, type)
    datasets: tuple[LiveDataset, ...] = ()  # a config has none; a rehearsal copies them


def choose_server(config: Config, key: str | None) -> Server:
    keys = [server.key for server in config.servers]
    if key is None:
        if len(keys) == 1:
            return config.servers[0]
        raise HossctlError(
            f"the seed file declares {len(keys)} servers ({', '.join(keys)}): choose one with --seed-server"
        )
    for server in config.servers:
        if server.key == key:
            return server
    raise HossctlError(
        f"--seed-server {key!r} is not a server of the seed file; it declares {', '.join(keys)}"
    )


def parse_seed_urls(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=URL`` pairs into canonical core URLs by server key."""
    urls: dict[str, str] = {}
    for pair in pairs:
        key, sep, url = pair.partition("=")
        if not sep or not key or not url:
            raise HossctlError(f"--seed-url {pair!r}: give KEY=URL, e.g. cloud=http://127.0.0.1:8002")
        try:
            urls[key] = normalise_core_url(url)
        except InvalidURL:
            raise HossctlError(f"--seed-url {pair!r}: {url!r} is not an http(s) URL") from None
    return urls


def seed_of(server: Server, own_core_url: str, stand_ins: Mapping[str, str]) -> list[SeedNamespace]:
    """What to create for ``server``: its present namespaces, with targets re-pointed.

    A target that names this same server goes to ``own_core_url``; one naming another server of
    the file goes to its stand-in, and without one it keeps the URL the file gives, so that the
    rows are exactly what the file declares.
    """
    out: list[SeedNamespace] = []
    for ns in server.namespaces:
        if ns.ensure != "present":
            continue
        rows = []
        for target in ns.sync:
            url = target.core_url
            if target.target_server == server.key:
                url = own_core_url
            elif target.target_server is not None and target.target_server in stand_ins:
                url = stand_ins[target.target_server]
            rows.append((url, target.namespace, target.type))
        out.append(SeedNamespace(ns.name, ns.description, ns.object_store, ns.bucket, tuple(rows)))
    return out


def object_stores_of(server: Server) -> tuple[str, ...]:
    """The object stores the seeded namespaces live in: the sandbox must offer each."""
    return tuple(sorted({ns.object_store for ns in server.namespaces if ns.ensure == "present"}))


def apply_seed(sandbox: Sandbox, seed: Sequence[SeedNamespace]) -> int:
    """Create the seed in a started sandbox; returns how many namespaces it created or replaced.

    A namespace the sandbox already holds as declared is kept (seeding a persisted sandbox again
    is harmless); one that differs (the bootstrap ``default``, typically) is replaced.
    """
    live = {row["name"]: row for row in sandbox.namespaces()}
    changed = 0
    for ns in seed:
        row = live.get(ns.name)
        same = row is not None and (row["description"], row["object_store"], row["bucket_name"]) == (
            ns.description,
            ns.object_store,
            ns.bucket,
        )
        if row is not None and not same:
            sandbox.delete_namespace(ns.name)
        if not same:
            sandbox.seed_namespace(ns.name, ns.description, ns.object_store, ns.bucket)
            changed += 1
        present = {
            (r["target_core_service"], r["target_namespace"]) for r in sandbox.sync_targets(ns.name)
        }
        for url, target_ns, sync_type in ns.sync:
            if (url, target_ns) not in present:
                sandbox.seed_sync(ns.name, url, target_ns, sync_type)
        held = {d["name"] for d in sandbox.datasets(ns.name)}
        for dataset in ns.datasets:
            if dataset.name not in held:
                sandbox.seed_dataset(
                    ns.name,
                    dataset.name,
                    sync_enabled=dataset.sync_enabled,
                    sync_type=dataset.sync_type,
                    delete_status=dataset.delete_status,
                )
    return changed
