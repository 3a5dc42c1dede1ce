"""``GET /core/v1/configuration/sync`` as the real core serves it to the sync service.

Follows server/core/pkg/api/sync.go ``GetSyncConfiguration`` (lines 192-264), database.go
``GetSyncConfigurations``/``GetSyncEnabledPolicies`` (lines 312-344) and the triggers of
migrations/0001_initial.go (lines 128-196) and 0003_sync_policy.go (lines 28-36): service
accounts only, every sync row with its namespace's sync-enabled dataset policies by root
directory, ``Last-Modified`` in RFC 1123, and 304 only when ``If-Modified-Since`` is after the
last change (docs/hoss-server.md §7.5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from hossctl.sandbox import Sandbox

PATH = "/core/v1/configuration/sync"


def _exchange(sb: Sandbox, kind: str, secret: str) -> str:
    url = f"{sb.url}/auth/v1/{kind}/exchange/jwt"
    answer = httpx.post(url, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["id_token"]
    return token


def service_token(sb: Sandbox) -> str:
    return _exchange(sb, "sat", sb.service_secret)


def admin_token(sb: Sandbox) -> str:
    return _exchange(sb, "pat", sb.admin_pat)


def get(sb: Sandbox, token: str, since: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if since is not None:
        headers["If-Modified-Since"] = since
    return httpx.get(f"{sb.url}{PATH}", headers=headers)


def test_only_a_service_account_may_read_it(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory()
    refused = get(sb, admin_token(sb))
    assert (refused.status_code, refused.json()) == (401, {"error": "User is unauthorized"})


def test_every_row_with_the_policies_of_its_sync_enabled_datasets(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory()
    sb.seed_namespace("raw", bucket="raw")
    sb.seed_namespace("quiet", bucket="quiet")
    sb.seed_sync("raw", "https://cloud.example.org/core/v1", "raw", "duplex")
    sb.seed_sync("quiet", "https://cloud.example.org/core/v1", "q", "simplex")
    sb.seed_dataset("raw", "on", sync_enabled=True, sync_type="duplex")
    sb.seed_dataset("raw", "off")
    answer = get(sb, service_token(sb))
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "sync_type": "duplex",
            "source_core_service": sb.core_url,
            "source_namespace": "raw",
            "source_policies": {"on/": '{"Version":"1","Statements":[]}'},
            "target_core_service": "https://cloud.example.org/core/v1",
            "target_namespace": "raw",
        },
        {
            "sync_type": "simplex",
            "source_core_service": sb.core_url,
            "source_namespace": "quiet",
            "source_policies": {},
            "target_core_service": "https://cloud.example.org/core/v1",
            "target_namespace": "q",
        },
    ]
    modified = answer.headers["Last-Modified"]
    assert modified.endswith(" UTC") and parsedate_to_datetime(modified.replace(" UTC", " GMT"))


def test_if_modified_since_is_compared_as_the_real_server_compares_it(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory()
    sb.seed_namespace("raw", bucket="raw")
    token = service_token(sb)
    first = get(sb, token)
    stamp = first.headers["Last-Modified"]
    # The stamp is truncated to the second and is not *after* the change: a 200 again.
    assert get(sb, token, stamp).status_code == 200
    future = "Mon, 01 Jan 2100 00:00:00 UTC"
    unchanged = get(sb, token, future)
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["Last-Modified"] == stamp
    time.sleep(1.1)  # a change in a later second than the stamp
    sb.seed_sync("raw", "https://cloud.example.org/core/v1", "raw", "simplex")
    later = get(sb, token)
    assert later.headers["Last-Modified"] != stamp and len(later.json()) == 1
    garbled = get(sb, token, "yesterday")
    assert (garbled.status_code, garbled.json()) == (500, {"error": "Unhandled error"})


def test_a_dataset_sync_change_moves_the_stamp_and_an_unrelated_write_does_not(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory()
    sb.seed_namespace("raw", bucket="raw")
    sb.seed_dataset("raw", "d1")
    token = service_token(sb)
    before = get(sb, token).headers["Last-Modified"]
    time.sleep(1.1)
    sb.seed_namespace("other", bucket="other")  # no sync row, no dataset sync: no trigger
    assert get(sb, token).headers["Last-Modified"] == before
    admin = {"Authorization": f"Bearer {admin_token(sb)}"}
    enabled = httpx.put(
        f"{sb.url}/core/v1/namespace/raw/dataset/d1/sync", json={"sync_type": "simplex"}, headers=admin
    )
    assert enabled.status_code == 204
    assert get(sb, token).headers["Last-Modified"] != before
