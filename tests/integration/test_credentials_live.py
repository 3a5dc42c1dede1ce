"""Credentials go only where the config says, end to end against a real sandbox.

The sandbox's discover names its auth service by the address it listens on
(``http://127.0.0.1:PORT/auth/v1``). Reaching the same sandbox under another host name that
also resolves to this machine therefore looks, to hossctl, like a server whose discover
points the PAT at another origin: exactly what a hostile server would do.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


def _other_loopback_name() -> str:
    """A host name (not ``localhost``) that resolves to this machine, or skip."""
    for name in (socket.gethostname(), "vm", "runsc"):
        try:
            if name and name != "localhost" and socket.gethostbyname(name).startswith("127."):
                return name
        except OSError:
            continue
    pytest.skip("no host name other than localhost resolves to this machine")


def _plan(tmp_path: Path, server: dict[str, Any], *extra: str) -> Result:
    doc = {"version": 1, "servers": {"lab": {"pat_env": "LAB_PAT", "namespaces": {}, **server}}}
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return CliRunner().invoke(cli, ["plan", "-f", str(path), *extra], catch_exceptions=False)


@pytest.fixture
def lab(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sb = sandbox_factory()
    monkeypatch.setenv("LAB_PAT", sb.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    return sb


def test_an_auth_service_on_another_origin_is_refused(lab: Sandbox, tmp_path: Path) -> None:
    port = lab.url.rsplit(":", 1)[1]
    result = _plan(tmp_path, {"url": f"http://localhost:{port}"})
    assert result.exit_code == 1
    assert result.output == (
        f"Error: server 'lab' (http://localhost:{port}) names its auth service at "
        f"http://127.0.0.1:{port}/auth/v1, which is not on http://localhost:{port}: hossctl sends the PAT "
        "only to the server's own scheme, host and port; if the auth service really lives there, declare "
        f"auth_url: http://127.0.0.1:{port}/auth/v1 for server 'lab' in the config\n"
    )
    assert lab.admin_pat not in result.output


def test_a_declared_auth_url_is_where_the_pat_goes(lab: Sandbox, tmp_path: Path) -> None:
    port = lab.url.rsplit(":", 1)[1]
    result = _plan(tmp_path, {"url": f"http://localhost:{port}", "auth_url": f"http://127.0.0.1:{port}/auth/v1"})
    assert result.exit_code == 0, result.output
    assert result.output == "No changes.\n"


def test_plain_http_off_this_machine_needs_allow_insecure_http(lab: Sandbox, tmp_path: Path) -> None:
    name = _other_loopback_name()
    port = lab.url.rsplit(":", 1)[1]
    url = f"http://{name}:{port}"
    auth = f"http://{name}:{port}/auth/v1"
    refused = _plan(tmp_path, {"url": url, "auth_url": auth})
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: server 'lab' would receive its PAT and tokens over plain http at {url}, where anyone on the "
        "network can read them: use https, or set allow_insecure_http: true for server 'lab' in the config "
        "if this network is trusted\n"
    )
    allowed = _plan(tmp_path, {"url": url, "auth_url": auth, "allow_insecure_http": True})
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output.splitlines()[0] == (
        f"Warning: server 'lab' is reached over plain http ({url}, allow_insecure_http: true): its PAT and "
        "tokens cross the network unencrypted."
    )
    markdown = _plan(tmp_path, {"url": url, "auth_url": auth, "allow_insecure_http": True}, "--markdown")
    assert markdown.output.startswith("> **Warning: server 'lab' is reached over plain http")
