"""The command line: parses options and hands over to the modules that do the work.

Kept thin and cheap to import: every command imports what it needs inside its body, so
``hossctl --help`` or ``hossctl validate`` never pays for httpx, jsonschema or the sandbox.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from hossctl import __version__
from hossctl.commands import config_paths
from hossctl.errors import HossctlError, Terminated, internal_error, reported, terminate_on_sigterm
from hossctl.sanitize import printable

if TYPE_CHECKING:
    from hossctl.plan.changes import PlanOptions


class _UsageError(click.UsageError):
    exit_code = 1


class _Group(click.Group):
    """Turns every user-caused failure into one sentence on stderr and an exit code.

    Usage errors exit 1 rather than click's 2, because 2 is what ``plan
    --detailed-exitcode`` answers for "changes present": a CI script testing for 2 must
    never mistake a mistyped flag for a plan.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _UsageError(printable(self._message(exc, args)), exc.ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _UsageError(printable(self._message(exc, [])), exc.ctx) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (HossctlError, KeyboardInterrupt, Terminated) as exc:
            line, code = reported(exc) or ("", 1)
            click.echo(line, err=True)
            ctx.exit(code)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(internal_error(exc), err=True)
            ctx.exit(1)

    def _message(self, exc: click.UsageError, args: list[str]) -> str:
        """click's message, or, for an option given on the wrong side of the command, where it goes
        (instead of click's "Did you mean" guess among the options of the wrong side)."""
        hint = self._hint(exc, args)
        return exc.message + hint if hint else exc.format_message()

    def _hint(self, exc: click.UsageError, args: list[str]) -> str:
        """Where an option that is unknown here does belong, when it belongs somewhere else.

        People put options on the wrong side of the command: ``hossctl plan --version``,
        ``hossctl --json plan``. click only says "No such option"; this says where it goes.
        """
        if not isinstance(exc, click.NoSuchOption):
            return ""
        name = exc.option_name
        sub_ctx = exc.ctx
        if sub_ctx is not None and sub_ctx.command is not self:
            if any(name in param.opts for param in self.params):
                return f" ({name} is a global option: put it before the command, as in `hossctl {name}`)"
            return ""
        owners = [
            command_name
            for command_name, command in sorted(self.commands.items())
            if any(name in param.opts or name in param.secondary_opts for param in command.params)
        ]
        given = next((arg for arg in args if arg in owners), None)
        if given is not None:
            return f" ({name} is an option of `{given}`: put it after the command: `hossctl {given} {name}`)"
        if owners:
            where = ", ".join(f"`{owner}`" for owner in owners)
            return f" ({name} is an option of {where}: put it after the command)"
        return ""


_DEBUG_HELP = "Log every HTTP request (never a token) to stderr; show tracebacks of internal errors."


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hossctl")
@click.option("--debug", is_flag=True, help=_DEBUG_HELP + " Also accepted after the command.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative management of Hoss namespaces and sync targets."""
    ctx.obj = {"debug": False}
    if debug:
        _turn_on_debug(ctx)


def _turn_on_debug(ctx: click.Context) -> None:
    """``--debug`` before or after the command, or both: the same single effect."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    if not root.obj.get("debug"):
        root.obj["debug"] = True
        _log_to_stderr()


def _debug_after_command(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _turn_on_debug(ctx)


def _debug_option(func: Any) -> Any:
    """``hossctl COMMAND --debug``: people add a flag at the end of the line they just ran.

    Not passed to the command: it sets ``ctx.obj["debug"]`` on the root context as the
    global flag does, which is what the error handling and the logging read.
    """
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_debug_after_command,
        help=_DEBUG_HELP,
    )(func)


def _log_to_stderr() -> None:
    """``--debug``: hossctl's own log records (HTTP requests, the sandbox's sync service) on stderr.

    No record ever holds a token: requests are logged by method, URL and status only.
    """
    import logging

    class PrintableFormatter(logging.Formatter):
        """Log lines with control and bidi characters escaped: they quote what servers and clients sent."""

        def format(self, record: logging.LogRecord) -> str:
            return printable(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("debug: %(message)s"))
    root = logging.getLogger("hossctl")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def _config_option(func: Any) -> Any:
    return click.option(
        "-f",
        "--file",
        "files",
        multiple=True,
        type=click.Path(),
        help="Config file or directory of *.yaml/*.yml files (repeatable; default hoss.yaml).",
    )(func)


def _mass_delete_options(func: Any) -> Any:
    """--allow-mass-delete, --delete-threshold and --target, shared by plan and apply (apply plans
    again, and never takes them from a plan file)."""
    func = click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="SERVER[/NAMESPACE]",
        help="Plan only this server or namespace and what it depends on (repeatable).",
    )(func)
    func = click.option(
        "--delete-threshold",
        type=click.IntRange(0, 100),
        default=None,
        metavar="PCT",
        help="Percent of a server's live namespaces a plan may delete or replace (overrides every "
        "server's delete_threshold; default 30).",
    )(func)
    return click.option(
        "--allow-mass-delete",
        is_flag=True,
        help="Turn mass-delete into a warning: allow deleting more than the delete threshold.",
    )(func)


def _ca_bundle_option(func: Any) -> Any:
    """--ca-bundle, for every command that talks to servers."""
    return click.option(
        "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA bundle for https servers."
    )(func)


def _no_target_check_option(func: Any) -> Any:
    """--no-target-check, for every command that runs the safety checks (plan, apply, rehearse)."""
    return click.option(
        "--no-target-check",
        is_flag=True,
        help="Turn target-unreachable and target-namespace-missing into warnings.",
    )(func)


def _drift_option(func: Any) -> Any:
    """--no-drift, for every command that plans (plan, apply, rehearse)."""
    return click.option(
        "--no-drift",
        is_flag=True,
        help="Skip the dataset sync drift warnings: read datasets only where a change, a check or a "
        "datasets block needs them (one request per namespace fewer).",
    )(func)


def _plan_options(
    no_target_check: bool,
    allow_mass_delete: bool,
    delete_threshold: int | None,
    targets: tuple[str, ...],
    no_drift: bool,
) -> PlanOptions:
    """The options of ``_no_target_check_option``, ``_mass_delete_options`` and ``_drift_option``."""
    from hossctl.plan.changes import PlanOptions

    return PlanOptions(
        target_check=not no_target_check,
        allow_mass_delete=allow_mass_delete,
        delete_threshold=delete_threshold,
        targets=targets,
        drift=not no_drift,
    )


def _timeout_option(func: Any) -> Any:
    return click.option(
        "--timeout",
        type=click.FloatRange(0.1, 3600),
        default=60.0,
        show_default=True,
        metavar="SECONDS",
        help="Total deadline of each request to a server, retries included.",
    )(func)


@cli.command()
@_config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid (GitHub and GitLab draw it in Markdown) or Graphviz DOT.",
)
@_debug_option
def graph(files: tuple[str, ...], fmt: str) -> None:
    """Draw the declared sync topology: servers, namespaces and links (offline)."""
    from hossctl.config.loader import load_config
    from hossctl.render.graph import config_graph, render

    config = load_config(config_paths(files))
    for warning in config.warnings:
        click.echo(str(warning), err=True)
    click.echo(render(config_graph(config), fmt), nl=False)


@cli.command()
@_debug_option
def schema() -> None:
    """Print the config JSON Schema (for editors and yaml-language-server)."""
    from hossctl.schemas import read_schema_text

    click.echo(read_schema_text("config.schema.json"), nl=False)


@cli.command()
@_debug_option
@click.option(
    "--server",
    "servers",
    multiple=True,
    metavar="KEY=URL",
    help="A live server to export, with the key it gets in the config (repeatable).",
)
@click.option(
    "--pat-env",
    "pat_envs",
    multiple=True,
    metavar="KEY=VAR",
    help="Environment variable holding that server's PAT (repeatable; default HOSS_PAT).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write the config here instead of stdout."
)
@_ca_bundle_option
@click.option(
    "--parallelism", type=click.IntRange(1, 256), default=16, show_default=True, help="Concurrent requests."
)
@click.option(
    "--auth-url",
    "auth_urls",
    multiple=True,
    metavar="KEY=URL",
    help="That server's auth service, when it is not on the server's own host (repeatable).",
)
@click.option(
    "--allow-insecure-http",
    is_flag=True,
    help="Allow sending PATs over plain http to servers that are not this machine.",
)
@_timeout_option
def export(
    servers: tuple[str, ...],
    pat_envs: tuple[str, ...],
    output: str | None,
    ca_bundle: str | None,
    parallelism: int,
    auth_urls: tuple[str, ...],
    allow_insecure_http: bool,
    timeout: float,
) -> None:
    """Write the live servers' namespaces and sync targets as a config that plans to no changes."""
    from hossctl.commands.export import export_servers
    from hossctl.live.client import ClientOptions
    from hossctl.render.export_yaml import parse_sources

    sources = parse_sources(servers, pat_envs, auth_urls, allow_insecure_http)
    result = export_servers(
        sources,
        parallelism=parallelism,
        client_options=ClientOptions(ca_bundle=ca_bundle, timeout=timeout, connections=parallelism),
    )
    for warning in result.warnings:
        click.echo(f"warning: {printable(warning)}", err=True)  # they name live namespaces
    if output is None:
        click.echo(result.text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(result.text)
    except OSError as exc:
        raise HossctlError(
            f"Cannot write {output}: {exc.strerror}; check the path and its permissions."
        ) from None
    click.echo(f"Wrote {printable(output)} ({', '.join(s.key for s in sources)}).", err=True)


@cli.command()
@_debug_option
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@_config_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result document on stdout.")
@click.option(
    "--parallelism", type=click.IntRange(1, 256), default=16, show_default=True, help="Concurrent changes."
)
@_ca_bundle_option
@_no_target_check_option
@_mass_delete_options
@_drift_option
@_timeout_option
@click.pass_context
def apply(
    ctx: click.Context,
    planfile: str | None,
    files: tuple[str, ...],
    auto_approve: bool,
    as_json: bool,
    parallelism: int,
    ca_bundle: str | None,
    no_target_check: bool,
    allow_mass_delete: bool,
    delete_threshold: int | None,
    targets: tuple[str, ...],
    no_drift: bool,
    timeout: float,
) -> None:
    """Apply the config (after showing the plan and asking), or a PLANFILE saved by `plan --out`.

    A PLANFILE is applied only if the config (-f, default hoss.yaml) still plans to exactly it.
    """
    from hossctl.commands.apply import ApplyOptions, apply_config, apply_planfile

    options = ApplyOptions(
        auto_approve=auto_approve,
        json=as_json,
        parallelism=parallelism,
        ca_bundle=ca_bundle,
        plan_options=_plan_options(no_target_check, allow_mass_delete, delete_threshold, targets, no_drift),
        timeout=timeout,
    )
    if planfile is not None:
        ctx.exit(apply_planfile(planfile, config_paths(files), options))
    ctx.exit(apply_config(config_paths(files), options))


@cli.command()
@_debug_option
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (schemas/plan.schema.json).")
@click.option("--markdown", is_flag=True, help="Print the plan as Markdown for a pull-request comment.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan for `hossctl apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option(
    "--parallelism",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Concurrent reads per server.",
)
@_no_target_check_option
@_ca_bundle_option
@_mass_delete_options
@_drift_option
@_timeout_option
@click.pass_context
def plan(
    ctx: click.Context,
    files: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    out: str | None,
    detailed_exitcode: bool,
    parallelism: int,
    no_target_check: bool,
    ca_bundle: str | None,
    allow_mass_delete: bool,
    delete_threshold: int | None,
    targets: tuple[str, ...],
    no_drift: bool,
    timeout: float,
) -> None:
    """Read the live servers, diff them against the config and show the changes and safety checks."""
    from hossctl.commands.plan import plan_command
    from hossctl.live.client import ClientOptions

    code = plan_command(
        config_paths(files),
        output="json" if as_json else "markdown" if markdown else "text",
        conflicting_outputs=as_json and markdown,
        out=out,
        detailed_exitcode=detailed_exitcode,
        parallelism=parallelism,
        options=_plan_options(no_target_check, allow_mass_delete, delete_threshold, targets, no_drift),
        client_options=ClientOptions(ca_bundle=ca_bundle, timeout=timeout, connections=parallelism),
    )
    ctx.exit(code)


@cli.command()
@_debug_option
@_config_option
@click.option(
    "--parallelism",
    default=16,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Concurrent requests per server.",
)
@_ca_bundle_option
@_no_target_check_option
@_mass_delete_options
@_drift_option
@_timeout_option
def rehearse(
    files: tuple[str, ...],
    parallelism: int,
    ca_bundle: str | None,
    no_target_check: bool,
    allow_mass_delete: bool,
    delete_threshold: int | None,
    targets: tuple[str, ...],
    no_drift: bool,
    timeout: float,
) -> None:
    """Apply the config to sandbox copies of the live servers, then plan again; production is only read.

    Exit 0 when the apply converges in one run and planning again shows no changes, 1 otherwise.
    """
    from hossctl.commands.rehearse import rehearse_command
    from hossctl.live.client import ClientOptions

    options = _plan_options(no_target_check, allow_mass_delete, delete_threshold, targets, no_drift)
    client_options = ClientOptions(ca_bundle=ca_bundle, timeout=timeout, connections=parallelism)
    code = rehearse_command(
        config_paths(files), options=options, client_options=client_options, parallelism=parallelism
    )
    raise click.exceptions.Exit(code)


@cli.command()
@_debug_option
def demo() -> None:
    """Walk through validate, plan, apply and a blocked change on two throw-away sandbox servers."""
    from hossctl.commands.demo import run_demo

    run_demo(_run_nested)


def _run_nested(args: Sequence[str]) -> int:
    """Run one hossctl command in this process and return its exit code (for the demo)."""
    try:
        result = cli.main(args=list(args), prog_name="hossctl", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        raise KeyboardInterrupt from None
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    code = result if isinstance(result, int) else 0
    if code == 130:  # the nested command caught a Ctrl-C: stop the whole demo
        raise KeyboardInterrupt
    return code


@cli.command()
@_debug_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=int, help="Port to listen on (0 picks a free one)."
)
@click.option(
    "--data", type=click.Path(dir_okay=False), help="SQLite file to keep state in (default: in memory)."
)
@click.option(
    "--admin-pat", metavar="TOKEN", help="PAT of the admin user: hp_ + letters/digits (default random)."
)
@click.option("--user-pat", metavar="TOKEN", help="PAT of the user with role 'user' (default random).")
@click.option(
    "--latency-ms", default=0, show_default=True, type=click.IntRange(min=0), help="Added to each request."
)
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Fraction of requests that fail (half 503, half dropped after processing).",
)
@click.option(
    "--fault-seed", default=0, show_default=True, type=int, help="Seed that makes faults repeatable."
)
@click.option(
    "--object-store",
    "object_stores",
    multiple=True,
    metavar="NAME[:no-queue]",
    help="Object store of type minio (repeatable; default: one store 'default'). With ':no-queue' it "
    "has no sync queue, so enabling or changing sync in its namespaces fails with a 500, as on a "
    "real server.",
)
@click.option(
    "--sync-service",
    is_flag=True,
    help="Simulate the sync service: after a delay it calls the target cores of this sandbox's sync "
    "rows over HTTP with its service JWT (reverse duplex rows, synced datasets); its log shows with "
    "--debug.",
)
@click.option(
    "--sync-delay-ms",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delay before the sync service delivers a message.",
)
@click.option(
    "--sync-drop-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Fraction of messages the sync service loses.",
)
@click.option("--sync-seed", default=0, show_default=True, type=int, help="Seed that makes drops repeatable.")
@click.option(
    "--sync-auth-url",
    metavar="URL",
    help="Auth service where the sync service exchanges the service secret (default: this sandbox's "
    "/auth/v1), like the real sync service's auth_endpoint.",
)
@click.option(
    "--service-secret",
    metavar="SECRET",
    envvar="HOSS_SANDBOX_SERVICE_SECRET",
    help="The auth service's service secret, hsvc_ + letters/digits (default random; never printed). "
    "Also read from $HOSS_SANDBOX_SERVICE_SECRET, which keeps it out of the process list.",
)
@click.option(
    "--identity",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Sign and verify tokens with the issuer and key in FILE, created by the first sandbox given "
    "it: sandboxes sharing one trust each other's tokens, like cores behind one auth service.",
)
@click.option(
    "--dataset-sync-delay",
    default=2.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Pause a dataset sync PUT makes before each later sync message, as the real handler's 2 s "
    "sleeps (0 for fast tests).",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Start as a copy of one server of this config (e.g. what `hossctl export` wrote): its "
    "namespaces and sync rows.",
)
@click.option("--seed-server", metavar="KEY", help="The server of the seed file to copy (if it has several).")
@click.option(
    "--seed-url",
    "seed_urls",
    multiple=True,
    metavar="KEY=URL",
    help="Re-point sync rows that target server KEY of the seed file to URL, the sandbox standing in "
    "for it (repeatable).",
)
@click.option(
    "--delete-delay",
    default=2.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Time from a dataset DELETE until the delete worker removes the row (it is SCHEDULED "
    "meanwhile).",
)
def sandbox(
    host: str,
    port: int,
    data: str | None,
    admin_pat: str | None,
    user_pat: str | None,
    latency_ms: int,
    fault_rate: float,
    fault_seed: int,
    object_stores: tuple[str, ...],
    sync_service: bool,
    sync_delay_ms: int,
    sync_drop_rate: float,
    sync_seed: int,
    seed_file: str | None,
    seed_server: str | None,
    seed_urls: tuple[str, ...],
    delete_delay: float,
    sync_auth_url: str | None,
    service_secret: str | None,
    identity: str | None,
    dataset_sync_delay: float,
) -> None:
    """Serve a local Hoss-compatible core + auth service until interrupted."""
    import signal
    import threading

    from hossctl.sandbox import Sandbox

    seed = None
    if seed_file is None and (seed_server or seed_urls):
        raise HossctlError("--seed-server and --seed-url need --seed FILE")
    if seed_file is not None:
        from hossctl.commands import seed as seeding
        from hossctl.config.loader import load_config

        chosen = seeding.choose_server(load_config([seed_file]), seed_server)
        stand_ins = seeding.parse_seed_urls(seed_urls)
        seed = (chosen, stand_ins)
        stores = list(object_stores or ("default",))
        for store in seeding.object_stores_of(chosen):
            if not any(option.split(":", 1)[0] == store for option in stores):
                stores.append(store)
        object_stores = tuple(stores)

    server = Sandbox(
        host=host,
        port=port,
        data=data,
        admin_pat=admin_pat,
        user_pat=user_pat,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        object_stores=object_stores or ("default",),
        sync_service=sync_service,
        sync_delay_ms=sync_delay_ms,
        sync_drop_rate=sync_drop_rate,
        sync_seed=sync_seed,
        delete_delay=delete_delay,
        service_secret=service_secret,
        identity=identity,
        sync_auth_url=sync_auth_url,
        dataset_sync_delay=dataset_sync_delay,
    )
    server.start()
    if seed is not None:
        from hossctl.commands import seed as seeding

        chosen, stand_ins = seed
        try:
            created = seeding.apply_seed(server, seeding.seed_of(chosen, server.core_url, stand_ins))
        except BaseException:
            server.stop()
            raise
        shown = printable(seed_file or "")
        click.echo(f"Seeded from server '{chosen.key}' of {shown}: {created} namespace(s) created.")
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in signals}
    try:
        click.echo(f"Hoss sandbox listening on {server.url} (core API {server.core_url})")
        click.echo(f"Admin PAT: {server.admin_pat}")
        click.echo(f"User PAT:  {server.user_pat}")
        if identity is not None:
            click.echo(f"Identity: {printable(identity)} (tokens issued as {printable(server.issuer)}).")
        if sync_service:
            click.echo(f"Sync service: on; its service JWT comes from {printable(server.sync_auth)}.")
        click.echo(f"State: {data or 'in memory'}. Press Ctrl+C to stop.", nl=True)
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    click.echo("Sandbox stopped.")


@cli.command()
@_debug_option
@_config_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print every diagnostic as one JSON document on stdout (schemas/diagnostics.schema.json).",
)
def validate(files: tuple[str, ...], as_json: bool) -> None:
    """Check config files offline: structure, references and safety rules (no network)."""
    from hossctl.commands.validate import run

    code = run(files, as_json)
    if code:
        raise click.exceptions.Exit(code)


@cli.command()
@_debug_option
@click.argument("planfile", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (schemas/plan.schema.json).")
@click.option("--markdown", is_flag=True, help="Print the plan as Markdown for a pull-request comment.")
def show(planfile: str, as_json: bool, markdown: bool) -> None:
    """Print a plan saved by `plan --out`, offline: no config, server or token needed.

    The output is what `plan` printed when it saved the file (text, --json or --markdown),
    so a reviewer or a later CI job can read the plan that `apply PLANFILE` will check.
    """
    if as_json and markdown:
        raise HossctlError("--json and --markdown cannot be combined: choose one output format")
    from hossctl.plan import planfile as planfiles
    from hossctl.render import text as render

    saved = planfiles.load(planfile)
    if as_json:
        _echo_whole(render.render_json(saved.plan))
    elif markdown:
        _echo_whole(render.render_markdown(saved.plan))
    else:
        from hossctl.render.terminal import use_color

        color = use_color(sys.stdout)
        _echo_whole(render.render_text(saved.plan, color=color), color=color)


def _echo_whole(text: str, color: bool = False) -> None:
    """A rendered document on stdout, ending in exactly one newline; ``color`` keeps its ANSI
    codes also where click would strip them (FORCE_COLOR into a CI log)."""
    click.echo(text, nl=not text.endswith("\n"), color=color)


def main() -> NoReturn:
    terminate_on_sigterm()
    cli.main(prog_name="hossctl")
    sys.exit(0)  # pragma: no cover - click exits itself
