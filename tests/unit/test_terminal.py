"""Colour and status-line decisions follow the conventions users set once for every tool."""

from __future__ import annotations

import io

import pytest

from hossctl.render.terminal import can_redraw, isatty, use_color


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


TTY, PIPE = True, False


@pytest.mark.parametrize(
    ("env", "tty", "color"),
    [
        ({}, TTY, True),
        ({}, PIPE, False),
        ({"TERM": "xterm-256color"}, TTY, True),
        # NO_COLOR (no-color.org): any non-empty value disables, even a forced colour
        ({"NO_COLOR": "1"}, TTY, False),
        ({"NO_COLOR": "0"}, TTY, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, PIPE, False),
        ({"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, TTY, False),
        ({"NO_COLOR": ""}, TTY, True),  # empty means unset, as no-color.org says
        # FORCE_COLOR / CLICOLOR_FORCE: colour without a terminal (CI logs), and over TERM=dumb
        ({"FORCE_COLOR": "1"}, PIPE, True),
        ({"FORCE_COLOR": "3"}, PIPE, True),
        ({"FORCE_COLOR": "true"}, PIPE, True),
        ({"CLICOLOR_FORCE": "1"}, PIPE, True),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, PIPE, True),
        ({"FORCE_COLOR": "0"}, PIPE, False),
        ({"FORCE_COLOR": "false"}, PIPE, False),
        ({"FORCE_COLOR": ""}, PIPE, False),
        ({"CLICOLOR_FORCE": "0"}, PIPE, False),
        ({"FORCE_COLOR": "0"}, TTY, True),  # "not forced" is not "disabled"
        # TERM=dumb: no colour on a terminal that cannot show it
        ({"TERM": "dumb"}, TTY, False),
        ({"TERM": "dumb"}, PIPE, False),
    ],
)
def test_use_color(env: dict[str, str], tty: bool, color: bool) -> None:
    assert use_color(Stream(tty), env) is color


@pytest.mark.parametrize(
    ("env", "tty", "redraw"),
    [
        ({}, TTY, True),
        ({}, PIPE, False),
        ({"TERM": "dumb"}, TTY, False),  # it would print ESC[K
        ({"FORCE_COLOR": "1"}, PIPE, False),  # forced colour must not fill a CI log with status lines
        ({"NO_COLOR": "1"}, TTY, True),  # the status line is not colour
    ],
)
def test_can_redraw(env: dict[str, str], tty: bool, redraw: bool) -> None:
    assert can_redraw(Stream(tty), env) is redraw


def test_streams_without_isatty_or_closed_are_not_terminals() -> None:
    closed = io.StringIO()
    closed.close()
    assert isatty(object()) is False
    assert isatty(closed) is False


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(Stream(PIPE)) is True
    monkeypatch.setenv("NO_COLOR", "yes")
    assert use_color(Stream(TTY)) is False
