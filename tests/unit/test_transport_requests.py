"""How the transport turns a URL into a request, and an answer's headers into a mapping.

Since issue 15 the transport builds httpcore's requests itself instead of going through
httpx's models, so what httpx used to guarantee is pinned here: the Host header, the target
as HTTP needs it (percent-encoded, no fragment), the body framing, and header names that
compare whatever their case, with repeated headers joined as httpx joins them.
"""

from __future__ import annotations

import json

import pytest

from hossctl.live.transport import Transport, _answer_headers, _BadURL, _locate


def _located(url: str) -> tuple[bytes, bytes, int, bytes, bytes]:
    target, host = _locate(url)
    return target.scheme, target.host, target.port or 0, target.target, host


def test_hossctl_urls_are_split_as_they_are() -> None:
    url = "http://127.0.0.1:8080/core/v1/namespace/a%2Fb/sync?limit=500&offset=0"
    assert _located(url) == (
        b"http", b"127.0.0.1", 8080, b"/core/v1/namespace/a%2Fb/sync?limit=500&offset=0", b"127.0.0.1:8080"
    )


@pytest.mark.parametrize(
    ("url", "port", "host"),
    [
        ("https://hoss.example.org/core/v1/discover", 443, b"hoss.example.org"),
        ("https://hoss.example.org:443/core/v1/discover", 443, b"hoss.example.org"),
        ("http://hoss.example.org:80/x", 80, b"hoss.example.org"),
        ("https://HOSS.Example.org:8443/x", 8443, b"hoss.example.org:8443"),
    ],
)
def test_the_host_header_names_a_port_only_when_not_the_default(url: str, port: int, host: bytes) -> None:
    assert _located(url)[2] == port
    assert _located(url)[4] == host


def test_ipv6_and_international_hosts() -> None:
    assert _located("http://[::1]:9000/core/v1/discover")[1:3] == (b"::1", 9000)
    assert _located("http://[::1]:9000/core/v1/discover")[4] == b"[::1]:9000"
    assert _located("https://bücher.example/core/v1")[1] == b"xn--bcher-kva.example"


def test_a_path_from_elsewhere_is_encoded_as_http_needs_and_never_sends_its_fragment() -> None:
    # An auth service URL comes from the server's discover answer: anything may be in it.
    target = _located("https://h.example/auth v1/é/pat/exchange/jwt?x=<1>#secret")[3]
    assert target == b"/auth%20v1/%C3%A9/pat/exchange/jwt?x=%3C1%3E"
    assert _located("https://h.example")[3] == b"/"
    assert _located("https://h.example/a%2Fb?c=d%20e")[3] == b"/a%2Fb?c=d%20e"  # escapes are kept


@pytest.mark.parametrize(
    "url",
    ["ftp://h.example/x", "h.example/x", "http:///x", "http://h.example:99999/x", "http://user:pw@h.example/x"],
)
def test_what_is_not_an_http_url_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(_BadURL):
        _locate(url)


def test_answer_headers_compare_in_lower_case_and_repeats_are_joined() -> None:
    raw = [
        (b"Content-Type", b"application/json"),
        (b"Content-Encoding", b"gzip"),
        (b"content-encoding", b"br"),
    ]
    headers = _answer_headers(raw)
    assert headers == {"content-type": "application/json", "content-encoding": "gzip, br"}


def test_requests_carry_host_agent_credential_and_body_framing() -> None:
    transport = Transport()
    get = transport._request("GET", "http://127.0.0.1:9/core/v1/namespace/", None, "jwt-value")
    names = [name for name, _ in get.headers]
    assert names == [b"Host", b"User-Agent", b"Accept", b"Authorization"]
    assert dict(get.headers)[b"Authorization"] == b"Bearer jwt-value"

    exchange = transport._request("POST", "http://127.0.0.1:9/auth/v1/pat/exchange/jwt", None, "hp_x")
    assert dict(exchange.headers)[b"Content-Length"] == b"0"  # as httpx sends it: some proxies insist

    body = {"target_core_service": "https://é.example/core/v1", "sync_type": "simplex"}
    put = transport._request("PUT", "http://127.0.0.1:9/core/v1/namespace/a/sync", body, "jwt")
    sent = b"".join(put.stream)  # type: ignore[arg-type]
    assert sent == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert dict(put.headers)[b"Content-Type"] == b"application/json"
    assert dict(put.headers)[b"Content-Length"] == str(len(sent)).encode()
