"""Issue 10's "done when", proved against a server that misbehaves on purpose (``hostile_server``).

Every case drives the real CLI in a subprocess (``python -m hossctl``), so that what is
measured is what a user gets: the exit code, everything on stdout and stderr, the wall time
and the process's own peak RSS. Each case must end within its deadline plus start-up, with
exit 1 and one line ``Error: ...`` (no traceback), in bounded memory, without any piece of
the PAT or of a JWT in any output, and without a credential at any listener other than the
configured server.

Bounds, and why:
- Wall time: the case's own deadline (its ``--timeout`` where a deadline is what must end
  it, else about 0) plus SLACK_S for start-up (about 0.7 s alone) on a shared, noisy 2-core
  machine that runs WORKERS cases at once; or 4 times the baseline's wall time, if that is
  more (a loaded machine slows every run, the baseline's too). The deadline itself is
  checked apart, and tightly: the server times how long hossctl held the request before it
  hung up (at most DEADLINE_SLACK_S past ``--timeout``).
- Peak RSS: a run that never reads a big body stays within SMALL_EXTRA_MB of the baseline
  (a trivial ``plan``, about 42 MB here). A run that reads up to a limit (64 MiB bodies,
  200,000 listed names) stays under BIG_RSS_MB: the baseline plus the 64 MiB of body it may
  hold, plus room for decoding steps and noise. That is half of the 400 MB body, and a
  tenth of the 2 GB a 2 KB ``gzip, gzip`` body took before the transport decoded bodies
  itself.

The runs are independent processes, so they are made up front, WORKERS at a time (the
cases that only wait first), and each test asserts on its own runs; running one test alone
makes only its runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from depth import FULL
from hostile_server import (
    CASES,
    EVIL_DATASET,
    EVIL_NAMES,
    FORMATS,
    MAX_PAGES_SERVED,
    NOT_HOSS_PAGE,
    PAT_EXCHANGE,
    SHORT_TIMEOUT,
    Outcome,
    execute,
    leaks,
)

from hossctl.live.client import MAX_LISTED, PAGE_SIZE
from hossctl.live.transport import MAX_BODY_BYTES
from hossctl.sanitize import needs_escape

SLACK_S = 5.0
DEADLINE_SLACK_S = 0.5
SMALL_EXTRA_MB = 30.0
BIG_RSS_MB = 200.0
# The module fixture makes every run of the module up front, in parallel: under pytest-xdist
# the whole module goes to one worker, which would otherwise repeat them all.
pytestmark = pytest.mark.xdist_group("hostile-server")

WORKERS = 4

# The secrets grep covers every run this module makes, each case in the format it ran in, and
# these in more: the JWT echo in every format hossctl has; the PAT and JWT-fragment echoes
# in the formats whose code paths differ for a failed read (--debug's log, export, apply);
# and the hostile names, whose runs succeed, so that plan and export files get written too.
# (Each run costs about 0.7 s of CPU, mostly imports, so the matrix is not the full product.)
# The quick depth (tests/depth.py) keeps the JWT echo in every format and drops the repeats.
_FAILED_READ_PATHS = ("debug", "export", "apply")
GREP: dict[str, tuple[str, ...]] = {
    "echo-auth-at-180": FORMATS,
    "echo-pat-at-180": _FAILED_READ_PATHS if FULL else (),
    "echo-jwt-parts-500": _FAILED_READ_PATHS if FULL else (),
    "evil-names": tuple(f for f in FORMATS if f != "apply"),  # it would apply its deletes
}
Job = tuple[str, str]  # (mode, format)
# Started first: the first three mostly wait, and endless-pages is the longest run.
WAITING = ("drip", "stall", "always-503", "endless-pages")


def _jobs_of_test(name: str, params: dict[str, object]) -> list[Job]:
    """The runs a test will ask for, so they can all be made up front, in parallel."""
    if name == "test_a_hostile_case_ends_in_one_line":
        return [(str(params["mode"]), "text"), ("normal", "text")]
    if name == "test_no_credential_in_any_output_of_any_case":
        return [(mode, "text") for mode in CASES] + [(m, f) for m, fs in GREP.items() for f in fs]
    if name == "test_hostile_names_never_reach_a_terminal_and_json_stays_exact":
        return [(str(params["mode"]), f) for f in ("text", "markdown", "json", "debug", "out")]
    if "mode" in params:
        return [(str(params["mode"]), "text")]
    return [(mode, "text") for mode in CASES if mode in name.replace("_", "-")]


class Runs:
    """Outcomes by (mode, format), made on first request or up front by ``prefetch``."""

    def __init__(self) -> None:
        self._done: dict[Job, Outcome] = {}

    def prefetch(self, jobs: Iterable[Job]) -> None:
        wanted = sorted(set(jobs) - set(self._done), key=lambda job: job[0] not in WAITING)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for job, outcome in zip(wanted, pool.map(lambda job: execute(*job), wanted), strict=True):
                self._done[job] = outcome

    def get(self, mode: str, fmt: str = "text") -> Outcome:
        if (mode, fmt) not in self._done:
            self._done[(mode, fmt)] = execute(mode, fmt)
        return self._done[(mode, fmt)]

    def all(self) -> Iterator[Outcome]:
        return iter(list(self._done.values()))


_RUNS = Runs()  # outlives the fixture: pytest-xdist may interleave modules and rebuild it


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Runs:
    store = _RUNS
    jobs: list[Job] = []
    for item in request.session.items:
        if isinstance(item, pytest.Function) and item.module is request.module:
            params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
            jobs.extend(_jobs_of_test(item.originalname, params))
    store.prefetch(jobs)
    return store


# -- what every run must satisfy -----------------------------------------------------------


def raw_controls(text: str) -> list[str]:
    """Characters that would act on a terminal rather than show (line ends between lines aside)."""
    return sorted({ch for ch in text if ch != "\n" and needs_escape(ch)})


def credentials_stayed_home(outcome: Outcome) -> None:
    """The PAT went only to the configured server's own exchange path, each JWT only to its core,
    and nothing with a credential reached any other listener."""
    for seen in outcome.seen:
        auth = seen.authorization
        if auth is None:
            continue
        assert seen.listener == "server", f"a credential reached {seen.listener}: {seen.method} {seen.path}"
        bearer = auth.removeprefix("Bearer ")
        if bearer == outcome.pat:
            assert (seen.method, seen.path) == ("POST", PAT_EXCHANGE), seen
        else:
            assert bearer in outcome.jwts, f"an unknown credential was sent with {seen.method} {seen.path}"
            assert seen.path.startswith("/core/v1/") and not seen.path.startswith("/core/v1/discover"), seen


def test_the_baseline_is_a_clean_plan(runs: Runs) -> None:
    """The server, outside its modes, is Hoss enough for hossctl to plan "No changes."."""
    base = runs.get("normal")
    assert (base.run.code, base.run.stdout, base.run.stderr) == (0, "No changes.\n", "")
    assert base.run.peak_rss_mb < 100, base.run.peak_rss_mb
    assert len(base.jwts) == 1 and leaks(base.outputs, base.secrets) == []
    credentials_stayed_home(base)
    assert [s.authorization for s in base.seen if s.path == PAT_EXCHANGE] == [f"Bearer {base.pat}"]


@pytest.mark.parametrize("mode", list(CASES))
def test_a_hostile_case_ends_in_one_line(runs: Runs, mode: str) -> None:
    case = CASES[mode]
    outcome = runs.get(mode)
    run = outcome.run
    baseline = runs.get("normal").run.peak_rss_mb
    assert not run.killed, f"still running after 60 s: {run.stderr[-500:]!r}"
    assert run.code == 1, (run.stdout[-2000:], run.stderr[-2000:])
    assert "Traceback" not in run.stdout + run.stderr
    assert "internal error" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and run.stderr.endswith("\n"), run.stderr  # one line, and only one
    assert lines[0].startswith("Error: ") and case.expect in lines[0], lines[0]
    if mode != "evil-names-blocked":  # a blocked plan is still shown in full, on stdout
        assert run.stdout == ""
    assert raw_controls(run.stdout + run.stderr) == []
    slack = max(SLACK_S, 4 * runs.get("normal").run.wall_s)  # a slow machine is slow for both
    assert run.wall_s <= case.deadline_s + slack, f"{run.wall_s:.2f} s, slack {slack:.1f} s"
    if case.big:
        assert run.peak_rss_mb < BIG_RSS_MB, f"{run.peak_rss_mb:.0f} MB"
    else:
        limit = baseline + SMALL_EXTRA_MB
        assert run.peak_rss_mb < limit, f"{run.peak_rss_mb:.0f} MB (baseline {baseline:.0f})"
    assert leaks(outcome.outputs, outcome.secrets) == []
    credentials_stayed_home(outcome)


# -- what each case must do besides -------------------------------------------------------


def test_pat_elsewhere_sends_nothing_there_and_names_both_urls(runs: Runs) -> None:
    outcome = runs.get("pat-elsewhere")
    assert [s for s in outcome.seen if s.listener == "elsewhere"] == []  # not even a knock
    assert [s.path for s in outcome.seen] == ["/core/v1/discover"]
    line = outcome.run.stderr.strip()
    assert outcome.url in line and f"{outcome.elsewhere_url}/auth/v1" in line and "auth_url" in line


def test_a_declared_auth_url_is_where_the_pat_goes() -> None:
    """The control for the case above: with ``auth_url`` declared, the second listener gets the
    PAT (so the recording would have seen it), and the server itself only ever gets the JWT."""
    outcome = execute("pat-elsewhere", declare_auth_url=True)
    assert (outcome.run.code, outcome.run.stdout) == (0, "No changes.\n"), outcome.run.stderr
    at_elsewhere = [(s.method, s.path, s.authorization) for s in outcome.seen if s.listener == "elsewhere"]
    assert at_elsewhere == [("POST", PAT_EXCHANGE, f"Bearer {outcome.pat}")]
    bearers = {s.authorization for s in outcome.seen if s.listener == "server"} - {None}
    assert bearers == {f"Bearer {jwt}" for jwt in outcome.jwts} and len(bearers) == 1
    assert leaks(outcome.outputs, outcome.secrets) == []


@pytest.mark.parametrize("mode", ["redirect-exchange", "redirect-core"])
def test_a_redirect_is_never_followed(runs: Runs, mode: str) -> None:
    outcome = runs.get(mode)
    assert [s for s in outcome.seen if s.listener == "elsewhere"] == []
    assert "Location" not in outcome.run.stderr and str(outcome.elsewhere_url) not in outcome.run.stderr


def test_endless_pages_stop_at_the_listing_cap(runs: Runs) -> None:
    outcome = runs.get("endless-pages")
    pages = MAX_LISTED // PAGE_SIZE + 1  # the first page past the cap is where it stops
    assert outcome.namespace_pages == pages < MAX_PAGES_SERVED
    assert f"offset={MAX_LISTED}" in outcome.run.stderr


def test_a_repeated_page_stops_at_page_two(runs: Runs) -> None:
    outcome = runs.get("same-page")
    assert outcome.namespace_pages == 2
    assert f"offset={PAGE_SIZE} with the same page" in outcome.run.stderr


@pytest.mark.parametrize("mode", ["drip", "stall"])
def test_the_total_deadline_ends_what_never_finishes(runs: Runs, mode: str) -> None:
    """Each read of a drip succeeds and a stall sends nothing: the request's total deadline
    ends both. The server times how long hossctl held the request before hanging up, which is
    the deadline itself, free of start-up time: not shorter, and at most DEADLINE_SLACK_S longer."""
    outcome = runs.get(mode)
    assert len(outcome.held_s) == 1, outcome.held_s
    # The deadline starts before the request reaches the server: allow it to look 0.1 s short.
    assert SHORT_TIMEOUT - 0.1 <= outcome.held_s[0] <= SHORT_TIMEOUT + DEADLINE_SLACK_S, outcome.held_s
    assert outcome.run.wall_s >= SHORT_TIMEOUT


def test_retries_of_a_503_stay_within_the_deadline(runs: Runs) -> None:
    """A 503 invites retries; they stop when the next backoff would pass the deadline, so the
    run may end a little before it, never after."""
    outcome = runs.get("always-503")
    retried = [s for s in outcome.seen if s.path.startswith("/core/v1/namespace/")]
    assert len(retried) >= 3 and f"still failing after {len(retried)} attempts" in outcome.run.stderr
    assert outcome.run.wall_s <= SHORT_TIMEOUT + SLACK_S


@pytest.mark.parametrize(
    ("mode", "most_sent"),
    [
        ("huge-body", 64 * 1024 * 1024),  # refused by its Content-Length; the rest is socket buffers
        ("huge-body-unsized", 2 * MAX_BODY_BYTES),
        ("endless-chunked", 2 * MAX_BODY_BYTES),
        ("gzip-bomb", 1024 * 1024),  # the whole bomb is 260 KB; it is what it inflates to that counts
    ],
)
def test_a_body_is_read_only_up_to_the_cap(runs: Runs, mode: str, most_sent: int) -> None:
    outcome = runs.get(mode)
    assert outcome.bytes_sent < most_sent, outcome.bytes_sent
    assert "64 MiB" in outcome.run.stderr


def test_a_body_that_does_not_decode_is_one_line(runs: Runs) -> None:
    assert "sent a body of invalid gzip data (its Content-Encoding) to GET" in runs.get("bad-gzip").run.stderr


def test_a_page_that_is_not_hoss_is_quoted_in_80_escaped_characters(runs: Runs) -> None:
    line = runs.get("not-hoss-404").run.stderr
    excerpt = repr(NOT_HOSS_PAGE.decode()[:80]) + "…"
    assert f"answered 404 (Content-Type text/html; charset=utf-8, body {excerpt}) to GET " in line
    assert "<h1>" not in line.split(excerpt)[1]  # nothing of the page beyond its first 80 characters


@pytest.mark.parametrize("mode", ["crlf-error", "crlf-error-json"])
def test_a_forged_line_in_an_error_body_stays_inside_the_error(runs: Runs, mode: str) -> None:
    stderr = runs.get(mode).run.stderr
    assert "\r" not in stderr and stderr.count("\n") == 1
    assert "said:\\r\\nFAKE: Apply complete\\r\\nand" in stderr
    assert not any(line.startswith("FAKE") for line in stderr.splitlines())


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        ("echo-auth-at-180", "xxxxBearer <redacted> to GET"),
        ("echo-auth-at-60-text", "xxxxBearer <redacted>'"),
        ("echo-jwt-500", "invalid token <redacted>: signature rejected"),
        ("echo-jwt-parts-500", "bad claims in <redacted>.<redacted> (header <redacted>, payload <redacted>)"),
        ("echo-jwt-text-500", "body '<redacted> <redacted> <redacted>'"),
    ],
)
def test_an_echoed_credential_is_redacted_before_the_cut(runs: Runs, mode: str, shown: str) -> None:
    """The echo sits where the old cut-then-redact order leaked its first characters."""
    outcome = runs.get(mode)
    assert outcome.jwts, "the run must have got as far as holding a JWT"
    assert shown in outcome.run.stderr


def test_an_echoed_pat_is_never_quoted(runs: Runs) -> None:
    outcome = runs.get("echo-pat-at-180")
    assert outcome.jwts == ()  # the exchange failed: only the PAT was in play
    assert "answered 500 to POST" in outcome.run.stderr and "xxxx" not in outcome.run.stderr


@pytest.mark.parametrize("mode", ["evil-names", "evil-names-blocked"])
def test_hostile_names_never_reach_a_terminal_and_json_stays_exact(runs: Runs, mode: str) -> None:
    """Names that set a window title, forge a line or reverse text are shown as escapes in text,
    Markdown, --debug and errors; JSON and the plan file carry them exactly."""
    for fmt in ("text", "markdown", "debug"):
        run = runs.get(mode, fmt).run
        assert raw_controls(run.stdout + run.stderr) == [], fmt
        assert run.code == (1 if mode == "evil-names-blocked" else 0), (fmt, run.stderr)
    text = runs.get(mode, "text").run.stdout
    assert "evil\\x1b]0;PWNED\\x07\\x1b[2Jx" in text and "rev\\u202eexe.txt" in text
    assert not any(line.startswith("FAKE") for line in text.splitlines())
    markdown = runs.get(mode, "markdown").run.stdout
    assert "\\u202eexe.txt" in markdown and "PWNED\\" in markdown  # shown escaped, in whatever markup
    document = json.loads(runs.get(mode, "json").run.stdout)
    deleted = {c["namespace"] for c in document["changes"] if c["action"] == "delete_namespace"}
    assert deleted == set(EVIL_NAMES)
    saved = runs.get(mode, "out")
    if mode == "evil-names":
        plan = json.loads(saved.files["hoss.plan"])["plan"]
        assert {c["namespace"] for c in plan["changes"]} == set(EVIL_NAMES)
    else:  # a blocked plan is not saved; its violation names the dataset, escaped
        assert saved.files == {} and "d\\x1b[31mred\\u202e" in text and EVIL_DATASET not in text


# -- the secrets grep ----------------------------------------------------------------------


def test_no_credential_in_any_output_of_any_case(runs: Runs) -> None:
    """Every output of every run this module made (stdout, stderr, --debug, --json, Markdown,
    plan files, export to stdout and to a file, apply) holds no 8-character piece of the run's
    PAT or of any JWT the server issued, and no credential went anywhere but home."""
    runs.prefetch((m, f) for m, fs in GREP.items() for f in fs)
    checked: set[str] = set()
    failures: list[str] = []
    for outcome in runs.all():
        found = leaks(outcome.outputs, outcome.secrets)
        if found:
            failures.append(f"{outcome.mode} ({outcome.fmt}): {found[:3]}")
        credentials_stayed_home(outcome)
        checked.add(outcome.fmt)
        if outcome.fmt in ("out", "export-file") and outcome.run.code == 0:
            assert outcome.files, f"{outcome.mode} ({outcome.fmt}) wrote no file to grep"
    assert failures == []
    assert checked >= set(FORMATS)
    with_jwt = {o.mode for o in runs.all() if o.jwts}
    assert {"echo-auth-at-180", "echo-jwt-parts-500", "evil-names"} <= with_jwt  # JWTs were in play
