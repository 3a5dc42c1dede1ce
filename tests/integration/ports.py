"""A loopback URL where nothing listens, for tests of servers that are down."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
