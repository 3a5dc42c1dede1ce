"""The command line: parses options and hands over to the modules that do the work.

Kept thin and cheap to import: every command imports what it needs inside its body, so
``hossctl --help`` or ``hossctl validate`` never pays for httpx, jsonschema or the sandbox.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from hossctl import __version__
from hossctl.errors import HossctlError

DEFAULT_CONFIG = "hoss.yaml"


class _Group(click.Group):
    """Turns every user-caused failure into one sentence on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HossctlError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hossctl")
@click.option("--debug", is_flag=True, help="Log every HTTP request (never a token) to stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Declarative management of Hoss namespaces and sync targets."""
    ctx.obj = {"debug": debug}


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


@cli.command()
def schema() -> None:
    """Print the config JSON Schema (for editors and yaml-language-server)."""
    from hossctl.schemas import read_schema_text

    click.echo(read_schema_text("config.schema.json"), nl=False)


def main() -> NoReturn:
    cli.main(prog_name="hossctl")
    sys.exit(0)  # pragma: no cover - click exits itself
