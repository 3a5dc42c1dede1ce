"""The token's role: read from the JWT without verifying it, and required for planning changes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt as pyjwt
import pytest

from hossctl.commands.plan import require_admin_role
from hossctl.errors import HossctlError
from hossctl.live.auth import token_role
from hossctl.live.client import HossClient

KEY = "a signing key hossctl never needs, 32+ bytes long"


def _jwt(**claims: Any) -> str:
    now = int(time.time())
    return pyjwt.encode({"iat": now, "exp": now + 3600, **claims}, KEY, algorithm="HS256")


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("role", ["admin", "privileged", "user", "service"])
def test_the_role_claim_is_read_without_the_signing_key(role: str) -> None:
    assert token_role(_jwt(role=role, nickname="alice", groups="admin")) == role


@pytest.mark.parametrize(
    "token",
    [
        _jwt(),  # no role claim
        _jwt(role=["admin"]),  # not a string
        _jwt(role=None),
        "hp_" + "A" * 30,  # a PAT is not a JWT
        "",
        "a.b.c",
        f"{_segment({'alg': 'none'})}.{_segment(['admin'])}.",  # a payload that is not an object
    ],
)
def test_no_usable_role_claim_is_none_never_an_error(token: str) -> None:
    assert token_role(token) is None


NOWHERE = "http://127.0.0.1:9"  # never contacted: a JWT from the environment needs no request


def _check(tokens: dict[str, str], servers: list[str]) -> None:
    async def main() -> None:
        clients = {
            key: HossClient(server=key, base_url=NOWHERE, jwt=token, pat_env=f"{key.upper()}_PAT")
            for key, token in tokens.items()
        }
        try:
            await require_admin_role(clients, servers)
        finally:
            for client in clients.values():
                await client.aclose()

    asyncio.run(main())


def test_admin_and_service_tokens_may_plan_changes() -> None:
    _check({"onprem": _jwt(role="admin"), "cloud": _jwt(role="service")}, ["onprem", "cloud"])


def test_servers_without_changes_are_not_checked() -> None:
    _check({"onprem": _jwt(role="admin"), "cloud": _jwt(role="user")}, ["onprem"])
    _check({"onprem": _jwt(role="admin")}, ["onprem", "unknown"])


@pytest.mark.parametrize(
    ("claims", "has"),
    [
        ({"role": "user"}, "role 'user'"),
        ({"role": "privileged"}, "role 'privileged'"),
        ({}, "no role claim"),
        ({"role": "\x1b[2J" + "x" * 100}, "role '\\x1b[2J" + "x" * 36 + "'"),
    ],
)
def test_other_roles_are_refused_in_one_sentence(claims: dict[str, Any], has: str) -> None:
    token = _jwt(**claims)
    with pytest.raises(HossctlError) as info:
        _check({"onprem": _jwt(role="admin"), "cloud": token}, ["onprem", "cloud"])
    assert str(info.value) == (
        f"server 'cloud' has changes to plan, but its token has {has}, and planning changes needs role "
        "'admin' (or 'service'), the only roles that see every dataset and may write: use the PAT of a "
        "user with the admin role in $CLOUD_PAT"
    )
    assert token not in str(info.value)
