"""The status line: counts and elapsed time, redrawn at most ~10 times a second, erased when done."""

from __future__ import annotations

import io
import logging
import time

import pytest

from hossctl.render.progress import NO_PROGRESS, StatusLine, status_line

ERASE = "\r\x1b[K"


class Tty(io.StringIO):
    def __init__(self, tty: bool = True) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _line(stream: Tty, clock: Clock, **kwargs: object) -> StatusLine:
    return StatusLine(stream, "Reading onprem, cloud", "reads", clock=clock, ticker=False, **kwargs)  # type: ignore[arg-type]


def test_counts_and_elapsed_time_on_one_line() -> None:
    stream, clock = Tty(), Clock()
    line = _line(stream, clock)
    line.expect(400)
    clock.now += 3.24
    line.advance(120)
    assert line.text() == "Reading onprem, cloud: 120/400 reads, 3.2 s"
    assert stream.getvalue().endswith(ERASE + "Reading onprem, cloud: 120/400 reads, 3.2 s")
    assert "\n" not in stream.getvalue()


def test_redraws_at_most_ten_times_a_second() -> None:
    stream, clock = Tty(), Clock()
    line = _line(stream, clock)
    line.expect(1000)
    for _ in range(1000):  # a thousand answers within 0.5 s
        clock.now += 0.0005
        line.advance()
    assert stream.getvalue().count(ERASE) <= 6
    clock.now += 0.2
    line.advance()
    assert stream.getvalue().endswith(ERASE + "Reading onprem, cloud: 1001/1000 reads, 0.7 s")


def test_close_erases_the_line_and_nothing_is_drawn_after_it() -> None:
    stream, clock = Tty(), Clock()
    with _line(stream, clock) as line:
        line.expect(2)
        line.advance()
    assert stream.getvalue().endswith(ERASE)
    before = stream.getvalue()
    clock.now += 1
    line.advance()
    assert stream.getvalue() == before


def test_println_puts_a_permanent_line_above_the_status_line() -> None:
    stream, clock = Tty(), Clock()
    line = StatusLine(stream, "Applying", "changes", clock=clock, ticker=False)
    line.expect(2)
    line.done += 1
    line.println("✓ a/raw/create (0.10s)")
    out = stream.getvalue()
    assert out.endswith("✓ a/raw/create (0.10s)\n" + ERASE + "Applying: 1/2 changes, 0.0 s")
    line.close()
    assert stream.getvalue().endswith(ERASE)


def test_disabled_it_counts_but_draws_nothing_and_println_is_plain() -> None:
    stream, clock = Tty(), Clock()
    line = _line(stream, clock, enabled=False)
    line.expect(3)
    line.advance(3)
    line.println("✓ done")
    line.close()
    assert stream.getvalue() == "✓ done\n"
    assert (line.done, line.total) == (3, 3)


def test_a_line_wider_than_the_terminal_is_cut_so_it_cannot_wrap(monkeypatch: pytest.MonkeyPatch) -> None:
    import hossctl.render.progress

    monkeypatch.setattr(hossctl.render.progress, "width", lambda stream: 20)
    stream, clock = Tty(), Clock()
    line = _line(stream, clock)
    line.advance()
    drawn = stream.getvalue().rsplit(ERASE, 1)[1]
    assert len(drawn) < 20 and drawn.endswith("…")


def test_the_ticker_moves_the_elapsed_time_while_counts_stand_still() -> None:
    stream = Tty()
    with StatusLine(stream, "Reading cloud", "reads", interval=0.01) as line:
        line.expect(1)
        deadline = time.monotonic() + 5
        while stream.getvalue().count(ERASE) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert stream.getvalue().count(ERASE) >= 5
    assert stream.getvalue().endswith(ERASE)


def test_status_line_draws_only_on_a_terminal_and_not_under_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("hossctl")
    previous = logger.level
    logger.setLevel(logging.NOTSET)  # an earlier test's --debug may have left it at DEBUG
    monkeypatch.delenv("TERM", raising=False)
    pipe = Tty(tty=False)
    with status_line(pipe, "Reading cloud", "reads") as line:
        line.expect(1)
        line.advance()
    assert pipe.getvalue() == ""
    assert line._thread is None  # no ticker thread when nothing is drawn

    monkeypatch.setenv("TERM", "dumb")
    with status_line(Tty(), "Reading cloud", "reads") as line:
        assert not line.enabled
    monkeypatch.setenv("TERM", "xterm")
    with status_line(Tty(), "Reading cloud", "reads") as line:
        assert line.enabled
    logger.setLevel(logging.DEBUG)  # what --debug does
    try:
        with status_line(Tty(), "Reading cloud", "reads") as line:
            assert not line.enabled  # --debug's request lines would cut it apart
    finally:
        logger.setLevel(previous)


def test_the_null_progress_accepts_everything() -> None:
    NO_PROGRESS.expect(3)
    NO_PROGRESS.advance()
    NO_PROGRESS.phase("x")


def test_hostile_labels_are_escaped() -> None:
    stream, clock = Tty(), Clock()
    line = StatusLine(stream, "Reading \x1b]0;PWNED\x07", "reads", clock=clock, ticker=False)
    line.advance()
    assert "\x07" not in stream.getvalue() and "\\x1b]0;PWNED\\x07" in stream.getvalue()
