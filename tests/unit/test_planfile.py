"""Saved plans: a faithful round trip, clear errors for bad files, and never a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hossctl.errors import HossctlError
from hossctl.plan.changes import Plan
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planfile import load, save
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, make_server_state, make_snapshot

A = "http://a.test/core/v1"
B = "https://b.test/core/v1"
X = "https://x.test/core/v1"
SERVERS = {"a": ("http://a.test", "A_PAT"), "b": ("https://b.test", "B_PAT")}
DIGEST = "ab" * 32


def _plan() -> Plan:
    config = Config(
        servers=(
            Server(
                "a",
                "http://a.test",
                A,
                pat_env="A_PAT",
                namespaces=(
                    Namespace(
                        "new", "fresh", "default", "nb", sync=(SyncTarget("b", "b", B, "u", "duplex"),)
                    ),
                    Namespace("raw", "changed", "default", "rb"),
                    Namespace("old", ensure="absent"),
                ),
            ),
            Server(
                "b", "https://b.test", B, pat_env="B_PAT", namespaces=(Namespace("u", "d", "default", "u"),)
            ),
        )
    )
    live = make_snapshot(
        {
            "a": make_server_state(
                "a",
                A,
                "0.2.3",
                ("default",),
                {
                    "raw": LiveNamespace(
                        "raw", "d", "default", "rb", (LiveSyncTarget(X + "/", "t", "duplex"),), ()
                    ),
                    "old": LiveNamespace(
                        "old", "d", "default", "ob", datasets=(LiveDataset("x", False, "simplex", "X"),)
                    ),
                },
            ),
            "b": make_server_state(
                "b", B, "0.2.3", ("default",), {"u": LiveNamespace("u", "d", "default", "u")}
            ),
        }
    )
    return make_plan(config, live)


def test_round_trip(tmp_path: Path) -> None:
    plan = _plan()
    assert plan.changes and plan.violations and plan.facts
    path = tmp_path / "plan.json"
    save(path, plan, SERVERS, config_digest=DIGEST, config_files=["hoss.yaml"])
    saved = load(path)
    assert saved.plan == plan
    assert dict(saved.plan.facts) == dict(plan.facts)
    assert dict(saved.servers) == SERVERS
    assert (saved.config_digest, saved.config_files) == (DIGEST, ("hoss.yaml",))
    assert any(c.expect is not None for c in saved.plan.changes)


def test_no_secrets_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hp_" + "s3cr3t" * 5
    monkeypatch.setenv("A_PAT", secret)
    monkeypatch.setenv("B_PAT", secret)
    path = tmp_path / "plan.json"
    save(path, _plan(), SERVERS, config_digest=DIGEST)
    text = path.read_text()
    assert secret not in text
    doc = json.loads(text)
    assert doc["servers"] == {
        "a": {"url": "http://a.test", "pat_env": "A_PAT"},
        "b": {"url": "https://b.test", "pat_env": "B_PAT"},
    }


def _saved(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "plan.json"
    save(path, _plan(), SERVERS, config_digest=DIGEST)
    doc: dict = json.loads(path.read_text())  # type: ignore[type-arg]
    return doc


def _broken(tmp_path: Path, edit: str) -> Path:
    doc = _saved(tmp_path)
    if edit == "version":
        doc["format_version"] = "99"
    elif edit == "string-version":  # what hossctl wrote before format_version became an integer
        doc["format_version"] = "1"
    elif edit == "bool-version":  # equal to 1 in Python, but not the integer 1
        doc["format_version"] = True
    elif edit == "kind":
        doc["kind"] = "something-else"
    elif edit == "action":
        doc["plan"]["changes"][0]["action"] = "rename_namespace"
    elif edit == "order":
        doc["plan"]["changes"].reverse()
    elif edit == "duplicate":
        doc["plan"]["changes"].append(doc["plan"]["changes"][0])
    elif edit == "server":
        del doc["servers"]["b"]
    elif edit == "violation":
        doc["plan"]["violations"][0]["change"] = "nope"
    elif edit == "facts":
        doc["plan"]["facts"] = {"k": "not a digest"}
    elif edit == "digest":
        doc["config_digest"] = "0"
    elif edit == "expect":
        doc["plan"]["changes"][0]["expect"] = {"absent": "yes"}
    path = tmp_path / f"{edit}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ("version", 'made by another hossctl version (format_version "99"; this hossctl reads 1)'),
        ("string-version", 'made by another hossctl version (format_version "1"; this hossctl reads 1)'),
        ("bool-version", "made by another hossctl version (format_version true;"),
        ("kind", "not a hossctl plan file"),
        ("action", "not a valid plan"),
        ("order", "does not come before it"),
        ("duplicate", "appears twice"),
        ("server", "server 'b', which is not listed"),
        ("violation", "not in the plan"),
        ("facts", "not a valid plan"),
        ("digest", "no valid config_digest"),
        ("expect", "not a valid plan"),
    ],
)
def test_bad_files_are_one_clear_sentence(tmp_path: Path, edit: str, says: str) -> None:
    path = _broken(tmp_path, edit)
    with pytest.raises(HossctlError) as info:
        load(path)
    assert says in info.value.message
    assert info.value.message.startswith(f"The plan file {str(path)!r} cannot be used")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "is not valid JSON"),
        (b"", "is not valid JSON"),
        (b"\xff\xfe\x00", "Could not read"),
        (b"[1, 2]", "not a hossctl plan file"),
    ],
)
def test_corrupt_files(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(HossctlError, match=says):
        load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HossctlError, match="does not exist"):
        load(tmp_path / "absent.json")


def test_unwritable_path(tmp_path: Path) -> None:
    with pytest.raises(HossctlError, match="Could not write the plan file"):
        save(tmp_path / "no-such-dir" / "plan.json", _plan(), SERVERS, config_digest=DIGEST)
