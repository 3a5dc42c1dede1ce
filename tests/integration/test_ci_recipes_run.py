"""The `examples/ci` recipes and the pre-commit hook, run as written against two real sandboxes.

A recipe is copied into users' repositories and only fails there, so reading it is not enough:
these tests execute each recipe's own shell steps, in order, with what GitHub Actions or GitLab
CI would give them (see ``ci_pipelines``), and prove the flow a user relies on:
pull-request plan -> merge -> plan saved -> apply -> plan again says "No changes", with the
exit codes handled as the recipe's comments say, a blocked plan failing both the review job
(after writing the comment) and the main-branch plan, and a stale plan fixed by "Re-run all
jobs". The config uses ``${ONPREM_HOSS_URL}``/``${CLOUD_HOSS_URL}`` like the README's first
example, and the steps get a clean environment, so the recipe itself must pass every variable.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable, Iterable
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_pipelines import GitHubRun, GitLabJob, GitLabPipeline, JobResult, Tools, base_env, make_tools

import hossctl
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
Servers = tuple[Sandbox, Sandbox]

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
PRE_COMMIT = ROOT / ".pre-commit-hooks.yaml"
WHEEL = "./ci/hossctl-0.1.0-py3-none-any.whl"


def _ns(name: str, *sync: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"description": "Raw recordings", "object_store": "default", "bucket": name}
    if sync:
        body["sync"] = list(sync)
    return body


# onprem/raw-data <-> cloud/raw-data (duplex): two creates and two sync enables.
DESIRED_ONPREM = {"raw-data": _ns("raw-data", {"target": "cloud", "type": "duplex"})}
DESIRED_CLOUD = {"raw-data": _ns("raw-data")}


def write_repository(path: Path, onprem: dict[str, Any], cloud: dict[str, Any]) -> Path:
    """The user's repository: hoss.yaml with its URLs in variables and a PAT variable per server."""
    path.mkdir(parents=True)
    doc = {
        "version": 1,
        "servers": {
            "onprem": {"url": "${ONPREM_HOSS_URL}", "pat_env": "ONPREM_HOSS_PAT", "namespaces": onprem},
            "cloud": {"url": "${CLOUD_HOSS_URL}", "pat_env": "CLOUD_HOSS_PAT", "namespaces": cloud},
        },
    }
    (path / "hoss.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def servers(sandbox_factory: SandboxFactory) -> Servers:
    return sandbox_factory(), sandbox_factory()


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return make_tools(tmp_path / "tools", Path(hossctl.__file__).resolve().parents[1])


def repository_variables(servers: Servers) -> dict[str, str]:
    onprem, cloud = servers
    return {"ONPREM_HOSS_URL": onprem.url, "CLOUD_HOSS_URL": cloud.url}


def repository_secrets(servers: Servers) -> dict[str, str]:
    onprem, cloud = servers
    return {"ONPREM_HOSS_PAT": onprem.admin_pat, "CLOUD_HOSS_PAT": cloud.admin_pat}


def live(sb: Sandbox) -> dict[str, list[tuple[str, str, str]]]:
    """Namespaces and their sync rows: what an apply could have changed."""
    return {
        n["name"]: sorted(
            (r["target_core_service"], r["target_namespace"], r["sync_type"])
            for r in sb.sync_targets(n["name"])
        )
        for n in sb.namespaces()
    }


def applied(servers: Servers) -> bool:
    onprem, cloud = servers
    return live(onprem).get("raw-data") == [(cloud.core_url, "raw-data", "duplex")] and live(cloud).get(
        "raw-data"
    ) == [(onprem.core_url, "raw-data", "duplex")]


def assert_markdown(text: str | None) -> str:
    assert text and text.strip(), "the comment file is empty"
    assert re.search(r"^#{1,6} \S", text, re.M), f"not Markdown (no heading):\n{text}"
    return text


def statuses(results: dict[str, JobResult] | dict[str, GitLabJob]) -> dict[str, str]:
    return {name: result.status for name, result in results.items()}


def recipe_env(path: Path, key: str) -> str:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    value: str = (doc["env"] if path == GITHUB else doc["variables"])[key]
    return value


def assert_pip_installed(tools: Tools, spec: str) -> None:
    """Every job installed exactly what HOSSCTL names; never a version from the package index."""
    calls = tools.pip_calls()
    assert calls, "no job installed hossctl"
    for call in calls:
        assert call[0] == "install" and call[-1] == spec, call
        assert set(call[1:-1]) <= {"--quiet", "-q"}, call


def calls_hossctl(script: str) -> bool:
    """A shell line that runs hossctl (not one that merely mentions it in a message)."""
    return re.search(r"^\s*hossctl\s", script, re.M) is not None


def assert_every_hossctl_step_ran(
    steps_run: Iterable[tuple[str, str]], hossctl_steps: set[tuple[str, str]]
) -> None:
    """Each step of the recipe that calls hossctl was executed successfully at least once: the
    flow tested is the whole recipe, not a part of it."""
    missing = hossctl_steps - set(steps_run)
    assert not missing, f"recipe steps calling hossctl that never ran: {sorted(missing)}"


def wheel_beside_the_config(repository: Path) -> dict[str, str]:
    """The recipes' alternative to a git URL: a wheel committed beside the config. The pip shim
    fails unless the file is there when a job installs, so the jobs must check out first."""
    (repository / WHEEL).parent.mkdir()
    (repository / WHEEL).write_bytes(b"a wheel")
    return {"HOSSCTL": WHEEL}


# ---------------------------------------------------------------------------------------------
# GitHub Actions


class GitHub:
    """Runs of the GitHub recipe for one repository, each in its own workspace."""

    def __init__(
        self, repository: Path, servers: Servers, tools: Tools, tmp_path: Path, **kwargs: Any
    ) -> None:
        self.repository, self.servers, self.tools, self.tmp_path = repository, servers, tools, tmp_path
        self.kwargs = kwargs
        self.numbers = count(1)
        self.succeeded_steps: set[tuple[str, str]] = set()

    def start(self, event_name: str) -> GitHubRun:
        return GitHubRun(
            GITHUB,
            event_name=event_name,
            repository=self.repository,
            vars=repository_variables(self.servers),
            secrets=repository_secrets(self.servers),
            tools=self.tools,
            workspace=self.tmp_path / f"gh-run{next(self.numbers)}-{event_name}",
            **self.kwargs,
        )

    def run(self, event_name: str) -> dict[str, JobResult]:
        return self.record(self.start(event_name).run())

    def record(self, results: dict[str, JobResult]) -> dict[str, JobResult]:
        for job_id, job in results.items():
            self.succeeded_steps |= {(job_id, s.name) for s in job.steps if s.status == "success"}
        return results


def github_hossctl_steps() -> set[tuple[str, str]]:
    doc = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return {
        (job_id, str(step.get("id") or step.get("name")))
        for job_id, job in doc["jobs"].items()
        for step in job["steps"]
        if calls_hossctl(str(step.get("run", "")))
    }


def test_github_recipe_plans_the_pull_request_applies_main_then_has_no_changes(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    onprem, cloud = servers
    before = (live(onprem), live(cloud))
    github = GitHub(
        write_repository(tmp_path / "repo", DESIRED_ONPREM, DESIRED_CLOUD), servers, tools, tmp_path
    )

    pr = github.run("pull_request")
    assert statuses(pr) == {"plan-pr": "success", "plan": "skipped", "apply": "skipped"}, pr["plan-pr"].log
    plan_pr = pr["plan-pr"]
    assert plan_pr.step("plan").outputs == {"exitcode": "2"}, plan_pr.log  # 2: changes
    comment = plan_pr.step("Comment the plan on the pull request")
    assert comment.status == "success" and set(comment.read_files) == {"plan.md", "plan.err"}
    assert "raw-data" in assert_markdown(comment.read_files["plan.md"])
    assert plan_pr.step("Fail when the plan is blocked or failed").status == "skipped"
    assert (live(onprem), live(cloud)) == before, "a pull-request plan wrote to a server"

    merged = github.run("push")
    assert statuses(merged) == {"plan-pr": "skipped", "plan": "success", "apply": "success"}, (
        merged["plan"].log + merged["apply"].log
    )
    assert merged["plan"].outputs == {"changes": "true"}
    assert merged["apply"].workdir is not None and (merged["apply"].workdir / "hoss.plan").is_file()
    assert "Apply complete" in merged["apply"].step("Apply the saved plan").log
    assert applied(servers)

    again = github.run("push")
    assert statuses(again) == {"plan-pr": "skipped", "plan": "success", "apply": "skipped"}, again["plan"].log
    assert again["plan"].outputs == {"changes": "false"}
    assert "No changes." in again["plan"].step("plan").log

    pr_again = github.run("pull_request")
    assert statuses(pr_again)["plan-pr"] == "success"
    assert pr_again["plan-pr"].step("plan").outputs == {"exitcode": "0"}  # 0: no changes
    comment_again = pr_again["plan-pr"].step("Comment the plan on the pull request")
    assert "No changes" in assert_markdown(comment_again.read_files["plan.md"])

    assert_every_hossctl_step_ran(github.succeeded_steps, github_hossctl_steps())
    assert_pip_installed(tools, recipe_env(GITHUB, "HOSSCTL"))
    assert all("-f" in call for call in tools.hossctl_calls())  # the config named, not the default


def test_github_recipe_fails_a_blocked_plan_after_commenting_and_never_applies_it(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    """Deleting a namespace that holds a dataset is blocked: the pull request still gets the
    plan with its violation as the comment, then the check fails; on main the plan job fails and
    nothing is applied. Installs from a wheel kept beside the config, the recipe's alternative to
    a git URL, so the pull-request job proves that path too."""
    onprem, cloud = servers
    onprem.seed_namespace("old", description="Old recordings", bucket="old")
    onprem.seed_dataset("old", "d")
    before = (live(onprem), live(cloud))
    repository = write_repository(
        tmp_path / "repo", {**DESIRED_ONPREM, "old": {"ensure": "absent"}}, DESIRED_CLOUD
    )
    github = GitHub(repository, servers, tools, tmp_path, env_overrides=wheel_beside_the_config(repository))

    pr = github.run("pull_request")
    plan_pr = pr["plan-pr"]
    assert plan_pr.status == "failure", plan_pr.log
    assert plan_pr.step("plan").status == "success" and plan_pr.step("plan").outputs == {"exitcode": "1"}
    comment = plan_pr.step("Comment the plan on the pull request")
    assert comment.status == "success", "the comment must be posted before the job fails"
    assert "namespace-not-empty" in assert_markdown(comment.read_files["plan.md"])
    assert plan_pr.step("Fail when the plan is blocked or failed").status == "failure"

    merged = github.run("push")
    assert statuses(merged) == {"plan-pr": "skipped", "plan": "failure", "apply": "skipped"}, merged[
        "plan"
    ].log
    assert "namespace-not-empty" in merged["plan"].step("plan").log
    assert (live(onprem), live(cloud)) == before
    assert_pip_installed(tools, WHEEL)


def test_github_recipe_comments_the_error_of_a_plan_that_cannot_run(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    """A pull request from a fork gets no secrets: the plan fails before any output, so the
    comment is built from plan.err, which must say what is missing, and the check fails."""
    github = GitHub(
        write_repository(tmp_path / "repo", DESIRED_ONPREM, DESIRED_CLOUD), servers, tools, tmp_path
    )
    run = github.start("pull_request")
    run.secrets = {}  # what GitHub passes to a fork's pull request
    plan_pr = run.run()["plan-pr"]
    assert plan_pr.status == "failure"
    assert plan_pr.step("plan").outputs == {"exitcode": "1"}, plan_pr.log
    comment = plan_pr.step("Comment the plan on the pull request")
    assert comment.status == "success" and comment.read_files["plan.md"] == ""
    assert "no credentials" in (comment.read_files["plan.err"] or ""), comment.read_files
    assert plan_pr.step("Fail when the plan is blocked or failed").status == "failure"


def test_github_recipe_stale_plan_is_fixed_by_rerunning_all_jobs(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    """Someone creates cloud/raw-data between the plan and the apply: the saved plan is stale.
    "Re-run failed jobs" re-runs apply on the same artifact and is refused again; "Re-run all
    jobs", as the recipe says, plans again (uploading over the old artifact) and applies.
    Installs from a wheel beside the config, so the plan and apply jobs prove that path."""
    onprem, cloud = servers

    def drift(job_id: str) -> None:
        if job_id == "apply":
            cloud.seed_namespace("raw-data", description="Raw recordings", bucket="raw-data")

    repository = write_repository(tmp_path / "repo", DESIRED_ONPREM, DESIRED_CLOUD)
    github = GitHub(repository, servers, tools, tmp_path, env_overrides=wheel_beside_the_config(repository))
    run = github.start("push")
    run.before_job = drift
    first = github.record(run.run())
    assert statuses(first) == {"plan-pr": "skipped", "plan": "success", "apply": "failure"}, first[
        "apply"
    ].log
    assert "raw-data" not in live(onprem), "a stale plan was partly applied"

    run.before_job = None
    failed_only = github.record(run.run(failed_only=True))
    assert failed_only["plan"] is first["plan"]  # not re-run: the same, stale artifact
    assert failed_only["apply"].status == "failure"
    assert "raw-data" not in live(onprem)

    everything = github.record(run.run())
    assert statuses(everything) == {"plan-pr": "skipped", "plan": "success", "apply": "success"}, (
        everything["plan"].log + everything["apply"].log
    )
    assert applied(servers)
    assert "Re-run all jobs" in GITHUB.read_text(encoding="utf-8")
    assert_pip_installed(tools, WHEEL)


# ---------------------------------------------------------------------------------------------
# GitLab CI


class GitLab:
    """Pipelines of the GitLab recipe for one repository, with the project's CI/CD variables."""

    def __init__(self, repository: Path, servers: Servers, tools: Tools, tmp_path: Path) -> None:
        self.repository, self.servers, self.tools, self.tmp_path = repository, servers, tools, tmp_path
        self.numbers = count(1)
        self.succeeded_jobs: set[str] = set()

    def pipeline(self, source: str, branch: str) -> GitLabPipeline:
        return GitLabPipeline(
            GITLAB,
            source=source,
            branch=branch,
            repository=self.repository,
            variables=repository_variables(self.servers) | repository_secrets(self.servers),
            tools=self.tools,
            workspace=self.tmp_path / f"gl-pipeline{next(self.numbers)}-{branch}",
        )

    def run(self, source: str, branch: str) -> dict[str, GitLabJob]:
        results = self.pipeline(source, branch).run()
        self.succeeded_jobs |= {name for name, job in results.items() if job.status == "success"}
        return results

    def merge_request(self) -> dict[str, GitLabJob]:
        return self.run("merge_request_event", "feature")

    def default_branch(self) -> dict[str, GitLabJob]:
        return self.run("push", "main")


def gitlab_hossctl_jobs() -> set[str]:
    doc = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    return {
        name
        for name, job in doc.items()
        if isinstance(job, dict) and calls_hossctl("\n".join(str(line) for line in job.get("script", [])))
    }


def test_gitlab_recipe_plans_the_merge_request_applies_the_default_branch_then_has_no_changes(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    onprem, cloud = servers
    before = (live(onprem), live(cloud))
    gitlab = GitLab(
        write_repository(tmp_path / "repo", DESIRED_ONPREM, DESIRED_CLOUD), servers, tools, tmp_path
    )

    assert gitlab.pipeline("push", "feature").selected() == []  # a branch without a merge request

    mr = gitlab.merge_request()
    assert statuses(mr) == {"hoss:validate": "success", "hoss:plan-mr": "success"}, mr["hoss:plan-mr"].log
    assert mr["hoss:plan-mr"].exit_code == 0  # exit 2 (changes) is accepted by `|| test $? -eq 2`
    assert "raw-data" in assert_markdown(mr["hoss:plan-mr"].artifacts["plan.md"].decode())
    assert (live(onprem), live(cloud)) == before, "a merge-request plan wrote to a server"

    main = gitlab.default_branch()
    assert statuses(main) == {"hoss:validate": "success", "hoss:plan": "success", "hoss:apply": "success"}, (
        main["hoss:plan"].log + main["hoss:apply"].log
    )
    assert set(main["hoss:plan"].artifacts) == {"hoss.plan"}
    assert "Apply complete" in main["hoss:apply"].log
    assert applied(servers)

    again = gitlab.default_branch()
    assert statuses(again) == {"hoss:validate": "success", "hoss:plan": "success", "hoss:apply": "success"}
    assert "No changes." in again["hoss:plan"].log and "No changes." in again["hoss:apply"].log

    assert gitlab_hossctl_jobs() <= gitlab.succeeded_jobs
    assert_pip_installed(tools, recipe_env(GITLAB, "HOSSCTL"))


def test_gitlab_recipe_fails_a_blocked_plan_but_keeps_its_markdown(
    servers: Servers, tools: Tools, tmp_path: Path
) -> None:
    onprem, cloud = servers
    onprem.seed_namespace("old", description="Old recordings", bucket="old")
    onprem.seed_dataset("old", "d")
    before = (live(onprem), live(cloud))
    gitlab = GitLab(
        write_repository(tmp_path / "repo", {**DESIRED_ONPREM, "old": {"ensure": "absent"}}, DESIRED_CLOUD),
        servers,
        tools,
        tmp_path,
    )

    mr = gitlab.merge_request()
    assert statuses(mr) == {"hoss:validate": "success", "hoss:plan-mr": "failed"}, mr["hoss:plan-mr"].log
    assert mr["hoss:plan-mr"].exit_code == 1
    assert "namespace-not-empty" in assert_markdown(mr["hoss:plan-mr"].artifacts["plan.md"].decode())

    main = gitlab.default_branch()
    assert statuses(main) == {"hoss:validate": "success", "hoss:plan": "failed", "hoss:apply": "skipped"}
    assert main["hoss:plan"].exit_code == 1 and "namespace-not-empty" in main["hoss:plan"].log
    assert (live(onprem), live(cloud)) == before


# ---------------------------------------------------------------------------------------------
# pre-commit


def documented_hook_args() -> list[str]:
    """The ``args`` the usage comment of .pre-commit-hooks.yaml tells users to write."""
    match = re.search(r"^#\s+args:\s*(\[[^\]]*\])", PRE_COMMIT.read_text(encoding="utf-8"), re.M)
    assert match, "the usage comment shows no args"
    args: list[str] = yaml.safe_load(match.group(1))
    return args


def test_pre_commit_usage_pins_a_commit_not_a_tag() -> None:
    """The repository has no tags, so the documented `rev:` must be a commit."""
    text = PRE_COMMIT.read_text(encoding="utf-8")
    [rev] = re.findall(r"^#\s+rev:\s*(.+?)\s*(?:#.*)?$", text, re.M)
    assert "commit" in rev.lower() and "SHA" in rev, rev
    assert not re.search(r"\bv\d+\.\d+", rev)


@pytest.mark.parametrize(
    ("config", "code"),
    [
        # `${VAR:-default}` as the hook's comment advises: the hook runs without the variable.
        ({"url": "${ONPREM_HOSS_URL:-https://hoss.example.org}", "namespaces": {"a": _ns("a")}}, 0),
        ({"url": "https://hoss.example.org", "namespaces": {"a": _ns("a", {"target": "nowhere"})}}, 1),
    ],
    ids=["valid", "invalid"],
)
def test_pre_commit_hook_runs_its_entry_with_the_documented_args(
    config: dict[str, Any], code: int, tools: Tools, tmp_path: Path
) -> None:
    [hook] = yaml.safe_load(PRE_COMMIT.read_text(encoding="utf-8"))
    args = documented_hook_args()
    config_file = args[args.index("-f") + 1]
    assert re.search(hook["files"], config_file), "the hook would not run when the config changes"
    (tmp_path / config_file).write_text(
        yaml.safe_dump({"version": 1, "servers": {"onprem": config}}), encoding="utf-8"
    )
    # No network: any connection attempt would go to a proxy that refuses it.
    env = base_env(tools, tmp_path / "home") | {
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    process = subprocess.run(
        [*shlex.split(hook["entry"]), *args],  # pass_filenames: false, so nothing is appended
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == code, process.stdout + process.stderr
    if code:
        assert config_file in process.stdout + process.stderr  # the diagnostic names the file
