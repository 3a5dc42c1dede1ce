"""Where a PAT may go: the server's own origin, a configured auth_url, never https -> http,
and plain http off this machine only when the config allows it (pure rules, table-driven)."""

from __future__ import annotations

import pytest

from hossctl.live.auth import CredentialRouteError, credential_routes, insecure_notice
from hossctl.live.transport import RetryBudget, is_loopback, origin

HTTPS = "https://hoss.example.org"


@pytest.mark.parametrize(
    ("base", "advertised", "configured", "insecure", "expected"),
    [
        pytest.param(HTTPS, f"{HTTPS}/auth/v1", None, False, f"{HTTPS}/auth/v1", id="same-origin"),
        pytest.param(HTTPS, f"{HTTPS}:443/auth/v1/", None, False, f"{HTTPS}:443/auth/v1", id="default-port"),
        pytest.param(HTTPS, "HTTPS://HOSS.example.org/auth/v1", None, False,
                     "HTTPS://HOSS.example.org/auth/v1", id="case-of-scheme-and-host"),
        pytest.param(HTTPS, "http://elsewhere:18351/auth/v1", "https://auth.example.org/auth/v1", False,
                     "https://auth.example.org/auth/v1", id="configured-wins"),
        pytest.param("http://127.0.0.1:8080", "http://127.0.0.1:8080/auth/v1", None, False,
                     "http://127.0.0.1:8080/auth/v1", id="loopback-http"),
        pytest.param("http://localhost:8080", "http://localhost:8080/auth/v1", None, False,
                     "http://localhost:8080/auth/v1", id="localhost-http"),
        pytest.param("http://hoss.lan", "http://hoss.lan/auth/v1", None, True, "http://hoss.lan/auth/v1",
                     id="insecure-allowed"),
    ],
)  # fmt: skip
def test_allowed_routes(
    base: str, advertised: str, configured: str | None, insecure: bool, expected: str
) -> None:
    got = credential_routes(
        "onprem", base, advertised_auth=advertised, configured_auth=configured,
        allow_insecure_http=insecure,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("base", "advertised", "configured", "insecure", "says"),
    [
        pytest.param(HTTPS, "http://elsewhere:18351/auth/v1", None, False,
                     "names its auth service at http://elsewhere:18351/auth/v1, which is not on "
                     "https://hoss.example.org", id="other-host"),
        pytest.param(HTTPS, "https://hoss.example.org:8443/auth/v1", None, False, "which is not on",
                     id="other-port"),
        pytest.param(HTTPS, "http://hoss.example.org/auth/v1", None, False, "which is not on",
                     id="other-scheme"),
        pytest.param(HTTPS, None, None, False, "names no absolute auth service URL", id="none"),
        pytest.param(HTTPS, "/auth/v1", None, False, "names no absolute auth service URL", id="relative"),
        pytest.param(HTTPS, f"{HTTPS}/auth/v1", "http://auth.example.org/auth/v1", True,
                     "is on https, but its auth service http://auth.example.org/auth/v1 is plain http",
                     id="https-to-http-never"),
        pytest.param("http://hoss.lan", "http://hoss.lan/auth/v1", None, False,
                     "over plain http at http://hoss.lan", id="plain-http-off-this-machine"),
        pytest.param("http://127.0.0.1", None, "http://auth.lan/auth/v1", False,
                     "over plain http at http://auth.lan/auth/v1", id="plain-http-auth-elsewhere"),
    ],
)  # fmt: skip
def test_refused_routes(
    base: str, advertised: str | None, configured: str | None, insecure: bool, says: str
) -> None:
    with pytest.raises(CredentialRouteError) as info:
        credential_routes(
            "onprem", base, advertised_auth=advertised, configured_auth=configured,
            allow_insecure_http=insecure,
        )
    assert says in str(info.value)
    assert str(info.value).startswith("server 'onprem'")


def test_the_other_host_message_says_how_to_declare_it() -> None:
    with pytest.raises(CredentialRouteError) as info:
        credential_routes(
            "onprem", HTTPS, advertised_auth="https://auth.example.org/auth/v1", configured_auth=None,
            allow_insecure_http=False,
        )
    assert "declare auth_url: https://auth.example.org/auth/v1 for server 'onprem' in the config" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("url", "insecure", "notice"),
    [
        ("http://hoss.lan", True, True),
        ("http://hoss.lan", False, False),  # refused before any plan, so nothing to say
        ("http://127.0.0.1:8080", True, False),
        ("https://hoss.lan", True, False),
    ],
)
def test_an_insecure_server_is_announced(url: str, insecure: bool, notice: bool) -> None:
    text = insecure_notice("lab", url, insecure)
    assert (text is not None) == notice
    if text is not None:
        assert text.startswith("Warning: server 'lab' is reached over plain http")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("[::1]", True), ("localhost", True),
     ("a.localhost", True), ("10.0.0.1", False), ("hoss.example.org", False), ("0.0.0.0", False)],
)  # fmt: skip
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_origin_fills_in_default_ports() -> None:
    assert origin("https://H.example") == ("https", "h.example", 443)
    assert origin("http://h.example:8080/x") == ("http", "h.example", 8080)


def test_the_retry_budget_is_earned_by_requests_and_spent_by_retries() -> None:
    budget = RetryBudget(initial=1, per_request=0.5, ceiling=3)
    assert budget.spend() and not budget.spend()  # the initial retry, then nothing
    budget.earn()
    assert not budget.spend()  # half a retry is not a retry
    budget.earn()
    assert budget.spend()
    for _ in range(100):
        budget.earn()
    assert budget.tokens == 3  # a long quiet run does not bank unlimited retries
    assert budget.retries == 2


@pytest.mark.parametrize("junk", ["http://h:99999/auth/v1", "ftp://h/auth/v1", "http:///auth/v1", "\x00", ""])
def test_a_junk_auth_url_from_a_server_is_refused_in_words(junk: str) -> None:
    with pytest.raises(CredentialRouteError, match="names no absolute auth service URL"):
        credential_routes(
            "onprem", HTTPS, advertised_auth=junk, configured_auth=None, allow_insecure_http=False
        )
