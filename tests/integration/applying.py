"""Helpers of the apply tests: a two-server config file and hossctl in this process or another."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

Pair = tuple[Sandbox, Sandbox]


def write_config(
    path: Path,
    pair: Pair,
    onprem: dict[str, Any],
    cloud: dict[str, Any] | None = None,
    *,
    prune: bool = False,
) -> str:
    doc = {
        "version": 1,
        "servers": {
            "onprem": {"url": pair[0].url, "pat_env": "ONPREM_PAT", "prune": prune, "namespaces": onprem},
            "cloud": {"url": pair[1].url, "pat_env": "CLOUD_PAT", "namespaces": cloud or {}},
        },
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def hossctl(*args: str, input: str | io.BytesIO | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def subprocess_env() -> dict[str, str]:
    """This process's environment for a ``python -m hossctl`` child, without a stray JWT."""
    env = {k: v for k, v in os.environ.items() if k != "HOSS_JWT"}
    env["PYTHONUNBUFFERED"] = "1"
    return env
