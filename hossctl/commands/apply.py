"""The imperative shell of ``hossctl apply``: plan or load, confirm, execute, report.

Two sources of a plan: the config (planned now, then confirmed by a human or
``--auto-approve``) or a plan file from ``plan --out`` (applied as saved, but only after
the live facts it rests on are read again and found unchanged, so a reviewed plan is
never applied to a world that moved on). Human output goes to stdout, or to stderr when
``--json`` reserves stdout for one JSON document.

Change ids, link labels and errors name namespaces and quote servers' answers, so every
line built from them escapes them with ``sanitize.printable`` (the JSON result keeps them
exact); messages raised as ``HossctlError`` are escaped by its ``render``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import click

from hossctl.apply.executor import ApplyResult, ChangeResult, Stop, connections_for, execute
from hossctl.commands.plan import PlanRun, compute_plan, reading_label, transport_notices
from hossctl.errors import HossctlError
from hossctl.live.transport import DEFAULT_TIMEOUT_S
from hossctl.plan.changes import Change, Plan, PlanOptions
from hossctl.plan.model import Config
from hossctl.plan.snapshot import LiveNamespace, Snapshot
from hossctl.render.labels import label
from hossctl.render.progress import StatusLine, status_line
from hossctl.render.terminal import isatty, use_color
from hossctl.sanitize import json_text, printable

if TYPE_CHECKING:
    from hossctl.live.client import HossClient

@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool = False
    json: bool = False
    parallelism: int = 16
    ca_bundle: str | None = None
    plan_options: PlanOptions = field(default_factory=PlanOptions)
    timeout: float = DEFAULT_TIMEOUT_S
    # After a first SIGINT/SIGTERM: how long changes already sent may take to finish.
    grace_s: float = 30.0


JSON_FORMAT_VERSION = 1  # an integer, as in every hossctl JSON document


class _Output:
    """Where human text goes and whether it is coloured (``progress`` decides about status lines)."""

    def __init__(self, options: ApplyOptions) -> None:
        self.stream: IO[str] = sys.stderr if options.json else sys.stdout
        self.json = options.json
        self.color = use_color(self.stream)

    def echo(self, text: str = "", nl: bool = True) -> None:
        # color= explicitly: click would otherwise strip forced colour from a stream that is no TTY
        click.echo(text, file=self.stream, nl=nl, color=self.color)


async def _compute_plan(config: Config, clients: Mapping[str, HossClient], options: ApplyOptions) -> PlanRun:
    """``compute_plan`` with its reads counted on a status line on the terminal's stderr."""
    with status_line(sys.stderr, reading_label(config), "reads") as progress:
        return await compute_plan(
            config,
            clients,
            parallelism=options.parallelism,
            options=options.plan_options,
            progress=progress,
            ca_bundle=options.ca_bundle,
        )


def apply_config(paths: Sequence[str], options: ApplyOptions) -> int:
    """``hossctl apply [-f PATH]...``: plan now, show it, ask, plan again, execute. Returns the exit code.

    The prompt may wait for minutes or hours, and whatever happens meanwhile (a dataset
    created in a namespace the plan deletes, another run's changes) was not in the plan
    the human approved. So after ``yes`` the servers are read and planned again, and
    apply goes ahead only if that plan is exactly the one shown.
    """
    from hossctl.config.loader import load_config

    config = load_config(list(paths))
    for warning in config.warnings:
        click.echo(str(warning), err=True)
    out = _Output(options)

    async def run() -> int:
        async with _clients(config, options) as clients:
            planned = await _compute_plan(config, clients, options)
            plan = planned.plan
            _show_plan(plan, out, transport_notices(config))
            _refuse_violations(plan)
            if not plan.has_changes:
                _emit_json_no_changes(options, None)
                return 0
            if not options.auto_approve:
                if not _confirm(out):
                    out.echo("Apply cancelled; nothing was changed.")
                    return 1
                fresh = await _compute_plan(config, clients, options)
                moves = moves_while_waiting(planned, fresh)
                if moves:
                    raise HossctlError(
                        f"The live state changed while apply waited for confirmation: {'; '.join(moves)}; "
                        "nothing was applied. Run apply again to review the new plan."
                    )
                plan = fresh.plan
            return await _execute_and_report(plan, clients, options, out, None)

    return asyncio.run(run())


def moves_while_waiting(before: PlanRun, after: PlanRun) -> list[str]:
    """What moved between the plan a human approved and the one made after the approval."""
    from hossctl.apply.preconditions import namespace_moves
    from hossctl.plan.planfile import differences

    found = differences(before.plan, after.plan)
    if not found and not after.plan.errors:
        return []
    moves: list[str] = []
    keys = sorted(set(before.plan.facts) | set(after.plan.facts))
    for key in keys:
        kind, _, ref = key.partition(":")
        if kind != "namespace" or before.plan.facts.get(key) == after.plan.facts.get(key):
            continue
        server, _, name = ref.partition("/")
        old, new = _live(before.snapshot, server, name), _live(after.snapshot, server, name)
        moves += namespace_moves(ref, old, new)
    moves += [f"{v.check}: {v.message}" for v in after.plan.errors]
    return moves or found


def _live(snapshot: Snapshot, server: str, name: str) -> LiveNamespace | None:
    state = snapshot.server(server)
    return None if state is None else state.namespace(name)


def apply_planfile(path: str, paths: Sequence[str], options: ApplyOptions) -> int:
    """``hossctl apply PLANFILE [-f PATH]...``: apply the saved plan only if the config plans to exactly it.

    The plan file is evidence of what was reviewed, not an authority (see ``planfile``):
    servers, URLs and PAT variables come from the config, and the plan is made again
    against freshly read servers, with every safety check, using apply's own options.
    """
    from hossctl.config.loader import load_config
    from hossctl.plan.fingerprint import config_digest
    from hossctl.plan.planfile import differences, load

    saved = load(path)
    _refuse_violations(saved.plan, planfile=path)
    config = load_config(list(paths))
    for warning in config.warnings:
        click.echo(str(warning), err=True)
    given = ", ".join(paths)
    if config_digest(config) != saved.config_digest:
        made_from = f" ({', '.join(saved.config_files)})" if saved.config_files else ""
        raise HossctlError(
            f"Plan file {path} was not made from the config in {given}{made_from}: the config, or a "
            "${VAR} it uses, differs from when the plan was made; nothing was applied. Give apply the "
            "same -f paths and environment as plan, or run `hossctl plan --out` again."
        )
    for key, (url, pat_env) in sorted(saved.servers.items()):
        server = config.server(key)
        if server is None or (server.url, server.pat_env) != (url, pat_env):
            raise HossctlError(
                f"Plan file {path} names URL {url} and ${pat_env} for server {key!r}, which the config in "
                f"{given} does not; nothing was applied. The plan file was edited: run "
                "`hossctl plan --out` again."
            )
    out = _Output(options)

    async def run() -> int:
        async with _clients(config, options) as clients:
            replanned = await _compute_plan(config, clients, options)
            fresh = replanned.plan
            if fresh.errors:
                _show_plan(fresh, out, transport_notices(config))
                _refuse_violations(fresh, planfile=path)
            found = differences(saved.plan, fresh)
            if found:
                raise HossctlError(
                    f"Plan file {path} is stale or was edited: {'; '.join(found)}; nothing was applied. "
                    "Run `hossctl plan --out` again and review the new plan."
                )
            _show_plan(fresh, out, transport_notices(config))
            if not fresh.has_changes:
                _emit_json_no_changes(options, path)
                return 0
            return await _execute_and_report(fresh, clients, options, out, path)

    return asyncio.run(run())


def _clients(config: Config, options: ApplyOptions) -> contextlib.AbstractAsyncContextManager[
    dict[str, HossClient]
]:
    from hossctl.live.client import ClientOptions, endpoint_of, open_clients

    client_options = ClientOptions(
        ca_bundle=options.ca_bundle, timeout=options.timeout, connections=connections_for(options.parallelism)
    )
    return open_clients(map(endpoint_of, config.servers), client_options)


def _show_plan(plan: Plan, out: _Output, notices: Sequence[str] = ()) -> None:
    from hossctl.render.text import render_text
    from hossctl.sanitize import printable

    text = "".join(f"{printable(n)}\n\n" for n in notices) + render_text(plan, color=out.color)
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
    if not answer or not isatty(sys.stdin):
        out.echo()  # nobody typed Enter on a terminal: end the prompt line ourselves
    return answer.strip() == "yes"


class _Progress:
    """A line per finished change; on a terminal, ``Applying: 3/10 changes, 2.1 s`` kept under them."""

    def __init__(self, total: int, out: _Output) -> None:
        self.out = out
        self.line: StatusLine = status_line(out.stream, "Applying", "changes")
        self.line.expect(total)

    def __call__(self, result: ChangeResult) -> None:
        self.line.done += 1  # println draws the new count
        self.line.println(progress_line(result, color=self.out.color))

    def clear(self) -> None:
        self.line.clear()

    def close(self) -> None:
        self.line.close()


def progress_line(result: ChangeResult, *, color: bool = False) -> str:
    """One finished change by its people-facing name; names and errors (a server's words) escaped."""
    cid = printable(label(result.change))
    if result.status == "done":
        mark = click.style("✓", fg="green") if color else "✓"
        return f"{mark} {cid} ({result.duration_s:.2f}s)"
    mark = click.style("✗", fg="red") if color else "✗"
    return f"{mark} {cid} ({result.duration_s:.2f}s): {printable(str(result.error))}"


async def _execute_and_report(
    plan: Plan, clients: Mapping[str, Any], options: ApplyOptions, out: _Output, planfile: str | None
) -> int:
    progress = _Progress(len(plan.changes), out)
    stop = Stop(grace_s=options.grace_s)
    with _signals_stop(stop, out, options, before_message=progress.clear):
        try:
            result = await execute(
                plan, clients, parallelism=options.parallelism, on_event=progress, stop=stop
            )
        finally:
            progress.close()
    for line in report_lines(result, stop.signum):
        out.echo(line)
    if options.json:
        click.echo(json_text(result_document(result, planfile, stop.signum), sort_keys=True))
    if stop.signum is not None:
        return 128 + stop.signum
    return 0 if result.ok else 1


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@contextlib.contextmanager
def _signals_stop(
    stop: Stop, out: _Output, options: ApplyOptions, before_message: Callable[[], None] = lambda: None
) -> Any:
    """While changes run: the first SIGINT/SIGTERM stops new ones, a second exits at once.

    Exiting at once still flushes everything written so far and names the changes in
    flight, whose outcome nobody will know; ``hossctl plan`` then shows where things stand.
    """
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        before_message()  # erase the status line, or the message would continue it
        if stop.requested:
            running = [stop.running[cid] for cid in sorted(stop.running)]
            lines = [f"{_signal_name(signum)} again: exiting at once."]
            if running:
                lines.append("The outcome of these changes is unknown:")
                lines += [f"  {printable(label(change))}" for change in running]
            lines.append("Run `hossctl plan` to see what took effect.")
            click.echo("\n".join(lines), err=True)
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(128 + (stop.signum or signum))
        stop.request(signum)
        click.echo(
            f"{_signal_name(signum)}: no new changes will start; waiting up to {options.grace_s:g} s for the "
            f"{len(stop.running)} change(s) in flight. Send it again to exit at once.",
            err=True,
        )

    installed: list[int] = []
    for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no support
            pass
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def report_lines(result: ApplyResult, signum: int | None = None) -> list[str]:
    """The closing report: the summary line, or every change grouped by outcome.

    Ids, labels and errors are escaped: one line of the report is one line on the terminal.
    """
    lines = [
        f"Duplex link {printable(link.label)}: "
        f"{'verified on both servers' if link.verified else 'NOT complete'}."
        for link in result.links
    ]
    if result.ok and signum is None:
        return [*lines, result.complete_line()]
    counts = (
        f"{len(result.done)} done, {len(result.failed)} failed, {len(result.blocked)} blocked, "
        f"{len(result.skipped)} not attempted"
        + (f", {len(result.unknown)} outcome unknown" if result.unknown else "")
    )
    if signum is not None:
        lines.append(f"Apply interrupted by {_signal_name(signum)}: {counts}.")
    else:
        lines.append(f"Apply failed: {counts}.")
    groups = (
        ("Done", result.done),
        ("Failed", result.failed),
        ("Blocked (not sent: the live state moved after the plan was made)", result.blocked),
        ("Not attempted", result.skipped),
        ("Outcome unknown", result.unknown),
    )
    for title, group in groups:
        if group:
            lines.append(f"{title}:")
            shows_error = title.startswith(("Failed", "Blocked"))
            lines.extend(
                f"  {printable(label(r.change))}" + (f": {printable(str(r.error))}" if shows_error else "")
                for r in group
            )
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
        "dataset_sync_enabled": counts.enable_dataset_sync if counts else 0,
        "dataset_sync_updated": counts.update_dataset_sync if counts else 0,
        "dataset_sync_disabled": counts.disable_dataset_sync if counts else 0,
        "done": len(result.done) if result else 0,
        "failed": len(result.failed) if result else 0,
        "blocked": len(result.blocked) if result else 0,
        "not_attempted": len(result.skipped) if result else 0,
        "unknown": len(result.unknown) if result else 0,
    }


def result_document(
    result: ApplyResult | None, planfile: str | None, signum: int | None = None
) -> dict[str, Any]:
    """The ``--json`` result: one document per run, stable keys."""
    if result is None:
        status = "no-changes"
    elif signum is not None:
        status = "interrupted"
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
        click.echo(json_text(result_document(None, planfile), sort_keys=True))
