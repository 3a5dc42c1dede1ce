"""`--debug` on either side of the command, and hints for options given on the wrong side."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

import hossctl.cli
import hossctl.config.loader
from hossctl.cli import cli


def _boom(*_args: object, **_kwargs: object) -> None:
    raise ValueError("unexpected state")


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """Records which --debug turned logging on, and restores the hossctl logger after."""
    calls: list[str] = []
    logger = logging.getLogger("hossctl")
    handlers, level = list(logger.handlers), logger.level
    original = hossctl.cli._log_to_stderr

    def record() -> None:
        calls.append("on")
        original()

    hossctl.cli._log_to_stderr = record
    yield calls
    hossctl.cli._log_to_stderr = original
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.parametrize(
    "args",
    [
        ["--debug", "validate", "-f", "x.yaml"],
        ["validate", "--debug", "-f", "x.yaml"],
        ["validate", "-f", "x.yaml", "--debug"],
        ["--debug", "validate", "--debug", "-f", "x.yaml"],
    ],
)
def test_debug_is_accepted_before_or_after_the_command(
    monkeypatch: pytest.MonkeyPatch, logged: list[str], args: list[str]
) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _boom)
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, ValueError)  # --debug lets the traceback through
    assert logged == ["on"]  # logging configured once, whichever side and however often


@pytest.mark.parametrize(
    "command", ["plan", "apply", "export", "show", "sandbox", "validate", "schema", "demo"]
)
def test_every_command_takes_debug(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "--debug" in result.stdout


def test_without_debug_a_bug_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _boom)
    result = CliRunner().invoke(cli, ["validate", "-f", "x.yaml"])
    assert result.exit_code == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--version"], "--version is a global option: put it before the command"),
        (["--json", "plan"], "--json is an option of `plan`: put it after the command: `hossctl plan"),
        (["--json", "validate"], "`hossctl validate --json`"),
        (["--out", "x"], "--out is an option of `plan`: put it after the command"),
        (["--parallelism", "4", "apply"], "--parallelism is an option of `apply`"),
    ],
)
def test_an_option_on_the_wrong_side_says_where_it_goes(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "No such option '" in result.output and says in result.output
    assert "Did you mean" not in result.output  # click's guess among the wrong side's options


def test_a_typo_keeps_clicks_suggestion_and_no_hint() -> None:
    result = CliRunner().invoke(cli, ["plan", "--jsn"])
    assert result.exit_code == 1
    assert "Did you mean '--json'?" in result.output and "put it" not in result.output
