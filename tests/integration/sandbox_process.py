"""`hossctl sandbox` as a separate process, for the tests of its command line."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class StartedSandbox:
    process: subprocess.Popen[str]
    url: str
    admin_pat: str
    user_pat: str
    before: tuple[str, ...]  # what it printed before "listening on" (such as the --seed line)


def start_sandbox(*args: str, port: int = 0) -> StartedSandbox:
    """Start ``python -m hossctl sandbox --port PORT ARGS`` and read its URL and PATs from stdout."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hossctl", "sandbox", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    before: list[str] = []
    line = process.stdout.readline()
    while line and "listening on" not in line and len(before) < 5:
        before.append(line)
        line = process.stdout.readline()
    url = re.search(r"listening on (http://\S+)", line)
    admin = re.search(r"Admin PAT: (\S+)", process.stdout.readline())
    user = re.search(r"User PAT: +(\S+)", process.stdout.readline())
    assert url and admin and user, [*before, line]
    return StartedSandbox(process, url.group(1), admin.group(1), user.group(1), tuple(before))
