"""``hossctl validate``: the offline check, shared by click's command and the launcher's fast path.

One body for both, so that ``hossctl validate`` prints the same bytes and exits with the same
code whether the launcher answers it without importing click (start-up, BENCHMARKS.md issue 15)
or click parses the line. It writes to ``sys.stdout``/``sys.stderr`` as ``click.echo`` does
(a line and a flush), and raises ``ConfigError`` for the caller to report like any other
``HossctlError``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hossctl.commands import config_paths


def _line(text: str, err: bool = False, newline: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n" if newline else text)
    stream.flush()


def run(files: Sequence[str], as_json: bool) -> int:
    """Check the config; the exit code. An invalid config raises ``ConfigError``, except with
    ``as_json``, where every diagnostic goes to stdout as one document and the exit code is 1."""
    from hossctl.config.loader import ConfigError, config_summary, load_config

    try:
        config = load_config(config_paths(files))
    except ConfigError as exc:
        if not as_json:
            raise
        from hossctl.render.diagnostics_json import render

        _line(render(exc.diagnostics, None), newline=False)
        _line(exc.render(), err=True)  # the same findings for the person reading the log
        return 1
    for warning in config.warnings:
        _line(str(warning), err=True)
    if as_json:
        from hossctl.render.diagnostics_json import render

        _line(render(config.warnings, config), newline=False)
        return 0
    _line(config_summary(config))
    return 0
