"""Renderers: the text idiom a reviewer reads, JSON that matches its schema, Markdown for PR comments."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from hossctl.plan.changes import Change, Plan, Violation
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import make_plan
from hossctl.plan.snapshot import LiveDataset, LiveNamespace, LiveSyncTarget, make_server_state, make_snapshot
from hossctl.render.text import render_json, render_markdown, render_text
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


def test_text_lists_changes_in_execution_order_by_their_names() -> None:
    plan = _plan()
    text = render_text(plan, color=False)
    assert text.startswith("hossctl will make these changes, in this order:\n")
    assert text.rstrip().endswith(
        "Plan: 1 to create, 1 to replace, 1 to delete, 2 sync to enable, 1 sync to disable."
    )
    titles = [line.strip() for line in text.splitlines() if re.match(r"  \S", line)]
    assert titles == [
        f"~ disable sync a/keep → {X}/#t (simplex)",
        "- namespace a/old",
        "-/+ namespace a/raw (forces replacement: description, bucket)",
        "+ namespace a/new",
        "~ enable sync a/new → b/u (duplex)",
        "~ enable sync b/u → a/new (duplex)",
    ]
    assert "      description:  'd' → 'changed'" in text  # before → after of the replace
    assert "      bucket:       'rb' → 'other-bucket'" in text
    assert "# reverse direction of the duplex link declared by a/new" in text


def test_each_violation_appears_once_under_its_change() -> None:
    text = render_text(_plan(), color=False)
    under = text.index("  - namespace a/old")
    assert text.index("✗ namespace-not-empty", under) < text.index("-/+ namespace a/raw")
    assert text.count("✗ protected: ") == 1 and "Violations" not in text
    assert "fix: set protect: false" in text
    assert "This plan cannot be applied: 2 errors, 0 warnings." in text


def test_warnings_are_marked_differently() -> None:
    plan = Plan(
        changes=(
            Change(
                "a/n/create", "create_namespace", "a", "n", "r", description="d", object_store="s", bucket="b"
            ),
        ),
        violations=(Violation("target-unreachable", "a/n/create", "a", "n", "m", "fix it", "warning"),),
    )
    text = render_text(plan, color=False)
    assert "! target-unreachable: m" in text and "✗" not in text
    assert "1 warning; the plan can still be applied." in text


def test_no_changes() -> None:
    assert render_text(Plan(), color=False) == "No changes.\n"
    assert "**No changes.**" in render_markdown(Plan())
    assert json.loads(render_json(Plan()))["changes"] == []


def test_colour_only_when_asked() -> None:
    plan = _plan()
    assert "\x1b[" not in render_text(plan, color=False)
    assert "\x1b[" not in render_text(plan)  # off by default
    coloured = render_text(plan, color=True)
    assert "\x1b[32;1m+\x1b[0m" in coloured and "\x1b[31;1m-\x1b[0m" in coloured


@pytest.mark.parametrize("target_check", [True, False])
def test_json_matches_the_schema(target_check: bool) -> None:
    plan = _plan(target_check)
    doc = json.loads(render_json(plan))
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    assert doc["format_version"] == 1 and type(doc["format_version"]) is int
    assert [c["id"] for c in doc["changes"]] == [c.id for c in plan.changes]
    assert doc["summary"] == {"create": 1, "replace": 1, "delete": 1, "enable_sync": 2, "disable_sync": 1}
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
    md = render_markdown(_plan())
    assert md.startswith("### hossctl plan")
    assert "**Plan: 1 to create, 1 to replace, 1 to delete, 2 sync to enable, 1 sync to disable.**" in md
    assert "| Replace namespace | 1 |" in md and "| Safety checks | 2 errors, 0 warnings |" in md
    assert "3. `-/+` namespace `a/raw` (forces replacement: description, bucket)" in md
    assert "   - description: `'d'` → `'changed'`" in md
    assert "**protected**" in md and "*How to fix:*" in md and "⛔" in md
    assert "```mermaid\nflowchart LR\n" in md


def test_long_markdown_plans_fold_their_changes() -> None:
    changes = tuple(
        Change(f"a/n{i:02d}/create", "create_namespace", "a", f"n{i:02d}", "r", description="d",
               object_store="s", bucket="b")
        for i in range(25)
    )  # fmt: skip
    md = render_markdown(Plan(changes=changes))
    assert "<details>\n<summary>25 changes, in execution order</summary>" in md
    assert md.rstrip().endswith("</details>")


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
            "target-unreachable", changes[2].id, "a", LINK, f"[x](http://evil) {EVIL}", "fix", "warning",
            position=f"{REVERSED}.yaml:1:2",
        ),
    )
    return Plan(changes=changes, violations=violations)


@pytest.mark.parametrize("color", [False, True])
def test_text_escapes_every_value_from_a_server_or_config(color: bool) -> None:
    text = render_text(_hostile_plan(), color=color)
    assert not any(ch in text for ch in RAW[1:])
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # without the colour codes hossctl adds itself
    assert "\x1b" not in plain
    assert "- namespace a/evil\\x1b]0;PWNED\\x07\\x1b[2Jx" in plain
    assert "+ namespace a/rev\\u202eexe.txt" in plain
    assert "# a\\r\\nFAKE: Apply complete" in plain  # a part of the reason: one line
    assert "description:  'a\\r\\nFAKE: Apply complete'" in plain
    assert "object_store: 'evil\\x1b]0;PWNED\\x07\\x1b[2Jx'" in plain
    assert "(simplex\\r\\n)" in plain
    assert f"{REVERSED}.yaml" not in plain and "rev\\u202eexe.txt.yaml:1:2" in plain
    assert not any(line.startswith("FAKE") for line in plain.splitlines())


def test_colour_wraps_escaped_values() -> None:
    text = render_text(_hostile_plan(), color=True)
    # hossctl's own SGR codes survive; the server's ESC does not.
    assert "\x1b[31;1m-\x1b[0m" in text
    assert [m.group() for m in re.finditer(r"\x1b[^\[]|\x1b\[[^m]*[^0-9;m]", text)] == []
    assert "\x1b[2m      # a\\r\\nFAKE: Apply complete\x1b[0m" in text


def test_markdown_escapes_every_value_from_a_server_or_config() -> None:
    md = render_markdown(_hostile_plan())
    assert not any(ch in md for ch in RAW)
    prose = re.sub(r"```mermaid\n.*?```", "", md, flags=re.S)  # a diagram is no Markdown either
    prose = re.sub(r"(`+).*?\1", "", prose)  # outside code spans, where nothing is Markdown
    assert "](http://evil)" not in prose.replace("\\](http://evil)", "")  # no link survives
    assert "<img" not in prose.replace("\\<img", "")
    assert "`a/evil\\x1b]0;PWNED\\x07\\x1b[2Jx`" in md  # names in code spans
    assert "\\[x\\](http://evil)" in md  # a message, escaped as prose
    assert "rev\\u202eexe.txt" in md
    assert "at `rev\\u202eexe.txt.yaml:1:2`" in md
    assert not any(line.startswith("FAKE") for line in md.splitlines())
    mermaid = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert '"' not in mermaid.replace('["', "").replace('"]', "").replace('|"', "").replace('"|', "")


def test_json_keeps_hostile_values_exact() -> None:
    doc = json.loads(render_json(_hostile_plan()))
    assert [c["namespace"] for c in doc["changes"]] == [EVIL, REVERSED, LINK]
    assert doc["changes"][1]["description"] == FORGED
