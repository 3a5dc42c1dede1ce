"""Canonical form of Hoss core service URLs.

The server compares ``target_core_service`` strings byte for byte (docs/hoss-server.md §7.2), so
hossctl compares targets in one canonical form and keeps the exact live string for deletes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

CORE_PATH = "/core/v1"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """The string is not an http(s) URL with a host."""


def normalise_core_url(url: str) -> str:
    """Return ``scheme://host[:port]/core/v1`` for a server base URL or core URL.

    Scheme and host are lower-cased, the default port is dropped, any path (such as
    ``/core/v1/`` or ``/``) is replaced by ``/core/v1``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"{url!r} is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(f"{url!r} is not an http or https URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidURL(f"{url!r} has no host")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{CORE_PATH}"


def is_addressable(name: str) -> bool:
    """Whether a namespace name can appear as one path segment the server routes.

    The server decodes ``%2F`` before routing, so a name holding ``/`` is listed but can
    never be read, changed or deleted through the API (docs/hoss-server.md §9).
    """
    return bool(name) and "/" not in name


def try_normalise_core_url(url: str) -> str:
    """Like ``normalise_core_url`` but returns the input unchanged when it is not a URL.

    Live servers may hold arbitrary target strings; those still need a stable key.
    """
    try:
        return normalise_core_url(url)
    except InvalidURL:
        return url


def base_url(url: str) -> str:
    """The server base URL (``scheme://host[:port]``) for a base or core URL."""
    core = normalise_core_url(url)
    return core[: -len(CORE_PATH)]
