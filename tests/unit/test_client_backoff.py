"""Retry timing: exponential, capped, jittered, and never zero."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hossctl.live.transport import backoff_delay, retry_after_seconds


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.0, 0.05),
        (0, 1.0, 0.1),
        (1, 0.0, 0.1),
        (1, 1.0, 0.2),
        (3, 0.5, 0.6),
        (4, 1.0, 1.6),
        (5, 1.0, 2.0),  # capped
        (5, 0.0, 1.0),
        (30, 1.0, 2.0),
    ],
)
def test_schedule(attempt: int, rand: float, expected: float) -> None:
    assert backoff_delay(attempt, base=0.1, cap=2.0, rand=lambda: rand) == pytest.approx(expected)


@given(st.integers(min_value=0, max_value=60), st.floats(min_value=0.0, max_value=1.0))
def test_bounds(attempt: int, rand: float) -> None:
    delay = backoff_delay(attempt, base=0.1, cap=2.0, rand=lambda: rand)
    ceiling = min(2.0, 0.1 * 2**attempt)
    assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("1", 1.0),
        ("0.5", 0.5),
        ("100", 2.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header, cap=2.0) == expected
