"""`hossctl sandbox` as a process: prints its URL and PATs, serves, stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sandbox_process import start_sandbox

from hossctl.cli import cli

# plain-HTTP loopback client: verify=False skips building a TLS context per call
HTTP = httpx.Client(verify=False, timeout=10)


def _start(*args: str) -> tuple[subprocess.Popen[str], str, str, str]:
    started = start_sandbox(*args)
    return started.process, started.url, started.admin_pat, started.user_pat


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_stops_cleanly(processes: list[subprocess.Popen[str]], signum: int) -> None:
    process, url, admin, user = _start()
    processes.append(process)
    assert HTTP.get(f"{url}/core/v1/discover").json()["auth_service"] == f"{url}/auth/v1"
    for pat in (admin, user):
        response = HTTP.post(f"{url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"})
        assert response.status_code == 201
    process.send_signal(signum)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        HTTP.get(f"{url}/core/v1/discover")


def test_options_reach_the_sandbox(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    admin, user = "hp_" + "A" * 30, "hp_" + "B" * 30
    data = tmp_path / "state.sqlite"
    process, url, shown_admin, shown_user = _start(
        "--data", str(data), "--admin-pat", admin, "--user-pat", user,
        "--object-store", "default", "--object-store", "archive",
    )  # fmt: skip
    processes.append(process)
    assert (shown_admin, shown_user) == (admin, user)
    token = HTTP.post(f"{url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {admin}"})
    bearer = {"Authorization": f"Bearer {token.json()['id_token']}"}
    stores = HTTP.get(f"{url}/core/v1/object_store/", headers=bearer)
    assert [s["name"] for s in stores.json()] == ["default", "archive"]
    process.terminate()
    process.communicate(timeout=10)
    assert process.returncode == 0 and data.exists()


def test_port_in_use_is_one_sentence() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["sandbox", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: Port {port} on 127.0.0.1 is already in use; pick another with --port (0 picks a free port)."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--admin-pat", "secret"], "The admin PAT is not a Hoss PAT"),
        (["--user-pat", "hp_"], "The user PAT is not a Hoss PAT"),
        (["--admin-pat", "hp_same1", "--user-pat", "hp_same1"], "The admin and user PATs are the same"),
        (["--object-store", "a|b"], "Object store name 'a|b' is not allowed"),
        (["--port", "70000"], "Port 70000 is out of range"),
        (["--host", "203.0.113.9"], "Cannot listen on host '203.0.113.9'"),
        (["--dataset-sync-delay", "-1"], "Dataset sync delay -1.0 s is negative; give 0 or more seconds."),
        (["--sync-auth-url", "http://127.0.0.1:1/auth/v1"], "A sync auth URL is only used by the sync"),
        (["--sync-service", "--sync-auth-url", "localhost/auth/v1"], "The sync auth URL is not an http(s)"),
    ],
)
def test_invalid_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", *args])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert "Traceback" not in result.output and "secret" not in result.output


@pytest.mark.parametrize(("args", "fragment"), [(["--fault-rate", "2"], "--fault-rate"),
                                                (["--latency-ms", "-1"], "--latency-ms")])  # fmt: skip
def test_range_checks_by_click(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", *args])
    assert result.exit_code == 1 and fragment in result.output  # never 2: that means "changes present"
