"""The executor's scheduling rules, driven round by round without any server."""

from __future__ import annotations

import pytest

from hossctl.apply.executor import Schedule
from hossctl.errors import HossctlError
from hossctl.plan.changes import Change


def _changes(spec: dict[str, tuple[str, ...]]) -> list[Change]:
    return [
        Change(id=cid, action="create_namespace", server="s", namespace=cid, reason="r", depends_on=deps)
        for cid, deps in spec.items()
    ]


def _simulate(
    spec: dict[str, tuple[str, ...]], failing: set[str], parallelism: int
) -> tuple[list[list[str]], set[str], set[str], list[str]]:
    """Start what is ready, finish everything started, repeat: returns the rounds and outcomes."""
    schedule = Schedule(_changes(spec))
    rounds: list[list[str]] = []
    while True:
        started = schedule.start(parallelism)
        if not started:
            break
        rounds.append(started)
        for cid in started:
            schedule.finish(cid, cid not in failing)
    return rounds, schedule.done, schedule.failed, schedule.not_attempted()


# replace: delete before create; enables after the creates they point at.
REPLACE = {
    "disable": (),
    "delete": ("disable",),
    "create": ("delete",),
    "create2": (),
    "enable": ("create", "create2"),
}


@pytest.mark.parametrize(
    ("spec", "failing", "parallelism", "rounds", "not_attempted"),
    [
        pytest.param({}, set(), 4, [], [], id="empty"),
        pytest.param(
            {"a": (), "b": (), "c": ()}, set(), 16, [["a", "b", "c"]], [], id="independent-together"
        ),
        pytest.param(
            {"a": (), "b": (), "c": ()}, set(), 2, [["a", "b"], ["c"]], [], id="bounded-by-parallelism"
        ),
        pytest.param({"a": (), "b": ("a",), "c": ("b",)}, set(), 16, [["a"], ["b"], ["c"]], [], id="chain"),
        pytest.param(
            REPLACE,
            set(),
            16,
            [["disable", "create2"], ["delete"], ["create"], ["enable"]],
            [],
            id="replace-and-enable-order",
        ),
        pytest.param(
            {"a": (), "b": ("a",), "c": ()}, {"a"}, 16, [["a", "c"]], ["b"], id="dependent-of-failure-skipped"
        ),
        pytest.param(
            {"a": (), "b": (), "c": (), "d": ()},
            {"a"},
            2,
            [["a", "b"]],
            ["c", "d"],
            id="no-new-start-after-failure",
        ),
        pytest.param(
            REPLACE,
            {"delete"},
            16,
            [["disable", "create2"], ["delete"]],
            ["create", "enable"],
            id="failed-delete-stops-replace",
        ),
        pytest.param(
            {"b": ("a",), "a": ()}, set(), 16, [["a"], ["b"]], [], id="dependency-listed-after-dependent"
        ),
    ],
)
def test_schedule(
    spec: dict[str, tuple[str, ...]],
    failing: set[str],
    parallelism: int,
    rounds: list[list[str]],
    not_attempted: list[str],
) -> None:
    got_rounds, done, failed, skipped = _simulate(spec, failing, parallelism)
    assert got_rounds == rounds
    assert skipped == not_attempted
    assert failed == {c for r in rounds for c in r} & failing
    assert done == {c for r in rounds for c in r} - failing


def test_running_changes_may_finish_after_a_failure() -> None:
    schedule = Schedule(_changes({"a": (), "b": (), "c": ("b",)}))
    assert schedule.start(16) == ["a", "b"]
    schedule.finish("a", False)
    schedule.finish("b", True)  # b was running: its success still counts
    assert schedule.start(16) == []
    assert schedule.done == {"b"}
    assert schedule.not_attempted() == ["c"]
    assert "apply stopped" in schedule.why_not_attempted("c", ("b",))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({"a": ("b",), "b": ("a",)}, "cycle", id="cycle"),
        pytest.param({"a": ("a",)}, "cycle", id="self-loop"),
        pytest.param({"a": ("zzz",)}, "not in the plan", id="unknown-dependency"),
    ],
)
def test_bad_graph_is_refused(spec: dict[str, tuple[str, ...]], message: str) -> None:
    with pytest.raises(HossctlError, match=message):
        Schedule(_changes(spec))


@pytest.mark.parametrize(
    ("deps", "failed", "expected"),
    [
        pytest.param(("a",), {"a"}, "depends on a, which failed", id="failed-dependency"),
        pytest.param(("b",), set(), "depends on b, which was not attempted", id="skipped-dependency"),
    ],
)
def test_why_not_attempted(deps: tuple[str, ...], failed: set[str], expected: str) -> None:
    schedule = Schedule(_changes({"a": (), "b": ("a",), "c": deps}))
    schedule.start(1)
    schedule.finish("a", not failed)
    assert expected in schedule.why_not_attempted("c", deps)
