"""The console entry point: ``hossctl --help`` and ``--version`` without importing click.

Start-up is a feature (BENCHMARKS.md, issue 15): importing click and the command tree costs
several times a bare interpreter start, and ``--help`` is what people type most often at a
terminal. So the root help is click's own text, rendered at 80 columns and kept here as a
constant (``help_text``); ``tests/unit/test_launch.py`` fails when it drifts from what click
renders, and ``HOSSCTL_UPDATE_GOLDEN=1`` regenerates it. Anything else, or a terminal narrower
than click's 80 columns, goes to click as before.
"""

from __future__ import annotations

import os
import sys

# click wraps help at min(terminal width, 80) - 2 columns; the stored text is the 80-column one.
HELP_COLUMNS = 80


def _columns() -> int:
    """The terminal width the way click asks for it (``shutil.get_terminal_size``), without shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno()) if sys.__stdout__ else None
    except (AttributeError, ValueError, OSError):
        return HELP_COLUMNS
    return (size.columns if size else 0) or HELP_COLUMNS


def main() -> None:
    args = sys.argv[1:]
    if args in (["--help"], ["-h"]) and _columns() >= HELP_COLUMNS:
        from hossctl.help_text import ROOT_HELP

        sys.stdout.write(ROOT_HELP)
        sys.stdout.flush()
        raise SystemExit(0)
    if args == ["--version"]:
        from hossctl import __version__

        sys.stdout.write(f"hossctl, version {__version__}\n")
        sys.stdout.flush()
        raise SystemExit(0)
    from hossctl.cli import main as cli_main

    cli_main()
