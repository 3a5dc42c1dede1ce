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


# _TOKEN over bytes: it matches wherever _TOKEN matches the decoded text (bytes' \s is ASCII
# only, so it matches more), which makes it a cheap test of a whole file.
_TOKEN_BYTES = re.compile(_TOKEN.pattern.encode("ascii"))


def may_hold_token(raw: bytes) -> bool:
    """False when no key or value read from this YAML file can look like a token.

    Without a backslash (no escape sequences), every string YAML reads is made of runs of the
    file's text joined by spaces, line breaks or one quote, none of which a token contains: a
    token in a value is then a token in the file. This saves the walk over every value of a
    large config (0.1 s of 10,000 namespaces) when the file holds none.
    """
    return b"\\" in raw or _TOKEN_BYTES.search(raw) is not None


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
