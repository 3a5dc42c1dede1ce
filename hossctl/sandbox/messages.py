"""The request and response values passed between the HTTP shell and the API handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hossctl.sandbox.tokens import Caller

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain"


@dataclass
class Request:
    """One parsed HTTP request; ``params`` are the decoded path parameters of the matched route."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    caller: Caller | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """First value of a query parameter, like gin's ``c.Query``."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def user(self) -> Caller:
        assert self.caller is not None, "route declared without authentication"
        return self.caller


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def json_response(status: int, payload: Any) -> Response:
    """JSON the way gin writes it: compact, no trailing newline."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status, body, JSON_TYPE)


def error_response(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def empty(status: int = 204) -> Response:
    return Response(status)


NOT_FOUND_PAGE = Response(404, b"404 page not found", TEXT_TYPE)


class ApiError(Exception):
    """A handler outcome that is an HTTP error with the real server's body."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def bind_error() -> ApiError:
    """gin writes 400 for a failed bind, then the handler's generic error body (docs/hoss-server.md §3)."""
    return ApiError(error_response(400, "Unhandled error"))


def unhandled() -> ApiError:
    return ApiError(error_response(500, "Unhandled error"))


def bind(request: Request, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    """Bind a JSON body of string fields with gin's ``binding:"required"`` rules.

    Malformed JSON, a non-object, a wrong type, or a missing/empty required field all fail.
    Unknown fields are ignored; absent optional fields come back as "".
    """
    try:
        data = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError):
        raise bind_error() from None
    if data is None:
        data = {}
        if not request.body:
            raise bind_error()
    if not isinstance(data, dict):
        raise bind_error()
    result: dict[str, str] = {}
    for name in required + optional:
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise bind_error()
        if name in required and value == "":
            raise bind_error()
        result[name] = value
    return result
