"""How the CLI ends: one sentence and an exit code, never a traceback unless --debug asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import hossctl.config.loader
from hossctl.cli import cli


def _boom(*_args: object, **_kwargs: object) -> None:
    raise ValueError("unexpected state")


def test_a_bug_ends_in_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _boom)
    result = CliRunner().invoke(cli, ["validate", "-f", "whatever.yaml"])
    assert result.exit_code == 1
    assert "internal error (ValueError: unexpected state)" in result.output
    assert "--debug" in result.output
    assert "Traceback" not in result.output


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _boom)
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


HOSTILE = "x\x1b]0;PWNED\x07\x1b[2J\r\nFAKE: Apply complete\u202eexe"
HOSTILE_SHOWN = "x\\x1b]0;PWNED\\x07\\x1b[2J\\r\\nFAKE: Apply complete\\u202eexe"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def _raise_hostile(*_args: object, **_kwargs: object) -> None:
    from hossctl.errors import HossctlError

    raise HossctlError(f"server said: {HOSTILE}")


def _bug_hostile(*_args: object, **_kwargs: object) -> None:
    raise ValueError(HOSTILE)  # str() of a ValueError is its text, unlike a KeyError's repr


def test_an_error_quoting_a_server_is_one_line_with_its_controls_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _raise_hostile)
    result = CliRunner().invoke(cli, ["validate", "-f", "whatever.yaml"])
    assert result.exit_code == 1
    assert result.output == f"Error: server said: {HOSTILE_SHOWN}\n"
    assert not any(ch in result.output for ch in RAW)


def test_the_internal_error_line_escapes_the_exception_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hossctl.config.loader, "load_config", _bug_hostile)
    result = CliRunner().invoke(cli, ["validate", "-f", "whatever.yaml"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert f"internal error (ValueError: {HOSTILE_SHOWN}); rerun" in result.output
    assert not any(ch in result.output for ch in RAW)


def test_render_escapes_but_the_message_stays_exact() -> None:
    from hossctl.errors import HossctlError

    error = HossctlError(HOSTILE)
    assert error.message == str(error) == HOSTILE  # for code that inspects it
    assert error.render() == f"Error: {HOSTILE_SHOWN}"
    assert HossctlError(error.render()[7:]).render() == error.render()  # no double escaping


def test_a_config_diagnostic_is_one_line_whatever_the_file_name(tmp_path: Path) -> None:
    config = tmp_path / "evil\x1b[2J\u202e.yaml"
    config.write_text("version: 2\nservers: {}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "-f", str(config)])
    assert result.exit_code == 1
    assert "evil\\x1b[2J\\u202e.yaml:1:" in result.output
    assert not any(ch in result.output for ch in RAW)
