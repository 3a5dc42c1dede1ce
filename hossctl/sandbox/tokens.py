"""PAT → JWT exchange and JWT verification, as the real auth and core services do them.

The real auth service signs RS256 with a JWKS; the sandbox signs HS256 with a per-sandbox
secret, or the one of a shared identity file (no RSA library is allowed at runtime), keeps the
real header ``kid`` and the claims of
docs/hoss-server.md §2.2, and verifies every core request the way ``AuthorizeJWT`` does (§2.4): a bad
or expired token is a 401 with an empty body, a structurally broken one a bare 500.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

import jwt

AUDIENCE = "HossServer"
ID_TOKEN_HOURS = 6
REFRESH_TOKEN_HOURS = 24  # token_expiration_hours.refresh of the real auth service's default config
PAT_PATTERN = re.compile(r"hp_[A-Za-z0-9]+")
SERVICE_SECRET_PATTERN = re.compile(r"hsvc_[A-Za-z0-9]+")
_ALPHANUM = string.ascii_letters + string.digits


def generate_pat() -> str:
    """A PAT as Postgres ``generate_uid(30)`` makes them: ``hp_`` + 30 alphanumerics."""
    return "hp_" + "".join(secrets.choice(_ALPHANUM) for _ in range(30))


def generate_service_secret() -> str:
    """A ``SERVICE_AUTH_SECRET`` of the shape the auth middleware recognises: ``hsvc_`` + 40 alphanumerics."""
    return "hsvc_" + "".join(secrets.choice(_ALPHANUM) for _ in range(40))


def generate_secret() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True)
class Account:
    """A user known to the sandbox's auth service."""

    username: str
    role: str
    groups: tuple[str, ...]
    name: str

    @property
    def email(self) -> str:
        return f"{self.username}@sandbox.invalid"


ADMIN = Account("admin", "admin", ("admin-hoss-default-group", "admin"), "Sandbox Admin")
USER = Account("user", "user", ("user-hoss-default-group",), "Sandbox User")
# What ``SATforJWT`` mints tokens for (server/auth/pkg/api/handler.go lines 216-221): a UserInfo with only
# ``Subject: "HOSS-Service"``, so no username, profile or email; ``service`` tokens (tokens.go lines 158-163).
SERVICE_ACCOUNT = Account("HOSS-Service", "service", (), "")


@dataclass(frozen=True)
class Caller:
    """What core takes from a verified JWT."""

    username: str
    role: str
    groups: tuple[str, ...]
    service: bool = False


class Rejected(Exception):
    """The token cannot be used; ``status`` is 401 (invalid) or 500 (real core panics)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class TokenIssuer:
    """Mints and verifies this sandbox's tokens; the issuer is ``<url>/auth/v1``, or under a shared
    identity the one in the identity file (see ``hossctl.sandbox.service.shared_identity``)."""

    def __init__(self, secret: str, issuer: str) -> None:
        self._secret = secret
        self.issuer = issuer
        self.kid = hashlib.sha1(secret.encode(), usedforsecurity=False).hexdigest()
        # Tokens that passed every check, with their claims: a client sends the same token with
        # every request, and PyJWT's checks were about half the sandbox's CPU per request
        # (BENCHMARKS.md, the sandbox). Only the times can change a cached token's answer, so a
        # hit checks them again, and any doubt goes through the whole check once more.
        self._verified: dict[str, dict[str, Any]] = {}

    def exchange(self, account: Account) -> dict[str, str]:
        """The token triple of ``POST /auth/v1/pat/exchange/jwt``; clients use ``id_token``.

        All three are signed JWTs, as the auth service mints them (docs/hoss-server.md §2.1, §2.2):
        the refresh token carries ``nickname`` and ``scopes`` and lives 24 hours.

        The service account follows server/auth/pkg/api/tokens.go ``CreateGigantumTokens`` (lines
        70-178) called from ``SATforJWT`` with only the ``openid`` scope and ``serviceTokens``: every
        ``sub`` is ``HOSS-Service``; the id_token says ``role: service`` and ``service: true``, has
        ``nickname`` = ``sub`` (line 159), ``groups`` "" and no profile or email; the refresh token's
        ``nickname`` is the lower-cased empty username and its ``scopes`` just ``openid``.
        """
        now = int(time.time())
        exp = now + ID_TOKEN_HOURS * 3600
        service = account.role == "service"
        subject = account.username if service else f"sandbox-{account.username}"
        given, _, family = account.name.partition(" ")
        id_claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": exp,
        }
        if service:
            id_claims.update(nickname=subject, role="service", groups="", service=True)
        else:
            id_claims.update(
                nickname=account.username.lower(),
                role=account.role,
                groups=",".join(account.groups),
                email=account.email,
                email_verified=True,
                name=account.name,
                given_name=given,
                family_name=family,
            )
        access_claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": exp}
        refresh_claims = {
            **access_claims,
            "exp": now + REFRESH_TOKEN_HOURS * 3600,
            "nickname": "" if service else account.username.lower(),
            "scopes": "openid" if service else "openid,profile,email,hoss",
        }
        return {
            "access_token": self._sign(access_claims),
            "refresh_token": self._sign(refresh_claims),
            "id_token": self._sign(id_claims),
        }

    def _sign(self, claims: dict[str, object]) -> str:
        return jwt.encode(claims, self._secret, algorithm="HS256", headers={"kid": self.kid})

    def verify(self, authorization: str | None) -> Caller:
        """Check an ``Authorization`` header value as core's middleware does.

        server/core/main.go ``AuthorizeJWT``, lines 244-300 (docs/hoss-server.md §2.4).
        """
        if not authorization:
            raise Rejected(401)
        scheme, sep, token = authorization.partition(" ")
        if scheme != "Bearer" or not sep or not token or " " in token:
            raise Rejected(401)
        claims = self.claims(token)
        nickname, role, groups = claims.get("nickname"), claims.get("role"), claims.get("groups")
        service = claims.get("service", False)
        if not all(isinstance(v, str) for v in (nickname, role, groups)) or not isinstance(service, bool):
            raise Rejected(500)
        assert isinstance(nickname, str) and isinstance(role, str) and isinstance(groups, str)
        return Caller(nickname, role, tuple(groups.split(",")), service)

    def claims(self, token: str) -> dict[str, Any]:
        """A JWT's claims once its signature, times, ``iss`` and ``aud`` pass, in the real order.

        Core (server/core/main.go ``AuthorizeJWT``, lines 252-282) and the auth service
        (server/auth/main.go ``authorizeJWT``, lines 171-189) both read ``iss`` and then ``aud`` with
        a Go type assertion to ``string``: a missing or non-string ``iss``, or an ``aud`` that is a
        list, panics, and gin's Recovery answers 500 with an empty body.
        """
        known = self._verified.get(token)
        if known is not None and _still_valid(known, time.time()):
            return known
        claims = self._checked_claims(token)
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _checked_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Rejected(401) from None
        kid = header.get("kid")
        if kid is None or not isinstance(kid, str):
            raise Rejected(500)
        if kid != self.kid:
            raise Rejected(401)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": [], "verify_aud": False, "verify_iss": False},
            )
        except jwt.InvalidTokenError:
            raise Rejected(401) from None
        iss = claims.get("iss")
        if not isinstance(iss, str):
            raise Rejected(500)
        if iss != self.issuer:
            raise Rejected(401)
        aud = claims.get("aud")
        if not isinstance(aud, str):
            raise Rejected(500)
        if aud != AUDIENCE:
            raise Rejected(401)
        return claims


_VERIFIED_MAX = 1024  # distinct tokens remembered at once; a client holds one or two


def _still_valid(claims: dict[str, Any], now: float) -> bool:
    """PyJWT's time checks (no leeway) for claims that passed them once: ``exp`` must be after
    now, ``nbf`` and ``iat`` not after it. The int() calls succeeded when the token was checked."""
    if "exp" in claims and int(claims["exp"]) <= now:
        return False
    return all(int(claims[name]) <= now for name in ("nbf", "iat") if name in claims)
