"""Credentials: where they may go, the token source that exchanges and refreshes them, and claims.

A PAT is an admin's key to a whole installation, so it goes only where the config says the
server is. The Hoss auth service mints an ``id_token`` whose ``iat``/``exp`` tell a client
when to refresh it (docs/hoss-server.md §2.3) and whose ``role`` tells what the server will let it
see and do (§2.2, §2.5). The signature is not verified here: core verifies it, and a client
has no business trusting or distrusting the token beyond reading what it claims.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hossctl.errors import AuthenticationError, HossApiError
from hossctl.live.transport import RETRY_STATUSES, Answer, Transport, TransportFailure, is_loopback, origin
from hossctl.secretscan import redact

JWT_ENV = "HOSS_JWT"


class TokenFormatError(ValueError):
    """The string is not a JWT with integer ``iat`` and ``exp`` claims."""


@dataclass(frozen=True)
class TokenTimes:
    """When a JWT was issued and expires (POSIX seconds)."""

    iat: float
    exp: float

    @property
    def lifetime(self) -> float:
        return self.exp - self.iat

    def refresh_deadline(self, received_at: float) -> float:
        """Refresh at half-life, as the official client does, so a token is never used near expiry.

        Counted from when the token was requested on the local clock, not from ``iat``, so a
        server clock that runs ahead or behind cannot make every call re-exchange.
        """
        return received_at + self.lifetime / 2

    def expired(self, now: float) -> bool:
        return now >= self.exp


def _claims(token: str) -> dict[str, Any] | None:
    """A JWT's claims, read without verifying the signature; None when it is not a JWT.

    By hand rather than with PyJWT: reading two base64url JSON objects is all a client needs,
    and PyJWT's import (it loads ``cryptography``) would cost every command a tenth of a second.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in parts[:2]
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return claims


def token_times(token: str) -> TokenTimes:
    """Read ``iat`` and ``exp`` without verifying the signature.

    Raises TokenFormatError with a message that never contains the token itself.
    """
    claims = _claims(token)
    if claims is None:
        raise TokenFormatError("the value is not a JWT")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_number(iat) or not _is_number(exp):
        raise TokenFormatError("the JWT lacks numeric 'iat' and 'exp' claims")
    assert isinstance(iat, int | float) and isinstance(exp, int | float)
    if exp <= iat:
        raise TokenFormatError("the JWT expires before it was issued")
    return TokenTimes(float(iat), float(exp))


def token_role(token: str) -> str | None:
    """The ``role`` claim (``admin``, ``privileged``, ``user``, or ``service``), read without
    verifying the signature; None when the token is not a JWT or has no string ``role``.

    Never raises, so no error can carry the token.
    """
    claims = _claims(token)
    role = claims.get("role") if claims is not None else None
    return role if isinstance(role, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class CredentialRouteError(ValueError):
    """A credential would go somewhere the config does not name; the text says where and why."""


def _show(url: str) -> str:
    return url.rstrip("/")


def credential_routes(
    server: str,
    base_url: str,
    *,
    advertised_auth: str | None,
    configured_auth: str | None,
    allow_insecure_http: bool,
) -> str:
    """The auth service URL the PAT may be sent to, or CredentialRouteError.

    Rules (pure, so that each can be tested alone):
    * the PAT goes to the config's ``auth_url`` if one is declared, else to the discover's
      ``auth_service`` only when it is on the server's own scheme, host and port: a server
      (or whatever answers in its place) must not be able to send the PAT elsewhere;
    * an https server's credentials never travel over http;
    * plain http to a host that is not this machine needs ``allow_insecure_http: true``.
    """
    auth = configured_auth or advertised_auth
    if not auth or origin(auth)[0] not in ("http", "https") or not origin(auth)[1]:
        raise CredentialRouteError(
            f"server '{server}' names no absolute auth service URL in its discover answer, so its PAT "
            f"cannot be exchanged: check that {base_url} is the base URL of a Hoss server, or declare "
            "auth_url for it in the config"
        )
    if configured_auth is None and origin(auth) != origin(base_url):
        raise CredentialRouteError(
            f"server '{server}' ({base_url}) names its auth service at {_show(auth)}, which is not on "
            f"{base_url}: hossctl sends the PAT only to the server's own scheme, host and port; if "
            f"the auth service really lives there, declare auth_url: {_show(auth)} for server "
            f"'{server}' in the config"
        )
    if origin(base_url)[0] == "https" and origin(auth)[0] == "http":
        raise CredentialRouteError(
            f"server '{server}' is on https, but its auth service {_show(auth)} is plain http: an https "
            "server's PAT never travels unencrypted; use the https URL of its auth service"
        )
    for url in (base_url, auth):
        check_plain_http(server, url, allow_insecure_http)
    return auth.rstrip("/")


def check_plain_http(server: str, url: str, allow_insecure_http: bool) -> None:
    """CredentialRouteError when credentials would cross the network unencrypted, unless allowed."""
    scheme, host, _ = origin(url)
    if scheme == "http" and not is_loopback(host) and not allow_insecure_http:
        raise CredentialRouteError(
            f"server '{server}' would receive its PAT and tokens over plain http at {_show(url)}, "
            "where anyone on the network can read them: use https, or set allow_insecure_http: true "
            f"for server '{server}' in the config if this network is trusted"
        )


def insecure_notice(server: str, base_url: str, allow_insecure_http: bool) -> str | None:
    """The warning a plan starts with when credentials cross the network unencrypted."""
    scheme, host, _ = origin(base_url)
    if scheme == "http" and not is_loopback(host) and allow_insecure_http:
        return (
            f"Warning: server '{server}' is reached over plain http ({base_url}, allow_insecure_http: "
            "true): its PAT and tokens cross the network unencrypted."
        )
    return None


class TokenSource:
    """One server's credential: the PAT exchanged (and refreshed at half-life) or a static JWT.

    ``auth_url`` is the route ``credential_routes`` allowed, asked for lazily because it
    needs the server's discover. Concurrent callers share one exchange.
    """

    def __init__(
        self,
        *,
        server: str,
        base_url: str,
        transport: Transport,
        pat: str | None,
        jwt_token: str | None,
        pat_env: str,
        auth_url: Callable[[], Awaitable[str]],
        clock: Callable[[], float] = time.time,
        service: bool = False,
    ) -> None:
        # ``service``: the credential is a service account secret, exchanged at
        # ``sat/exchange/jwt`` instead of ``pat/exchange/jwt`` (docs/hoss-server.md §2.1).
        self.service = service
        self.server = server
        self.base_url = base_url
        self.pat_env = pat_env
        self.exchanges = 0  # how many PAT exchanges were made (observable in tests)
        self._transport = transport
        self._pat = pat or None
        self._static = jwt_token or None
        self._auth_url = auth_url
        self._clock = clock
        self._token: str | None = None
        self._role: str | None = None
        self._deadline = 0.0
        self._lock = asyncio.Lock()

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self._pat, self._static, self._token)

    @property
    def uses_pat(self) -> bool:
        return self._pat is not None

    @property
    def credential(self) -> str:
        """What the credential is, for messages: never its value."""
        if self._pat and self.service:
            return f"the service secret in ${self.pat_env}"
        if self._pat:
            return f"the personal access token in ${self.pat_env}"
        return f"the JWT in ${JWT_ENV}"

    @property
    def role(self) -> str | None:
        """The ``role`` claim of the current token (None before one was obtained, or none)."""
        return self._role

    def invalidate(self) -> None:
        """Forget the token (the server rejected it, perhaps expired in flight)."""
        if self._pat is not None:
            self._token = None

    async def bearer(self) -> str:
        if self._static is not None:
            if self._token is None:
                self._check_static(self._static)
                self._token = self._static
                self._role = token_role(self._static)
            return self._token
        if self._pat is None:
            raise AuthenticationError(
                f"no credentials for server '{self.server}': set ${self.pat_env} to a personal access "
                f"token (or ${JWT_ENV} to a JWT)",
                server=self.server,
            )
        token = self._token
        if token is not None and self._clock() < self._deadline:
            return token
        async with self._lock:
            # Another task may have exchanged while this one waited: reuse its token.
            if self._token is not None and self._clock() < self._deadline:
                return self._token
            return await self._exchange(self._pat)

    def _check_static(self, token: str) -> None:
        try:
            times = token_times(token)
        except TokenFormatError as exc:
            raise AuthenticationError(
                f"${JWT_ENV} for server '{self.server}' does not hold a usable token ({exc}): "
                f"set a JWT issued by {self.base_url}/auth/v1 or a PAT in ${self.pat_env}",
                server=self.server,
            ) from None
        if times.expired(self._clock()):
            raise AuthenticationError(
                f"the JWT in ${JWT_ENV} for server '{self.server}' has expired: set a fresh one "
                f"or a PAT in ${self.pat_env}",
                server=self.server,
            )

    def _fail(self, message: str) -> AuthenticationError:
        return AuthenticationError(redact(message, self.secrets), server=self.server)

    async def _exchange(self, pat: str) -> str:
        url = (await self._auth_url()) + ("/sat/exchange/jwt" if self.service else "/pat/exchange/jwt")
        received_at = self._clock()
        try:
            answer = await self._transport.send("POST", url, bearer=pat, retry="idempotent")
        except TransportFailure as exc:
            raise self._fail(
                f"the auth service of server '{self.server}' is unreachable: POST {url} {exc.cause}; "
                "check the server's URL and that its auth service is up"
            ) from None
        self.exchanges += 1
        if answer.status == 401:
            raise self._fail(
                f"server '{self.server}' rejected {self.credential} (401 from {url}): check that the "
                f"variable holds a valid {'service secret' if self.service else 'PAT'} for {self.base_url}"
            )
        if answer.status not in (200, 201):
            hint = (
                f"still failing after {answer.attempts} attempts; it is overloaded or down, try again later"
                if answer.status in RETRY_STATUSES
                else "check the server's auth service"
            )
            message = (
                f"server '{self.server}' answered {answer.status} to POST {url} (its auth service): {hint}"
            )
            raise HossApiError(
                redact(message, self.secrets),
                server=self.server, status=answer.status, error=None, method="POST", path=url,
            )
        token, problem = _id_token(answer)
        if token is None:
            # The answer is never quoted: it may hold fresh tokens that no redaction knows of.
            raise self._fail(
                f"server '{self.server}' answered POST {url} with {problem}: check that {url} reaches the "
                "Hoss auth service itself, not a proxy or a login page"
            )
        try:
            times = token_times(token)
        except TokenFormatError as exc:
            raise self._fail(
                f"the auth service of server '{self.server}' at {url} returned an id_token "
                f"hossctl cannot use ({exc}): check the server's auth service"
            ) from None
        self._token = token
        self._role = token_role(token)
        # Half the token's life counted from when we asked: immune to clock skew with the server.
        self._deadline = times.refresh_deadline(received_at)
        return token


def _id_token(answer: Answer) -> tuple[str | None, str]:
    """The exchange answer's ``id_token``, or None and what was wrong (never quoting the body)."""
    import json

    from hossctl.live import wire

    ctype = answer.content_type
    if ctype is None or ctype.split(";", 1)[0].strip().lower() != "application/json":
        return None, f"{answer.status} and {answer.shown_type} instead of JSON"
    try:
        decoded: Any = json.loads(answer.body)
    except ValueError:
        return None, f"{answer.status} and {answer.shown_type}, but invalid JSON"
    try:
        return wire.id_token(decoded), ""
    except wire.MalformedAnswer as exc:
        return None, f"a malformed answer ({exc})"
