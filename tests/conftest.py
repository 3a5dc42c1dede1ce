"""Shared fixtures: real sandboxes on loopback ports, stopped at teardown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

# Bytecode caches on, whatever the environment says (some CI images set PYTHONDONTWRITEBYTECODE):
# without them every pytest-xdist worker re-rewrites every test module's asserts and every
# hossctl child process compiles hossctl from source, which doubles the suite's time.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """``sandbox_factory(**Sandbox kwargs)`` -> a started Sandbox on a free port (port=0 by default),
    with ``dataset_sync_delay=0`` unless given."""
    started: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("port", 0)
        # The real dataset sync PUT pauses 2 s before each later sync message (docs/hoss-server.md §8.4);
        # tests that are not about those pauses need not wait for them.
        kwargs.setdefault("dataset_sync_delay", 0)
        sandbox = Sandbox(**kwargs).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in reversed(started):
        sandbox.stop()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started (``hossctl sandbox`` and the like), killed at teardown if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def exchange_jwt(sandbox: Sandbox, pat: str) -> str:
    """The id_token the sandbox's auth service issues for a PAT."""
    response = httpx.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"}
    )
    response.raise_for_status()
    token: str = response.json()["id_token"]
    return token


@pytest.fixture
def sandbox_api() -> Iterator[ApiFactory]:
    """``sandbox_api(sandbox, role="admin"|"user"|None)`` -> an httpx.Client on the sandbox's base URL
    carrying that user's JWT (no Authorization header for None); redirects are not followed."""
    clients: list[httpx.Client] = []

    def make(sandbox: Sandbox, role: str | None = "admin") -> httpx.Client:
        headers = {}
        if role is not None:
            pat = sandbox.admin_pat if role == "admin" else sandbox.user_pat
            headers["Authorization"] = f"Bearer {exchange_jwt(sandbox, pat)}"
        client = httpx.Client(base_url=sandbox.url, headers=headers, timeout=10, verify=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def pair(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> tuple[Sandbox, Sandbox]:
    """Two sandboxes, ``onprem`` and ``cloud``, with their admin PATs in $ONPREM_PAT and $CLOUD_PAT."""
    onprem, cloud = sandbox_factory(), sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    return onprem, cloud


def _register_hypothesis_profiles() -> None:
    """The depth of the Hypothesis tests that set no example count (see tests/depth.py)."""
    from depth import DEFAULT_EXAMPLES
    from hypothesis import settings

    settings.register_profile("hossctl", max_examples=DEFAULT_EXAMPLES, deadline=None)
    settings.load_profile("hossctl")


def pytest_report_header() -> str:
    from depth import FULL

    if FULL:
        return "depth: full (HOSSCTL_TESTS=full): every seed, every Hypothesis example"
    return "depth: quick (set HOSSCTL_TESTS=full for every seed and every Hypothesis example)"


_register_hypothesis_profiles()


# The files whose tests take longest (mostly waiting: backoff sleeps, signals, slow servers).
# They go first, so that pytest-xdist (--dist loadfile, keeping this order) starts each on a
# worker of its own while the rest of the suite fills the others.
LONGEST_FIRST = (
    "test_apply_faults.py",
    "test_apply_signals.py",
    "test_apply_safety.py",
    "test_plan_cli.py",
    "test_hostile_server.py",
    "test_ci_recipes_run.py",
    "test_rehearse.py",
    "test_sandbox_sync_service.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays


def pytest_configure(config: pytest.Config) -> None:
    """In the controller, before pytest-xdist starts its workers: compile hossctl and the test
    helpers once, rather than in every worker, fork server and child process of a fresh checkout."""
    if hasattr(config, "workerinput"):
        return
    import compileall
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for directory in (root / "hossctl", root / "tests"):
        compileall.compile_dir(directory, quiet=1, workers=0)
