"""Just enough of GitHub Actions and GitLab CI to run the `examples/ci` recipes as written.

The recipes are copied into users' repositories and run there, where a mistake shows up only
after the copy: a missing variable, a wrong exit-code test, an artifact the next job cannot
find. These runners execute a recipe's own shell steps, in the recipe's order, with the
environment, step outputs, conditions and artifacts the CI service would give them, so a test
can drive a whole pull-request-then-merge flow against real sandboxes.

What is simulated, and what is not:
- GitHub: workflow/job/step ``env``, ``${{ }}`` expressions over ``github``, ``vars``,
  ``secrets``, ``steps`` and ``needs`` (comparisons, ``!``, ``&&``, ``||`` and the status
  functions), ``$GITHUB_OUTPUT``, job ``outputs``, ``needs``, the ``defaults.run.shell``
  (``bash -e {0}`` by default, ``bash --noprofile --norc -eo pipefail {0}`` for ``shell: bash``),
  "Re-run all jobs" and "Re-run failed jobs". Actions: ``checkout`` copies the repository into
  a fresh job directory, ``upload-artifact``/``download-artifact`` copy files by artifact name
  (with v4's refusal to upload a name twice in a run unless ``overwrite``), ``setup-python``
  does nothing, and ``github-script`` only reads the files its script reads.
- GitLab: ``variables`` (file, job, project CI/CD variables and the predefined ones),
  ``default.before_script``, ``script`` (``bash -eo pipefail``, as the runner's bash shell),
  ``rules`` with ``if`` and ``when``, ``stages``, ``needs``, and ``artifacts`` (``paths``,
  ``when``) between jobs of a pipeline.
- Not simulated: concurrency, ``resource_group``, environments and approvals (the tests check
  those statically), images, caches, and any expression syntax the recipes do not use. Anything
  unknown raises, so a recipe that outgrows these runners fails the test instead of being
  half-run.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from forkserver import SHIM, fork_server

STEP_TIMEOUT = 120  # seconds; a hung hossctl fails the test instead of blocking the suite


# ---------------------------------------------------------------------------------------------
# Tools on the PATH of every step: hossctl (this checkout's code) and a pip that only records.


@dataclass(frozen=True)
class Tools:
    """A directory with ``hossctl`` and ``pip`` shims, and the logs of their calls."""

    bin: Path
    hossctl_log: Path
    pip_log: Path

    def hossctl_calls(self) -> list[list[str]]:
        return _read_calls(self.hossctl_log)

    def pip_calls(self) -> list[list[str]]:
        return _read_calls(self.pip_log)


def _read_calls(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [yaml.safe_load(line) for line in log.read_text(encoding="utf-8").splitlines()]


def make_tools(directory: Path, source_root: Path) -> Tools:
    """``hossctl`` runs the code under test (``source_root``) from the console script's entry point;
    ``pip`` records its arguments and, for a wheel path, checks that the file is there (so the
    wheel variant of the recipes is proven to install after checkout), but installs nothing:
    the code under test is already importable, and the test must not need the network."""
    directory.mkdir(parents=True, exist_ok=True)
    tools = Tools(directory, directory / "hossctl.calls", directory / "pip.calls")
    hossctl = directory / "hossctl"
    # Through a fork of a process that has imported the code under test (tests/forkserver.py):
    # the same entry point as the console script, without 0.4 s of imports per step.
    server = fork_server(source_root)
    hossctl.write_text(SHIM.format(python=sys.executable, log=str(tools.hossctl_log), path=server.path))
    pip = directory / "pip"
    pip.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(tools.pip_log)!r}, 'a', encoding='utf-8') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "spec = sys.argv[-1]\n"
        "if spec.endswith('.whl') and not os.path.isfile(spec):\n"
        "    sys.exit(f'ERROR: {spec} does not exist (in {os.getcwd()})')\n",
        encoding="utf-8",
    )
    for script in (hossctl, pip):
        script.chmod(0o755)
    return tools


def base_env(tools: Tools, home: Path) -> dict[str, str]:
    """A clean environment: nothing of the test process (no PAT, no URL) leaks into a step, so
    every variable the config needs has to come from the recipe."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": f"{tools.bin}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "CI": "true"}


def _run_shell(argv: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    process = subprocess.run(
        argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
    )
    return process.returncode, process.stdout + process.stderr


def _fresh_checkout(source: Path, workdir: Path) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(source, workdir)


# ---------------------------------------------------------------------------------------------
# GitHub Actions expressions: ${{ ... }} and `if:`.

_GH_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][\w.-]*))"
)
_STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
_STATUS_CALL = re.compile(r"\b(?:success|failure|always|cancelled)\s*\(")


def _gh_tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _GH_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise NotImplementedError(f"expression syntax not simulated: {text!r} at {position}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class GitHubExpression:
    """A recursive-descent evaluator of the expression subset the recipes use."""

    def __init__(self, text: str, context: Mapping[str, Any], status: Mapping[str, bool]) -> None:
        self.tokens = _gh_tokens(text)
        self.index = 0
        self.context = context
        self.status = status
        self.text = text

    def evaluate(self) -> Any:
        value = self._or()
        if self.index != len(self.tokens):
            raise NotImplementedError(f"expression syntax not simulated: {self.text!r}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, value: str) -> bool:
        if self._peek() == ("op", value):
            self.index += 1
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._not()
        while self._take("&&"):
            right = self._not()
            left = right if truthy(left) else left
        return left

    def _not(self) -> Any:
        if self._take("!"):
            return not truthy(self._not())
        return self._comparison()

    def _comparison(self) -> Any:
        left = self._primary()
        for operator in ("==", "!="):
            if self._take(operator):
                equal = _gh_loose(left) == _gh_loose(self._primary())
                return equal if operator == "==" else not equal
        return left

    def _primary(self) -> Any:
        token = self._peek()
        if token is None:
            raise NotImplementedError(f"incomplete expression: {self.text!r}")
        self.index += 1
        kind, value = token
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value)
        if kind == "op" and value == "(":
            inner = self._or()
            if not self._take(")"):
                raise NotImplementedError(f"unbalanced parentheses: {self.text!r}")
            return inner
        if kind == "name" and self._take("("):
            if not self._take(")") or value not in _STATUS_FUNCTIONS:
                raise NotImplementedError(f"function not simulated: {value}() in {self.text!r}")
            return self.status[value]
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            return self._lookup(value)
        raise NotImplementedError(f"expression syntax not simulated: {self.text!r}")

    def _lookup(self, dotted: str) -> Any:
        root, *path = dotted.split(".")
        if root not in self.context:
            raise NotImplementedError(f"context `{root}` not simulated: {self.text!r}")
        node: Any = self.context[root]
        for part in path:
            node = node.get(part) if isinstance(node, Mapping) else None
        return node


def truthy(value: Any) -> bool:
    return value not in (None, False, "", 0, 0.0)


def _gh_loose(value: Any) -> Any:
    """GitHub compares strings case-insensitively and null as empty."""
    if value is None:
        return ""
    return value.lower() if isinstance(value, str) else value


def gh_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def gh_substitute(text: str, context: Mapping[str, Any], status: Mapping[str, bool]) -> str:
    return re.sub(
        r"\$\{\{(.*?)\}\}",
        lambda m: gh_string(GitHubExpression(m.group(1), context, status).evaluate()),
        text,
    )


def gh_condition(text: Any, context: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """An ``if:``; without a status function GitHub adds ``success() &&`` in front."""
    if text is None:
        return status["success"]
    if isinstance(text, bool):
        return text and status["success"]
    source = str(text).strip()
    if source.startswith("${{") and source.endswith("}}"):
        source = source[3:-2]
    value = truthy(GitHubExpression(source, context, status).evaluate())
    if not _STATUS_CALL.search(source):
        value = value and status["success"]
    return value


# ---------------------------------------------------------------------------------------------
# GitHub Actions runs.


@dataclass
class StepResult:
    name: str
    status: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    read_files: dict[str, str | None] = field(default_factory=dict)  # github-script: what it read


@dataclass
class JobResult:
    status: str  # success | failure | skipped
    workdir: Path | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)

    def step(self, name_or_id: str) -> StepResult:
        [found] = [s for s in self.steps if s.name == name_or_id]
        return found

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} ({s.status})\n{s.log}" for s in self.steps)


_SHELLS = {
    None: ["bash", "-e"],  # GitHub's default on Linux: bash -e {0}
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
}


class GitHubRun:
    """One workflow run for one event; ``run()`` again is "Re-run all jobs",
    ``run(failed_only=True)`` is "Re-run failed jobs". Artifacts belong to the run, as on GitHub."""

    def __init__(
        self,
        workflow: Path,
        *,
        event_name: str,
        repository: Path,
        vars: Mapping[str, str],
        secrets: Mapping[str, str],
        tools: Tools,
        workspace: Path,
        env_overrides: Mapping[str, str] | None = None,
        before_job: Callable[[str], None] | None = None,
    ) -> None:
        self.doc: dict[str, Any] = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        self.event_name = event_name
        self.repository = repository
        self.vars = dict(vars)
        self.secrets = dict(secrets)
        self.tools = tools
        self.workspace = workspace
        self.env_overrides = dict(env_overrides or {})
        self.before_job = before_job
        self.artifacts: dict[str, dict[str, bytes]] = {}
        self.attempt = 0
        self.results: dict[str, JobResult] = {}

    @property
    def triggers(self) -> dict[str, Any]:
        doc: dict[Any, Any] = self.doc
        triggers: dict[str, Any] = doc["on"] if "on" in doc else doc[True]  # YAML 1.1 reads `on` as true
        return triggers

    def _github(self) -> dict[str, Any]:
        ref = "refs/pull/7/merge" if self.event_name == "pull_request" else "refs/heads/main"
        github: dict[str, Any] = {"event_name": self.event_name, "ref": ref, "sha": "0" * 40, "event": {}}
        if self.event_name == "pull_request":
            github["event"] = {"pull_request": {"number": 7}}
        return github

    def run(self, failed_only: bool = False) -> dict[str, JobResult]:
        """Runs every job; the run must be one the workflow's trigger starts for a change of the
        config (``hoss.yaml``) on a pull request or on main."""
        trigger = self.triggers.get(self.event_name)
        assert self.event_name in self.triggers, f"the workflow does not run on {self.event_name}"
        if trigger and "paths" in trigger:
            assert any(fnmatch.fnmatch("hoss.yaml", p) for p in trigger["paths"]), "config change ignored"
        if self.event_name == "push" and trigger and "branches" in trigger:
            assert "main" in trigger["branches"]
        self.attempt += 1
        previous = self.results
        self.results = {}
        for job_id in _job_order(self.doc["jobs"]):
            if failed_only and previous.get(job_id, JobResult("failure")).status == "success":
                self.results[job_id] = previous[job_id]
                continue
            self.results[job_id] = self._job(job_id, self.doc["jobs"][job_id])
        return self.results

    def _job(self, job_id: str, job: dict[str, Any]) -> JobResult:
        needs = _as_list(job.get("needs"))
        context: dict[str, Any] = {
            "github": self._github(),
            "vars": self.vars,
            "secrets": self.secrets,
            "needs": {
                n: {"result": self.results[n].status, "outputs": self.results[n].outputs} for n in needs
            },
            "steps": {},
            "env": {},
        }
        status = _status(ok=all(self.results[n].status == "success" for n in needs))
        if not gh_condition(job.get("if"), context, status):
            return JobResult("skipped")
        if self.before_job is not None:
            self.before_job(job_id)

        workdir = self.workspace / f"attempt{self.attempt}-{job_id}"
        workdir.mkdir(parents=True)
        env: dict[str, str] = {}
        for scope in (self.doc.get("env", {}), job.get("env", {})):
            for key, value in scope.items():
                env[key] = gh_substitute(str(value), context, status)
        env.update(self.env_overrides)
        context["env"] = env
        shell_name = job.get("defaults", self.doc.get("defaults", {})).get("run", {}).get("shell")

        result = JobResult("success", workdir)
        for index, step in enumerate(job["steps"]):
            name = str(step.get("id") or step.get("name") or step.get("uses") or f"step {index}")
            status = _status(ok=result.status == "success")
            if not gh_condition(step.get("if"), context, status):
                result.steps.append(StepResult(name, "skipped"))
                continue
            step_env = {**env}
            for key, value in step.get("env", {}).items():
                step_env[key] = gh_substitute(str(value), {**context, "env": step_env}, status)
            if "uses" in step:
                outcome = self._action(step, workdir, context, status)
            else:
                shell = step.get("shell", shell_name)
                outcome = self._run_step(step, workdir, step_env, shell, context, status)
            outcome.name = name
            result.steps.append(outcome)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": outcome.outputs, "outcome": outcome.status}
            if outcome.status == "failure":
                result.status = "failure"
        status = _status(ok=True)
        result.outputs = {
            k: gh_substitute(str(v), context, status) for k, v in job.get("outputs", {}).items()
        }
        return result

    def _run_step(
        self,
        step: dict[str, Any],
        workdir: Path,
        step_env: dict[str, str],
        shell_name: str | None,
        context: Mapping[str, Any],
        status: Mapping[str, bool],
    ) -> StepResult:
        if shell_name not in _SHELLS:
            raise NotImplementedError(f"shell {shell_name!r} not simulated")
        scratch = workdir.parent / f"{workdir.name}-runner"
        scratch.mkdir(exist_ok=True)
        script = scratch / "step.sh"
        script.write_text(gh_substitute(step["run"], context, status), encoding="utf-8")
        output_file = scratch / "github_output"
        output_file.write_text("", encoding="utf-8")
        env = {
            **base_env(self.tools, self.workspace / "home"),
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_WORKSPACE": str(workdir),
            "GITHUB_OUTPUT": str(output_file),
            "RUNNER_TEMP": str(scratch),
            **step_env,
        }
        code, log = _run_shell([*_SHELLS[shell_name], str(script)], workdir, env)
        return StepResult("", "success" if code == 0 else "failure", _parse_outputs(output_file), log)

    def _action(
        self, step: dict[str, Any], workdir: Path, context: Mapping[str, Any], status: Mapping[str, bool]
    ) -> StepResult:
        action = str(step["uses"]).split("@")[0]
        inputs = {
            k: gh_substitute(v, context, status) if isinstance(v, str) else gh_string(v)
            for k, v in step.get("with", {}).items()
        }
        if action == "actions/checkout":
            _fresh_checkout(self.repository, workdir)
            return StepResult("", "success")
        if action == "actions/setup-python":
            return StepResult("", "success")
        if action == "actions/upload-artifact":
            name = inputs.get("name", "artifact")
            files = {p: (workdir / p).read_bytes() for p in inputs["path"].split() if (workdir / p).is_file()}
            if name in self.artifacts and inputs.get("overwrite", "false") != "true":
                return StepResult(
                    "", "failure", log=f"(409) Conflict: an artifact named {name} already exists"
                )
            if not files and inputs.get("if-no-files-found", "warn") == "error":
                return StepResult("", "failure", log=f"no files found for {inputs['path']}")
            self.artifacts[name] = files
            return StepResult("", "success")
        if action == "actions/download-artifact":
            name = inputs["name"]
            if name not in self.artifacts:
                return StepResult("", "failure", log=f"Artifact not found: {name}")
            target = workdir / inputs.get("path", ".")
            for relative, data in self.artifacts[name].items():
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                (target / relative).write_bytes(data)
            return StepResult("", "success")
        if action == "actions/github-script":
            read = {}
            for name in re.findall(r"readFileSync\(\s*'([^']+)'", inputs["script"]):
                path = workdir / name
                read[name] = path.read_text(encoding="utf-8") if path.is_file() else None
            ok = all(text is not None for text in read.values())
            return StepResult("", "success" if ok else "failure", read_files=read)
        raise NotImplementedError(f"action {action} not simulated")


def _status(ok: bool) -> dict[str, bool]:
    """The values of the status functions: ``ok`` is whether everything before succeeded."""
    return {"success": ok, "failure": not ok, "always": True, "cancelled": False}


def _parse_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:  # key<<DELIMITER ... DELIMITER
            key, delimiter = line.split("<<", 1)
            outputs[key] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
        elif line.strip():
            raise ValueError(f"malformed $GITHUB_OUTPUT line: {line!r}")
    return outputs


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _job_order(jobs: Mapping[str, Any]) -> list[str]:
    order: list[str] = []
    pending = list(jobs)
    while pending:
        ready = [j for j in pending if all(n in order for n in _as_list(jobs[j].get("needs")))]
        if not ready:
            raise ValueError(f"jobs with unsatisfiable needs: {pending}")
        order.append(ready[0])
        pending.remove(ready[0])
    return order


# ---------------------------------------------------------------------------------------------
# GitLab CI pipelines.

_GL_TOKEN = re.compile(
    r"\s*(?:(?P<str>\"[^\"]*\"|'[^']*')|(?P<var>\$\{?\w+\}?)|(?P<op>==|!=|&&|\|\||\(|\))|(?P<null>null\b))"
)
_GL_RESERVED = frozenset(
    "stages variables default workflow include image services before_script after_script cache".split()
)


def gl_condition(text: str, variables: Mapping[str, str]) -> bool:
    """A ``rules:if``: ``$VAR``, quoted strings, ``null``, ``==``, ``!=``, ``&&``, ``||``,
    parentheses. An undefined variable is null; a bare variable is true when set and non-empty."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _GL_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise NotImplementedError(f"rules:if syntax not simulated: {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    index = 0

    def value() -> Any:
        nonlocal index
        kind, raw = tokens[index]
        index += 1
        if kind == "str":
            return raw[1:-1]
        if kind == "var":
            return variables.get(raw.strip("${}"))
        if kind == "null":
            return None
        if raw == "(":
            inner = disjunction()
            assert tokens[index] == ("op", ")"), text
            index += 1
            return inner
        raise NotImplementedError(f"rules:if syntax not simulated: {text!r}")

    def comparison() -> Any:
        nonlocal index
        left = value()
        if index < len(tokens) and tokens[index] in (("op", "=="), ("op", "!=")):
            operator = tokens[index][1]
            index += 1
            right = value()
            return (left == right) == (operator == "==")
        return left not in (None, "")

    def conjunction() -> bool:
        nonlocal index
        result = bool(comparison())
        while index < len(tokens) and tokens[index] == ("op", "&&"):
            index += 1
            result = bool(comparison()) and result
        return result

    def disjunction() -> bool:
        nonlocal index
        result = conjunction()
        while index < len(tokens) and tokens[index] == ("op", "||"):
            index += 1
            result = conjunction() or result
        return result

    outcome = disjunction()
    if index != len(tokens):
        raise NotImplementedError(f"rules:if syntax not simulated: {text!r}")
    return outcome


@dataclass
class GitLabJob:
    status: str  # success | failed | skipped | manual
    workdir: Path | None = None
    log: str = ""
    exit_code: int | None = None
    artifacts: dict[str, bytes] = field(default_factory=dict)


class GitLabPipeline:
    """One pipeline: a merge-request pipeline (``source="merge_request_event"``) or a branch
    pipeline (``source="push"``), with the project's CI/CD ``variables``."""

    def __init__(
        self,
        ci_file: Path,
        *,
        source: str,
        branch: str,
        repository: Path,
        variables: Mapping[str, str],
        tools: Tools,
        workspace: Path,
        default_branch: str = "main",
        play: frozenset[str] = frozenset(),
    ) -> None:
        self.doc: dict[str, Any] = yaml.safe_load(ci_file.read_text(encoding="utf-8"))
        self.repository = repository
        self.tools = tools
        self.workspace = workspace
        self.play = play  # manual jobs someone starts
        self.predefined = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": source,
            "CI_DEFAULT_BRANCH": default_branch,
            "CI_COMMIT_REF_NAME": branch,
        }
        if source == "merge_request_event":  # MR pipelines have no CI_COMMIT_BRANCH
            self.predefined["CI_MERGE_REQUEST_IID"] = "7"
            self.predefined["CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"] = branch
            self.predefined["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = default_branch
        else:
            self.predefined["CI_COMMIT_BRANCH"] = branch
        self.project_variables = dict(variables)
        self.results: dict[str, GitLabJob] = {}

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return {
            name: body
            for name, body in self.doc.items()
            if isinstance(name, str) and name not in _GL_RESERVED and not name.startswith(".")
        }

    def _variables(self, job: Mapping[str, Any]) -> dict[str, str]:
        merged: dict[str, str] = {}
        for scope in (self.doc.get("variables", {}), job.get("variables", {})):
            for key, value in scope.items():
                merged[key] = str(value["value"] if isinstance(value, dict) else value)
        return {**merged, **self.project_variables, **self.predefined}  # project variables win

    def _when(self, job: Mapping[str, Any]) -> str:
        """The job's `when` in this pipeline; "never" when no rule lets it in."""
        rules = job.get("rules")
        if rules is None:
            return str(job.get("when", "on_success"))
        variables = self._variables(job)
        for rule in rules:
            if set(rule) - {"if", "when"}:
                raise NotImplementedError(f"rules keys not simulated: {sorted(rule)}")
            if "if" not in rule or gl_condition(rule["if"], variables):
                return str(rule.get("when", job.get("when", "on_success")))
        return "never"

    def selected(self) -> list[str]:
        return [name for name, job in self.jobs.items() if self._when(job) != "never"]

    def run(self) -> dict[str, GitLabJob]:
        stages = self.doc.get("stages", ["build", "test", "deploy"])
        selected = self.selected()
        for stage in stages:
            for name in selected:
                job = self.jobs[name]
                if job.get("stage", "test") == stage:
                    self.results[name] = self._job(name, job, stages)
        return self.results

    def _job(self, name: str, job: dict[str, Any], stages: list[str]) -> GitLabJob:
        stage_index = stages.index(job.get("stage", "test"))
        if "needs" in job:
            upstream = [n if isinstance(n, str) else n["job"] for n in job["needs"]]
            missing = [n for n in upstream if n not in self.results]
            if missing:  # GitLab refuses to create such a pipeline
                raise ValueError(f"{name} needs {missing}, which this pipeline does not have")
        else:
            earlier = [
                n for n in self.results if stages.index(self.jobs[n].get("stage", "test")) < stage_index
            ]
            upstream = earlier
        when = self._when(job)
        upstream_ok = all(self.results[n].status == "success" for n in upstream)
        if when == "manual" and name not in self.play:
            return GitLabJob("manual")
        if when not in ("on_success", "manual", "always") or (when != "always" and not upstream_ok):
            return GitLabJob("skipped")

        workdir = self.workspace / f"pipeline-{name.replace(':', '-')}"
        _fresh_checkout(self.repository, workdir)
        for source in upstream if "dependencies" not in job else job["dependencies"]:
            for relative, data in self.results[source].artifacts.items():
                (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
                (workdir / relative).write_bytes(data)

        before = job.get("before_script", self.doc.get("default", {}).get("before_script", []))
        script = "\n".join(str(line) for line in [*before, *job["script"]])
        scratch = workdir.parent / f"{workdir.name}-runner.sh"
        scratch.write_text(script + "\n", encoding="utf-8")
        env = {**base_env(self.tools, self.workspace / "home"), **self._variables(job)}
        env |= {"CI_PROJECT_DIR": str(workdir), "CI_JOB_NAME": name}
        code, log = _run_shell(["bash", "-eo", "pipefail", str(scratch)], workdir, env)
        result = GitLabJob("success" if code == 0 else "failed", workdir, log, code)

        artifacts = job.get("artifacts", {})
        keep = artifacts.get("when", "on_success")
        if keep == "always" or (keep == "on_success") == (result.status == "success"):
            for pattern in artifacts.get("paths", []):
                for path in sorted(workdir.glob(pattern)):
                    if path.is_file():
                        result.artifacts[str(path.relative_to(workdir))] = path.read_bytes()
        return result
