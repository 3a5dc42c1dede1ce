"""Issue 13: places where the sandbox answered differently from the real server.

Each test names the Go source it follows, in the WyssCenter/hybrid-object-store repository
(server/core/..., server/auth/..., server/libs/hoss-service/...), with the function and lines.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from click.testing import CliRunner
from sandbox_process import start_sandbox

from hossctl.cli import cli
from hossctl.sandbox import Sandbox

SandboxFactory = Callable[..., Sandbox]
ApiFactory = Callable[..., httpx.Client]

DS = "/core/v1/namespace/default/dataset/"
HTTP = httpx.Client(verify=False, timeout=10)


def _exchange(sandbox: Sandbox, bearer: str) -> httpx.Response:
    return HTTP.post(f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {bearer}"})


def _forge(sandbox: Sandbox, **overrides: object) -> str:
    """A token signed with the sandbox's own key and kid, with some claims changed or removed (None)."""
    kid = jwt.get_unverified_header(_exchange(sandbox, sandbox.admin_pat).json()["id_token"])["kid"]
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": f"{sandbox.url}/auth/v1",
        "aud": "HossServer",
        "sub": "x",
        "iat": now,
        "exp": now + 3600,
        "nickname": "admin",
        "role": "admin",
        "groups": "admin-hoss-default-group,admin",
        "email": "admin@sandbox.invalid",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, sandbox._secret, algorithm="HS256", headers={"kid": kid})


# 1 and 2: dataset create --------------------------------------------------------------------------


def test_dataset_create_by_role_user_is_401(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    """server/core/pkg/api/dataset.go CreateDataset, lines 55-58: validatePrivileged (api/util.go
    lines 64-66, privileged, admin or service) fails -> HandleError(ErrUnauthorized) -> 401 JSON."""
    sandbox = sandbox_factory()
    response = sandbox_api(sandbox, "user").post(DS, json={"name": "mine", "description": "d"})
    assert (response.status_code, response.json()) == (401, {"error": "User is unauthorized"})
    assert sandbox.datasets("default") == []
    created = sandbox_api(sandbox).post(DS, json={"name": "mine", "description": "d"})
    assert created.status_code == 201


@pytest.mark.parametrize("role", ["admin", "user"])
@pytest.mark.parametrize(
    "body",
    [{"name": "x"}, {"name": "x", "description": None}, {"name": "x", "description": 5}],
    ids=["absent", "null", "not-a-string"],
)
def test_dataset_create_without_description_is_400_before_the_role(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, role: str, body: dict[str, Any]
) -> None:
    """server/core/pkg/api/dataset.go datasetInput, lines 15-20 (``Description *string
    binding:"required"``) and CreateDataset, lines 44-49: c.Bind fails (gin writes 400) and
    HandleError adds the generic body, all before the role check at lines 55-58."""
    sandbox = sandbox_factory()
    response = sandbox_api(sandbox, role).post(DS, json=body)
    assert (response.status_code, response.json()) == (400, {"error": "Unhandled error"})
    assert sandbox.datasets("default") == []


def test_dataset_create_with_empty_description_is_fine(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    """server/core/pkg/api/dataset.go datasetInput, lines 15-20: ``required`` on a *string only
    asks for a non-nil pointer, so "" binds."""
    sandbox = sandbox_factory()
    response = sandbox_api(sandbox).post(DS, json={"name": "x", "description": ""})
    assert response.status_code == 201 and response.json()["description"] == ""


# 3: odd tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [{"aud": ["HossServer"]}, {"aud": None}, {"iss": None}],
    ids=["aud-list", "no-aud", "no-iss"],
)
def test_core_panics_on_claims_that_are_not_strings(
    sandbox_factory: SandboxFactory, claims: dict[str, Any]
) -> None:
    """server/core/main.go AuthorizeJWT, lines 270 and 277: ``userClaims["iss"].(string)`` and
    ``userClaims["aud"].(string)`` panic on a missing or non-string claim; gin's Recovery
    (gin.Default, line 41) answers 500 with an empty body."""
    sandbox = sandbox_factory()
    token = _forge(sandbox, **claims)
    response = HTTP.get(f"{sandbox.core_url}/namespace/", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.content) == (500, b"")


def test_core_checks_iss_before_aud(sandbox_factory: SandboxFactory) -> None:
    """server/core/main.go AuthorizeJWT, lines 270-282: a wrong issuer is a 401 before the
    audience is even read, so a list ``aud`` does not panic then."""
    sandbox = sandbox_factory()
    token = _forge(sandbox, iss="http://elsewhere/auth/v1", aud=["HossServer"])
    response = HTTP.get(f"{sandbox.core_url}/namespace/", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.content) == (401, b"")


# 4: paging that overflows -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/core/v1/namespace/", "/core/v1/object_store/"],
)
@pytest.mark.parametrize(
    "query", ["?limit=99999999999999999999", "?offset=99999999999999999999", "?limit=9223372036854775808"]
)
def test_paging_beyond_int64_is_the_json_500(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, path: str, query: str
) -> None:
    """server/core/pkg/api/namespace.go ListNamespaces, lines 172-182: strconv.Atoi fails with
    ErrRange, and HandleError (api/errors.go lines 17-31) writes 500 {"error":"Unhandled error"}."""
    response = sandbox_api(sandbox_factory()).get(path + query)
    assert (response.status_code, response.json()) == (500, {"error": "Unhandled error"})


def test_paging_at_int64_max_is_accepted(sandbox_factory: SandboxFactory, sandbox_api: ApiFactory) -> None:
    """namespace.go ListNamespaces, lines 172-190: 2**63-1 passes Atoi and is a valid LIMIT."""
    response = sandbox_api(sandbox_factory()).get("/core/v1/namespace/?limit=9223372036854775807")
    assert response.status_code == 200 and [n["name"] for n in response.json()] == ["default"]


# 5: a JWT as the bearer of the PAT exchange ------------------------------------------------------


def test_pat_exchange_accepts_a_jwt(sandbox_factory: SandboxFactory) -> None:
    """server/auth/main.go AuthorizationMiddleware, lines 135-164: a bearer without the ``hp_``
    or ``hsvc_`` prefix is checked as a JWT (authorizeJWT, lines 171-200), and
    server/auth/pkg/api/handler.go PATforJWT, lines 98-117, mints tokens for whoever passed."""
    sandbox = sandbox_factory()
    for pat, nickname in ((sandbox.admin_pat, "admin"), (sandbox.user_pat, "user")):
        first = _exchange(sandbox, pat).json()["id_token"]
        response = _exchange(sandbox, first)
        assert response.status_code == 201
        assert set(response.json()) == {"access_token", "refresh_token", "id_token"}
        claims = jwt.decode(response.json()["id_token"], options={"verify_signature": False})
        assert claims["nickname"] == nickname
        again = HTTP.get(
            f"{sandbox.core_url}/namespace/",
            headers={"Authorization": f"Bearer {response.json()['id_token']}"},
        )
        assert again.status_code == 200


@pytest.mark.parametrize(
    ("claims", "status", "body"),
    [
        ({"exp": 1, "iat": 0}, 401, {"error": "Unauthorized"}),
        ({"iss": "http://elsewhere/auth/v1"}, 401, {"error": "Unauthorized"}),
        ({"aud": "hoss"}, 401, {"error": "Unauthorized"}),
        ({"email": None}, 401, {"error": "Unauthorized"}),
        ({"aud": ["HossServer"]}, 500, None),
        ({"iss": None}, 500, None),
    ],
    ids=["expired", "wrong-iss", "wrong-aud", "no-email", "aud-list", "no-iss"],
)
def test_pat_exchange_rejects_bad_jwts(
    sandbox_factory: SandboxFactory, claims: dict[str, Any], status: int, body: dict[str, str] | None
) -> None:
    """server/auth/main.go authorizeJWT, lines 171-200: an invalid token or a failed iss/aud check
    is 401 {"error":"Unauthorized"} (lines 156-160); the ``.(string)`` assertions at lines 179 and
    185 panic on a missing iss or a list aud, and gin.Recovery (line 32) answers a bare 500;
    userinfo.ParseUserClaims refuses a user token with no email (userinfo.go lines 59-64)."""
    sandbox = sandbox_factory()
    response = _exchange(sandbox, _forge(sandbox, **claims))
    assert response.status_code == status
    if body is None:
        assert response.content == b""
    else:
        assert response.json() == body


def test_pat_exchange_garbage_and_service_secret_are_401(sandbox_factory: SandboxFactory) -> None:
    """server/auth/main.go AuthorizationMiddleware, lines 145-160: ``hsvc_`` is compared with
    SERVICE_AUTH_SECRET (``hsvc_secret`` is not the sandbox's), anything else must parse as a JWT."""
    sandbox = sandbox_factory()
    for bearer in ("hsvc_secret", "not.a.jwt", "hp_" + "z" * 30):
        response = _exchange(sandbox, bearer)
        assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


# 6: dataset sync policies -------------------------------------------------------------------------

YAML_POLICY = """\
Version: "1"
Effect: OR
Statements:
  - Id: only-csv
    Conditions:
      - Left: object:key
        Operator: "=="
        Right: "*.csv"
      - Left: object:size
        Operator: "<"
        Right: 1000
"""


@pytest.mark.parametrize(
    "policy",
    [
        YAML_POLICY,
        "Version: 1\nStatements: []\n",  # ghodss/yaml turns the number into the string "1"
        '{"version":"1","statements":[]}',  # encoding/json matches field names case-insensitively
        '{"Version":"1","Statements":[],"Unknown":true}',
        '{"Version":"1","Statements":[{"Id":"x"}]}',
        '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:metadata","Operator":"has","Right":"k"}]}]}',
    ],
    ids=["yaml", "yaml-number-version", "lowercase-keys", "unknown-key", "empty-statement", "has"],
)
def test_dataset_sync_policy_accepts_yaml_and_json(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, policy: str
) -> None:
    """server/core/pkg/api/sync.go EnableSyncDataset, lines 550-559, calls policy.Parse
    (server/libs/hoss-service/policy/utils.go lines 32-39): ghodss/yaml.Unmarshal, so YAML and
    JSON both parse; the document is stored as given (line 601)."""
    sandbox = sandbox_factory()
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    response = api.put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": policy})
    assert (response.status_code, response.content) == (204, b"")
    assert api.get(DS + "ds").json()["sync_policy"] == policy


@pytest.mark.parametrize(
    ("policy", "detail"),
    [
        ("{}", "unsupported Policy Version value ''"),
        ('{"Version":"2","Statements":[]}', "unsupported Policy Version value '2'"),
        ("Version: '1'\nEffect: XOR\n", "unsupported Effect value 'XOR'"),
        ('{"Version":"1","Statements":[{"Effect":"NAND"}]}', "unsupported Effect value 'NAND'"),
        ('{"Version":"1","Statements":[{"Conditions":[{}]}]}', "left value is required: "),
        (
            '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:owner","Right":"x"}]}]}',
            "invalid Left value: object:owner",
        ),
        (
            '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:key","Operator":"=="}]}]}',
            "Right operand is required",
        ),
        (
            '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:size","Right":"big"}]}]}',
            "Left operand expects a numeric Right operand",
        ),
        (
            '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:key","Right":3}]}]}',
            "Left operand expects a string Right operand",
        ),
        (
            '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:key","Right":"a","Operator":"<"}]}]}',
            'cannot apply operator "<" to string values',
        ),
        (
            "[1, 2]",
            "Could not parse policy document: error unmarshaling JSON: json: cannot unmarshal array into "
            "Go value of type policy.Policy",
        ),
    ],
)
def test_dataset_sync_policy_errors(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, policy: str, detail: str
) -> None:
    """server/core/pkg/api/sync.go EnableSyncDataset, lines 555-559: any policy.Parse error is
    400 {"error":"problem parsing sync_policy document: <err>"}. The errors come from
    policy/policy.go Policy.Parse (lines 15-39: Version must be "1", Effect AND/OR),
    statement.go Statement.Parse (lines 13-33) and condition.go (lines 29-161, 204-226)."""
    sandbox = sandbox_factory()
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    response = api.put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": policy})
    assert response.status_code == 400
    assert response.json() == {"error": f"problem parsing sync_policy document: {detail}"}
    assert api.get(DS + "ds/sync").content == b"false"


def test_dataset_sync_policy_yaml_syntax_error(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    """policy/utils.go Parse, lines 33-36: a YAML syntax error is wrapped as "Could not parse policy
    document: error converting YAML to JSON: yaml: ..." (the go-yaml detail is approximated)."""
    sandbox = sandbox_factory()
    sandbox.seed_dataset("default", "ds")
    response = sandbox_api(sandbox).put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": "{nope"})
    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "problem parsing sync_policy document: Could not parse policy document: "
        "error converting YAML to JSON: yaml: "
    )


@pytest.mark.parametrize("policy", ["null", "~", " "])
def test_dataset_sync_null_policy_panics(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory, policy: str
) -> None:
    """policy/utils.go Parse, lines 33-38: a YAML null decodes into the **Policy as a nil pointer
    and ``policyObj.Parse()`` (policy.go line 16) dereferences it: a panic, so gin answers a bare
    500. Only an exactly empty policy gets the default (sync.go lines 551-553)."""
    sandbox = sandbox_factory()
    sandbox.seed_dataset("default", "ds")
    response = sandbox_api(sandbox).put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": policy})
    assert (response.status_code, response.content) == (500, b"")


def test_dataset_sync_policy_is_checked_before_the_dataset(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    """sync.go EnableSyncDataset: the policy (lines 555-559) is parsed before the namespace and
    dataset lookups (lines 561-573), so a bad policy on a missing dataset is 400, not 404."""
    api = sandbox_api(sandbox_factory())
    response = api.put(DS + "missing/sync", json={"sync_type": "simplex", "sync_policy": "{}"})
    assert response.status_code == 400


# 7: the dataset delete worker ---------------------------------------------------------------------


def _names(api: httpx.Client) -> list[str]:
    return [d["name"] for d in api.get(DS).json()]


def _wait_until_gone(api: httpx.Client, name: str, limit_s: float) -> float:
    start = time.monotonic()
    while name in _names(api):
        assert time.monotonic() - start < limit_s, f"{name} still listed after {limit_s} s"
        time.sleep(0.05)
    return time.monotonic() - start


def test_deleted_dataset_is_removed_after_the_delay(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    """server/core/pkg/worker/worker.go DeleteDatasetWorker, lines 35-146: SCHEDULED rows whose
    delete_on (dataset.go DeleteDataset, line 226: now + dataset_delete_delay_minutes) has passed
    are deleted (line 135), the row and its permissions with it."""
    sandbox = sandbox_factory(delete_delay=0.6)
    sandbox.seed_dataset("default", "old")
    sandbox.seed_dataset("default", "kept")
    api = sandbox_api(sandbox)
    api.put("/core/v1/user/sync")
    assert api.delete(DS + "old").status_code == 204
    assert api.get(DS + "old").json()["delete_status"] == "SCHEDULED"
    waited = _wait_until_gone(api, "old", 10)
    assert waited > 0.3
    assert _names(api) == ["kept"]
    assert api.get(DS + "old").status_code == 404
    # the name is free again
    assert api.post(DS, json={"name": "old", "description": ""}).status_code == 201


def test_default_delete_delay_is_two_seconds(sandbox_factory: SandboxFactory) -> None:
    """server/core/config.yaml: dataset_delete_delay_minutes 0, dataset_delete_period_seconds 2
    (configuration.go lines 64-65): a deleted dataset is gone within about 2 s."""
    sandbox = sandbox_factory()
    assert sandbox.delete_delay == 2.0
    discover = HTTP.get(f"{sandbox.core_url}/discover").json()
    assert discover["delete_delay_minutes"] == 0


def test_errored_deletes_are_retried_after_a_restart(tmp_path: Path, sandbox_factory: SandboxFactory) -> None:
    """worker.go DeleteDatasetWorker, lines 18-33: at start-up, ERROR rows are set back to
    SCHEDULED with a delay of 0, and so deleted at once. While running, ERROR rows stay."""
    data = str(tmp_path / "state.sqlite")
    first = sandbox_factory(data=data, delete_delay=0)
    first.seed_dataset("default", "broken", delete_status="ERROR")
    first.seed_dataset("default", "busy", delete_status="IN_PROGRESS")
    time.sleep(0.3)
    assert [d["delete_status"] for d in first.datasets("default")] == ["ERROR", "IN_PROGRESS"]
    first.stop()
    second = sandbox_factory(data=data, delete_delay=3600)
    deadline = time.monotonic() + 5
    while [d["name"] for d in second.datasets("default")] != ["busy"]:
        assert time.monotonic() < deadline, second.datasets("default")
        time.sleep(0.05)


def test_sandbox_stop_ends_the_delete_worker(sandbox_factory: SandboxFactory) -> None:
    """The worker is a thread of the sandbox, like the goroutine of main.go lines 170-174: stop()
    ends it."""
    sandbox = sandbox_factory(delete_delay=0.1)
    sandbox.seed_dataset("default", "ds", delete_status="SCHEDULED")
    worker = sandbox._delete_worker
    assert worker is not None and worker._thread.is_alive()
    started = time.monotonic()
    sandbox.stop()
    assert not worker._thread.is_alive()
    assert time.monotonic() - started < 1.0


def test_cli_delete_delay_option(tmp_path: Path) -> None:
    """``hossctl sandbox --delete-delay SECONDS`` (worker.go lines 48-141 with the delay of
    dataset.go line 226)."""
    started = start_sandbox("--delete-delay", "0.5")
    process, url, admin = started.process, started.url, started.admin_pat
    try:
        token = HTTP.post(f"{url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {admin}"})
        api = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token.json()['id_token']}"}, timeout=10
        )
        assert api.post(DS, json={"name": "tmp", "description": ""}).status_code == 201
        assert api.delete(DS + "tmp").status_code == 204
        assert api.get(DS + "tmp").json()["delete_status"] == "SCHEDULED"
        _wait_until_gone(api, "tmp", 10)
        api.close()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in err


def test_cli_rejects_a_negative_delete_delay() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--delete-delay", "-1"])
    assert result.exit_code != 0 and "Invalid value for '--delete-delay'" in result.output


# 8: an object store without a sync queue ----------------------------------------------------------


def test_no_queue_store_makes_sync_changes_500(
    sandbox_factory: SandboxFactory, sandbox_api: ApiFactory
) -> None:
    """server/core/pkg/api/sync.go EnableSyncNamespace, lines 333-347, and EnableSyncDataset, lines
    584-598: the namespace's object store has no entry in the API sync exchanges
    (server/core/pkg/sync/sync.go LoadApiSyncExchange, lines 23-47, keyed by the ``queues:``
    entries' object_store) -> errors.New("no API sync exchange defined for the namespace") ->
    HandleError -> 500 {"error":"Unhandled error"}; nothing is stored."""
    sandbox = sandbox_factory(object_stores=("default:no-queue", "cold"), delete_delay=3600)
    assert sandbox.object_stores == ("default", "cold")
    sandbox.seed_namespace("archive", object_store="cold")
    sandbox.seed_dataset("default", "ds")
    api = sandbox_api(sandbox)
    body = {"target_core_service": "http://peer/core/v1", "sync_type": "simplex"}
    response = api.put("/core/v1/namespace/default/sync", json=body)
    assert (response.status_code, response.json()) == (500, {"error": "Unhandled error"})
    assert sandbox.sync_targets("default") == []
    response = api.put(DS + "ds/sync", json={"sync_type": "simplex"})
    assert (response.status_code, response.json()) == (500, {"error": "Unhandled error"})
    assert api.get(DS + "ds/sync").content == b"false"
    # the order before it still holds: unknown namespace 404, bad body 400, bad policy 400
    assert api.put("/core/v1/namespace/nope/sync", json=body).status_code == 404
    assert api.put("/core/v1/namespace/default/sync", json={}).status_code == 400
    bad_policy = api.put(DS + "ds/sync", json={"sync_type": "simplex", "sync_policy": "{}"})
    assert bad_policy.status_code == 400
    # reads and deletes do not need the queue, and a store with one still works
    assert api.get("/core/v1/namespace/default/sync").json() == []
    assert api.request("DELETE", "/core/v1/namespace/default/sync", json=body).status_code == 204
    assert api.put("/core/v1/namespace/archive/sync", json=body).status_code == 204


def test_cli_object_store_no_queue(tmp_path: Path) -> None:
    """``hossctl sandbox --object-store default:no-queue`` (sync.go lines 333-347)."""
    started = start_sandbox("--object-store", "default:no-queue")
    process, url, admin = started.process, started.url, started.admin_pat
    try:
        token = HTTP.post(f"{url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {admin}"})
        headers = {"Authorization": f"Bearer {token.json()['id_token']}"}
        stores = HTTP.get(f"{url}/core/v1/object_store/", headers=headers).json()
        assert [s["name"] for s in stores] == ["default"]
        body = {"target_core_service": "http://peer/core/v1", "sync_type": "simplex"}
        response = HTTP.put(f"{url}/core/v1/namespace/default/sync", json=body, headers=headers)
        assert response.status_code == 500
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in err


def test_apply_against_a_store_without_queue_fails_in_one_sentence(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """hossctl plan/apply against a server whose object store has no sync queue: plan only reads
    and succeeds; apply's ``PUT /namespace/{ns}/sync`` gets the 500 of sync.go EnableSyncNamespace,
    lines 333-347, and hossctl reports it as one sentence naming the server and the cause."""
    lab = sandbox_factory(object_stores=("default:no-queue",))
    cloud = sandbox_factory()
    monkeypatch.setenv("LAB_PAT", lab.admin_pat)
    monkeypatch.setenv("CLOUD_PAT", cloud.admin_pat)
    monkeypatch.delenv("HOSS_JWT", raising=False)
    monkeypatch.delenv("HOSS_PAT", raising=False)
    lab.seed_namespace("raw", description="Raw", bucket="raw")
    cloud.seed_namespace("raw", description="Raw", bucket="raw")
    doc = {
        "version": 1,
        "servers": {
            "lab": {
                "url": lab.url,
                "pat_env": "LAB_PAT",
                "namespaces": {
                    "raw": {
                        "description": "Raw",
                        "object_store": "default",
                        "bucket": "raw",
                        "sync": [{"target": "cloud", "type": "simplex"}],
                    }
                },
            },
            "cloud": {
                "url": cloud.url,
                "pat_env": "CLOUD_PAT",
                "namespaces": {"raw": {"description": "Raw", "object_store": "default", "bucket": "raw"}},
            },
        },
    }
    config = tmp_path / "hoss.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    plan = CliRunner().invoke(cli, ["plan", "-f", str(config), "--json"])
    assert "Traceback" not in plan.output, plan.output
    [change] = json.loads(plan.stdout)["changes"]
    assert change["action"] == "enable_sync" and change["server"] == "lab"

    result = CliRunner().invoke(cli, ["apply", "-f", str(config), "--auto-approve"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    sentence = (
        f"server 'lab' answered 500 Unhandled error to PUT {lab.core_url}/namespace/raw/sync: the server "
        "could not change sync, most likely because this namespace's object store has no sync queue "
        "(add a `queues:` entry for it to core's config; see the server's logs)"
    )
    # the progress line and the failure summary both carry the same one sentence, whole
    reports = [line for line in result.output.splitlines() if "server 'lab'" in line]
    assert len(reports) == 2, result.output
    assert all(line.endswith(f": {sentence}") and line.count("server 'lab'") == 1 for line in reports)
    assert lab.sync_targets("raw") == []


def test_every_token_of_the_exchange_is_a_jwt_and_the_refresh_token_lives_a_day(
    sandbox_factory: SandboxFactory,
) -> None:
    """server/auth/pkg/api/tokens.go ``CreateGigantumTokens``, lines 70-126: access and refresh
    tokens are RS256 JWTs too; the refresh token adds ``nickname`` and ``scopes`` and expires after
    ``token_expiration_hours.refresh`` (24 in server/auth/config.yaml). docs/hoss-server.md §2.1."""
    sandbox = sandbox_factory()
    answer = httpx.post(
        f"{sandbox.url}/auth/v1/pat/exchange/jwt", headers={"Authorization": f"Bearer {sandbox.admin_pat}"}
    )
    assert answer.status_code == 201
    unverified = {"verify_signature": False}
    tokens = {name: jwt.decode(value, options=unverified) for name, value in answer.json().items()}
    refresh = tokens["refresh_token"]
    assert {refresh["iss"], refresh["aud"], refresh["sub"]} == {
        tokens["id_token"]["iss"], tokens["id_token"]["aud"], tokens["id_token"]["sub"]
    }
    assert refresh["nickname"] == "admin" and refresh["scopes"] == "openid,profile,email,hoss"
    assert refresh["exp"] - refresh["iat"] == 24 * 3600
    assert "role" not in tokens["access_token"] and "nickname" not in tokens["access_token"]


def test_a_service_accounts_id_token_claims_service_and_nothing_personal() -> None:
    """tokens.go lines 158-163: a service token's id_token has ``role: service``, ``service: true``,
    ``nickname`` = ``sub``, ``groups`` "" and no profile or email claims; handler.go SATforJWT (lines
    216-221) mints it for ``Subject: "HOSS-Service"`` (docs/hoss-server.md §2.2)."""
    from hossctl.sandbox.tokens import SERVICE_ACCOUNT, TokenIssuer

    issued = TokenIssuer("s" * 64, "http://127.0.0.1:1/auth/v1").exchange(SERVICE_ACCOUNT)
    claims = jwt.decode(issued["id_token"], options={"verify_signature": False})
    assert (claims["role"], claims["service"], claims["groups"]) == ("service", True, "")
    assert claims["nickname"] == claims["sub"] == "HOSS-Service"
    assert not {"email", "email_verified", "name", "given_name", "family_name"} & set(claims)


def _signed(issuer: Any, **times: int) -> str:
    claims: dict[str, object] = {
        "iss": issuer.issuer, "aud": "HossServer", "sub": "s", "nickname": "admin", "role": "admin",
        "groups": "admin", "email": "a@sandbox.invalid", **times,
    }  # fmt: skip
    return str(jwt.encode(claims, "s" * 64, algorithm="HS256", headers={"kid": issuer.kid}))


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox remembers tokens that passed its checks (they are half its CPU per request);
    a remembered token is refused the moment it expires, exactly as one checked afresh."""
    from hossctl.sandbox import tokens

    issuer = tokens.TokenIssuer("s" * 64, "http://127.0.0.1:1/auth/v1")
    now = 1_900_000_000
    monkeypatch.setattr(tokens.time, "time", lambda: now + 0.5)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(now + 0.5))
    token = _signed(issuer, iat=now, exp=now + 10)
    bearer = f"Bearer {token}"
    assert issuer.verify(bearer).username == "admin"
    assert issuer.verify(bearer).username == "admin"  # remembered
    for later in (now + 10, now + 11):  # exp <= now is expired, as PyJWT has it
        monkeypatch.setattr(tokens.time, "time", lambda later=later: later)
        monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later))
        with pytest.raises(tokens.Rejected) as refused:
            issuer.verify(bearer)
        assert refused.value.status == 401


def test_a_token_not_yet_valid_is_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from hossctl.sandbox import tokens

    issuer = tokens.TokenIssuer("s" * 64, "http://127.0.0.1:1/auth/v1")
    now = 1_900_000_000
    monkeypatch.setattr(tokens.time, "time", lambda: now)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(now))
    early = f"Bearer {_signed(issuer, iat=now, nbf=now + 60, exp=now + 600)}"
    for _ in range(2):  # a refusal is never remembered as anything else
        with pytest.raises(tokens.Rejected):
            issuer.verify(early)
    monkeypatch.setattr(tokens.time, "time", lambda: now + 60)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(now + 60))
    assert issuer.verify(early).username == "admin"  # nbf <= now: valid from then on


class _FrozenDatetime:
    """Stands in for the ``datetime`` class PyJWT reads its clock from."""

    def __init__(self, timestamp: float) -> None:
        self._timestamp = timestamp

    def now(self, tz: Any = None) -> Any:
        import datetime as real

        return real.datetime.fromtimestamp(self._timestamp, tz=tz)

    def __getattr__(self, name: str) -> Any:
        import datetime as real

        return getattr(real.datetime, name)
