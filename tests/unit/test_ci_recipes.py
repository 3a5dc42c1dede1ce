"""The CI recipes and the pre-commit hook parse and call hossctl only in ways that exist.

A recipe that drifts from the CLI fails in every user's pipeline at once, so each
``hossctl <command> --flag`` they contain is checked against that command's ``--help``.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hossctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"
RECIPES = (GITHUB, GITLAB, PRE_COMMIT)
_SCRIPT_KEYS = {"script", "before_script", "after_script"}
_OPERATORS = {">", ">>", "<", "|", "||", "&", "&&", ";", "2>", ")", "("}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _shell(node: Any) -> list[str]:
    """The shell snippets of a CI document: GitHub ``run`` steps, GitLab ``script`` lists."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in _SCRIPT_KEYS and isinstance(value, list):
                found.append("\n".join(str(line) for line in value))
            else:
                found += _shell(value)
        return found
    if isinstance(node, list):
        return [s for item in node for s in _shell(item)]
    return []


def invocations(text: str) -> list[list[str]]:
    """Every ``hossctl ...`` command line in a shell snippet, as argument lists."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        for match in re.finditer(r"(?<![\w.-])hossctl\s+\S", line):
            lexer = shlex.shlex(line[match.start() :], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            args: list[str] = []
            for token in list(lexer)[1:]:
                if token in _OPERATORS or set(token) <= set("<>|&;()"):
                    break
                args.append(token)
            found.append(args)
    return found


@cache
def help_text(command: str) -> str:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, f"`hossctl {command}` does not exist: {result.output}"
    return result.output


def _all_invocations(path: Path) -> list[list[str]]:
    doc = _load(path)
    if path == PRE_COMMIT:
        return [shlex.split(hook["entry"])[1:] + list(hook.get("args", [])) for hook in doc]
    return [args for text in _shell(doc) for args in invocations(text)]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_parses_and_holds_no_token(path: Path) -> None:
    assert _load(path)
    assert not re.search(r"\bhp_[A-Za-z0-9]{20,}", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_hossctl_flag_exists(path: Path) -> None:
    calls = _all_invocations(path)
    assert calls, f"{path.name} calls hossctl nowhere"
    for args in calls:
        command, flags = args[0], [a.split("=", 1)[0] for a in args[1:] if a.startswith("-")]
        usage = help_text(command)
        for flag in flags:
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", usage), (
                f"{path.name}: `hossctl {command} {flag}` is not in `hossctl {command} --help`"
            )


def test_invocations_parser() -> None:
    text = 'set +e\nhossctl plan -f "$CONFIG" --markdown > plan.md 2> plan.err || test $? -eq 2\n'
    assert invocations(text) == [["plan", "-f", "$CONFIG", "--markdown"]]
    assert invocations('HOSSCTL: "hossctl==0.1.0"\npip install "$HOSSCTL"') == []


def _calls(node: Any, command: str) -> list[list[str]]:
    return [args for text in _shell(node) for args in invocations(text) if args[0] == command]


def test_github_plans_pull_requests_and_applies_the_saved_plan_on_main() -> None:
    doc = _load(GITHUB)
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert set(triggers) == {"pull_request", "push"} and triggers["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert jobs["plan-pr"]["if"] == "github.event_name == 'pull_request'"
    assert any("--markdown" in call for call in _calls(jobs["plan-pr"], "plan"))
    assert any("actions/github-script" in str(step.get("uses")) for step in jobs["plan-pr"]["steps"])

    [main_plan] = _calls(jobs["plan"], "plan")
    planfile = main_plan[main_plan.index("--out") + 1]
    [apply_call] = _calls(jobs["apply"], "apply")
    assert apply_call == ["apply", planfile, "-f", "$CONFIG"]  # the plan is applied with its own config
    assert jobs["apply"]["needs"] == "plan"
    uploads = [s for s in jobs["plan"]["steps"] if "upload-artifact" in str(s.get("uses"))]
    downloads = [s for s in jobs["apply"]["steps"] if "download-artifact" in str(s.get("uses"))]
    assert uploads[0]["with"]["path"] == planfile
    assert downloads[0]["with"]["name"] == uploads[0]["with"]["name"]


def test_gitlab_plans_merge_requests_and_applies_the_default_branch() -> None:
    doc = _load(GITLAB)
    plan_mr = doc["hoss:plan-mr"]
    assert plan_mr["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert any("--markdown" in call for call in _calls(plan_mr, "plan"))
    [main_plan] = _calls(doc["hoss:plan"], "plan")
    planfile = main_plan[main_plan.index("--out") + 1]
    apply_job = doc["hoss:apply"]
    assert apply_job["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert apply_job["needs"] == ["hoss:plan"]
    assert _calls(apply_job, "apply") == [["apply", planfile, "-f", "$CONFIG"]]
    assert doc["hoss:plan"]["artifacts"]["paths"] == [planfile]


def test_pre_commit_hook_validates_the_whole_config() -> None:
    [hook] = _load(PRE_COMMIT)
    assert hook["id"] == "hossctl-validate"
    assert hook["language"] == "python"
    assert hook["entry"] == "hossctl validate"
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    assert files.search("hoss.yaml") and files.search("config/cloud.yml")
    assert not files.search("hoss.json") and not files.search("yaml.txt")
