"""A change that would lose data never reaches the server, whatever moves between plan and write.

Each test reproduces one way 0.1 lost data (issue 9) against real sandboxes and shows the
data intact and a clear message: a dataset created while apply waits at its prompt or
just before the write, plan files edited by hand (changes, URLs, PAT variables), two
applies at once (signals in the middle of an apply: test_apply_signals.py).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from applying import Pair, hossctl, subprocess_env, write_config
from configs import ns
from prompt import AtPrompt

from hossctl.apply.executor import ApplyResult, execute
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]


def names(sb: Sandbox) -> set[str]:
    return {n["name"] for n in sb.namespaces()}


def datasets(sb: Sandbox, namespace: str) -> list[str]:
    return sorted(d["name"] for d in sb.datasets(namespace))




# -- the prompt window --------------------------------------------------------------------------


def test_dataset_created_at_the_prompt_with_the_official_client_survives(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hoss = pytest.importorskip("hoss")
    onprem, _ = pair
    onprem.seed_namespace("scratch2", description="Scratch", bucket="scratch2")
    config = write_config(tmp_path / "hoss.yaml", pair, {"scratch2": {"ensure": "absent"}})

    def someone_creates_a_dataset() -> None:
        monkeypatch.setenv("HOSS_PAT", onprem.admin_pat)
        hoss.connect(onprem.url).get_namespace("scratch2").create_dataset("precious", "irreplaceable")

    result = hossctl("apply", "-f", config, input=AtPrompt(b"yes\n", someone_creates_a_dataset))
    assert "- namespace onprem/scratch2" in result.output
    assert result.exit_code == 1, result.output
    assert "The live state changed while apply waited for confirmation" in result.output
    assert "dataset(s) 'precious' appeared in onprem/scratch2" in result.output
    assert "nothing was applied" in result.output
    assert "Traceback" not in result.output
    assert "scratch2" in names(onprem)
    assert datasets(onprem, "scratch2") == ["precious"]


def _apply_with_a_move(config_path: str, move: Callable[[], None]) -> ApplyResult:
    """Plan through the Python API, let ``move`` act on the servers, then execute the plan."""
    from hossctl.commands.apply import ApplyOptions, _clients
    from hossctl.commands.plan import compute_plan
    from hossctl.config.loader import load_config

    config = load_config([config_path])

    async def run() -> ApplyResult:
        async with _clients(config, ApplyOptions()) as clients:
            plan = (await compute_plan(config, clients)).plan
            assert not plan.errors, plan.errors
            move()
            return await execute(plan, clients)

    return asyncio.run(run())


def test_a_dataset_appearing_just_before_the_delete_blocks_it(pair: Pair, tmp_path: Path) -> None:
    onprem, _ = pair
    onprem.seed_namespace("scratch2", description="Scratch", bucket="scratch2")
    onprem.seed_sync("scratch2", "https://partner.example.org/core/v1", "scratch2", "simplex")
    onprem.seed_namespace("also-going", description="Scratch", bucket="also-going")
    config = write_config(
        tmp_path / "hoss.yaml", pair, {"scratch2": {"ensure": "absent"}, "also-going": {"ensure": "absent"}}
    )
    result = _apply_with_a_move(config, lambda: onprem.seed_dataset("scratch2", "precious"))
    outcome = {r.change.id: (r.status, r.error) for r in result.results}
    status, error = outcome["onprem/scratch2/delete"]
    assert status == "blocked"
    assert error is not None
    assert error.startswith(
        "dataset(s) 'precious' appeared in onprem/scratch2 after the plan was made, "
        "so the change was not sent"
    )
    assert datasets(onprem, "scratch2") == ["precious"]
    assert onprem.sync_targets("scratch2")  # the cascade did not run either


@pytest.mark.parametrize(
    ("move", "says"),
    [
        pytest.param(
            lambda sb: sb.seed_dataset("data", "new-sync", sync_enabled=True),
            "dataset(s) 'new-sync' in onprem/data now have sync enabled",
            id="dataset-sync-enabled",
        ),
        pytest.param(
            lambda sb: sb.seed_sync("data", "https://other.example.org/core/v1", "data", "simplex"),
            None,  # an unrelated new row does not touch the facts a disable rests on
            id="unrelated-row",
        ),
    ],
)
def test_a_disable_rests_on_its_datasets_at_the_moment_of_the_write(
    pair: Pair, tmp_path: Path, move: Callable[[Sandbox], None], says: str | None
) -> None:
    onprem, _cloud = pair
    onprem.seed_namespace("data", description="Managed", bucket="data")
    onprem.seed_sync("data", "https://partner.example.org/core/v1", "data", "simplex")
    config = write_config(tmp_path / "hoss.yaml", pair, {"data": ns("data")})
    result = _apply_with_a_move(config, lambda: move(onprem))
    [only] = result.results
    if says is None:
        assert only.status == "done", only.error
        return
    assert (only.status, only.error and only.error.split(" after the plan")[0]) == ("blocked", says)
    assert ("https://partner.example.org/core/v1", "data", "simplex") in {
        (r["target_core_service"], r["target_namespace"], r["sync_type"]) for r in onprem.sync_targets("data")
    }


def _set_dataset(sb: Sandbox, namespace: str, dataset: str, **fields: Any) -> None:
    """A second writer: change a dataset's row the way another client's request would."""
    sets = ", ".join(f"{key} = ?" for key in fields)
    sb._store._conn.execute(
        f"UPDATE datasets SET {sets} WHERE name = ? AND namespace_id = "
        "(SELECT id FROM namespaces WHERE name = ?)",
        (*fields.values(), dataset, namespace),
    )


def _linked_with_a_dataset(pair: Pair, tmp_path: Path) -> str:
    """onprem's 'linked' syncs simplex to cloud and holds dataset d1 with sync off; the config
    wants its datasets syncing simplex, so the plan is one enable_dataset_sync."""
    onprem, cloud = pair
    onprem.seed_namespace("linked", description="Managed", bucket="linked")
    onprem.seed_sync("linked", cloud.core_url, "linked", "simplex")
    onprem.seed_dataset("linked", "d1")
    declared = ns("linked")
    declared["sync"] = [{"target": cloud.url, "namespace": "linked", "type": "simplex"}]
    declared["datasets"] = {"sync": "simplex"}
    return write_config(tmp_path / "hoss.yaml", pair, {"linked": declared})


@pytest.mark.parametrize(
    ("move", "says"),
    [
        pytest.param(
            lambda sb: _set_dataset(sb, "linked", "d1", sync_enabled=1, sync_type="duplex"),
            "the sync of dataset 'd1' in onprem/linked changed: it is duplex on, the plan saw simplex off",
            id="someone-enabled-it",
        ),
        pytest.param(
            lambda sb: _set_dataset(sb, "linked", "d1", delete_status="SCHEDULED"),
            "dataset 'd1' in onprem/linked is being deleted (SCHEDULED)",
            id="delete-scheduled",
        ),
    ],
)
def test_a_dataset_sync_change_rests_on_the_dataset_at_the_moment_of_the_write(
    pair: Pair, tmp_path: Path, move: Callable[[Sandbox], None], says: str
) -> None:
    onprem, _ = pair
    config = _linked_with_a_dataset(pair, tmp_path)
    result = _apply_with_a_move(config, lambda: move(onprem))
    [only] = result.results
    assert only.change.action == "enable_dataset_sync"
    assert (only.status, only.error and only.error.split(" after the plan")[0]) == ("blocked", says)


def test_a_store_without_a_sync_queue_fails_the_dataset_change_clearly(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    onprem = sandbox_factory(object_stores=("default:no-queue",))
    cloud = sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    config = _linked_with_a_dataset((onprem, cloud), tmp_path)
    result = hossctl("apply", "-f", config, "--auto-approve")
    assert result.exit_code == 1
    assert "dataset 'd1' in onprem/linked still has sync disabled; the server answered 500" in result.output
    assert "Traceback" not in result.output
    assert [d["sync_enabled"] for d in onprem.datasets("linked")] == [False]


def test_a_namespace_replaced_by_someone_else_is_not_deleted(pair: Pair, tmp_path: Path) -> None:
    onprem, _ = pair
    onprem.seed_namespace("shared", description="by hand", bucket="shared")
    config = write_config(tmp_path / "hoss.yaml", pair, {"shared": ns("shared")})

    def second_writer_replaces_it() -> None:
        onprem.delete_namespace("shared")
        onprem.seed_namespace("shared", description="second writer", bucket="theirs")

    result = _apply_with_a_move(config, second_writer_replaces_it)
    outcome = {r.change.id: (r.status, r.error) for r in result.results}
    assert outcome["onprem/shared/delete"][0] == "blocked"
    assert "namespace onprem/shared changed: description is now 'second writer' (was 'by hand'); bucket is " \
        "now 'theirs' (was 'shared')" in (outcome["onprem/shared/delete"][1] or "")
    assert outcome["onprem/shared/create"][0] == "skipped"
    assert [(n["description"], n["bucket_name"]) for n in onprem.namespaces() if n["name"] == "shared"] == [
        ("second writer", "theirs")
    ]


# -- saved plans ----------------------------------------------------------------------------------


def _forge(plan_path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(plan_path.read_text())
    edit(doc)
    plan_path.write_text(json.dumps(doc))


def test_a_plan_file_edited_into_a_delete_with_a_recomputed_digest_deletes_nothing(
    pair: Pair, tmp_path: Path
) -> None:
    """The attacker edits a create into the delete of a namespace holding data, and recomputes the
    fact digest from the live state (any user's token can read it). apply plans the config again."""
    from hossctl.plan.changes import Change, Expect
    from hossctl.plan.fingerprint import facts_for
    from hossctl.plan.snapshot import LiveNamespace, make_server_state, make_snapshot
    from hossctl.render.plan_json import change_to_dict

    onprem, _ = pair
    onprem.seed_namespace("victim", description="Precious", bucket="victim")
    onprem.seed_dataset("victim", "precious")
    config = write_config(tmp_path / "hoss.yaml", pair, {"fresh": ns("fresh")})
    plan_path = tmp_path / "hoss.plan"
    assert hossctl("plan", "-f", config, "--out", str(plan_path)).exit_code == 0
    forged = Change(
        id="onprem/victim/delete",
        action="delete_namespace",
        server="onprem",
        namespace="victim",
        reason="not declared in config and prune is on",
        expect=Expect(attributes=("Precious", "default", "victim"), sync_rows=(), datasets="none"),
    )
    # The digest of the facts the forged change rests on, as an attacker would compute it
    # from public reads (the dataset list of a user who cannot see 'precious' is empty).
    live = LiveNamespace("victim", "Precious", "default", "victim", (), ())
    snapshot = make_snapshot(
        {"onprem": make_server_state("onprem", onprem.core_url, "0.2.13", ("default",), {"victim": live})}
    )

    def edit(doc: dict[str, Any]) -> None:
        doc["plan"]["changes"] = [change_to_dict(forged)]
        doc["plan"]["facts"] = facts_for([forged], snapshot)
        doc["plan"]["summary"] = {
            "create": 0, "replace": 0, "delete": 1, "enable_sync": 0, "disable_sync": 0,
            "enable_dataset_sync": 0, "update_dataset_sync": 0, "disable_dataset_sync": 0,
        }

    _forge(plan_path, edit)
    result = hossctl("apply", str(plan_path), "-f", config)
    assert result.exit_code == 1, result.output
    assert f"Plan file {plan_path} is stale or was edited" in result.output
    assert "the plan file has changes the config no longer calls for (onprem/victim/delete)" in result.output
    assert "nothing was applied" in result.output
    assert "victim" in names(onprem) and datasets(onprem, "victim") == ["precious"]
    assert "fresh" not in names(onprem)


@pytest.fixture
def listener() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP server that records every request's headers and answers 404: where no credential may go."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _any(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("edit", ["url", "pat_env", "both"])
def test_a_plan_file_cannot_send_a_credential_where_the_config_does_not(
    pair: Pair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listener: tuple[str, list[dict[str, str]]],
    edit: str,
) -> None:
    url, seen = listener
    onprem, _ = pair
    monkeypatch.setenv("SOME_OTHER_SECRET", "hp_" + "x" * 30)
    config = write_config(tmp_path / "hoss.yaml", pair, {"fresh": ns("fresh")})
    plan_path = tmp_path / "hoss.plan"
    assert hossctl("plan", "-f", config, "--out", str(plan_path)).exit_code == 0

    def redirect(doc: dict[str, Any]) -> None:
        if edit in ("url", "both"):
            doc["servers"]["onprem"]["url"] = url
        if edit in ("pat_env", "both"):
            doc["servers"]["onprem"]["pat_env"] = "SOME_OTHER_SECRET"

    _forge(plan_path, redirect)
    result = hossctl("apply", str(plan_path), "-f", config)
    assert result.exit_code == 1, result.output
    assert "The plan file was edited" in result.output and "nothing was applied" in result.output
    assert seen == []  # nothing at all reached the listener, so no Authorization header either
    assert "fresh" not in names(onprem)
    assert "x" * 30 not in result.output


def test_a_saved_plan_needs_the_override_again_at_apply_time(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options that switch a check off are never read from the plan file."""
    onprem, cloud = sandbox_factory(), sandbox_factory()
    monkeypatch.setenv("ONPREM_PAT", onprem.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    config = write_config(
        tmp_path / "hoss.yaml",
        (onprem, cloud),
        {"a": ns("a", {"target": "http://127.0.0.1:9/core/v1", "type": "simplex"})},
    )
    plan_path = tmp_path / "hoss.plan"
    planned = hossctl("plan", "-f", config, "--no-target-check", "--out", str(plan_path))
    assert planned.exit_code == 0, planned.output
    refused = hossctl("apply", str(plan_path), "-f", config)
    assert refused.exit_code == 1
    assert "target-unreachable" in refused.output and "nothing was applied" in refused.output
    assert "a" not in names(onprem)
    applied = hossctl("apply", str(plan_path), "-f", config, "--no-target-check")
    assert applied.exit_code == 0, applied.output
    assert "a" in names(onprem)


# -- two runs at once -------------------------------------------------------------------------------


def test_a_second_apply_while_the_first_waits_at_its_prompt(pair: Pair, tmp_path: Path) -> None:
    """The first run (prune: true) planned against an empty server; a second run then creates 32
    namespaces. Answering 'yes' must not delete what the second run just made."""
    onprem, _ = pair
    first = write_config(tmp_path / "first.yaml", pair, {"mine": ns("mine")}, prune=True)
    theirs = {f"theirs-{i:02d}": ns(f"theirs-{i:02d}") for i in range(32)}
    second = write_config(tmp_path / "second.yaml", pair, theirs)
    seen: dict[str, Any] = {}

    def second_run() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "hossctl", "apply", "-f", second, "--auto-approve"],
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        seen["second"] = done

    result = hossctl("apply", "-f", first, input=AtPrompt(b"yes\n", second_run))
    assert seen["second"].returncode == 0, seen["second"].stdout + seen["second"].stderr
    assert result.exit_code == 1, result.output
    assert "The live state changed while apply waited for confirmation" in result.output
    assert "namespace onprem/theirs-00 appeared" in result.output
    assert names(onprem) == {"default", *theirs}
