"""``hossctl demo``: the whole workflow against two throw-away sandboxes, in under a minute.

It is the README's first Quickstart command, so it must work on a fresh machine right after
``pip install``: no PATH lookups (every step runs hossctl's own CLI in this process), no
files outside one temporary directory, and credentials only in this process's environment,
restored on the way out. The sandboxes stop at the end and on Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from hossctl.commands.environment import temporary_environment
from hossctl.errors import HossctlError
from hossctl.sanitize import printable
from hossctl.schemas import read_schema_text

CONFIG_NAME = "hoss.yaml"
SCHEMA_NAME = "hoss.schema.json"  # `hossctl schema` output, for editors

_NAMESPACE = """\
      {name}:
        description: {description}
        object_store: default
        bucket: {bucket}
"""

_SYNC = """\
        sync:
          - target: {target}
            type: duplex
"""


def demo_config(*, raw_data_on_onprem: bool = True) -> str:
    """The demo's config: a protected default namespace on each server, and ``raw-data``
    linked duplex between them, declared from both ends (which must agree).

    ``raw_data_on_onprem=False`` is the destructive edit: ``raw-data`` is marked absent on
    onprem, and cloud no longer syncs to it.
    """
    lines = [
        f"# yaml-language-server: $schema=./{SCHEMA_NAME}",
        "version: 1",
        "servers:",
    ]
    for key, other, text in (
        ("onprem", "cloud", "Raw recordings from the lab"),
        ("cloud", "onprem", "Raw recordings mirrored from the lab"),
    ):
        lines += [
            f"  {key}:",
            f"    url: ${{{key.upper()}_HOSS_URL}}",
            f"    pat_env: {key.upper()}_HOSS_PAT",
            "    namespaces:",
        ]
        default = _NAMESPACE.format(name="default", description="Default namespace", bucket="data")
        lines.append(default + "        protect: true")
        if key == "onprem" and not raw_data_on_onprem:
            lines += ["      raw-data:", "        ensure: absent"]
            continue
        raw = _NAMESPACE.format(name="raw-data", description=text, bucket="raw-data")
        if raw_data_on_onprem:
            raw += _SYNC.format(target=other)
        lines.append(raw.rstrip("\n"))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Step:
    """One command of the walk-through and the exit code that proves it did its job."""

    comment: str
    args: tuple[str, ...]
    expect: int


def _steps() -> Sequence[Step]:
    config = ("-f", CONFIG_NAME)
    return (
        Step("Check the config without touching any server.", ("validate", *config), 0),
        Step("Read both servers and show what would change.", ("plan", *config), 0),
        Step(
            "Make the changes (no prompt in the demo), then verify them.",
            ("apply", *config, "--auto-approve"),
            0,
        ),
        Step(
            "Plan again: the live servers now match the config.",
            ("plan", *config, "--detailed-exitcode"),
            0,
        ),
    )


def _blocked_step() -> Step:
    return Step(
        "Plan the edit: the namespace-not-empty safety check blocks it (exit 1 is the point).",
        ("plan", "-f", CONFIG_NAME),
        1,
    )


def _export_step() -> Step:
    return Step(
        "Export the live servers back to a config (how you would adopt hossctl on existing servers).",
        (
            "export",
            "--server",
            "onprem=${ONPREM_HOSS_URL}",
            "--server",
            "cloud=${CLOUD_HOSS_URL}",
            "--pat-env",
            "onprem=ONPREM_HOSS_PAT",
            "--pat-env",
            "cloud=CLOUD_HOSS_PAT",
        ),
        0,
    )


@contextmanager
def _working_directory(path: str) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_demo(run: Callable[[Sequence[str]], int], echo: Callable[[str], None] = click.echo) -> int:
    """Walk through validate, plan, apply, plan, a blocked destructive change and export.

    ``run`` runs one hossctl command and returns its exit code. The CLI passes its own, so
    this module never imports the CLI that imports it.
    """
    from hossctl.sandbox import Sandbox

    def say(text: str) -> None:
        echo(click.style(f"\n==> {text}", bold=True))

    def step(number: int, item: Step) -> None:
        say(f"[{number}] {item.comment}")
        args = [os.path.expandvars(a) for a in item.args]
        echo("$ hossctl " + printable(" ".join(args)))  # expanded from the environment
        sys.stdout.flush()
        code = run(args)
        sys.stdout.flush()
        sys.stderr.flush()
        if code != item.expect:
            raise HossctlError(
                f"The demo step `hossctl {item.args[0]}` exited {code}, expected {item.expect}; "
                "the output above says why."
            )
        if item.expect != 0:
            echo(f"(exit code {code}, as expected)")

    with ExitStack() as stack:
        say("Starting two sandbox Hoss servers, 'onprem' and 'cloud', on free local ports.")
        servers = {}
        for key in ("onprem", "cloud"):
            # No dataset sync pauses: the demo runs no sync service, so the real handler's 2 s sleeps
            # before each sync message would only make a viewer wait.
            sandbox = Sandbox(host="127.0.0.1", port=0, dataset_sync_delay=0)
            sandbox.start()
            stack.callback(sandbox.stop)
            servers[key] = sandbox
            echo(f"    {key}: {sandbox.url}")
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="hossctl-demo-"))
        stack.enter_context(
            temporary_environment(
                {
                    "ONPREM_HOSS_URL": servers["onprem"].url,
                    "CLOUD_HOSS_URL": servers["cloud"].url,
                    "ONPREM_HOSS_PAT": servers["onprem"].admin_pat,
                    "CLOUD_HOSS_PAT": servers["cloud"].admin_pat,
                }
            )
        )
        stack.enter_context(_working_directory(workdir))
        config = Path(workdir, CONFIG_NAME)
        Path(workdir, SCHEMA_NAME).write_text(read_schema_text("config.schema.json"), encoding="utf-8")
        config.write_text(demo_config(), encoding="utf-8")
        say(f"The desired state, {CONFIG_NAME} (in a temporary directory; tokens stay in env variables):")
        echo(config.read_text(encoding="utf-8").rstrip("\n"))

        number = 0
        for number, item in enumerate(_steps(), start=1):
            step(number, item)

        servers["onprem"].seed_dataset("raw-data", "session-001")
        config.write_text(demo_config(raw_data_on_onprem=False), encoding="utf-8")
        say("A dataset lands in onprem's raw-data; then an edit of hoss.yaml drops that namespace:")
        echo("    onprem: raw-data: {ensure: absent}    cloud: raw-data no longer syncs to it")
        step(number + 1, _blocked_step())
        step(number + 2, _export_step())
        say("Done: nothing was changed that the safety checks did not allow. The sandboxes stop now.")
    return 0
