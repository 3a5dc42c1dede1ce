"""The imperative shell of ``hossctl apply``: plan or load, confirm, execute, report.

Two sources of a plan: the config (planned now, then confirmed by a human or
``--auto-approve``) or a plan file from ``plan --out`` (applied as saved, but only after
the live facts it rests on are read again and found unchanged, so a reviewed plan is
never applied to a world that moved on). Human output goes to stdout, or to stderr when
``--json`` reserves stdout for one JSON document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import click

from hossctl.errors import HossctlError
from hossctl.executor import ApplyResult, ChangeResult, execute
from hossctl.model import Config, Namespace, Server, SyncTarget
from hossctl.plan import Change, Plan, PlanOptions
from hossctl.snapshot import Snapshot
from hossctl.urls import normalise_core_url, try_normalise_core_url

JSON_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool = False
    json: bool = False
    parallelism: int = 16
    ca_bundle: str | None = None
    plan_options: PlanOptions = field(default_factory=PlanOptions)
    debug: bool = False


class _Output:
    """Where human text goes, and whether a live status line may be drawn there."""

    def __init__(self, options: ApplyOptions) -> None:
        self.stream: IO[str] = sys.stderr if options.json else sys.stdout
        self.json = options.json
        self.tty = _isatty(self.stream)
        self.color = self.tty and "NO_COLOR" not in os.environ

    def echo(self, text: str = "", nl: bool = True) -> None:
        click.echo(text, file=self.stream, nl=nl)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def apply_config(paths: Sequence[str], options: ApplyOptions) -> int:
    """``hossctl apply [-f PATH]...``: plan now, show it, ask, execute. Returns the exit code."""
    from hossctl.client import client_for
    from hossctl.loader import load_config
    from hossctl.workflow import compute_plan

    config = load_config(list(paths))
    for warning in config.warnings:
        click.echo(str(warning), err=True)
    out = _Output(options)

    async def run() -> int:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                s.key: await stack.enter_async_context(
                    client_for(
                        s, ca_bundle=options.ca_bundle, debug=options.debug, parallelism=options.parallelism
                    )
                )
                for s in config.servers
            }
            planned = await compute_plan(
                config, clients, parallelism=options.parallelism, options=options.plan_options
            )
            plan = planned.plan
            _show_plan(plan, out)
            _refuse_violations(plan)
            if not plan.has_changes:
                _emit_json_no_changes(options, None)
                return 0
            if not options.auto_approve and not _confirm(out):
                out.echo("Apply cancelled; nothing was changed.")
                return 1
            return await _execute_and_report(plan, clients, options, out, None)

    return asyncio.run(run())


def apply_planfile(path: str, options: ApplyOptions) -> int:
    """``hossctl apply PLANFILE``: refuse if stale, else apply exactly the saved plan."""
    from hossctl.checks import dataset_reads_needed
    from hossctl.client import client_from
    from hossctl.fingerprint import facts_for
    from hossctl.planfile import load
    from hossctl.reader import read_datasets, read_snapshot

    saved = load(path)
    plan = saved.plan
    out = _Output(options)
    _refuse_violations(plan, planfile=path)
    if not plan.has_changes:
        _show_plan(plan, out)
        _emit_json_no_changes(options, path)
        return 0
    missing = sorted({c.server for c in plan.changes} - set(saved.servers))
    if missing:
        raise HossctlError(
            f"Plan file {path} has changes for {', '.join(missing)} but no URL for it; plan again."
        )
    config = planfile_config(plan, saved.servers)

    async def run() -> int:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                key: await stack.enter_async_context(
                    client_from(
                        key,
                        url,
                        pat_env,
                        ca_bundle=options.ca_bundle,
                        debug=options.debug,
                        parallelism=options.parallelism,
                    )
                )
                for key, (url, pat_env) in sorted(saved.servers.items())
            }
            snapshot: Snapshot = await read_snapshot(config, clients, parallelism=options.parallelism)
            snapshot = await read_datasets(
                snapshot, clients, dataset_reads_needed(plan.changes), parallelism=options.parallelism
            )
            changed = stale_facts(plan.facts, facts_for(plan.changes, snapshot))
            if changed:
                shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
                raise HossctlError(
                    f"Plan file {path} is stale: the live state it was made from has changed ({shown}); "
                    "nothing was applied. Run `hossctl plan --out` again and review the new plan."
                )
            _show_plan(plan, out)
            return await _execute_and_report(plan, clients, options, out, path)

    return asyncio.run(run())


def planfile_config(plan: Plan, servers: Mapping[str, tuple[str, str]]) -> Config:
    """A Config just rich enough for the reader to re-read what the plan rests on.

    It declares the plan's enable targets, so that the reader checks the same target servers
    (reachability, remote namespaces) as when the plan was made; nothing else is declared.
    """
    targets: dict[tuple[str, str], list[SyncTarget]] = {}
    for change in plan.changes:
        if change.action == "enable_sync" and change.target_core_service:
            targets.setdefault((change.server, change.namespace), []).append(
                SyncTarget(
                    target=change.target_server or change.target_core_service,
                    target_server=change.target_server,
                    core_url=try_normalise_core_url(change.target_core_service),
                    namespace=change.target_namespace or change.namespace,
                    type="duplex" if change.sync_type == "duplex" else "simplex",
                )
            )
    result: list[Server] = []
    for key, (url, pat_env) in sorted(servers.items()):
        try:
            core_url = normalise_core_url(url)
        except ValueError as exc:
            raise HossctlError(
                f"Plan file names an invalid URL for server {key}: {exc}; plan again."
            ) from None
        namespaces = tuple(
            Namespace(name=ns, sync=tuple(syncs))
            for (srv, ns), syncs in sorted(targets.items())
            if srv == key
        )
        result.append(Server(key=key, url=url, core_url=core_url, pat_env=pat_env, namespaces=namespaces))
    return Config(servers=tuple(result))


def stale_facts(saved: Mapping[str, str], fresh: Mapping[str, str]) -> list[str]:
    """Fact keys whose live value differs from the one the plan was made from."""
    return sorted(key for key in set(saved) | set(fresh) if saved.get(key) != fresh.get(key))


def _show_plan(plan: Plan, out: _Output) -> None:
    from hossctl.render import render_text

    text = render_text(plan, color=out.color)
    out.echo(text, nl=not text.endswith("\n"))


def _refuse_violations(plan: Plan, planfile: str | None = None) -> None:
    errors = plan.errors
    if errors:
        source = f"Plan file {planfile}" if planfile else "The plan"
        checks = ", ".join(sorted({v.check for v in errors}))
        raise HossctlError(
            f"{source} has {len(errors)} safety violation(s) ({checks}); nothing was applied. "
            "Resolve them as shown above and plan again."
        )


def _confirm(out: _Output) -> bool:
    out.echo("Type 'yes' to apply: ", nl=False)
    out.stream.flush()
    answer = sys.stdin.readline()
    if not answer or not _isatty(sys.stdin):
        out.echo()  # nobody typed Enter on a terminal: end the prompt line ourselves
    return answer.strip() == "yes"


class _Progress:
    """A line per finished change; on a TTY, a status line kept under them."""

    def __init__(self, total: int, out: _Output) -> None:
        self.total = total
        self.finished = 0
        self.out = out

    def __call__(self, result: ChangeResult) -> None:
        self.finished += 1
        if self.out.tty:
            self.out.echo("\r\x1b[K", nl=False)
        self.out.echo(progress_line(result, color=self.out.color))
        if self.out.tty and self.finished < self.total:
            self.out.echo(f"Applying: {self.finished}/{self.total} changes finished...", nl=False)
            self.out.stream.flush()

    def close(self) -> None:
        if self.out.tty:
            self.out.echo("\r\x1b[K", nl=False)


def progress_line(result: ChangeResult, *, color: bool = False) -> str:
    if result.status == "done":
        mark = click.style("✓", fg="green") if color else "✓"
        return f"{mark} {result.change.id} ({result.duration_s:.2f}s)"
    mark = click.style("✗", fg="red") if color else "✗"
    return f"{mark} {result.change.id} ({result.duration_s:.2f}s): {result.error}"


async def _execute_and_report(
    plan: Plan, clients: Mapping[str, Any], options: ApplyOptions, out: _Output, planfile: str | None
) -> int:
    progress = _Progress(len(plan.changes), out)
    try:
        result = await execute(plan, clients, parallelism=options.parallelism, on_event=progress)
    finally:
        progress.close()
    for line in report_lines(result):
        out.echo(line)
    if options.json:
        click.echo(json.dumps(result_document(result, planfile), indent=2, sort_keys=True))
    return 0 if result.ok else 1


def report_lines(result: ApplyResult) -> list[str]:
    """The closing report: the summary line, or what was done, failed and not attempted."""
    lines = [
        f"Duplex link {link.label}: {'verified on both servers' if link.verified else 'NOT complete'}."
        for link in result.links
    ]
    if result.ok:
        return [*lines, result.complete_line()]
    lines.append(
        f"Apply failed: {len(result.done)} done, {len(result.failed)} failed, "
        f"{len(result.skipped)} not attempted."
    )
    for title, group in (("Done", result.done), ("Failed", result.failed), ("Not attempted", result.skipped)):
        if group:
            lines.append(f"{title}:")
            lines.extend(f"  {r.change.id}" + (f": {r.error}" if r.status == "failed" else "") for r in group)
    lines.append("Nothing was rolled back. Run `hossctl plan` to see what remains; apply again to converge.")
    return lines


def _change_document(result: ChangeResult) -> dict[str, Any]:
    change: Change = result.change
    return {
        "id": change.id,
        "action": change.action,
        "server": change.server,
        "namespace": change.namespace,
        "status": result.status,
        "duration_s": round(result.duration_s, 3),
        "error": result.error,
    }


def _summary_document(result: ApplyResult | None) -> dict[str, int]:
    counts = result.counts if result is not None else None
    return {
        "created": counts.create if counts else 0,
        "replaced": counts.replace if counts else 0,
        "deleted": counts.delete if counts else 0,
        "sync_enabled": counts.enable_sync if counts else 0,
        "sync_disabled": counts.disable_sync if counts else 0,
        "done": len(result.done) if result else 0,
        "failed": len(result.failed) if result else 0,
        "not_attempted": len(result.skipped) if result else 0,
    }


def result_document(result: ApplyResult | None, planfile: str | None) -> dict[str, Any]:
    """The ``--json`` result: one document per run, stable keys."""
    if result is None:
        status = "no-changes"
    else:
        status = "applied" if result.ok else "failed"
    return {
        "format_version": JSON_FORMAT_VERSION,
        "status": status,
        "plan_file": planfile,
        "changes": [_change_document(r) for r in result.results] if result else [],
        "links": [
            {"a": link.a.change.id, "b": link.b.change.id, "label": link.label, "verified": link.verified}
            for link in (result.links if result else ())
        ],
        "summary": _summary_document(result),
    }


def _emit_json_no_changes(options: ApplyOptions, planfile: str | None) -> None:
    if options.json:
        click.echo(json.dumps(result_document(None, planfile), indent=2, sort_keys=True))
