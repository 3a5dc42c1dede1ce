"""How the CLI ends: one sentence and an exit code, never a traceback unless --debug asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import hossctl.loader
from hossctl.cli import cli


def _boom(*_args: object, **_kwargs: object) -> None:
    raise ValueError("unexpected state")


def test_a_bug_ends_in_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.loader, "load_config", _boom)
    result = CliRunner().invoke(cli, ["validate", "-f", "whatever.yaml"])
    assert result.exit_code == 1
    assert "internal error (ValueError: unexpected state)" in result.output
    assert "--debug" in result.output
    assert "Traceback" not in result.output


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.loader, "load_config", _boom)
    result = CliRunner().invoke(cli, ["--debug", "validate", "-f", "whatever.yaml"])
    assert isinstance(result.exception, ValueError)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--no-such-flag"], "No such option"),
        (["nosuchcommand"], "No such command"),
        (["plan", "--parallelism", "0"], "--parallelism"),
        (["apply", "--parallelism", "999"], "--parallelism"),
    ],
)
def test_usage_errors_exit_1(args: list[str], fragment: str) -> None:
    """2 is reserved for `plan --detailed-exitcode`'s "changes present"."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert fragment in result.output


def test_apply_of_a_config_file_as_plan_file_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "hoss.yaml"
    config.write_text("version: 1\nservers: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["apply", str(config)])
    assert result.exit_code == 1
    assert "looks like a config file" in result.output and f"apply -f {config}" in result.output
