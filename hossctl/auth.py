"""Token claims, lifetime arithmetic and secret redaction, kept pure so they can be unit tested.

The Hoss auth service mints an ``id_token`` whose ``iat``/``exp`` tell a client when to
refresh it (hoss-api.md §2.3) and whose ``role`` tells what the server will let it see and
do (§2.2, §2.5). The signature is not verified here: core verifies it, and a client has no
business trusting or distrusting the token beyond reading what it claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import jwt

REDACTED = "<redacted>"


class TokenFormatError(ValueError):
    """The string is not a JWT with integer ``iat`` and ``exp`` claims."""


@dataclass(frozen=True)
class TokenTimes:
    """When a JWT was issued and expires (POSIX seconds)."""

    iat: float
    exp: float

    @property
    def lifetime(self) -> float:
        return self.exp - self.iat

    def refresh_deadline(self, received_at: float) -> float:
        """Refresh at half-life, as the official client does, so a token is never used near expiry.

        Counted from when the token was requested on the local clock, not from ``iat``, so a
        server clock that runs ahead or behind cannot make every call re-exchange.
        """
        return received_at + self.lifetime / 2

    def expired(self, now: float) -> bool:
        return now >= self.exp


def token_times(token: str) -> TokenTimes:
    """Read ``iat`` and ``exp`` without verifying the signature.

    Raises TokenFormatError with a message that never contains the token itself.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenFormatError("the value is not a JWT") from None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_number(iat) or not _is_number(exp):
        raise TokenFormatError("the JWT lacks numeric 'iat' and 'exp' claims")
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    if exp <= iat:
        raise TokenFormatError("the JWT expires before it was issued")
    return TokenTimes(float(iat), float(exp))


def token_role(token: str) -> str | None:
    """The ``role`` claim (``admin``, ``privileged``, ``user``, or ``service``), read without
    verifying the signature; None when the token is not a JWT or has no string ``role``.

    Never raises, so no error can carry the token.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    role = claims.get("role") if isinstance(claims, dict) else None
    return role if isinstance(role, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text``.

    Messages are built by hossctl and should never contain a secret; this is the
    belt to those braces, applied to every error message the client raises.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
