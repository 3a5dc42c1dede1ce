"""`hossctl show PLANFILE`, progress on a terminal for plan, export and apply, colour conventions,
and the integer format_version of every JSON document, against two real sandboxes."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from hossctl.cli import cli
from hossctl.commands.apply import ApplyOptions, apply_config
from hossctl.commands.export import export_servers
from hossctl.commands.plan import plan_command, run_plan
from hossctl.config.loader import load_config
from hossctl.render.export_yaml import parse_sources
from hossctl.schemas import load_schema

SandboxFactory = Callable[..., Any]
ERASE = "\r\x1b[K"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Tty(io.StringIO):
    """A terminal, as far as hossctl can tell."""

    def isatty(self) -> bool:
        return True


class Counter:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.phases: list[str] = []

    def expect(self, count: int = 1) -> None:
        self.total += count

    def advance(self, count: int = 1) -> None:
        self.done += count
        assert self.done <= self.total, "finished more reads than were announced"

    def phase(self, label: str) -> None:
        self.phases.append(label)


class World:
    """`lab` with namespaces raw and scratch, `cloud` empty; the config adds `new` on cloud."""

    def __init__(self, factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.lab = factory()
        self.cloud = factory()
        self.tmp = tmp_path
        monkeypatch.setenv("LAB_PAT", self.lab.admin_pat)
        monkeypatch.setenv("CLOUD_PAT", self.cloud.admin_pat)
        for name in ("HOSS_JWT", "HOSS_PAT", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("TERM", "xterm")
        self.lab.seed_namespace("raw", description="Raw", bucket="raw")
        self.lab.seed_namespace("scratch", description="Scratch", bucket="scratch")
        ns = {"description": "Raw", "object_store": "default", "bucket": "raw"}
        self.doc: dict[str, Any] = {
            "version": 1,
            "servers": {
                "lab": {"url": self.lab.url, "pat_env": "LAB_PAT", "namespaces": {"raw": ns}},
                "cloud": {
                    "url": self.cloud.url,
                    "pat_env": "CLOUD_PAT",
                    "namespaces": {"new": {"description": "New", "object_store": "default", "bucket": "n"}},
                },
            },
        }

    def config(self) -> str:
        path = self.tmp / "hoss.yaml"
        path.write_text(yaml.safe_dump(self.doc, sort_keys=False), encoding="utf-8")
        return str(path)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args))


@pytest.fixture
def world(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[World]:
    # An earlier test's --debug leaves the hossctl logger at DEBUG, which turns status lines off.
    logger = logging.getLogger("hossctl")
    level = logger.level
    logger.setLevel(logging.NOTSET)
    yield World(sandbox_factory, monkeypatch, tmp_path)
    logger.setLevel(level)


def _draws(stderr: str) -> list[str]:
    return [part for part in stderr.split(ERASE) if part]


# -- show ------------------------------------------------------------------------------------------
def test_show_prints_a_saved_plan_as_plan_did_offline(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = world.config()
    saved = str(tmp_path / "plan.json")
    planned = world.cli("plan", "-f", config, "--out", saved)
    assert planned.exit_code == 0, planned.output
    as_json = world.cli("plan", "-f", config, "--json").stdout
    as_markdown = world.cli("plan", "-f", config, "--markdown").stdout

    # No config, no credentials, no server: show needs none of them.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in ("LAB_PAT", "CLOUD_PAT"):
        monkeypatch.delenv(name)
    world.lab.stop()
    world.cloud.stop()

    text = world.cli("show", saved)
    assert text.exit_code == 0, text.output
    assert text.stdout == planned.stdout
    assert "\x1b[" not in text.stdout  # not a terminal, no FORCE_COLOR
    shown_json = world.cli("show", saved, "--json")
    assert shown_json.exit_code == 0 and shown_json.stdout == as_json
    doc = json.loads(shown_json.stdout)
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    assert type(doc["format_version"]) is int
    shown_markdown = world.cli("show", "--markdown", saved)
    assert shown_markdown.exit_code == 0 and shown_markdown.stdout == as_markdown
    assert world.cli("show", saved, "--json", "--markdown").exit_code == 1

    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = world.cli("show", saved)
    assert "\x1b[" in coloured.stdout and ANSI.sub("", coloured.stdout) == text.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in world.cli("show", saved).stdout


def test_a_saved_plan_file_has_an_integer_format_version(world: World, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert world.cli("plan", "-f", world.config(), "--out", str(saved)).exit_code == 0
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert doc["format_version"] == 1 and type(doc["format_version"]) is int
    assert doc["plan"]["format_version"] == 1 and type(doc["plan"]["format_version"]) is int


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist; create it with `hossctl plan --out`"),
        ("{broken", "is not valid JSON"),
        (json.dumps({"kind": "hossctl-plan", "format_version": "1"}), "made by another hossctl version"),
    ],
)
def test_show_of_a_missing_or_corrupt_file_is_one_sentence(
    tmp_path: Path, content: str | None, says: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["show", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and says in line


# -- plan and colour ---------------------------------------------------------------------------------
def test_plan_colour_follows_force_and_no_color(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    config = world.config()
    plain = world.cli("plan", "-f", config)
    assert plain.exit_code == 0 and "\x1b[" not in plain.stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = world.cli("plan", "-f", config)
    assert "\x1b[" in forced.stdout and ANSI.sub("", forced.stdout) == plain.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in world.cli("plan", "-f", config).stdout


# -- progress ----------------------------------------------------------------------------------------
def test_the_reader_announces_every_read_it_makes(world: World) -> None:
    world.doc["servers"]["lab"]["prune"] = True  # deletes scratch: its datasets are read too
    world.doc["servers"]["lab"]["delete_threshold"] = 100
    config = load_config([world.config()])
    counter = Counter()
    run = run_plan(config, progress=counter)
    namespaces = sum(len(state.namespaces) for state in run.snapshot.servers.values())
    deleted = [c for c in run.plan.changes if c.action == "delete_namespace"]
    assert {c.namespace for c in deleted} >= {"scratch"}
    # 3 per server, 1 per namespace, then on each server PUT /user/sync and the datasets of every
    # namespace (dataset sync drift is checked in every plan)
    assert counter.done == counter.total == 3 * 2 + namespaces + 2 + namespaces
    assert counter.phases == ["Reading cloud, lab", "Reading datasets on cloud, lab"]


def test_plan_draws_one_status_line_on_a_terminal_and_erases_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = world.config()
    stderr, stdout = Tty(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", stdout)
    assert plan_command([config]) == 0
    out = stderr.getvalue()
    assert out.startswith(ERASE + "Reading cloud, lab: ") and out.endswith(ERASE)
    assert "\n" not in out  # one line, redrawn in place
    for draw in _draws(out):
        assert re.fullmatch(r"Reading (datasets on )?cloud, lab: (\d+/)?\d+ reads, \d+\.\d s", draw), draw
    assert "Plan:" in stdout.getvalue() and "\x1b[" not in stdout.getvalue()  # stdout is no terminal


def test_plan_is_silent_on_stderr_when_it_is_not_a_terminal(world: World) -> None:
    result = world.cli("plan", "-f", world.config())
    assert result.exit_code == 0
    assert "\r" not in result.stderr and "Reading" not in result.stderr


def test_plan_on_a_dumb_terminal_draws_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    stderr = Tty()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert plan_command([world.config()]) == 0
    assert stderr.getvalue() == ""


def test_export_draws_progress_on_a_terminal(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = Tty()
    monkeypatch.setattr(sys, "stderr", stderr)
    sources = parse_sources([f"lab={world.lab.url}"], ["lab=LAB_PAT"])
    result = export_servers(sources)
    assert "raw:" in result.text
    out = stderr.getvalue()
    assert out.startswith(ERASE + "Reading lab: ") and out.endswith(ERASE)


def test_apply_keeps_its_status_line_under_the_finished_changes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.doc["servers"]["cloud"]["namespaces"]["other"] = {
        "description": "Other",
        "object_store": "default",
        "bucket": "o",
    }
    config = world.config()
    stdout, stderr = Tty(), Tty()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert apply_config([config], ApplyOptions(auto_approve=True)) == 0
    out = ANSI.sub("", stdout.getvalue())
    assert "Applying: 1/2 changes, " in out  # drawn under the first finished change
    assert re.search(r"✓ [^\n]*cloud/[^\n]+ \(\d+\.\d\ds\)\n" + re.escape(ERASE + "Applying: "), out)
    assert "Apply complete" in out.split(ERASE)[-1]  # the status line is gone before the report
    assert stderr.getvalue().startswith(ERASE + "Reading cloud, lab: ")  # reading, before the plan
    assert stderr.getvalue().endswith(ERASE)


def test_apply_json_result_has_an_integer_format_version(world: World) -> None:
    result = world.cli("apply", "-f", world.config(), "--auto-approve", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(load_schema("apply-result.schema.json")).validate(doc)
    assert doc["format_version"] == 1 and type(doc["format_version"]) is int


def test_every_schema_says_format_version_is_the_integer_1() -> None:
    for name in ("plan.schema.json", "apply-result.schema.json", "diagnostics.schema.json"):
        schema = load_schema(name)
        assert schema["properties"]["format_version"]["const"] == 1
        assert type(schema["properties"]["format_version"]["const"]) is int
        assert "format_version" in schema["required"]
