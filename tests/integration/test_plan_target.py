"""``--target``: a partial plan of some servers or namespaces and what they depend on, and ``graph``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from configs import ns

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def world(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[
    Sandbox, Sandbox, str
]:
    onprem, cloud = sandbox_factory(), sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    onprem.seed_namespace("stray", description="not declared", bucket="stray")
    doc = {
        "version": 1,
        "servers": {
            "onprem": {
                "url": onprem.url,
                "pat_env": "ONPREM_PAT",
                "prune": True,
                "namespaces": {
                    "default": {**ns("default"), "description": "Default namespace", "bucket": "data"},
                    "raw": ns("raw", {"target": "cloud", "type": "simplex"}),
                    "other": ns("other"),
                },
            },
            "cloud": {"url": cloud.url, "pat_env": "CLOUD_PAT", "namespaces": {"raw": ns("raw")}},
        },
    }
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return onprem, cloud, str(path)


def hossctl(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _plan(config: str, *args: str) -> dict[str, Any]:
    result = hossctl("plan", "-f", config, "--json", *args)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


World = tuple[Sandbox, Sandbox, str]


def test_a_namespace_target_takes_what_it_depends_on_and_nothing_else(world: World) -> None:
    _, _, config = world
    doc = _plan(config, "--target", "onprem/raw")
    assert doc["targets"] == ["onprem/raw"]
    assert [c["id"].rsplit("/", 1)[-1] for c in doc["changes"]] == ["create", "create", "enable"]
    assert {(c["server"], c["namespace"]) for c in doc["changes"]} == {("onprem", "raw"), ("cloud", "raw")}
    full = _plan(config)
    assert full["targets"] == [] and len(full["changes"]) > len(doc["changes"])
    assert any(c["namespace"] == "stray" for c in full["changes"])  # pruned only in the full plan


def test_a_partial_plan_says_so_loudly(world: World) -> None:
    _, _, config = world
    text = hossctl("plan", "-f", config, "--target", "cloud").stdout
    assert text.startswith(
        "Partial plan (--target cloud): only these and what they depend on; other differences are "
        "neither shown nor applied.\n"
    )
    assert "onprem" not in text.split("Plan:")[0].split("\n", 1)[1]
    markdown = hossctl("plan", "-f", config, "--target", "cloud", "--markdown").stdout
    assert "> ⚠️ **Partial plan (--target cloud)" in markdown


def test_apply_with_a_target_leaves_everything_else(world: World) -> None:
    onprem, cloud, config = world
    result = hossctl("apply", "-f", config, "--target", "onprem/other", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert {n["name"] for n in onprem.namespaces()} == {"default", "stray", "other"}  # stray not pruned
    assert {n["name"] for n in cloud.namespaces()} == {"default"}


def test_a_saved_partial_plan_needs_the_same_target_at_apply(world: World, tmp_path: Path) -> None:
    onprem, _, config = world
    out = str(tmp_path / "hoss.plan")
    assert hossctl("plan", "-f", config, "--target", "onprem/other", "--out", out).exit_code == 0
    refused = hossctl("apply", out, "-f", config)
    assert refused.exit_code == 1
    hint = "the plan was made with --target onprem/other: give apply the same --target options"
    assert hint in refused.output
    assert "other" not in {n["name"] for n in onprem.namespaces()}
    applied = hossctl("apply", out, "-f", config, "--target", "onprem/other")
    assert applied.exit_code == 0, applied.output
    assert "other" in {n["name"] for n in onprem.namespaces()}


def test_an_unknown_target_server_is_one_sentence(world: World) -> None:
    _, _, config = world
    result = hossctl("plan", "-f", config, "--target", "nowhere/raw")
    assert result.exit_code == 1
    assert result.output == (
        "Error: --target 'nowhere/raw' names no server of the config: give SERVER or SERVER/NAMESPACE "
        "with one of onprem, cloud\n"
    ) or result.output == (
        "Error: --target 'nowhere/raw' names no server of the config: give SERVER or SERVER/NAMESPACE "
        "with one of cloud, onprem\n"
    )


def test_graph_draws_the_declared_topology_offline(tmp_path: Path) -> None:
    doc = {
        "version": 1,
        "servers": {
            "a": {
                "url": "https://a.example.org",
                "namespaces": {"x": ns("x", {"target": "b", "type": "duplex"})},
            },
            "b": {"url": "https://b.example.org", "namespaces": {"x": ns("x")}},
        },
    }
    path = tmp_path / "hoss.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    mermaid = hossctl("graph", "-f", str(path))
    assert mermaid.exit_code == 0, mermaid.output
    assert mermaid.stdout.startswith("flowchart LR\n")
    assert '  n0 <-->|"duplex"| n1\n' in mermaid.stdout
    dot = hossctl("graph", "-f", str(path), "--format", "dot")
    assert dot.stdout.startswith("digraph hoss {") and "dir=both" in dot.stdout
