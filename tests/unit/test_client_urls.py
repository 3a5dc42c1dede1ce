"""URL building for the core API: every user-supplied segment is one quoted path segment."""

from __future__ import annotations

import httpx
import pytest

from hossctl.live.client import HossClient, core_path, quote_segment, version_supported
from hossctl.urls import is_addressable


@pytest.mark.parametrize(
    ("segments", "collection", "expected"),
    [
        (("namespace",), True, "namespace/"),
        (("object_store",), True, "object_store/"),
        (("namespace", "default"), False, "namespace/default"),
        (("namespace", "a b", "sync"), False, "namespace/a%20b/sync"),
        (("namespace", "x?y#z%", "sync"), False, "namespace/x%3Fy%23z%25/sync"),
        (("namespace", "a/b", "sync"), False, "namespace/a%2Fb/sync"),
        (("namespace", "..", "sync"), False, "namespace/%2E%2E/sync"),
        (("namespace", ".", "dataset"), True, "namespace/%2E/dataset/"),
        (("namespace", "ünï", "dataset"), True, "namespace/%C3%BCn%C3%AF/dataset/"),
        (("user", "sync"), False, "user/sync"),
    ],
)
def test_core_path(segments: tuple[str, ...], collection: bool, expected: str) -> None:
    assert core_path(*segments, collection=collection) == expected


@pytest.mark.parametrize("name", ["..", ".", "a b", "?", "#", "%2F", "x/../y"])
def test_quoted_segment_survives_httpx_normalisation(name: str) -> None:
    """httpx removes dot segments; a quoted segment must come through byte for byte."""
    url = httpx.URL(f"http://h/core/v1/namespace/{quote_segment(name)}/sync")
    assert url.raw_path.decode().split("/")[4] == quote_segment(name)


@pytest.mark.parametrize(
    ("name", "ok"), [("default", True), ("a/b", False), ("", False), ("..", True), (" x ", True)]
)
def test_is_addressable(name: str, ok: bool) -> None:
    assert is_addressable(name) is ok


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("0.2.13", True),
        ("0.2.0", True),
        ("0.2.99999", True),
        ("0.3.0", False),
        ("1.0.0", False),
        ("0.1.9", False),
        ("", False),
        ("dev", False),
        ("0.20.1", False),
    ],
)
def test_version_supported(version: str, ok: bool) -> None:
    assert version_supported(version) is ok


@pytest.mark.parametrize(
    ("given", "base", "core"),
    [
        ("https://Hoss.Example.com/", "https://hoss.example.com", "https://hoss.example.com/core/v1"),
        ("https://h:443/core/v1/", "https://h", "https://h/core/v1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/core/v1"),
    ],
)
def test_client_urls(given: str, base: str, core: str) -> None:
    client = HossClient(server="s", base_url=given, pat="hp_x")
    assert (client.base_url, client.core_url) == (base, core)
