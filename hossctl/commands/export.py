"""The imperative shell of ``hossctl export``: read the live servers, hand them to the renderer.

It reads through the same reader as ``plan``, so what export writes is exactly what plan will
compare against.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hossctl.live.client import ClientOptions, Endpoint, open_clients, run
from hossctl.live.reader import ReadScope, read_datasets, read_snapshot
from hossctl.plan.snapshot import Snapshot
from hossctl.render.export_yaml import ExportResult, ExportSource, render_export
from hossctl.render.progress import status_line


def export_servers(
    sources: Sequence[ExportSource],
    *,
    parallelism: int = 16,
    client_options: ClientOptions | None = None,
) -> ExportResult:
    """Read the live servers and render them; a status line on a terminal's stderr counts the
    reads, since a large server takes many seconds. Export declares no sync target of its own,
    so no unmanaged target is probed. Datasets are read for ``datasets.sync`` without
    ``PUT /user/sync`` first: export writes nothing to a server, not even that, so a token
    core has never seen may see fewer datasets than a plan will (docs/hoss-server.md §8.1)."""
    options = client_options or ClientOptions(connections=parallelism)
    endpoints = [Endpoint(s.key, s.url, s.pat_env, s.auth_url, s.allow_insecure_http) for s in sources]
    scope = ReadScope(servers=tuple(s.key for s in sources))
    label = f"Reading {', '.join(s.key for s in sources)}"

    async def read() -> Snapshot:
        with status_line(sys.stderr, label, "reads") as progress:
            async with open_clients(endpoints, options) as clients:
                snapshot = await read_snapshot(
                    scope, clients, parallelism=parallelism, ca_bundle=options.ca_bundle, progress=progress
                )
                every = {(key, name) for key, state in snapshot.servers.items() for name in state.namespaces}
                return await read_datasets(
                    snapshot, clients, every, parallelism=parallelism, progress=progress, refresh_groups=False
                )

    return render_export(sources, run(read()))  # asyncio.run, without formatting the snapshot
