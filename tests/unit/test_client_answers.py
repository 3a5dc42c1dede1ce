"""How the client judges a 2xx answer before anything reads it, and how it reports one it refuses."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hossctl.errors import HossApiError, MalformedAnswerError
from hossctl.live.client import HossClient, body_excerpt, is_json_content_type
from hossctl.live.transport import Answer

PAT = "hp_" + "S" * 30
URL = "http://127.0.0.1:9/core/v1/namespace/raw/dataset/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON ;charset=UTF-8", True),
        ("text/html; charset=utf-8", False),
        ("text/plain", False),
        ("application/problem+json", False),
        ("application/jsonp", False),
        ("", False),
        (None, False),
    ],
)
def test_json_content_types(value: str | None, expected: bool) -> None:
    assert is_json_content_type(value) is expected


def test_body_excerpts_are_short_quoted_and_escaped() -> None:
    assert body_excerpt("<html>\n\x1b[2J</html>") == "'<html>\\n\\x1b[2J</html>'"
    cut = body_excerpt("x" * 200)
    assert cut == repr("x" * 80) + "…"
    assert "\u2028" not in body_excerpt("a\u2028b")


def _decode(resp: httpx.Response) -> str:
    answer = Answer(resp.status_code, resp.headers, resp.content, attempts=1, replayed=False)

    async def main() -> str:
        async with HossClient(server="onprem", base_url="http://127.0.0.1:9", pat=PAT) as client:
            with pytest.raises(MalformedAnswerError) as info:
                client._decode(answer, "GET", URL)
            error = info.value
            where = (error.server, error.status, error.method, error.path)
            assert where == ("onprem", resp.status_code, "GET", URL)
            assert error.problem in error.message
            return str(error)

    return asyncio.run(main())


def test_a_non_json_answer_names_status_type_and_body() -> None:
    message = _decode(httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>hi</html>"))
    assert message == (
        f"server 'onprem' answered GET {URL} with 200 and Content-Type text/html instead of JSON "
        "(body '<html>hi</html>'): check that http://127.0.0.1:9 reaches the Hoss server itself, not a "
        "proxy or a login page"
    )


def test_an_answer_without_content_type_or_with_broken_json_is_refused() -> None:
    untyped = httpx.Response(200, content=b"[]")
    assert "with 200 and no Content-Type instead of JSON (body '[]')" in _decode(untyped)
    broken = httpx.Response(200, headers={"content-type": "application/json"}, content=b"")
    assert "with 200 and Content-Type application/json, but invalid JSON (body '')" in _decode(broken)
    binary = httpx.Response(200, headers={"content-type": "application/json"}, content=b"\xff\xfe\x00")
    assert "but invalid JSON" in _decode(binary)


def test_a_secret_in_the_body_is_redacted_before_the_body_is_cut() -> None:
    # The PAT straddles the 80-character cut: cutting first would leave a piece no redaction matches.
    body = ("x" * 70 + PAT).encode()
    message = _decode(httpx.Response(200, headers={"content-type": "text/plain"}, content=body))
    assert PAT[:10] not in message and "<redacted>" in message


def test_only_the_cores_own_404_means_not_found() -> None:
    def error(status: int, body: str | None) -> HossApiError:
        return HossApiError("m", server="s", status=status, error=body, method="GET", path="/")

    assert error(404, "Resource not found").not_found
    assert not error(404, "404 page not found").not_found
    assert not error(404, None).not_found
    assert not error(500, "Resource not found").not_found
