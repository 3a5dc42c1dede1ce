"""Recognising token literals so that config files never hold secrets and messages never echo them.

A Hoss PAT is ``hp_`` + 30 alphanumerics, the service secret starts with ``hsvc_``, and the
JWTs the auth service issues start with ``eyJ`` (base64 of ``{"``). The bounds are loose
enough to catch real tokens and strict enough that a namespace called ``hp_scratch`` is not one.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"hp_[A-Za-z0-9]{20,}|hsvc_[^\s\"']{8,}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)
REDACTED = "<redacted>"


def looks_like_token(text: str) -> bool:
    return _TOKEN.search(text) is not None


def redact(text: str) -> str:
    """``text`` with every token-looking part replaced, for messages built from user input."""
    return _TOKEN.sub(REDACTED, text)
