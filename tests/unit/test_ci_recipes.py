"""The CI recipes and the pre-commit hook parse and call hossctl only in ways that exist.

A recipe that drifts from the CLI fails in every user's pipeline at once, so each
``hossctl <command> --flag`` they contain is checked against that command's ``--help``.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from packaging.requirements import Requirement

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
    """Every ``hossctl ...`` command in a shell snippet, as argument lists: hossctl where a
    command starts (a line's start, or after ``;``, ``&&``, ``||``, ``|``, ``(``, ``!``), not
    the word inside a message such as ``echo "hossctl plan failed"``."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        for match in re.finditer(r"(?:^|(?<=[;&|(!]))\s*(hossctl)\s+\S", line):
            lexer = shlex.shlex(line[match.start(1) :], posix=True, punctuation_chars=True)
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


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_hossctl_invocation_parses(path: Path) -> None:
    """click itself parses each call as the recipe writes it: unknown options, an option
    without its value and stray positional arguments (which --help matching cannot see) fail."""
    for args in _all_invocations(path):
        command = cli.commands.get(args[0])
        assert command is not None, f"{path.name}: `hossctl {args[0]}` does not exist"
        try:
            command.make_context(args[0], list(args[1:]))
        except click.UsageError as exc:
            pytest.fail(f"{path.name}: `hossctl {shlex.join(args)}`: {exc.format_message()}")


def test_invocations_parser() -> None:
    text = 'set +e\nhossctl plan -f "$CONFIG" --markdown > plan.md 2> plan.err || test $? -eq 2\n'
    assert invocations(text) == [["plan", "-f", "$CONFIG", "--markdown"]]
    assert invocations('HOSSCTL: "hossctl==0.1.0"\npip install "$HOSSCTL"') == []
    assert invocations('echo "hossctl plan exited $CODE: blocked" >&2') == []
    assert invocations("set -e; hossctl validate && hossctl apply p -f c") == [
        ["validate"],
        ["apply", "p", "-f", "c"],
    ]


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


def _install_spec(path: Path) -> str:
    doc = _load(path)
    spec: str = (doc["env"] if path == GITHUB else doc["variables"])["HOSSCTL"]
    return spec


@pytest.mark.parametrize("path", (GITHUB, GITLAB), ids=lambda p: p.name)
def test_install_line_needs_no_package_index_entry(path: Path) -> None:
    """hossctl is not on the package index: the recipes install it from git, pinned to a commit,
    and document the wheel alternative and how to pin."""
    spec = _install_spec(path)
    filled = spec.replace("<git-host>/<owner>", "git.example.org/acme").replace("<commit-sha>", "0" * 40)
    requirement = Requirement(filled)
    assert requirement.name == "hossctl" and not requirement.specifier, spec
    assert requirement.url and requirement.url.startswith("git+https://"), spec
    assert requirement.url.endswith("@" + "0" * 40), "the placeholder must stand for a commit"
    text = path.read_text(encoding="utf-8")
    for needed in ("<commit-sha>", "python -m build", ".whl", "tag"):
        assert needed in text, f"{path.name} does not explain {needed!r}"


def test_github_apply_runs_one_at_a_time_and_pull_request_plans_cancel() -> None:
    doc = _load(GITHUB)
    group = doc["concurrency"]
    assert "pull_request" in group["group"] and "hoss-main" in group["group"]
    assert group["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert doc["jobs"]["apply"]["concurrency"] == {"group": "hoss-apply", "cancel-in-progress": False}
    assert "Re-run all jobs" in GITHUB.read_text(encoding="utf-8")
    assert "Re-run the workflow" not in GITHUB.read_text(encoding="utf-8")
    [upload] = [s for s in doc["jobs"]["plan"]["steps"] if "upload-artifact" in str(s.get("uses"))]
    assert upload["with"]["overwrite"] is True  # "Re-run all jobs" uploads hoss-plan again


def test_github_gives_every_step_the_variables_and_secrets_the_config_needs() -> None:
    """Non-secret `${VAR}`s of the config come from repository variables for every job; PATs from
    secrets, and only to the steps that call the servers."""
    doc = _load(GITHUB)
    assert doc["env"]["ONPREM_HOSS_URL"] == "${{ vars.ONPREM_HOSS_URL }}"
    assert doc["env"]["CLOUD_HOSS_URL"] == "${{ vars.CLOUD_HOSS_URL }}"
    assert "secrets." not in str(doc["env"])
    for job in doc["jobs"].values():
        for step in job["steps"]:
            talks_to_servers = any(args[0] in ("plan", "apply") for args in invocations(step.get("run", "")))
            pats = {k: v for k, v in step.get("env", {}).items() if "secrets." in str(v)}
            if talks_to_servers:
                assert pats == {
                    "ONPREM_HOSS_PAT": "${{ secrets.ONPREM_HOSS_PAT }}",
                    "CLOUD_HOSS_PAT": "${{ secrets.CLOUD_HOSS_PAT }}",
                }
            else:
                assert not pats, f"a step that calls no server gets a PAT: {step}"


def test_gitlab_apply_runs_one_at_a_time_and_merge_request_jobs_are_interruptible() -> None:
    doc = _load(GITLAB)
    assert doc["hoss:apply"]["resource_group"] == doc["hoss:plan"]["resource_group"] == "hoss-apply"
    assert doc["hoss:plan-mr"]["interruptible"] is True and doc["hoss:validate"]["interruptible"] is True
    assert not doc["hoss:apply"].get("interruptible") and not doc["hoss:plan"].get("interruptible")
    assert "slim" not in doc["default"]["image"], "pip needs git for a git URL"


def test_package_builds_from_a_git_checkout() -> None:
    """pre-commit (`rev:` a commit) and `pip install git+…@<commit>` build hossctl from a clean
    clone, which holds only committed files: what the wheel packages and force-includes (the
    schemas) must be in git, and nothing of it may be git-ignored, or it could never be."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    for source in [*wheel["packages"], *wheel.get("force-include", {})]:
        files = [
            str(p.relative_to(ROOT))
            for p in (ROOT / source).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files, f"{source} is empty"
        assert _git("ls-files", "--", source).split(), f"{source} is not in git"
        ignored = _git("check-ignore", "--no-index", "--", *files, ok_codes=(0, 1)).split()
        assert not ignored, f"git-ignored, so missing from a build at any commit: {ignored}"


def _git(*args: str, ok_codes: tuple[int, ...] = (0,)) -> str:
    """A read-only git command in this repository."""
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode in ok_codes, result.stderr
    return result.stdout
