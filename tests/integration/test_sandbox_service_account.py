"""The auth service's service account and a shared identity (docs/hoss-server.md §2.1, §2.2, §10.13).

Each test names the Go handler and lines it follows (server/auth/..., server/libs/hoss-service/...).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from click.testing import CliRunner

from hossctl.cli import cli
from hossctl.errors import HossctlError
from hossctl.sandbox import Sandbox
from hossctl.sandbox.tokens import SERVICE_SECRET_PATTERN

SandboxFactory = Callable[..., Sandbox]
# plain-HTTP loopback client: verify=False skips building a TLS context per call
HTTP = httpx.Client(verify=False, timeout=10)
SECRET = "hsvc_" + "S3cr3t" * 6


def _exchange(sandbox: Sandbox, bearer: str, kind: str = "sat") -> httpx.Response:
    url = f"{sandbox.url}/auth/v1/{kind}/exchange/jwt"
    return HTTP.post(url, headers={"Authorization": f"Bearer {bearer}"})


def _jwt(sandbox: Sandbox, pat: str) -> str:
    token: str = _exchange(sandbox, pat, "pat").json()["id_token"]
    return token


# the SAT exchange -------------------------------------------------------------------------------


def test_the_service_secret_gets_the_service_accounts_tokens(sandbox_factory: SandboxFactory) -> None:
    """server/auth/main.go AuthorizationMiddleware, lines 145-153: the ``hsvc_`` bearer equal to
    SERVICE_AUTH_SECRET passes; handler.go SATforJWT, lines 208-228: 201 with the token triple of
    ``Subject: "HOSS-Service"``, minted by tokens.go CreateGigantumTokens (lines 70-178) with only the
    openid scope and service tokens: no profile, no email (docs/hoss-server.md §2.2)."""
    sandbox = sandbox_factory(service_secret=SECRET)
    response = _exchange(sandbox, SECRET)
    assert response.status_code == 201
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "id_token"}
    claims = {name: jwt.decode(value, options={"verify_signature": False}) for name, value in tokens.items()}
    id_token = claims["id_token"]
    assert id_token["sub"] == id_token["nickname"] == "HOSS-Service"
    assert (id_token["role"], id_token["service"], id_token["groups"]) == ("service", True, "")
    assert (id_token["iss"], id_token["aud"]) == (f"{sandbox.url}/auth/v1", "HossServer")
    assert not {"email", "email_verified", "name", "given_name", "family_name"} & set(id_token)
    assert {c["sub"] for c in claims.values()} == {"HOSS-Service"}
    assert (claims["refresh_token"]["nickname"], claims["refresh_token"]["scopes"]) == ("", "openid")
    # core's AuthorizeJWT (server/core/main.go lines 244-300) accepts it, with the service role
    namespaces = HTTP.get(
        f"{sandbox.core_url}/namespace/", headers={"Authorization": f"Bearer {tokens['id_token']}"}
    )
    assert namespaces.status_code == 200


@pytest.mark.parametrize(
    "bearer",
    [
        "hsvc_" + "x" * 40,  # another secret: AuthorizationMiddleware line 147-149
        "hsvc_",
        "hp_" + "z" * 30,  # an unknown PAT: lines 135-141
        "not.a.jwt",  # an invalid JWT: lines 154-160
    ],
    ids=["wrong-secret", "bare-prefix", "unknown-pat", "garbage"],
)
def test_anything_invalid_is_401(sandbox_factory: SandboxFactory, bearer: str) -> None:
    """server/auth/main.go AuthorizationMiddleware, lines 114-166: an invalid bearer of any kind is
    401 {"error":"Unauthorized"} before SATforJWT runs."""
    sandbox = sandbox_factory(service_secret=SECRET)
    response = _exchange(sandbox, bearer)
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer"], ids=["none", "basic", "no-token"])
def test_no_bearer_is_401(sandbox_factory: SandboxFactory, header: str | None) -> None:
    """server/auth/main.go AuthorizationMiddleware, lines 117-130: no header, or not ``Bearer <x>``."""
    sandbox = sandbox_factory(service_secret=SECRET)
    headers = {} if header is None else {"Authorization": header}
    response = HTTP.post(f"{sandbox.url}/auth/v1/sat/exchange/jwt", headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize("kind", ["admin-pat", "user-pat", "admin-jwt", "service-jwt"])
def test_a_valid_pat_or_jwt_is_403(sandbox_factory: SandboxFactory, kind: str) -> None:
    """handler.go SATforJWT, lines 208-214: a valid PAT or JWT passes the middleware but sets no
    ``sat``, so 403 with the server's own typo; a service JWT is a JWT too."""
    sandbox = sandbox_factory(service_secret=SECRET)
    if kind == "admin-pat":
        bearer = sandbox.admin_pat
    elif kind == "user-pat":
        bearer = sandbox.user_pat
    elif kind == "admin-jwt":
        bearer = _jwt(sandbox, sandbox.admin_pat)
    else:
        bearer = _exchange(sandbox, SECRET).json()["id_token"]
    response = _exchange(sandbox, bearer)
    assert (response.status_code, response.json()) == (
        403,
        {"error": "SAT to JWT endpoint only available to service accouts"},
    )


def test_the_service_secret_at_the_pat_exchange_is_401_user_info(sandbox_factory: SandboxFactory) -> None:
    """handler.go PATforJWT, lines 98-103: the middleware set no ``user`` for the service secret, so
    getUser (server/auth/pkg/api/util.go lines 17-24) fails with "User info not available"."""
    sandbox = sandbox_factory(service_secret=SECRET)
    response = _exchange(sandbox, SECRET, "pat")
    assert (response.status_code, response.json()) == (401, {"error": "User info not available"})
    wrong = _exchange(sandbox, "hsvc_" + "y" * 40, "pat")
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "group/"),
        ("GET", "group/admin"),
        ("DELETE", "group/admin"),
        ("PUT", "group/admin/user/user"),
        ("DELETE", "group/admin/user/user"),
    ],
)
def test_the_service_secret_on_group_routes_is_401_user_info(
    sandbox_factory: SandboxFactory, method: str, path: str
) -> None:
    """server/auth/pkg/api/groups.go CreateGroup, DeleteGroup, GetGroup, UpdateGroupUser and
    RemoveGroupUser (lines 32-248) begin with getUser, which the service secret fails (util.go lines
    17-24), before any other check; a wrong secret stops at the middleware."""
    sandbox = sandbox_factory(service_secret=SECRET)
    url = f"{sandbox.url}/auth/v1/{path}"
    body = {"name": "g", "description": ""}
    for secret, error in ((SECRET, "User info not available"), ("hsvc_" + "y" * 40, "Unauthorized")):
        response = HTTP.request(method, url, json=body, headers={"Authorization": f"Bearer {secret}"})
        assert (response.status_code, response.json()) == (401, {"error": error})


def test_the_service_secret_may_read_a_user(sandbox_factory: SandboxFactory) -> None:
    """groups.go GetUser, lines 250-260: no getUser, so the middleware's check is the only one."""
    sandbox = sandbox_factory(service_secret=SECRET)
    response = HTTP.get(f"{sandbox.url}/auth/v1/user/admin", headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200 and response.json()["username"] == "admin"


# the service secret option ----------------------------------------------------------------------


def test_a_generated_secret_has_the_real_shape_and_persists(tmp_path: Path) -> None:
    """Like the PATs, kept in the data file so a restart keeps working for its sync service."""
    data = str(tmp_path / "state.sqlite")
    first = Sandbox(data=data)
    try:
        assert SERVICE_SECRET_PATTERN.fullmatch(first.service_secret) and len(first.service_secret) == 45
        secret = first.service_secret
    finally:
        first.stop()
    again = Sandbox(data=data)
    try:
        assert again.service_secret == secret
    finally:
        again.stop()
    given = Sandbox(data=data, service_secret=SECRET)
    try:
        assert given.service_secret == SECRET
    finally:
        given.stop()


@pytest.mark.parametrize("secret", ["hp_abc", "hsvc_", "hsvc_has-dash", "hsvc_space d", "svc_abc"])
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(HossctlError, match=r"^The service secret is not a Hoss service secret; it must be"):
        Sandbox(service_secret=secret)


def test_cli_refuses_a_malformed_secret_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--service-secret", "hsvc_not-valid!"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: The service secret is not a Hoss service secret")
    assert "not-valid" not in result.output and "Traceback" not in result.output
    monkeypatch.setenv("HOSS_SANDBOX_SERVICE_SECRET", "hsvc_from-env")
    from_env = CliRunner().invoke(cli, ["sandbox", "--port", "0"])
    assert from_env.exit_code == 1 and "from-env" not in from_env.output
    assert from_env.output.startswith("Error: The service secret is not a Hoss service secret")


def test_sync_auth_url_needs_the_sync_service_and_an_http_url() -> None:
    with pytest.raises(HossctlError, match="only used by the sync service"):
        Sandbox(sync_auth_url="http://127.0.0.1:1/auth/v1")
    with pytest.raises(HossctlError, match="not an http"):
        Sandbox(sync_service=True, sync_auth_url="127.0.0.1:1/auth/v1")


# a shared identity ------------------------------------------------------------------------------


def test_a_shared_identity_makes_two_sandboxes_trust_each_other(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    """Two cores behind one auth service: core's AuthorizeJWT (server/core/main.go lines 244-300)
    checks the signature by ``kid`` and the ``iss``, which then match on both sides. The second
    sandbox's tokens name the first one's auth URL as ``iss`` (hoss-client never reads ``iss``)."""
    identity = tmp_path / "identity.json"
    first = sandbox_factory(identity=str(identity))
    second = sandbox_factory(identity=str(identity))
    assert stat.S_IMODE(os.stat(identity).st_mode) == 0o600
    stored = json.loads(identity.read_text(encoding="utf-8"))
    assert stored["issuer"] == f"{first.url}/auth/v1" == first.issuer == second.issuer
    assert [p.name for p in tmp_path.iterdir()] == ["identity.json"]  # no temporary file left
    for minter, checker in ((first, second), (second, first)):
        token = _jwt(minter, minter.admin_pat)
        assert jwt.decode(token, options={"verify_signature": False})["iss"] == f"{first.url}/auth/v1"
        answer = HTTP.get(f"{checker.core_url}/namespace/", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    openid = HTTP.get(f"{second.url}/auth/v1/.well-known/openid-configuration").json()
    assert openid["issuer"] == f"{first.url}/auth/v1"


def test_without_a_shared_identity_the_other_core_answers_401(sandbox_factory: SandboxFactory) -> None:
    """server/core/main.go AuthorizeJWT, lines 244-300: another auth service's key id or issuer is a
    401 with an empty body (docs/hoss-server.md §2.4, §10.13)."""
    first, second = sandbox_factory(), sandbox_factory()
    token = _jwt(first, first.admin_pat)
    answer = HTTP.get(f"{second.core_url}/namespace/", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.content) == (401, b"")


def test_sandboxes_starting_together_agree_on_one_identity(tmp_path: Path) -> None:
    """The identity file is linked into place whole: whoever loses the race reads the winner's."""
    identity = str(tmp_path / "identity.json")
    sandboxes = [Sandbox(port=0, identity=identity) for _ in range(4)]
    threads = [threading.Thread(target=sb.start) for sb in sandboxes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len({sb.issuer for sb in sandboxes}) == 1
        token = _jwt(sandboxes[3], sandboxes[3].admin_pat)
        for sb in sandboxes:
            answer = HTTP.get(f"{sb.core_url}/namespace/", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200
    finally:
        for sb in sandboxes:
            sb.stop()


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[]", '{"issuer": "x"}', '{"issuer": "x", "secret": 1}', '{"issuer":"","secret":"s"}'],
    ids=["empty", "text", "list", "no-secret", "number", "empty-issuer"],
)
def test_a_file_that_is_not_an_identity_is_one_sentence(tmp_path: Path, content: str) -> None:
    identity = tmp_path / "identity.json"
    identity.write_text(content, encoding="utf-8")
    sandbox = Sandbox(port=0, identity=str(identity))
    with pytest.raises(HossctlError) as raised:
        sandbox.start()
    assert raised.value.message == (
        f"The identity file {str(identity)!r} does not hold a sandbox identity (a JSON object with "
        "string 'issuer' and 'secret'); delete it or give another path."
    )
    sandbox.stop()  # already stopped: a no-op


def test_an_identity_in_a_missing_directory_is_one_sentence(tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "id.json")
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--identity", missing])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Cannot create the identity file")
    assert result.output.rstrip().endswith("give a path in a writable directory.")
    assert "Traceback" not in result.output
