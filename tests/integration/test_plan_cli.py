"""`hossctl plan` end to end: two sandboxes joined by a duplex link, driven through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from ports import dead_url

from hossctl.cli import cli
from hossctl.plan.changes import CheckId
from hossctl.schemas import read_schema_text

SandboxFactory = Callable[..., Any]


class World:
    """Two servers, `lab` and `cloud`, with namespace `raw` on both linked duplex lab -> cloud."""

    def __init__(self, factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        # a long delete delay: seeded SCHEDULED datasets stay while plan reads them
        self.lab = factory(delete_delay=3600)
        self.cloud = factory(delete_delay=3600)
        self.tmp = tmp_path
        monkeypatch.setenv("LAB_PAT", self.lab.admin_pat)
        monkeypatch.setenv("CLOUD_PAT", self.cloud.admin_pat)
        monkeypatch.delenv("HOSS_JWT", raising=False)
        monkeypatch.delenv("HOSS_PAT", raising=False)
        for sb in (self.lab, self.cloud):
            sb.seed_namespace("raw", description="Raw data", bucket="raw")
        self.lab.seed_sync("raw", self.cloud.core_url, "raw", "duplex")
        self.cloud.seed_sync("raw", self.lab.core_url, "raw", "duplex")
        self.lab_ns: dict[str, Any] = {
            "raw": {
                "description": "Raw data",
                "object_store": "default",
                "bucket": "raw",
                "sync": [{"target": "cloud", "type": "duplex"}],
            },
        }
        self.cloud_ns: dict[str, Any] = {
            "raw": {"description": "Raw data", "object_store": "default", "bucket": "raw"},
        }
        self.lab_fields: dict[str, Any] = {}  # more fields of server lab, such as prune

    def config(self, *, lab_url: str | None = None) -> str:
        doc = {
            "version": 1,
            "servers": {
                "lab": {
                    "url": lab_url or self.lab.url,
                    "pat_env": "LAB_PAT",
                    **self.lab_fields,
                    "namespaces": self.lab_ns,
                },
                "cloud": {"url": self.cloud.url, "pat_env": "CLOUD_PAT", "namespaces": self.cloud_ns},
            },
        }
        path = self.tmp / "hoss.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return str(path)

    def plan(self, *args: str, lab_url: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["plan", "-f", self.config(lab_url=lab_url), *args])

    def plan_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.plan("--json", *args)
        assert "Traceback" not in result.output, result.output
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def world(sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    return World(sandbox_factory, monkeypatch, tmp_path)


def test_no_changes_with_a_duplex_link(world: World) -> None:
    result = world.plan()
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout
    assert world.plan("--detailed-exitcode").exit_code == 0


def test_changes_exit_codes_and_json(world: World) -> None:
    world.lab_ns["new"] = {
        "description": "New",
        "object_store": "default",
        "bucket": "new",
        "sync": [{"target": "cloud", "type": "simplex"}],
    }
    world.cloud_ns["new"] = {"description": "New", "object_store": "default", "bucket": "new-c"}
    text = world.plan()
    assert text.exit_code == 0, text.output
    assert "Plan: 2 to create" in text.stdout and "1 sync to enable" in text.stdout
    assert world.plan("--detailed-exitcode").exit_code == 2

    code, doc = world.plan_json("--detailed-exitcode")
    assert code == 2
    jsonschema.validate(doc, json.loads(read_schema_text("plan.schema.json")))
    assert doc["format_version"] and doc["violations"] == []
    by_action = {(c["action"], c["server"]): c for c in doc["changes"]}
    assert set(by_action) == {
        ("create_namespace", "lab"),
        ("create_namespace", "cloud"),
        ("enable_sync", "lab"),
    }
    enable = by_action[("enable_sync", "lab")]
    assert enable["target_core_service"] == world.cloud.core_url
    assert (enable["target_namespace"], enable["sync_type"], enable["replace"]) == ("new", "simplex", False)
    # The enable waits for the namespace on both ends; order is a valid execution order.
    ids = [c["id"] for c in doc["changes"]]
    assert set(enable["depends_on"]) >= {
        by_action[("create_namespace", "lab")]["id"],
        by_action[("create_namespace", "cloud")]["id"],
    }
    for change in doc["changes"]:
        assert all(ids.index(dep) < ids.index(change["id"]) for dep in change["depends_on"])
        assert change["reason"]
    assert doc["summary"]["create"] == 2 and doc["summary"]["enable_sync"] == 1

    markdown = world.plan("--markdown")
    assert markdown.exit_code == 0 and "new" in markdown.stdout
    assert world.plan("--json", "--markdown").exit_code == 1


def test_out_saves_the_plan_without_secrets(world: World) -> None:
    world.lab_ns["new"] = {"description": "New", "object_store": "default", "bucket": "new"}
    out = world.tmp / "plan.json"
    result = world.plan("--out", str(out))
    assert result.exit_code == 0, result.output
    saved = out.read_text(encoding="utf-8")
    assert "LAB_PAT" in saved and world.lab.url in saved
    for secret in (world.lab.admin_pat, world.cloud.admin_pat, "Bearer"):
        assert secret not in saved
    from hossctl.plan import planfile

    loaded = planfile.load(out)
    assert [c.action for c in loaded.plan.changes] == ["create_namespace"]
    assert loaded.servers["lab"][1] == "LAB_PAT"


def test_disable_carries_the_exact_stored_string(world: World) -> None:
    odd = "HTTPS://Partner.Example.COM:443/core/v1/"
    world.lab.seed_sync("raw", odd, "mirror", "simplex")
    code, doc = world.plan_json()
    assert code == 0
    [change] = doc["changes"]
    assert change["action"] == "disable_sync" and change["server"] == "lab" and change["namespace"] == "raw"
    assert change["target_core_service"] == odd and change["target_namespace"] == "mirror"


def _case(world: World, case: str) -> None:
    lab, cloud = world.lab, world.cloud
    if case == "namespace-not-empty":
        lab.seed_namespace("full", bucket="full")
        lab.seed_dataset("full", "d1", delete_status="SCHEDULED")
        world.lab_ns["full"] = {"ensure": "absent"}
    elif case == "protected":
        lab.seed_namespace("keep", description="Keep", bucket="old")
        world.lab_ns["keep"] = {
            "description": "Keep",
            "object_store": "default",
            "bucket": "new",
            "protect": True,
        }
    elif case == "datasets-syncing":
        lab.seed_namespace("s", description="S", bucket="s")
        lab.seed_sync("s", cloud.core_url, "raw", "simplex")
        lab.seed_dataset("s", "d1", sync_enabled=True, sync_type="simplex")
        world.lab_ns["s"] = {"description": "S", "object_store": "default", "bucket": "s"}
    elif case == "duplex-datasets":
        lab.seed_namespace("dx", description="Dx", bucket="dx")
        cloud.seed_namespace("dx", description="Dx", bucket="dx")
        lab.seed_sync("dx", cloud.core_url, "dx", "duplex")
        lab.seed_dataset("dx", "d1", sync_enabled=True, sync_type="duplex")
        world.lab_ns["dx"] = {
            "description": "Dx",
            "object_store": "default",
            "bucket": "dx",
            "sync": [{"target": "cloud", "type": "simplex"}],
        }
    elif case == "unknown-object-store":
        world.lab_ns["n"] = {"description": "N", "object_store": "nope", "bucket": "n"}
    elif case == "target-unreachable":
        down = dead_url()
        world.lab_ns["raw"]["sync"].append({"target": down, "namespace": "raw", "type": "simplex"})
        world.lab_ns["raw"]["allow_multiple_sync_targets"] = True
    elif case == "target-namespace-missing":
        lab.seed_namespace("m", description="M", bucket="m")
        world.lab_ns["m"] = {
            "description": "M",
            "object_store": "default",
            "bucket": "m",
            "sync": [{"target": "cloud", "namespace": "ghost", "type": "simplex"}],
        }
    elif case == "namespace-still-targeted":
        # cloud's undeclared 'feeder' syncs into lab's 'gone'; deleting 'gone' would strand that row.
        lab.seed_namespace("gone", description="Gone", bucket="gone")
        cloud.seed_namespace("feeder", description="Feeder", bucket="feeder")
        cloud.seed_sync("feeder", lab.core_url, "gone", "simplex")
        world.lab_ns["gone"] = {"ensure": "absent"}
    elif case == "bucket-shared":
        lab.seed_namespace("old-name", description="Old", bucket="shared")
        world.lab_ns["new-name"] = {"description": "New", "object_store": "default", "bucket": "shared"}
    elif case == "dataset-sync-without-target":
        lab.seed_namespace("lonely", description="Lonely", bucket="lonely")
        lab.seed_dataset("lonely", "d1")
        world.lab_ns["lonely"] = {
            "description": "Lonely",
            "object_store": "default",
            "bucket": "lonely",
            "datasets": {"sync": "simplex"},
        }
    elif case == "dataset-duplex-needs-namespace-duplex":
        lab.seed_namespace("one", description="One", bucket="one")
        cloud.seed_namespace("one", description="One", bucket="one")
        lab.seed_sync("one", cloud.core_url, "one", "simplex")
        lab.seed_dataset("one", "d1")
        world.lab_ns["one"] = {
            "description": "One",
            "object_store": "default",
            "bucket": "one",
            "sync": [{"target": "cloud", "type": "simplex"}],
            "datasets": {"sync": "duplex"},
        }
    elif case == "datasets-unreadable":
        # A misbehaving server: a dataset record with a delete_status no Hoss has. The client
        # cannot vouch for such a list, so the namespace's datasets are unknown, never empty.
        lab.seed_namespace("garbled", description="Garbled", bucket="garbled")
        lab.seed_dataset("garbled", "d1")
        db = lab._store._conn
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute("UPDATE datasets SET delete_status = 'NOT_A_STATUS' WHERE name = 'd1'")
        db.execute("PRAGMA ignore_check_constraints = OFF")
        world.lab_ns["garbled"] = {
            "description": "Garbled",
            "object_store": "default",
            "bucket": "garbled",
            "datasets": {"sync": "off"},
        }
    elif case == "mass-delete":
        # lab holds default, raw and 10 more; prune with only raw declared deletes 11 of 12.
        for i in range(10):
            lab.seed_namespace(f"m{i:02d}", bucket=f"m{i:02d}")
        world.lab_fields["prune"] = True


# Every check id of the interface, so a new check cannot go without an end-to-end case.
CHECKS = list(get_args(CheckId))
# Checks that only ever warn: the plan exits 0 and can be applied.
WARNING_ONLY = {"bucket-shared"}


@pytest.mark.parametrize("check", CHECKS)
def test_every_safety_check_end_to_end(world: World, check: str) -> None:
    _case(world, check)
    severity, exit_code = ("warning", 0) if check in WARNING_ONLY else ("error", 1)
    code, doc = world.plan_json()
    assert code == exit_code
    found = {v["check"] for v in doc["violations"] if v["severity"] == severity}
    assert check in found, doc["violations"]
    if any(v["change"] for v in doc["violations"] if v["check"] == check):
        assert doc["changes"], "a plan with violations is still printed in full"
    text = world.plan()
    assert text.exit_code == exit_code and check in text.stdout
    assert "Traceback" not in text.output


@pytest.mark.parametrize("check", ["target-unreachable", "target-namespace-missing"])
def test_no_target_check_downgrades_to_warnings(world: World, check: str) -> None:
    _case(world, check)
    code, doc = world.plan_json("--no-target-check", "--detailed-exitcode")
    assert code == 2
    assert [v["severity"] for v in doc["violations"] if v["check"] == check] == ["warning"]


def test_server_down_is_one_sentence(world: World) -> None:
    result = world.plan(lab_url=dead_url())
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: server 'lab' is unreachable")


def test_wrong_token_fails_without_echoing_it(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "hp_" + "Q" * 30
    monkeypatch.setenv("CLOUD_PAT", bad)
    result = world.plan()
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("Error: server 'cloud' rejected") and "$CLOUD_PAT" in line
    assert bad not in result.output
    assert "Traceback" not in result.output


def test_debug_logs_requests_never_tokens(world: World) -> None:
    result = CliRunner().invoke(cli, ["--debug", "plan", "-f", world.config()])
    assert result.exit_code == 0, result.output
    assert f"GET {world.lab.core_url}/namespace/raw/sync -> 200" in result.stderr
    for secret in (world.lab.admin_pat, world.cloud.admin_pat, "Bearer", "eyJ"):
        assert secret not in result.output


def test_usage_errors_exit_1_never_the_changes_code(world: World) -> None:
    """2 means "changes present" with --detailed-exitcode; a typo must not look like that."""
    result = world.plan("--detailed-exitcode", "--no-such-flag")
    assert result.exit_code == 1
    assert "No such option" in result.output


def test_a_partner_declared_without_namespaces_is_read_but_left_alone(world: World) -> None:
    """The README's tip: declare a partner with `namespaces: {}` to have its namespaces verified."""
    world.cloud_ns = {}
    world.cloud.seed_namespace("other", description="Theirs", bucket="other")
    world.cloud.seed_sync("other", "https://elsewhere.example/core/v1", "o", "simplex")
    assert world.plan("--detailed-exitcode").exit_code == 0  # nothing of cloud's is touched

    world.lab_ns["raw"]["sync"].append({"target": "cloud", "namespace": "ghost", "type": "simplex"})
    world.lab_ns["raw"]["allow_multiple_sync_targets"] = True
    code, doc = world.plan_json()
    assert code == 1
    assert {(v["check"], v["severity"]) for v in doc["violations"]} == {("target-namespace-missing", "error")}
    assert {c["server"] for c in doc["changes"]} == {"lab"}


def test_a_rename_onto_the_old_bucket_is_a_warning_naming_both(world: World) -> None:
    """Issue 9, case 7: the live, undeclared imaging-archive keeps its bucket and its datasets."""
    world.lab.seed_namespace("imaging-archive", description="Imaging", bucket="imaging-archive")
    world.lab_ns["microscopy-archive"] = {
        "description": "Microscopy archive",
        "object_store": "default",
        "bucket": "imaging-archive",
    }
    code, doc = world.plan_json()
    assert code == 0
    [warning] = doc["violations"]
    assert (warning["check"], warning["severity"], warning["change"]) == (
        "bucket-shared",
        "warning",
        "lab/microscopy-archive/create",
    )
    for fragment in ("'microscopy-archive'", "'imaging-archive'", "rename", "Hoss has no rename"):
        assert fragment in warning["message"]
    assert "choose another bucket" in warning["resolution"]
    text = world.plan()
    assert text.exit_code == 0, text.output
    assert "bucket-shared" in text.stdout and "looks like a rename" in text.stdout


def test_mass_delete_blocks_a_prune_of_most_namespaces_unless_allowed(world: World) -> None:
    """A config emptied by mistake, with prune: true, must not take a server's namespaces with it."""
    for i in range(10):
        world.lab.seed_namespace(f"old-{i}", description="Old", bucket=f"old-{i}")
    # 12 live namespaces (default, raw, old-0..9), 2 declared.
    world.lab_ns["default"] = {
        "description": "Default namespace", "object_store": "default", "bucket": "data",
    }
    world.lab_fields["prune"] = True
    code, doc = world.plan_json()
    assert code == 1
    errors = [v for v in doc["violations"] if v["severity"] == "error"]
    assert [(v["check"], v["server"]) for v in errors] == [("mass-delete", "lab")]
    assert errors[0]["message"] == (
        "this plan would delete or replace 10 of 12 live namespaces (83.3 %) on server 'lab', "
        "above its delete threshold of 30 %"
    )
    text = world.plan("--out", str(world.tmp / "hoss.plan"))
    assert text.exit_code == 1 and "mass-delete" in text.stdout
    assert not (world.tmp / "hoss.plan").exists()

    code, doc = world.plan_json("--allow-mass-delete")
    assert code == 0
    assert [(v["check"], v["severity"]) for v in doc["violations"]] == [("mass-delete", "warning")]
    assert doc["summary"]["delete"] == 10

    assert world.plan_json("--delete-threshold", "90")[1]["violations"] == []
    assert world.plan("--delete-threshold", "101").exit_code == 1  # out of range: a usage error
    world.lab_fields["delete_threshold"] = 90
    assert world.plan_json()[1]["violations"] == []
    code, doc = world.plan_json("--delete-threshold", "50")  # the command line wins over the config
    assert code == 1 and [v["check"] for v in doc["violations"]] == ["mass-delete"]


def test_apply_takes_the_mass_delete_options_too(world: World) -> None:
    for i in range(10):
        world.lab.seed_namespace(f"old-{i}", description="Old", bucket=f"old-{i}")
    world.lab_fields["prune"] = True
    world.lab_ns["default"] = {
        "description": "Default namespace", "object_store": "default", "bucket": "data", "protect": True,
    }
    config = world.config()
    blocked = CliRunner().invoke(cli, ["apply", "-f", config, "--auto-approve"])
    assert blocked.exit_code == 1 and "mass-delete" in blocked.output
    assert "Traceback" not in blocked.output
    assert len(world.lab.namespaces()) == 12, "nothing was deleted"
    allowed = CliRunner().invoke(cli, ["apply", "-f", config, "--auto-approve", "--allow-mass-delete"])
    assert allowed.exit_code == 0, allowed.output
    assert sorted(n["name"] for n in world.lab.namespaces()) == ["default", "raw"]


def test_out_refuses_to_overwrite_a_config_file_before_any_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listens at the server's URL: the refusal must come before the first request."""
    monkeypatch.setenv("HOSS_PAT", "hp_" + "x" * 30)
    conf = tmp_path / "conf"
    conf.mkdir()
    config = conf / "hoss.yaml"
    text = f"version: 1\nservers:\n  lab:\n    url: {dead_url()}\n    namespaces: {{}}\n"
    config.write_text(text, encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to(config)
    roundabout = tmp_path / "conf" / ".." / "conf" / "hoss.yaml"
    for out in (str(config), str(tmp_path / "link.yaml"), str(roundabout)):
        result = CliRunner().invoke(cli, ["plan", "-f", str(conf), "--out", out])
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: --out {out} is one of the config files being planned ({config.resolve()}); saving the "
            "plan there would overwrite the config: choose another path for --out\n"
        )
        assert config.read_text(encoding="utf-8") == text


def test_a_dangling_symlink_in_a_config_directory_stops_the_plan(world: World) -> None:
    """Issue 9, case 6: the namespaces of an unread file must not look like ones to prune."""
    world.lab.seed_namespace("imaging", description="Imaging", bucket="imaging")
    conf = world.tmp / "conf"
    conf.mkdir()
    (conf / "10-lab.yaml").write_text(
        f"version: 1\nservers:\n  lab:\n    url: {world.lab.url}\n    pat_env: LAB_PAT\n    prune: true\n"
        "    namespaces: {}\n",
        encoding="utf-8",
    )
    (conf / "20-imaging.yaml").symlink_to(world.tmp / "moved-away.yaml")
    result = CliRunner().invoke(cli, ["plan", "-f", str(conf)])
    assert result.exit_code == 1
    assert result.stdout == ""
    moved = world.tmp / "moved-away.yaml"
    assert result.stderr.startswith(
        f"{conf / '20-imaging.yaml'}: is a dangling symlink (to '{moved}', which does not exist), and every "
        "*.yaml/*.yml entry of a -f directory is read as config; point it at an existing config file or "
        "remove it"
    )
    assert [n["name"] for n in world.lab.namespaces() if n["name"] == "imaging"] == ["imaging"]


# Issue 10, case 4: names and descriptions a hostile server (or config) uses to write on the
# reviewer's terminal: a window title and a cleared screen, a forged line, reversed text.
HOSTILE = {
    "evil\x1b]0;PWNED\x07\x1b[2Jx": "evil\\x1b]0;PWNED\\x07\\x1b[2Jx",
    "a\r\nFAKE: Apply complete": "a\\r\\nFAKE: Apply complete",
    "rev\u202eexe.txt": "rev\\u202eexe.txt",
}
RAW = ("\x1b", "\r", "\x07", "\u202e")


def _no_raw(text: str) -> None:
    assert not [ch for ch in RAW if ch in text], repr(text)
    assert not any(line.startswith("FAKE") for line in text.splitlines()), text


def test_hostile_live_names_and_descriptions_reach_no_terminal_raw(world: World) -> None:
    world.lab_fields["prune"] = True
    for name in HOSTILE:
        world.lab.seed_namespace(name, description=f"About {name}", bucket=f"b{len(name)}")
    evil = next(iter(HOSTILE))
    world.lab.seed_dataset(evil, "d\x1b[31mred\u202e")  # a blocking violation that names both

    text = world.plan()
    assert text.exit_code == 1, text.output  # namespace-not-empty
    for shown in (text.stdout, text.stderr):
        _no_raw(shown)
    for escaped in HOSTILE.values():
        assert f"  - namespace lab/{escaped}" in text.stdout
    assert "'d\\x1b[31mred\\u202e'" in text.stdout  # the dataset, in the violation's message
    assert text.stderr.startswith("Error: the plan has 1 safety violation")

    markdown = world.plan("--markdown")
    assert markdown.exit_code == 1
    _no_raw(markdown.stdout)
    _no_raw(markdown.stderr)
    for escaped in HOSTILE.values():  # in code spans, where nothing is Markdown
        assert f"namespace `lab/{escaped}`" in markdown.stdout

    result = world.plan("--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)  # JSON escapes by itself: the exact names
    deleted = {c["namespace"] for c in doc["changes"] if c["action"] == "delete_namespace"}
    assert set(HOSTILE) <= deleted
    [violation] = doc["violations"]
    assert violation["namespace"] == evil and violation["change"] == f"lab/{evil}/delete"


def test_a_control_character_in_a_config_value_is_shown_escaped(world: World) -> None:
    path = world.tmp / "hoss.yaml"
    text = (
        f"version: 1\nservers:\n  lab:\n    url: {world.lab.url}\n    pat_env: LAB_PAT\n    namespaces:\n"
        '      fresh:\n        description: "a\\x1bb\\u202ec\\r\\nFAKE: Apply complete"\n'
        "        object_store: default\n        bucket: fresh\n"
    )
    path.write_text(text, encoding="utf-8")
    planned = CliRunner().invoke(cli, ["plan", "-f", str(path)])
    assert planned.exit_code == 0, planned.output
    _no_raw(planned.stdout)
    assert "description:  'a\\x1bb\\u202ec\\r\\nFAKE: Apply complete'" in planned.stdout

    # A diagnostic quoting a config value: a sync target that names no server.
    broken = text + '        sync:\n          - target: "clo\\x1bud\\r\\nFAKE"\n            type: simplex\n'
    path.write_text(broken, encoding="utf-8")
    for command in ("validate", "plan"):
        result = CliRunner().invoke(cli, [command, "-f", str(path)])
        assert result.exit_code == 1
        _no_raw(result.output)
        assert "sync target 'clo\\x1bud\\r\\nFAKE' is neither" in result.stderr


def test_a_one_sided_duplex_link_is_shown_as_a_repair_and_applied(
    world: World, sandbox_api: Callable[..., Any]
) -> None:
    """Someone removed cloud's half of the lab <-> cloud link by hand: the plan says the link is
    one-sided and which half is missing, apply restores it, and the next plan is empty."""
    api = sandbox_api(world.cloud)
    removed = api.request(
        "DELETE",
        "/core/v1/namespace/raw/sync",
        json={"target_core_service": world.lab.core_url, "target_namespace": "raw", "sync_type": "duplex"},
    )
    assert removed.status_code in (200, 204), removed.text
    assert world.cloud.sync_targets("raw") == []

    result = world.plan()
    assert result.exit_code == 0, result.output
    assert "~ enable sync cloud/raw → lab/raw (duplex)" in result.stdout
    one_sided = "the link is one-sided: lab/raw → cloud/raw exists, cloud/raw → lab/raw is missing"
    assert one_sided in result.stdout
    code, doc = world.plan_json()
    assert code == 0
    (change,) = doc["changes"]
    assert (change["action"], change["reason_code"]) == ("enable_sync", "reverse-of-duplex")
    assert "one-sided" in change["reason"]

    applied = CliRunner().invoke(cli, ["apply", "-f", world.config(), "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert [r["target_namespace"] for r in world.cloud.sync_targets("raw")] == ["raw"]
    assert "No changes." in world.plan().stdout
