"""`hossctl apply` end to end against two real sandboxes (onprem and cloud)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from configs import ns
from prompt import AtPrompt

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
Pair = tuple[Sandbox, Sandbox]


def write_config(
    tmp_path: Path, pair: Pair, onprem: dict[str, Any], cloud: dict[str, Any], name: str = "hoss.yaml"
) -> str:
    doc = {
        "version": 1,
        "servers": {
            "onprem": {"url": pair[0].url, "pat_env": "ONPREM_PAT", "namespaces": onprem},
            "cloud": {"url": pair[1].url, "pat_env": "CLOUD_PAT", "namespaces": cloud},
        },
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def hossctl(*args: str, input: str | io.BytesIO | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def state(sb: Sandbox) -> dict[str, Any]:
    """Everything apply could change on a server, for before/after comparisons."""
    return {
        n["name"]: (n["description"], n["object_store"], n["bucket_name"], sorted_rows(sb, n["name"]))
        for n in sb.namespaces()
    }


def sorted_rows(sb: Sandbox, namespace: str) -> list[tuple[str, str, str]]:
    return sorted(
        (r["target_core_service"], r["target_namespace"], r["sync_type"]) for r in sb.sync_targets(namespace)
    )


def test_fresh_apply_with_duplex_link_then_plan_is_clean(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = pair
    config = write_config(
        tmp_path,
        pair,
        {"shared": ns("shared", {"target": "cloud", "type": "duplex"}), "local": ns("local")},
        {"shared": ns("shared")},
    )
    result = hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert (
        "Apply complete: 3 created, 0 replaced, 0 deleted, 2 sync enabled, 0 sync disabled." in result.output
    )
    assert "Duplex link cloud/shared <-> onprem/shared: verified on both servers." in result.output
    assert "✓ + namespace onprem/local (" in result.output
    assert sorted_rows(onprem, "shared") == [(cloud.core_url, "shared", "duplex")]
    assert sorted_rows(cloud, "shared") == [(onprem.core_url, "shared", "duplex")]
    assert {"shared", "local", "default"} == {n["name"] for n in onprem.namespaces()}

    again = hossctl("plan", "-f", config, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    no_changes = hossctl("apply", "-f", config)  # no input: must not ask
    assert no_changes.exit_code == 0, no_changes.output
    assert "No changes." in no_changes.output
    assert "Type 'yes'" not in no_changes.output
    as_json = hossctl("apply", "-f", config, "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    _conforms(document)
    assert (document["status"], document["changes"]) == ("no-changes", [])


def test_sync_type_change_ends_with_the_new_type(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = pair
    onprem.seed_namespace("data", description="Managed", bucket="data")
    cloud.seed_namespace("data", description="Managed", bucket="data")
    onprem.seed_sync("data", cloud.core_url, "data", "simplex")
    config = write_config(
        tmp_path, pair, {"data": ns("data", {"target": "cloud", "type": "duplex"})}, {"data": ns("data")}
    )
    result = hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "1 sync disabled." in result.output
    assert sorted_rows(onprem, "data") == [(cloud.core_url, "data", "duplex")]
    assert sorted_rows(cloud, "data") == [(onprem.core_url, "data", "duplex")]
    assert hossctl("plan", "-f", config, "--detailed-exitcode").exit_code == 0


def _conforms(document: object) -> None:
    """`apply --json` output is described by schemas/apply-result.schema.json."""
    import jsonschema

    from hossctl.schemas import load_schema

    jsonschema.Draft202012Validator(load_schema("apply-result.schema.json")).validate(document)


def test_plan_file_is_applied_as_saved(pair: Pair, tmp_path: Path) -> None:
    onprem = pair[0]
    config = write_config(tmp_path, pair, {"saved": ns("saved")}, {})
    plan_path = str(tmp_path / "plan.json")
    planned = hossctl("plan", "-f", config, "--out", plan_path)
    assert planned.exit_code == 0, planned.output
    result = hossctl("apply", plan_path, "-f", config, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _conforms(document)
    assert document["status"] == "applied"
    assert [(c["id"], c["status"]) for c in document["changes"]] == [("onprem/saved/create", "done")]
    assert document["summary"]["created"] == 1
    assert state(onprem)["saved"][:3] == ("Managed", "default", "saved")


def test_stale_plan_file_is_refused(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = pair
    cloud.seed_namespace("later", description="Managed", bucket="later")
    config = write_config(
        tmp_path, pair, {"later": ns("later", {"target": "cloud", "type": "simplex"})}, {"later": ns("later")}
    )
    plan_path = str(tmp_path / "plan.json")
    assert hossctl("plan", "-f", config, "--out", plan_path).exit_code == 0
    # Someone else changes a namespace the plan touches (the sync target) meanwhile.
    cloud.seed_sync("later", onprem.core_url, "later", "simplex")
    before = (state(onprem), state(cloud))
    result = hossctl("apply", plan_path, "-f", config)
    assert result.exit_code == 1
    assert "stale" in result.output
    assert "namespace cloud/later" in result.output
    assert (state(onprem), state(cloud)) == before


def test_plan_with_violations_is_refused_and_nothing_changes(pair: Pair, tmp_path: Path) -> None:
    onprem, cloud = pair
    onprem.seed_namespace("full", description="Has data", bucket="full")
    onprem.seed_dataset("full", "experiment-1")
    config = write_config(
        tmp_path, pair, {"full": {"ensure": "absent"}, "extra": ns("extra")}, {"new": ns("new")}
    )
    before = (state(onprem), state(cloud))
    result = hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 1
    assert "namespace-not-empty" in result.output
    assert "nothing was applied" in result.output
    assert (state(onprem), state(cloud)) == before


@pytest.mark.parametrize(
    ("answer", "applied"),
    [
        pytest.param("no\n", False, id="no"),
        pytest.param("", False, id="end-of-input"),
        pytest.param("YES\n", False, id="only-lower-case-yes"),
        pytest.param("yes\n", True, id="yes"),
    ],
)
def test_prompt_is_honoured(pair: Pair, tmp_path: Path, answer: str, applied: bool) -> None:
    onprem, cloud = pair
    config = write_config(tmp_path, pair, {"asked": ns("asked")}, {"asked": ns("asked")})
    result = hossctl("apply", "-f", config, input=answer)
    assert "Type 'yes' to apply:" in result.output
    names = ({n["name"] for n in onprem.namespaces()}, {n["name"] for n in cloud.namespaces()})
    if applied:
        assert result.exit_code == 0, result.output
        assert names == ({"default", "asked"}, {"default", "asked"})
    else:
        assert result.exit_code == 1
        assert "nothing was changed" in result.output
        assert names == ({"default"}, {"default"})




def test_a_world_that_moved_at_the_prompt_is_not_applied(pair: Pair, tmp_path: Path) -> None:
    """Another writer gets in while apply waits for 'yes': apply plans again and refuses."""
    onprem, cloud = pair
    for sb in pair:
        sb.seed_namespace("x", description="Managed", bucket="x")
    config = write_config(
        tmp_path,
        pair,
        {"p": ns("p"), "x": ns("x", {"target": "cloud", "type": "simplex"})},
        {"x": ns("x")},
    )
    before_onprem = state(onprem)
    seen: dict[str, Any] = {}

    def someone_else() -> None:
        onprem.seed_sync("x", cloud.core_url, "x", "duplex")
        cloud.seed_namespace("r", description="Not ours", bucket="elsewhere")
        seen["cloud"] = state(cloud)

    result = hossctl("apply", "-f", config, input=AtPrompt(b"yes\n", someone_else))
    assert result.exit_code == 1, result.output
    assert "The live state changed while apply waited for confirmation" in result.output
    assert f"the sync targets of onprem/x changed: {cloud.core_url}#x (duplex) appeared" in result.output
    assert "nothing was applied" in result.output
    after = state(onprem)
    assert after["x"][3] == [(cloud.core_url, "x", "duplex")]  # only the other writer's row
    assert set(after) == set(before_onprem)  # 'p' was not created
    assert state(cloud) == seen["cloud"]


def test_failures_are_all_reported_with_done_blocked_and_not_attempted(pair: Pair, tmp_path: Path) -> None:
    """Another writer acts between plan and write: the changes it affects fail or are blocked, loudly,
    and what it made is never overwritten."""
    import asyncio

    from hossctl.apply.executor import ApplyResult, execute
    from hossctl.commands.apply import ApplyOptions, _clients, report_lines, result_document
    from hossctl.commands.plan import compute_plan
    from hossctl.config.loader import load_config

    onprem, cloud = pair
    for sb in pair:
        sb.seed_namespace("x", description="Managed", bucket="x")
    path = write_config(
        tmp_path,
        pair,
        {"p": ns("p"), "r": ns("r"), "x": ns("x", {"target": "cloud", "type": "simplex"})},
        {"x": ns("x"), "r": ns("r", {"target": "onprem", "type": "simplex"})},
    )
    config = load_config([path])

    async def run() -> ApplyResult:
        async with _clients(config, ApplyOptions()) as clients:
            plan = (await compute_plan(config, clients)).plan
            onprem.seed_sync("x", cloud.core_url, "x", "duplex")  # our simplex PUT becomes a silent no-op
            cloud.seed_namespace("r", description="Not ours", bucket="elsewhere")
            return await execute(plan, clients)

    result = asyncio.run(run())
    human = "\n".join(report_lines(result))
    assert "Apply failed: 2 done, 1 failed, 1 blocked, 1 not attempted." in human
    assert "  + namespace cloud/r: namespace cloud/r appeared after the plan was made" in human
    assert "has sync type duplex, not simplex" in human
    assert "Blocked (not sent: the live state moved after the plan was made):" in human
    document = result_document(result, None)
    _conforms(document)
    statuses = {(c["server"], c["namespace"], c["action"]): c["status"] for c in document["changes"]}
    assert statuses == {
        ("onprem", "p", "create_namespace"): "done",
        ("onprem", "r", "create_namespace"): "done",
        ("cloud", "r", "create_namespace"): "blocked",
        ("onprem", "x", "enable_sync"): "failed",
        ("cloud", "r", "enable_sync"): "skipped",
    }
    assert document["status"] == "failed"
    assert (document["summary"]["blocked"], document["summary"]["not_attempted"]) == (1, 1)
    assert state(cloud)["r"][:3] == ("Not ours", "default", "elsewhere")  # the other writer's, untouched
    assert sorted_rows(cloud, "r") == []  # the skipped enable really was not attempted


def test_a_plan_file_is_applied_only_with_its_own_config(pair: Pair, tmp_path: Path) -> None:
    config = write_config(tmp_path, pair, {"saved": ns("saved")}, {})
    other = write_config(tmp_path, pair, {"saved": ns("saved", description="Other")}, {}, name="other.yaml")
    plan_path = str(tmp_path / "plan.json")
    assert hossctl("plan", "-f", config, "--out", plan_path).exit_code == 0
    before = (state(pair[0]), state(pair[1]))
    result = hossctl("apply", plan_path, "-f", other)
    assert result.exit_code == 1
    assert f"Plan file {plan_path} was not made from the config in {other}" in result.output
    assert (state(pair[0]), state(pair[1])) == before


def test_plan_file_with_violations_is_refused(pair: Pair, tmp_path: Path) -> None:
    from hossctl.plan import planfile
    from hossctl.plan.changes import Change, Plan, Violation

    onprem, cloud = pair
    delete = Change(
        id="onprem/default/delete",
        action="delete_namespace",
        server="onprem",
        namespace="default",
        reason="r",
    )
    violation = Violation(
        check="protected",
        change=delete.id,
        server="onprem",
        namespace="default",
        message="protected",
        resolution="remove protect",
    )
    path = tmp_path / "bad-plan.json"
    planfile.save(
        path,
        Plan(changes=(delete,), violations=(violation,)),
        {"onprem": (onprem.url, "ONPREM_PAT")},
        config_digest="0" * 64,
    )
    before = (state(onprem), state(cloud))
    result = hossctl("apply", str(path))
    assert result.exit_code == 1
    assert "safety violation" in result.output and "protected" in result.output
    assert (state(onprem), state(cloud)) == before


def test_apply_prints_hostile_names_escaped_and_json_exact(pair: Pair, tmp_path: Path) -> None:
    """Issue 10, case 4: live names that would write on the terminal, pruned by apply."""
    onprem, cloud = pair
    hostile = {
        "evil\x1b]0;PWNED\x07\x1b[2Jx": "evil\\x1b]0;PWNED\\x07\\x1b[2Jx",
        "a\r\nFAKE: Apply complete": "a\\r\\nFAKE: Apply complete",
        "rev\u202eexe.txt": "rev\\u202eexe.txt",
    }
    for i, name in enumerate(hostile):
        onprem.seed_namespace(name, description=f"About {name}", bucket=f"hostile-{i}")
    path = tmp_path / "hoss.yaml"
    doc = {
        "version": 1,
        "servers": {
            "onprem": {"url": onprem.url, "pat_env": "ONPREM_PAT", "prune": True, "namespaces": {}},
            "cloud": {"url": cloud.url, "pat_env": "CLOUD_PAT", "namespaces": {}},
        },
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = hossctl("apply", "-f", str(path), "--auto-approve", "--json")
    assert result.exit_code == 0, result.output
    assert not [ch for ch in ("\x1b", "\r", "\x07", "\u202e") if ch in result.stderr], result.stderr
    assert not any(line.startswith("FAKE") for line in result.stderr.splitlines())
    for shown in hostile.values():
        assert f"✓ - namespace onprem/{shown} (" in result.stderr  # the progress line
    document = json.loads(result.stdout)
    assert {c["namespace"] for c in document["changes"]} >= set(hostile)
    assert not set(hostile) & {n["name"] for n in onprem.namespaces()}
