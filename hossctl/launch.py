"""The console entry point: ``hossctl --help``, ``--version`` and ``validate`` without importing click.

Start-up is a feature (BENCHMARKS.md, issue 15): importing click and the command tree costs
several times a bare interpreter start, and ``--help`` is what people type most often at a
terminal. So the root help is click's own text, rendered at 80 columns and kept here as a
constant (``help_text``); ``tests/unit/test_launch.py`` fails when it drifts from what click
renders, and ``HOSSCTL_UPDATE_GOLDEN=1`` regenerates it. A terminal narrower than click's 80
columns goes to click.

``hossctl validate`` is answered without click too (about a third of its start-up): the
common lines (``-f``/``--file`` with a value, ``--json``) are read here and run the same
``commands.validate`` body, with the same error reporting (``errors.reported``). Any other
line (``--debug``, ``--help``, ``--``, an unknown option, a value that looks like an option)
goes to click, which explains or refuses it. ``tests/unit/test_launch.py`` runs each case
both ways and compares the bytes and exit codes.
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


def validate_line(args: list[str]) -> tuple[list[str], bool] | None:
    """The files and ``--json`` of a ``validate`` line this launcher answers, or None for click.

    Deliberately narrow: only what click would read the same way. A value must not start with
    ``-`` (click would take ``-f --json`` as the file ``--json``; a person rarely means that),
    and ``-f`` needs one.
    """
    if not args or args[0] != "validate":
        return None
    files: list[str] = []
    as_json = False
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--json":
            as_json = True
            continue
        if arg in ("-f", "--file"):
            value = next(rest, None)
        elif arg.startswith("--file="):
            value = arg[len("--file=") :]
        elif arg.startswith("-f") and not arg.startswith("--"):
            value = arg[2:]
        else:
            return None
        if not value or value.startswith("-"):
            return None
        files.append(value)
    return files, as_json


def _utf8(stream: object) -> bool:
    """click re-wraps a stream whose encoding cannot write every character; those go to click."""
    encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "")
    return encoding == "utf8"


def _validate(files: list[str], as_json: bool) -> int:
    from hossctl.errors import HossctlError, Terminated, internal_error, reported, terminate_on_sigterm

    terminate_on_sigterm()
    try:
        from hossctl.commands.validate import run

        return run(files, as_json)
    except (HossctlError, KeyboardInterrupt, Terminated) as exc:
        line, code = reported(exc) or ("", 1)
    except Exception as exc:  # a bug: one line, as click's group says it (no --debug here)
        line, code = internal_error(exc), 1
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return code


def main() -> None:
    args = sys.argv[1:]
    line = validate_line(args)
    if line is not None and _utf8(sys.stdout) and _utf8(sys.stderr):
        raise SystemExit(_validate(*line))
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
