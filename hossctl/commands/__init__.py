"""The imperative shells, one per command that needs more than a few lines: plan, apply, export, demo.

``cli.py`` parses options and hands over to these; they wire config, live reads, the pure
planner, rendering and the executor together.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_CONFIG = "hoss.yaml"


def config_paths(files: Sequence[str]) -> list[str]:
    """The ``-f`` paths of a command, or the default config in the working directory."""
    return list(files) if files else [DEFAULT_CONFIG]
