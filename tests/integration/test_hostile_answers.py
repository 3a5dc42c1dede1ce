"""Answers hossctl cannot trust never read as "empty": a real sandbox behind a garbling proxy.

Namespace `scratch2` holds dataset `precious`, and the config deletes it. Whatever the proxy
puts in place of the dataset list, `plan` must refuse (exit 1, no plan file) and say which
request gave what; `apply` must send no DELETE. A garbled namespace record or sync list ends
the run with one line naming the field, instead of reading as a change.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hostile import DATASET_MODES, FRESH_TOKEN, LOGIN_PAGE, HostileProxy

from hossctl.cli import cli

SandboxFactory = Callable[..., Any]

SCRATCH2 = {"description": "Scratch", "object_store": "default", "bucket": "scratch2"}

# What each mode's answer is reported as, after "GET <dataset list URL> with ".
WHAT = {
    "html": "200 and Content-Type text/html; charset=utf-8 instead of JSON (body "
    + repr(LOGIN_PAGE.decode()[:80])
    + "…)",
    "invalid-json": "200 and Content-Type application/json, but invalid JSON (body '[{\"name\": ')",
    "non-objects": 'a malformed answer (item 0 is "precious", not an object)',
    "wrong-types": "a malformed answer (item 0 has 'name' 5, not a string)",
    "null": "a malformed answer (the answer is null, not a list (an empty dataset list is []))",
}


@pytest.fixture
def onprem(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    sb = sandbox_factory()
    sb.seed_namespace("scratch2", description="Scratch", bucket="scratch2")
    sb.seed_dataset("scratch2", "precious")
    monkeypatch.setenv("ONPREM_PAT", sb.admin_pat)
    monkeypatch.delenv("HOSS_PAT", raising=False)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    return sb


def _config(tmp_path: Path, url: str, namespaces: dict[str, Any]) -> str:
    server = {"url": url, "pat_env": "ONPREM_PAT", "namespaces": namespaces}
    doc = {"version": 1, "servers": {"onprem": server}}
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


def _hossctl(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _untouched(sb: Any) -> None:
    assert "scratch2" in [ns["name"] for ns in sb.namespaces()]
    assert [ds["name"] for ds in sb.datasets("scratch2")] == ["precious"]


def test_the_proxy_is_transparent_without_garbling(onprem: Any, tmp_path: Path) -> None:
    """Through the proxy, with an answer it does not touch, the delete is blocked for what it is."""
    with HostileProxy(onprem.url, "transparent") as proxy:
        result = _hossctl("plan", "-f", _config(tmp_path, proxy.url, {"scratch2": {"ensure": "absent"}}))
    assert result.exit_code == 1, result.output
    assert "namespace 'scratch2' on server 'onprem' holds 1 dataset(s)" in result.output
    assert "could not verify" not in result.output


@pytest.mark.parametrize("mode", DATASET_MODES)
def test_a_garbled_dataset_list_blocks_the_delete(onprem: Any, tmp_path: Path, mode: str) -> None:
    planfile = tmp_path / "hoss.plan"
    with HostileProxy(onprem.url, mode) as proxy:
        config = _config(tmp_path, proxy.url, {"scratch2": {"ensure": "absent"}})
        result = _hossctl("plan", "-f", config, "--out", str(planfile))
        assert proxy.rewritten >= 1
    assert result.exit_code == 1, result.output
    out = result.output
    assert "namespace-not-empty" in out
    assert (
        "could not verify that namespace 'scratch2' on server 'onprem' holds no datasets, so deleting it "
        f"cannot be shown to be safe: server 'onprem' answered GET {proxy.url}/core/v1/namespace/scratch2/"
        f"dataset/ with {WHAT[mode]}: "
    ) in out
    assert "\x1b" not in out  # a terminal escape in the body is shown escaped, never sent to the terminal
    assert "hoss.plan was not written" in out and not planfile.exists()
    assert onprem.admin_pat not in out
    _untouched(onprem)


def test_apply_sends_no_delete_when_the_dataset_list_is_garbled(onprem: Any, tmp_path: Path) -> None:
    with HostileProxy(onprem.url, "html") as proxy:
        config = _config(tmp_path, proxy.url, {"scratch2": {"ensure": "absent"}})
        result = _hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "could not verify that namespace 'scratch2' on server 'onprem' holds no datasets" in result.output
    _untouched(onprem)


def test_a_garbled_namespace_record_is_an_error_not_a_replace(onprem: Any, tmp_path: Path) -> None:
    planfile = tmp_path / "hoss.plan"
    with HostileProxy(onprem.url, "namespace-wrong-types") as proxy:
        config = _config(tmp_path, proxy.url, {"scratch2": SCRATCH2})
        result = _hossctl("plan", "-f", config, "--out", str(planfile))
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1, result.output  # one line, nothing planned
    assert result.output.startswith(
        f"Error: server 'onprem' answered GET {proxy.url}/core/v1/namespace/?limit=500&offset=0 with a "
        "malformed answer (item 1 has 'description' 5, not a string): "
    )
    assert "replace" not in result.output and not planfile.exists()
    _untouched(onprem)


def test_a_garbled_sync_list_ends_the_plan(onprem: Any, tmp_path: Path) -> None:
    with HostileProxy(onprem.url, "sync-non-objects") as proxy:
        result = _hossctl("plan", "-f", _config(tmp_path, proxy.url, {"scratch2": SCRATCH2}))
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1, result.output
    assert (
        f"answered GET {proxy.url}/core/v1/namespace/scratch2/sync with a malformed answer "
        "(item 0 is \"https://partner.example/core/v1\", not an object)"
    ) in result.output


def test_a_garbled_token_answer_is_never_quoted(onprem: Any, tmp_path: Path) -> None:
    with HostileProxy(onprem.url, "exchange-not-json") as proxy:
        result = _hossctl("plan", "-f", _config(tmp_path, proxy.url, {"scratch2": SCRATCH2}))
    assert result.exit_code == 1, result.output
    assert result.output.startswith(
        f"Error: server 'onprem' answered POST {proxy.url}/auth/v1/pat/exchange/jwt with 201 and "
        "Content-Type text/plain instead of JSON: check that "
    )
    assert FRESH_TOKEN not in result.output and "body" not in result.output
    assert onprem.admin_pat not in result.output


def test_a_404_that_is_not_the_cores_own_is_not_an_empty_namespace(onprem: Any, tmp_path: Path) -> None:
    """Only the core's 404 "Resource not found" means the namespace is gone (and so holds nothing)."""
    with HostileProxy(onprem.url, "route-404") as proxy:
        result = _hossctl("plan", "-f", _config(tmp_path, proxy.url, {"scratch2": {"ensure": "absent"}}))
    assert result.exit_code == 1, result.output
    assert (
        "holds no datasets, so deleting it cannot be shown to be safe: server 'onprem' answered 404 "
        f"(Content-Type text/plain, body '404 page not found') to GET {proxy.url}/core/v1/namespace/scratch2/"
        "dataset/"
    ) in result.output
    _untouched(onprem)
