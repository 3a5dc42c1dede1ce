"""What a stream can show: colour, and a status line redrawn in place.

One place decides both, so that ``plan``, ``apply`` and ``show`` agree, and so that the
conventions users set once for every tool (https://no-color.org, ``FORCE_COLOR``,
``CLICOLOR_FORCE``, ``TERM=dumb``) work here too. CI logs are the case that needs
forcing: they are not terminals, yet most of them render ANSI colour.

Cheap to import (``os`` only): ``hossctl validate`` and ``--help`` must not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any

_OFF = ("", "0", "false")
_FORCE = ("FORCE_COLOR", "CLICOLOR_FORCE")


def isatty(stream: IO[Any] | Any) -> bool:
    """``stream.isatty()``, False for streams without one or already closed."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_color(stream: IO[Any] | Any, env: Mapping[str, str] | None = None) -> bool:
    """Whether to write ANSI colour to ``stream``, first rule that applies wins:

    1. ``NO_COLOR`` set to anything but the empty string: no colour (no-color.org);
    2. ``FORCE_COLOR`` or ``CLICOLOR_FORCE`` set and not empty, ``0`` or ``false``: colour,
       even when the stream is not a terminal (a CI log) and even with ``TERM=dumb``;
    3. ``TERM=dumb``: no colour;
    4. otherwise colour exactly when the stream is a terminal.
    """
    environment = os.environ if env is None else env
    if environment.get("NO_COLOR", ""):
        return False
    if any(environment.get(name, "").strip().lower() not in _OFF for name in _FORCE):
        return True
    if environment.get("TERM", "") == "dumb":
        return False
    return isatty(stream)


def can_redraw(stream: IO[Any] | Any, env: Mapping[str, str] | None = None) -> bool:
    """Whether a status line may be drawn and erased on ``stream`` with ``\\r`` and ``ESC[K``.

    Only on a real terminal that understands the erase: forcing colour for a CI log must not
    fill it with a thousand half-erased progress lines, and a dumb terminal prints ``ESC[K``.
    """
    environment = os.environ if env is None else env
    return environment.get("TERM", "") != "dumb" and isatty(stream)


def width(stream: IO[Any] | Any, default: int = 80) -> int:
    """Columns of the terminal behind ``stream`` (a status line longer than that would wrap,
    and ``\\r`` could then not erase it)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or default
    except (AttributeError, ValueError, OSError):
        return default
