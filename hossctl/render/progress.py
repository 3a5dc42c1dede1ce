"""A single status line on a terminal: counts and elapsed time, redrawn in place, erased when done.

``plan`` and ``export`` read hundreds of namespaces at a few hundred milliseconds each; without
this a terminal shows nothing for tens of seconds. ``apply`` keeps the same line under the
lines of finished changes. Nothing is drawn when the stream is not a terminal (a CI log, a
pipe, a test) or when ``--debug`` is logging there, because its lines would cut the status
line in half: then the counting costs a few integer additions and nothing else.

Deliberately small and dependency-free (rich would add about 40 ms to every start-up for
one line of text). The reader counts through the ``Progress`` protocol, so it knows nothing
about terminals; ``NO_PROGRESS`` is what it uses when nobody is watching.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

from hossctl.render.terminal import can_redraw, width
from hossctl.sanitize import printable

_ERASE = "\r\x1b[K"


class Progress(Protocol):
    """What long-running work reports: units of work it now knows of, and units finished.

    The total grows as the work discovers itself (a namespace list tells how many sync reads
    follow), so ``expect`` may be called at any time.
    """

    def expect(self, count: int = 1) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def phase(self, label: str) -> None: ...


class NullProgress:
    """Counts nothing, draws nothing: the default of every function that takes a ``Progress``."""

    def expect(self, count: int = 1) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def phase(self, label: str) -> None:
        pass


NO_PROGRESS = NullProgress()


class StatusLine:
    """``LABEL: DONE/TOTAL UNIT, ELAPSED s`` on one terminal line, at most ~10 redraws a second.

    Counts change on the event loop thread; a daemon ticker thread redraws every ``interval``
    so the elapsed time moves while one slow request holds the counts still. Every write to
    the stream goes through one lock, and ``println`` puts a permanent line above the status
    line, so the two threads never interleave half lines. ``close`` erases the line and
    stops the ticker; the context manager does that on any exit, exceptions included.

    ``enabled`` False makes it a counter only (no thread, no output).
    """

    def __init__(
        self,
        stream: IO[str],
        label: str,
        unit: str,
        *,
        enabled: bool = True,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        ticker: bool = True,
    ) -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.enabled = enabled
        self.interval = interval
        self.clock = clock
        self.done = 0
        self.total = 0
        self.started = clock()
        self._last_draw: float | None = None
        self._shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if enabled and ticker:
            self._thread = threading.Thread(target=self._tick, name="hossctl-progress", daemon=True)
            self._thread.start()

    # -- Progress ------------------------------------------------------------------------------
    def expect(self, count: int = 1) -> None:
        self.total += count
        self.refresh()

    def advance(self, count: int = 1) -> None:
        self.done += count
        self.refresh()

    def phase(self, label: str) -> None:
        """A new stage of the same work (``Reading datasets``): a new label, the same clock."""
        self.label = label
        self.refresh(force=True)

    # -- drawing -------------------------------------------------------------------------------
    def text(self) -> str:
        elapsed = self.clock() - self.started
        counts = f"{self.done}/{self.total} {self.unit}" if self.total else f"{self.done} {self.unit}"
        return printable(f"{self.label}: {counts}, {elapsed:.1f} s")

    def refresh(self, force: bool = False) -> None:
        """Redraw, unless the last redraw was less than ``interval`` ago (and not forced)."""
        if not self.enabled:
            return
        now = self.clock()
        if not force and self._last_draw is not None and now - self._last_draw < self.interval:
            return
        with self._lock:
            if self._stop.is_set():
                return
            self._draw(now)

    def _draw(self, now: float) -> None:
        line = self.text()
        columns = width(self.stream)
        if len(line) >= columns:
            line = line[: max(columns - 2, 0)] + "…"
        self._write(_ERASE + line)
        self._last_draw = now
        self._shown = True

    def println(self, text: str) -> None:
        """A permanent line (a finished change), written above the status line."""
        with self._lock:
            if self.enabled and self._shown:
                self._write(_ERASE)
                self._shown = False
            self._write(text + "\n")
            if self.enabled and not self._stop.is_set():
                self._draw(self.clock())

    def clear(self) -> None:
        """Erase the status line (before other output); the next count redraws it."""
        with self._lock:
            if self._shown:
                self._write(_ERASE)
                self._shown = False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.clear()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh(force=True)

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def status_line(stream: IO[str], label: str, unit: str, **kwargs: Any) -> StatusLine:
    """A ``StatusLine`` that draws only where it should: on a terminal, and not under ``--debug``."""
    return StatusLine(stream, label, unit, enabled=can_redraw(stream) and not _debug_logging(), **kwargs)


def _debug_logging() -> bool:
    """``--debug`` is on: its request lines go to stderr and would cut a status line apart."""
    import logging

    return logging.getLogger("hossctl").isEnabledFor(logging.DEBUG)
