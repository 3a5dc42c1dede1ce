"""Environment variables set for the length of one command run, then put back as they were.

The demo and a rehearsal run hossctl against sandboxes inside this process, and hossctl reads
credentials from the environment (``pat_env``), so they lend it the sandboxes' PATs for a while.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def temporary_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` for this process only; restore every old value (or absence) afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
