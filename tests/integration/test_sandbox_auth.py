"""Discover, the auth service, and JWT verification on every core route (docs/hoss-server.md §2, §4)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from hossctl.sandbox import Sandbox
from hossctl.sandbox.tokens import PAT_PATTERN

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]
# plain-HTTP loopback client: verify=False skips building a TLS context per call
HTTP = httpx.Client(verify=False, timeout=10)


def test_discover_fields_and_types_without_auth(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    response = HTTP.get(f"{sandbox.core_url}/discover")
    assert response.status_code == 200
    body = response.json()
    assert body["alive"] == "true"
    assert body["dev"] is False
    assert body["version"] == "0.2.13"
    assert isinstance(body["build"], str) and body["build"]
    assert isinstance(body["services"], list) and all(isinstance(s, str) for s in body["services"])
    assert body["auth_service"] == f"{sandbox.url}/auth/v1"
    assert body["delete_delay_minutes"] == 0


def test_generated_pats_have_the_real_format(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    for pat in (sandbox.admin_pat, sandbox.user_pat):
        assert PAT_PATTERN.fullmatch(pat) and len(pat) == 33
    assert sandbox.admin_pat != sandbox.user_pat


@pytest.mark.parametrize(
    ("role", "nickname", "groups"),
    [("admin", "admin", "admin-hoss-default-group,admin"), ("user", "user", "user-hoss-default-group")],
)
def test_pat_exchange_claims(sandbox_factory: SandboxFactory, role: str, nickname: str, groups: str) -> None:
    sandbox = sandbox_factory()
    pat = sandbox.admin_pat if role == "admin" else sandbox.user_pat
    response = HTTP.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"}
    )
    assert response.status_code == 201
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "id_token"}
    assert "kid" in jwt.get_unverified_header(tokens["id_token"])
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["iss"] == f"{sandbox.url}/auth/v1"
    assert claims["aud"] == "HossServer"
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["exp"] - claims["iat"] == 6 * 3600
    assert (claims["nickname"], claims["role"], claims["groups"]) == (nickname, role, groups)
    for key in ("sub", "email", "name", "given_name", "family_name"):
        assert isinstance(claims[key], str) and claims[key]
    assert claims["email_verified"] is True


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer hp_" + "A" * 30, "Basic abc", "Bearer", "bearer {admin}"],
)
def test_pat_exchange_rejects(sandbox_factory: SandboxFactory, authorization: str | None) -> None:
    sandbox = sandbox_factory()
    headers = (
        {} if authorization is None else {"Authorization": authorization.format(admin=sandbox.admin_pat)}
    )
    response = HTTP.post(f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_auth_service_discovery_keys_and_ping(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    config = HTTP.get(f"{sandbox.url}/auth/v1/.well-known/openid-configuration").json()
    assert config["issuer"] == f"{sandbox.url}/auth/v1"
    assert config["jwks_uri"] == f"{sandbox.url}/auth/v1/keys"
    keys = HTTP.get(f"{sandbox.url}/auth/v1/keys").json()
    assert keys == {"keys": []}  # HS256: the signing secret is never published
    assert HTTP.get(f"{sandbox.url}/auth/v1/ping").json() == {"alive": "true"}


def _forge(claims: dict[str, object], key: str, kid: str | None) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims, key, algorithm="HS256", headers=headers)


def _claims(sandbox_url: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": f"{sandbox_url}/auth/v1",
        "aud": "HossServer",
        "sub": "x",
        "iat": now,
        "exp": now + 3600,
        "nickname": "admin",
        "role": "admin",
        "groups": "admin",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("missing", 401),
        ("not-bearer", 401),
        ("garbage", 401),
        ("pat", 401),
        ("forged", 401),
        ("expired", 401),
        ("future-iat", 401),
        ("wrong-issuer", 401),
        ("wrong-audience", 401),
        ("unknown-kid", 401),
        ("no-kid", 500),
        ("no-role", 500),
        ("access-token", 500),
    ],
)
def test_core_token_verification(sandbox_factory: SandboxFactory, case: str, status: int) -> None:
    sandbox = sandbox_factory()
    secret: str = sandbox._secret  # the sandbox's own signing key, to make validly signed bad tokens
    good_header = jwt.get_unverified_header(
        HTTP.post(
            f"{sandbox.url}/auth/v1/pat/exchange/jwt",
            headers={"Authorization": f"Bearer {sandbox.admin_pat}"},
        ).json()["id_token"]
    )
    kid = good_header["kid"]
    now = int(time.time())
    tokens = {
        "garbage": "Bearer not.a.jwt",
        "pat": f"Bearer {sandbox.admin_pat}",
        "forged": "Bearer "
        + _forge(_claims(sandbox.url), "another-secret-that-is-long-enough-for-hs256!", kid),
        "expired": "Bearer " + _forge(_claims(sandbox.url, iat=now - 7200, exp=now - 10), secret, kid),
        "future-iat": "Bearer " + _forge(_claims(sandbox.url, iat=now + 600), secret, kid),
        "wrong-issuer": "Bearer " + _forge(_claims(sandbox.url, iss="http://elsewhere/auth/v1"), secret, kid),
        "wrong-audience": "Bearer " + _forge(_claims(sandbox.url, aud="hoss"), secret, kid),
        "unknown-kid": "Bearer " + _forge(_claims(sandbox.url), secret, "abc"),
        "no-kid": "Bearer " + _forge(_claims(sandbox.url), secret, None),
        "no-role": "Bearer " + _forge(_claims(sandbox.url, role=None), secret, kid),
    }
    if case == "access-token":
        tokens[case] = (
            "Bearer "
            + HTTP.post(
                f"{sandbox.url}/auth/v1/pat/exchange/jwt",
                headers={"Authorization": f"Bearer {sandbox.admin_pat}"},
            ).json()["access_token"]
        )
    headers = {}
    if case == "not-bearer":
        headers["Authorization"] = "Token abc"
    elif case in tokens:
        headers["Authorization"] = tokens[case]
    response = HTTP.get(f"{sandbox.core_url}/namespace/", headers=headers)
    assert response.status_code == status
    assert response.content == b""


def test_token_from_another_sandbox_is_rejected(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    first, second = sandbox_factory(), sandbox_factory()
    foreign = sandbox_api(first)
    response = foreign.get(f"{second.core_url}/namespace/")
    assert response.status_code == 401 and response.content == b""
    assert foreign.get("/core/v1/namespace/").status_code == 200


def test_fixed_pats_are_used(sandbox_factory: SandboxFactory) -> None:
    admin, user = "hp_" + "a1" * 15, "hp_" + "b2" * 15
    sandbox = sandbox_factory(admin_pat=admin, user_pat=user)
    assert (sandbox.admin_pat, sandbox.user_pat) == (admin, user)
    for pat in (admin, user):
        response = HTTP.post(
            f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {pat}"}
        )
        assert response.status_code == 201
