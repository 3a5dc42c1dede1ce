"""The command line: parses options and hands over to the modules that do the work.

Kept thin and cheap to import: every command imports what it needs inside its body, so
``hossctl --help`` or ``hossctl validate`` never pays for httpx, jsonschema or the sandbox.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from hossctl import __version__
from hossctl.errors import HossctlError, Terminated
from hossctl.sanitize import printable

DEFAULT_CONFIG = "hoss.yaml"


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
            raise _UsageError(printable(exc.format_message()), exc.ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _UsageError(printable(exc.format_message()), exc.ctx) from None
        except HossctlError as exc:
            click.echo(exc.render(), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Terminated:
            click.echo("Terminated.", err=True)
            ctx.exit(143)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            # A bug, not a user mistake: one line by default, the traceback with --debug. The
            # exception's text may quote anything (a server's value in a KeyError), so escaped.
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {printable(str(exc))}); rerun with "
                "--debug for the traceback and please report it.",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hossctl")
@click.option("--debug", is_flag=True, help="Log every HTTP request (never a token) to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative management of Hoss namespaces and sync targets."""
    ctx.obj = {"debug": debug}
    if debug:
        _log_to_stderr()


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


def _config_paths(files: tuple[str, ...]) -> list[str]:
    return list(files) if files else [DEFAULT_CONFIG]


def _mass_delete_options(func: Any) -> Any:
    """--allow-mass-delete and --delete-threshold, shared by plan and apply (apply plans again)."""
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
def schema() -> None:
    """Print the config JSON Schema (for editors and yaml-language-server)."""
    from hossctl.schemas import read_schema_text

    click.echo(read_schema_text("config.schema.json"), nl=False)


@cli.command()
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
@click.option(
    "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA bundle for https servers."
)
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
    from hossctl.api import ClientOptions
    from hossctl.export import export_servers, parse_sources

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
@click.argument("planfile", required=False, type=click.Path(dir_okay=False))
@_config_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for 'yes'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result document on stdout.")
@click.option(
    "--parallelism", type=click.IntRange(1, 256), default=16, show_default=True, help="Concurrent changes."
)
@click.option(
    "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA bundle for https servers."
)
@click.option(
    "--no-target-check",
    is_flag=True,
    help="Turn target-unreachable and target-namespace-missing into warnings.",
)
@_mass_delete_options
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
    timeout: float,
) -> None:
    """Apply the config (after showing the plan and asking), or a PLANFILE saved by `plan --out`.

    A PLANFILE is applied only if the config (-f, default hoss.yaml) still plans to exactly it.
    """
    from hossctl.apply_run import ApplyOptions, apply_config, apply_planfile
    from hossctl.plan import PlanOptions

    options = ApplyOptions(
        auto_approve=auto_approve,
        json=as_json,
        parallelism=parallelism,
        ca_bundle=ca_bundle,
        plan_options=PlanOptions(
            target_check=not no_target_check,
            allow_mass_delete=allow_mass_delete,
            delete_threshold=delete_threshold,
        ),
        timeout=timeout,
    )
    if planfile is not None:
        ctx.exit(apply_planfile(planfile, _config_paths(files), options))
    ctx.exit(apply_config(_config_paths(files), options))


@cli.command()
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
@click.option(
    "--no-target-check",
    is_flag=True,
    help="Turn target-unreachable and target-namespace-missing into warnings.",
)
@click.option(
    "--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA bundle for https servers."
)
@_mass_delete_options
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
    timeout: float,
) -> None:
    """Read the live servers, diff them against the config and show the changes and safety checks."""
    from hossctl.api import ClientOptions
    from hossctl.plan import PlanOptions
    from hossctl.workflow import plan_command

    code = plan_command(
        _config_paths(files),
        output="json" if as_json else "markdown" if markdown else "text",
        conflicting_outputs=as_json and markdown,
        out=out,
        detailed_exitcode=detailed_exitcode,
        parallelism=parallelism,
        options=PlanOptions(
            target_check=not no_target_check,
            allow_mass_delete=allow_mass_delete,
            delete_threshold=delete_threshold,
        ),
        client_options=ClientOptions(ca_bundle=ca_bundle, timeout=timeout, connections=parallelism),
    )
    ctx.exit(code)


@cli.command()
def demo() -> None:
    """Walk through validate, plan, apply and a blocked change on two throw-away sandbox servers."""
    from hossctl.demo import run_demo

    run_demo()


@cli.command()
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
    metavar="NAME",
    help="Object store of type minio (repeatable; default: one store 'default').",
)
@click.option(
    "--sync-service",
    is_flag=True,
    help="Simulate the sync service: a duplex PUT creates the reverse row on the target sandbox "
    "(in this process) after a delay; its log shows with hossctl --debug.",
)
@click.option(
    "--sync-delay-ms",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="Delay before the sync service forwards a duplex message.",
)
@click.option(
    "--sync-drop-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Fraction of duplex messages the sync service loses.",
)
@click.option("--sync-seed", default=0, show_default=True, type=int, help="Seed that makes drops repeatable.")
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
) -> None:
    """Serve a local Hoss-compatible core + auth service until interrupted."""
    import signal
    import threading

    from hossctl.sandbox import Sandbox

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
    )
    server.start()
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in signals}
    try:
        click.echo(f"Hoss sandbox listening on {server.url} (core API {server.core_url})")
        click.echo(f"Admin PAT: {server.admin_pat}")
        click.echo(f"User PAT:  {server.user_pat}")
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
@_config_option
def validate(files: tuple[str, ...]) -> None:
    """Check config files offline: structure, references and safety rules (no network)."""
    from hossctl.loader import load_config, summary_line

    config = load_config(_config_paths(files))  # a ConfigError prints every diagnostic and exits 1
    for warning in config.warnings:
        click.echo(str(warning), err=True)
    click.echo(summary_line(config))


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> NoReturn:
    import signal

    # Without a handler SIGTERM kills the process mid-line and loses buffered output.
    signal.signal(signal.SIGTERM, _terminated)
    cli.main(prog_name="hossctl")
    sys.exit(0)  # pragma: no cover - click exits itself
