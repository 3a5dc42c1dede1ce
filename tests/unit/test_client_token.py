"""Token lifetime math and redaction of secrets from messages."""

from __future__ import annotations

import jwt
import pytest

from hossctl.live.auth import TokenFormatError, TokenTimes, token_times
from hossctl.secretscan import REDACTED, redact


def _token(claims: dict[str, object]) -> str:
    return jwt.encode(claims, "not-a-real-key-but-long-enough-for-hs256!", algorithm="HS256")


@pytest.mark.parametrize(
    ("iat", "exp", "received", "deadline"),
    [
        (1000, 1000 + 6 * 3600, 1000, 1000 + 3 * 3600),
        (1000, 1100, 1000, 1050),
        # Server clock 10 minutes ahead: the deadline still counts half the life from receipt.
        (1600, 1600 + 3600, 1000, 1000 + 1800),
    ],
)
def test_refresh_deadline(iat: int, exp: int, received: float, deadline: float) -> None:
    times = token_times(_token({"iat": iat, "exp": exp}))
    assert times == TokenTimes(iat, exp)
    assert times.refresh_deadline(received) == deadline


@pytest.mark.parametrize(("now", "expired"), [(1099.9, False), (1100, True), (5000, True)])
def test_expired(now: float, expired: bool) -> None:
    assert TokenTimes(1000, 1100).expired(now) is expired


@pytest.mark.parametrize(
    "token",
    [
        "not a jwt",
        "hp_abcdefghijklmnopqrstuvwxyz0123",
        _token({"iat": 1000}),
        _token({"exp": 1000}),
        _token({"iat": "1000", "exp": "2000"}),
        _token({"iat": True, "exp": 2000}),
        _token({"iat": 2000, "exp": 1000}),
    ],
)
def test_unusable_tokens_rejected_without_echo(token: str) -> None:
    with pytest.raises(TokenFormatError) as info:
        token_times(token)
    assert token not in str(info.value)


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("nothing here", ["hp_secret"], "nothing here"),
        ("Bearer hp_secret failed", ["hp_secret"], f"Bearer {REDACTED} failed"),
        ("a hp_secret b hp_secret", ["hp_secret", None, ""], f"a {REDACTED} b {REDACTED}"),
        # The longer secret wins when one contains the other.
        ("tok=abcdef", ["abc", "abcdef"], f"tok={REDACTED}"),
    ],
)
def test_redact(text: str, secrets: list[str | None], expected: str) -> None:
    assert redact(text, secrets) == expected
