"""Generic HTTP behaviour of gin: slash redirects, plain 404s, decoding, keep-alive.

See docs/hoss-server.md §1.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable

import httpx
import pytest

from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]
# plain-HTTP loopback client: verify=False skips building a TLS context per call
HTTP = httpx.Client(verify=False, timeout=10)


@pytest.mark.parametrize(
    ("method", "path", "status", "location"),
    [
        ("GET", "/core/v1/namespace?limit=1", 301, "/core/v1/namespace/?limit=1"),
        ("GET", "/core/v1/object_store", 301, "/core/v1/object_store/"),
        ("GET", "/core/v1/namespace/default/dataset", 301, "/core/v1/namespace/default/dataset/"),
        ("GET", "/core/v1/namespace/default/", 301, "/core/v1/namespace/default"),
        ("POST", "/core/v1/namespace", 307, "/core/v1/namespace/"),
        ("DELETE", "/core/v1/namespace/default/", 307, "/core/v1/namespace/default"),
        ("PUT", "/core/v1/namespace/default/sync/", 307, "/core/v1/namespace/default/sync"),
    ],
)
def test_wrong_slash_redirects_without_auth(
    sandbox_factory: SandboxFactory, method: str, path: str, status: int, location: str
) -> None:
    sandbox = sandbox_factory()
    response = HTTP.request(method, sandbox.url + path)
    assert response.status_code == status
    assert response.headers["location"] == location


def test_redirect_is_followed_with_method_and_body(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    sandbox = sandbox_factory()
    api = sandbox_api(sandbox)
    body = {"name": "p", "description": "d", "object_store_name": "default", "bucket_name": "p"}
    response = api.post("/core/v1/namespace", json=body, follow_redirects=True)
    assert response.status_code == 201
    assert [n["name"] for n in api.get("/core/v1/namespace", follow_redirects=True).json()] == [
        "default",
        "p",
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/core/v1/nothing"),
        ("GET", "/"),
        ("GET", "/core/v1/namespace/default/sync/extra"),
        ("PATCH", "/core/v1/namespace/default"),
        ("OPTIONS", "/core/v1/namespace/"),
        ("POST", "/core/v1/discover"),
        ("GET", "/core/v1/namespace/a%2Fb"),  # a decoded "/" can never be part of a name
        ("GET", "/core/v1//namespace/"),
        ("DELETE", "/core/v1/namespace//sync"),
    ],
)
def test_unknown_routes_are_plain_404(sandbox_factory: SandboxFactory, method: str, path: str) -> None:
    sandbox = sandbox_factory()
    response = HTTP.request(method, sandbox.url + path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "404 page not found"


def test_head_is_404_without_body(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    response = HTTP.head(sandbox.url + "/core/v1/discover")
    assert response.status_code == 404 and response.content == b""


def test_percent_encoded_names_are_decoded(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    sandbox = sandbox_factory()
    sandbox.seed_namespace("my data")
    sandbox.seed_namespace("a/b")
    api = sandbox_api(sandbox)
    assert api.get("/core/v1/namespace/my%20data").json()["name"] == "my data"
    assert api.get("/core/v1/namespace/a%2Fb").status_code == 404
    assert "a/b" in [n["name"] for n in api.get("/core/v1/namespace/").json()]


def test_keep_alive_and_content_length(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    conn = http.client.HTTPConnection("127.0.0.1", int(sandbox.url.rsplit(":", 1)[1]), timeout=5)
    try:
        for path in ("/core/v1/discover", "/core/v1/namespace/", "/nowhere", "/core/v1/discover"):
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.version == 11
            assert response.getheader("Content-Length") == str(len(body))
            assert not response.will_close
        sock = conn.sock
        conn.request("GET", "/core/v1/discover")
        conn.getresponse().read()
        assert conn.sock is sock  # same connection all along
    finally:
        conn.close()


def test_json_content_type(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    response = HTTP.get(sandbox.core_url + "/discover")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
