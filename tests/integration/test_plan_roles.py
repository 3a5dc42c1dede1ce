"""A token that cannot see everything plans no changes: the user PAT of a real sandbox.

Dataset lists show only what the caller's groups may see (docs/hoss-server.md §8.1), so a user-role
token would find a namespace "empty" while it holds other people's data. hossctl refuses it
before any dataset read, as soon as the server has anything to change; reading is fine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from hossctl.cli import cli

SandboxFactory = Callable[..., Any]

REFUSED = (
    "Error: server 'onprem' has changes to plan, but its token has role 'user', and planning changes "
    "needs role 'admin' (or 'service'), the only roles that see every dataset and may write: use the "
    "PAT of a user with the admin role in $ONPREM_PAT\n"
)


@pytest.fixture
def onprem(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    sb = sandbox_factory()
    sb.seed_namespace("scratch2", description="Scratch", bucket="scratch2")
    sb.seed_dataset("scratch2", "precious")  # owned by admin: invisible to the user's groups
    monkeypatch.setenv("ONPREM_PAT", sb.user_pat)
    monkeypatch.delenv("HOSS_PAT", raising=False)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    return sb


def _config(tmp_path: Path, sb: Any, namespaces: dict[str, Any]) -> str:
    server = {"url": sb.url, "pat_env": "ONPREM_PAT", "namespaces": namespaces}
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "servers": {"onprem": server}}), encoding="utf-8")
    return str(path)


def _hossctl(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _still_there(sb: Any) -> None:
    assert "scratch2" in [ns["name"] for ns in sb.namespaces()]
    assert [ds["name"] for ds in sb.datasets("scratch2")] == ["precious"]


def test_a_user_token_cannot_plan_a_delete(onprem: Any, tmp_path: Path) -> None:
    planfile = tmp_path / "hoss.plan"
    config = _config(tmp_path, onprem, {"scratch2": {"ensure": "absent"}})
    result = _hossctl("--debug", "plan", "-f", config, "--out", str(planfile))
    assert result.exit_code == 1, result.output
    assert result.output.endswith(REFUSED), result.output
    # Refused before the dataset reads (and the PUT /user/sync before them): nothing was listed.
    assert "/dataset/" not in result.output and "/user/sync" not in result.output
    assert "namespace/scratch2/sync -> 200" in result.output  # the plain reads did run
    assert not planfile.exists()
    assert onprem.user_pat not in result.output
    _still_there(onprem)


def test_a_user_jwt_from_the_environment_is_refused_too(
    onprem: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jwt = httpx.post(
        f"{onprem.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {onprem.user_pat}"}
    ).json()["id_token"]
    monkeypatch.delenv("ONPREM_PAT")
    monkeypatch.setenv("HOSS_JWT", jwt)
    result = _hossctl("plan", "-f", _config(tmp_path, onprem, {"scratch2": {"ensure": "absent"}}))
    assert (result.exit_code, result.output) == (1, REFUSED)
    assert jwt not in result.output


def test_apply_refuses_a_user_token_before_any_change(onprem: Any, tmp_path: Path) -> None:
    config = _config(tmp_path, onprem, {"scratch2": {"ensure": "absent"}})
    result = _hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 1, result.output
    assert REFUSED in result.output
    _still_there(onprem)


def test_a_user_token_may_plan_when_nothing_changes(onprem: Any, tmp_path: Path) -> None:
    scratch2 = {"description": "Scratch", "object_store": "default", "bucket": "scratch2"}
    result = _hossctl("plan", "-f", _config(tmp_path, onprem, {"scratch2": scratch2}), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output
