"""``live.client.run``: asyncio.run for a command's client work, without formatting its result.

Python 3.11's asyncio.run, in the main thread of a process with the default SIGINT handler,
formats its own handler on the way out, and with it the main task and the task's result; for a
plan of 10,000 namespaces that cost a quarter of a second. The check runs in a fresh interpreter,
since a test runner may have replaced the SIGINT handler, and asyncio then skips that path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hossctl.live.client import run

SCRIPT = """
import asyncio
from hossctl.live.client import run

class Unprintable:
    def __repr__(self):
        raise SystemExit("the result was formatted")

async def result():
    await asyncio.sleep(0)
    return Unprintable()

assert isinstance(run(result()), Unprintable)
print("unformatted")
"""


def test_the_result_comes_back_unformatted() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "unformatted"), done.stderr


def test_errors_pass_through_as_they_are() -> None:
    async def fail() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run(fail())
