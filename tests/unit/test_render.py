"""Renderers: the text idiom a reviewer reads, JSON that matches its schema, Markdown for PR comments.

Human renderings are checked whole, against golden files in ``golden/`` (see
``test_render_golden``; regenerate with ``HOSSCTL_UPDATE_GOLDEN=1`` and read the diff).
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from mermaid_check import check_mermaid
from test_render_golden import assert_golden

from hossctl.plan.changes import Change, Plan, Violation
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, make_server_state, make_snapshot
from hossctl.render.text import FOLD_AFTER, render_json, render_markdown, render_text
from hossctl.schemas import load_schema

A = "http://a.test/core/v1"
B = "https://b.test/core/v1"
X = "https://x.test/core/v1"


def _plan(target_check: bool = True) -> Plan:
    config = Config(
        servers=(
            Server(
                "a",
                "http://a.test",
                A,
                namespaces=(
                    Namespace(
                        "new", "fresh", "default", "nb", sync=(SyncTarget("b", "b", B, "u", "duplex"),)
                    ),
                    Namespace("raw", "changed", "default", "other-bucket"),
                    Namespace("old", ensure="absent", protect=True),
                    Namespace("keep", "d", "default", "k"),
                ),
            ),
            Server("b", "https://b.test", B, namespaces=(Namespace("u", "d", "default", "u"),)),
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
                    "raw": LiveNamespace("raw", "d", "default", "rb", datasets=()),
                    "old": LiveNamespace(
                        "old",
                        "d",
                        "default",
                        "ob",
                        datasets=(LiveDataset("x", False, "simplex", "SCHEDULED"),),
                    ),
                    "keep": LiveNamespace(
                        "keep",
                        "d",
                        "default",
                        "k",
                        sync=(LiveSyncTarget(X + "/", "t", "simplex"),),
                        datasets=(),
                    ),
                },
            ),
            "b": make_server_state(
                "b", B, "0.2.3", ("default",), {"u": LiveNamespace("u", "d", "default", "u")}
            ),
        }
    )
    return make_plan(config, live, target_check=target_check)


def test_text_plan_is_exactly_the_golden_file() -> None:
    # mixed.txt shows: the header; the changes in execution order (the disable before the delete
    # before the replace, the create before the syncs that need it), named by server/namespace;
    # a replace as one -/+ entry with its attributes before -> after; the reverse direction of a
    # duplex link; each violation once, under its change, with its fix and no separate list;
    # and the verdict and the summary counts.
    assert_golden("mixed.txt", render_text(_plan(), color=False))


def test_warnings_are_marked_differently() -> None:
    plan = Plan(
        changes=(
            Change(
                "a/n/create", "create_namespace", "a", "n", "r", description="d", object_store="s", bucket="b"
            ),
        ),
        violations=(Violation("target-unreachable", "a/n/create", "a", "n", "m", "fix it", "warning"),),
    )
    assert render_text(plan, color=False) == (
        "hossctl will make these changes, in this order:\n"
        "\n"
        "  + namespace a/n\n"
        "      description:  'd'\n"
        "      object_store: 's'\n"
        "      bucket:       'b'\n"
        "      # r\n"
        "      ! target-unreachable: m\n"
        "        fix: fix it\n"
        "\n"
        "1 warning; the plan can still be applied.\n"
        "Plan: 1 to create, 0 to replace, 0 to delete, 0 sync to enable, 0 sync to disable.\n"
    )


def test_no_changes() -> None:
    assert render_text(Plan(), color=False) == "No changes.\n"
    assert render_markdown(Plan()) == "### hossctl plan\n\n**No changes.**\n"
    assert json.loads(render_json(Plan())) == {
        "format_version": 1,
        "targets": [],
        "changes": [],
        "violations": [],
        "summary": {
            "create": 0, "replace": 0, "delete": 0, "enable_sync": 0, "disable_sync": 0,
            "enable_dataset_sync": 0, "update_dataset_sync": 0, "disable_dataset_sync": 0,
        },
        "notes": [],
    }


def test_colour_only_when_asked() -> None:
    plan = _plan()
    assert render_text(plan) == render_text(plan, color=False)  # off by default
    # The same plan as mixed.txt with hossctl's SGR codes: symbols by kind of change (+ green,
    # - red, -/+ and ~ yellow), reasons dim, violations red, the verdict and summary bold.
    assert_golden("mixed.color.txt", render_text(plan, color=True))


@pytest.mark.parametrize("target_check", [True, False])
def test_json_matches_the_schema(target_check: bool) -> None:
    plan = _plan(target_check)
    doc = json.loads(render_json(plan))
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    assert doc["format_version"] == 1 and type(doc["format_version"]) is int
    assert [c["id"] for c in doc["changes"]] == [c.id for c in plan.changes]
    assert doc["summary"] == {
        "create": 1, "replace": 1, "delete": 1, "enable_sync": 2, "disable_sync": 1,
        "enable_dataset_sync": 0, "update_dataset_sync": 0, "disable_dataset_sync": 0,
    }
    assert "facts" not in doc
    seen: set[str] = set()
    for c in doc["changes"]:
        assert set(c["depends_on"]) <= seen
        seen.add(c["id"])
    disable = next(c for c in doc["changes"] if c["action"] == "disable_sync")
    assert disable["target_core_service"] == X + "/"  # the exact live string
    create = next(c for c in doc["changes"] if c["id"] == "a/new/create")
    assert (create["description"], create["object_store"], create["bucket"]) == ("fresh", "default", "nb")
    replace = [c for c in doc["changes"] if c["replace"]]
    assert [c["forced_by"] for c in replace] == [["description", "bucket"]] * 2
    assert {v["check"] for v in doc["violations"]} == {"namespace-not-empty", "protected"}


def test_schema_rejects_what_render_json_never_writes() -> None:
    doc = json.loads(render_json(_plan()))
    validator = jsonschema.Draft202012Validator(load_schema("plan.schema.json"))
    doc["changes"][0]["surprise"] = 1
    assert not validator.is_valid(doc)


def test_markdown_for_a_pull_request() -> None:
    # mixed.md: the summary and its table, the verdict, the Mermaid diagram, then the numbered
    # changes in execution order with names and values in code spans and violations with their fix.
    md = render_markdown(_plan())
    assert_golden("mixed.md", md)
    check_mermaid(md.split("```mermaid\n", 1)[1].split("```", 1)[0])


def test_long_markdown_plans_fold_their_changes() -> None:
    changes = tuple(
        Change(f"a/n{i:02d}/create", "create_namespace", "a", f"n{i:02d}", "r", description="d",
               object_store="s", bucket="b")
        for i in range(FOLD_AFTER + 5)
    )  # fmt: skip
    # long.md: the change list (not the summary or the diagram) inside <details>.
    assert_golden("long.md", render_markdown(Plan(changes=changes)))


EVIL = "evil\x1b]0;PWNED\x07\x1b[2Jx"
FORGED = "a\r\nFAKE: Apply complete"
REVERSED = "rev\u202eexe.txt"
LINK = "[click](http://evil)<img src=x>|`"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def _hostile_plan() -> Plan:
    """Every kind of value a server or config puts into a plan, each one hostile."""
    changes = (
        Change(f"a/{EVIL}/delete", "delete_namespace", "a", EVIL, f"not declared; {FORGED}"),
        Change(
            f"a/{REVERSED}/create",
            "create_namespace",
            "a",
            REVERSED,
            "declared in config but missing on server",
            description=FORGED,
            object_store=EVIL,
            bucket=REVERSED,
        ),
        Change(
            f"a/{LINK}/sync:{X}#{EVIL}/disable",
            "disable_sync",
            "a",
            LINK,
            "not declared",
            target_core_service=X + "/\x1b[2J",
            target_namespace=EVIL,
            sync_type="simplex\r\n",
        ),
    )
    violations = (
        Violation("namespace-not-empty", changes[0].id, "a", EVIL, f"holds {FORGED!r} and {REVERSED}", EVIL),
        Violation(
            "target-unreachable",
            changes[2].id,
            "a",
            LINK,
            f"[x](http://evil) {EVIL}",
            "fix",
            "warning",
            position=f"{REVERSED}.yaml:1:2",
        ),
    )
    return Plan(changes=changes, violations=violations)


@pytest.mark.parametrize("color", [False, True])
def test_text_escapes_every_value_from_a_server_or_config(color: bool) -> None:
    text = render_text(_hostile_plan(), color=color)
    # hostile.txt: every control and bidi character as a visible escape (\x1b, \r\n, \u202e) in
    # names, reasons, attribute values, the sync type and the violation's config position.
    assert_golden("hostile.color.txt" if color else "hostile.txt", text)
    # What the golden files must never be regenerated into: a raw control character (other than
    # the ESC of hossctl's own SGR codes, in colour) or a line forged by a value.
    assert not any(ch in text for ch in RAW[1:])
    assert [m.group() for m in re.finditer(r"\x1b[^\[]|\x1b\[[^m]*[^0-9;m]", text)] == []
    assert "\x1b" not in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert not any(line.startswith("FAKE") for line in text.splitlines())


def test_markdown_escapes_every_value_from_a_server_or_config() -> None:
    md = render_markdown(_hostile_plan())
    # hostile.md: names and values in code spans (a backtick in one widens the span), messages
    # escaped as prose, labels in the diagram as Mermaid entities.
    assert_golden("hostile.md", md)
    # What the golden file must never be regenerated into: raw control characters, a live link or
    # HTML tag outside code spans, a forged line, a quote that ends a Mermaid label early.
    assert not any(ch in md for ch in RAW)
    prose = re.sub(r"```mermaid\n.*?```", "", md, flags=re.S)  # a diagram is no Markdown either
    prose = re.sub(r"(`+).*?\1", "", prose)  # outside code spans, where nothing is Markdown
    assert "](http://evil)" not in prose.replace("\\](http://evil)", "")  # no link survives
    assert "<img" not in prose.replace("\\<img", "")
    assert not any(line.startswith("FAKE") for line in md.splitlines())
    mermaid = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert '"' not in mermaid.replace('["', "").replace('"]', "").replace('|"', "").replace('"|', "")
    check_mermaid(mermaid)


def test_json_keeps_hostile_values_exact() -> None:
    doc = json.loads(render_json(_hostile_plan()))
    assert [c["namespace"] for c in doc["changes"]] == [EVIL, REVERSED, LINK]
    assert doc["changes"][1]["description"] == FORGED


def test_live_findings_and_notes_show_even_without_changes() -> None:
    finding = Violation(
        check="dataset-sync-without-target", change="", server="a", namespace="lonely",
        message="1 dataset(s) of namespace 'lonely' on server 'a' have sync enabled, but the namespace "
        "has no sync target", resolution="give the namespace a sync target", severity="warning",
    )
    plan = Plan(violations=(finding,), notes=("2 dataset(s) of a/raw are left as they are",))
    text = render_text(plan, color=False)
    assert text == (
        "The live state, apart from the changes:\n\n"
        "  ! dataset-sync-without-target: 1 dataset(s) of namespace 'lonely' on server 'a' have sync "
        "enabled, but the namespace has no sync target\n"
        "    fix: give the namespace a sync target\n\n"
        "Note: 2 dataset(s) of a/raw are left as they are\n\n"
        "1 warning; the plan can still be applied.\n"
        "No changes.\n"
    )
    markdown = render_markdown(plan)
    assert "#### The live state, apart from the changes" in markdown
    assert "- ⚠️ **dataset-sync-without-target**" in markdown and "> *Note:* 2 dataset(s)" in markdown
    doc = json.loads(render_json(plan))
    assert doc["notes"] == ["2 dataset(s) of a/raw are left as they are"]
    assert doc["violations"][0]["change"] == ""
