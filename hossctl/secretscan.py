"""Recognising token literals so that config files never hold secrets and messages never echo them.

A Hoss PAT is ``hp_`` + 30 alphanumerics, the service secret starts with ``hsvc_``, and the
JWTs the auth service issues start with ``eyJ`` (base64 of ``{"``). The bounds are loose
enough to catch real tokens and strict enough that a namespace called ``hp_scratch`` is not one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(
    r"hp_[A-Za-z0-9]{20,}|hsvc_[^\s\"']{8,}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)
# Any base64url run that starts like an encoded JSON object: a JWT's header or payload on its own.
_JWT_PART = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")
REDACTED = "<redacted>"


def looks_like_token(text: str) -> bool:
    return _TOKEN.search(text) is not None


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret, every part of one, and every token-looking run replaced.

    Run it on a whole text before any truncation: a secret cut in half by a length limit is
    no longer recognisable. The known secrets (the PAT and tokens of the run) go first, each
    also split at its dots so that a JWT's header or payload echoed alone is caught too.
    """
    known: set[str] = set()
    for secret in secrets:
        if secret:
            known.add(secret)
            known.update(part for part in secret.split(".") if len(part) >= 8)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _TOKEN.sub(REDACTED, text)
    return _JWT_PART.sub(REDACTED, text)
