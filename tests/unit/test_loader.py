"""The config language: every rule of issue #3 with its message and its position."""

from __future__ import annotations

import errno
import gc
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hossctl.cli import cli
from hossctl.config.loader import ConfigError, load_config
from hossctl.plan.model import Config, Diagnostic

PAT = "hp_" + "A1b2C3d4E5" * 3
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
SECRETS = (PAT, JWT, "hsvc_supersecret123")

VALID = """\
version: 1
servers:
  onprem:
    url: https://hoss.example.org/
    pat_env: ONPREM_PAT
    namespaces:
      default:
        description: Default namespace
        object_store: default
        bucket: data
        protect: true
        sync:
          - target: cloud
            type: duplex
      scratch:
        ensure: absent
  cloud:
    url: HTTPS://Cloud.Example.org:443
    namespaces:
      default:
        description: Default namespace
        object_store: default
        bucket: data
        sync:
          - target: onprem
            type: duplex
"""


def ns(body: str, name: str = "alpha", extra: str = "") -> str:
    """A one-server config with one namespace whose body is ``body`` (namespace at line 5, body from 6)."""
    indented = textwrap.indent(textwrap.dedent(body), " " * 8)
    return (
        "version: 1\nservers:\n  lab:\n    url: https://lab.example.org\n"
        f"    namespaces:\n      {name}:\n{indented}{extra}"
    )


BASIC = "description: d\nobject_store: default\nbucket: b\n"


def write(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")


def errors_of(
    tmp_path: Path,
    files: dict[str, str | bytes],
    env: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> tuple[Diagnostic, ...]:
    write(tmp_path, files)
    with pytest.raises(ConfigError) as caught:
        load_config([str(tmp_path / p) for p in (paths or list(files))], env=env or {})
    return caught.value.diagnostics


def located(diagnostics: tuple[Diagnostic, ...], tmp_path: Path) -> list[tuple[str, str, str]]:
    """(severity, 'file:line:col' relative to tmp_path, message)."""
    out: list[tuple[str, str, str]] = []
    for d in diagnostics:
        where = ""
        if d.position:
            where = f"{Path(d.position.file).relative_to(tmp_path)}:{d.position.line}:{d.position.column}"
        out.append((d.severity, where, d.message))
    return out


# (id, yaml text or bytes, env, [(line:col, message substring), ...]) - the errors expected, all of them.
ERROR_CASES: list[tuple[str, str | bytes, dict[str, str], list[tuple[str, str]]]] = [
    # --- YAML ---------------------------------------------------------------------------------------
    ("yaml-syntax", "version: 1\nservers: [a, b\n", {}, [("3:1", "YAML syntax error")]),
    ("yaml-tab-indent", "version: 1\nservers:\n\tlab: {}\n", {}, [("3:1", "YAML syntax error")]),
    (
        "duplicate-key",
        ns(BASIC + "bucket: c\n"),
        {},
        [("10:9", "duplicate key 'bucket': it is already defined at line 9, column 9")],
    ),
    (
        "duplicate-namespace-key",
        ns(BASIC, extra="      alpha:\n        ensure: absent\n"),
        {},
        [("10:7", "duplicate key 'alpha': it is already defined at line 6, column 7")],
    ),
    ("empty-file", "", {}, [("1:1", "file is empty")]),
    ("comments-only", "# nothing yet\n\n", {}, [("1:1", "file is empty")]),
    ("top-level-list", "- version: 1\n", {}, [("1:1", "the top level must be a mapping")]),
    ("top-level-scalar", "hello\n", {}, [("1:1", "not the scalar 'hello'")]),
    ("non-utf8", b"version: 1\nservers: {}\n# caf\xe9\n", {}, [("3:6", "not valid UTF-8 (byte 0xe9)")]),
    ("utf16", "version: 1\n".encode("utf-16"), {}, [("1:1", "encoded as UTF-16")]),
    (
        "python-tag",
        "version: 1\nservers: !!python/object/apply:os.system [ls]\n",
        {},
        [("2:10", "unsupported YAML tag '!!python/object/apply:os.system'")],
    ),
    (
        "python-tag-scalar",
        ns("description: !!python/name:os.system x\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "unsupported YAML tag '!!python/name:os.system'")],
    ),
    (
        "custom-tag",
        ns("description: !secret x\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "unsupported YAML tag '!secret'")],
    ),
    (
        "bad-explicit-int",
        "version: !!int one\nservers: {}\n",
        {},
        [("1:10", "'one' is not a valid !!int value")],
    ),
    ("two-documents", "version: 1\nservers: {}\n---\nversion: 1\n", {}, [("3:1", "holds one YAML document")]),
    ("control-char", "version: 1\nservers: {}\n# \x07\n", {}, [("3:3", "control character U+0007")]),
    ("undefined-alias", "version: 1\nservers: *nowhere\n", {}, [("2:10", "alias *nowhere is used before")]),
    (
        "recursive-alias",
        "version: 1\nservers: &s {a: *s}\n",
        {},
        [("2:17", "alias *s refers to the node that contains it")],
    ),
    (
        "billion-laughs",
        "version: 1\nservers: {}\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True)
        ),
        {},
        [("7:36", "aliases expand this document to more than 100,000 extra nodes")],
    ),
    (
        "deep-nesting",
        "version: 1\nservers: " + "[" * 150 + "]" * 150 + "\n",
        {},
        [("2:109", "nesting is deeper than 100 levels")],
    ),
    (
        "deep-via-aliases",
        "version: 1\nservers: {}\na: &a " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 60 + "*a" + "]" * 60 + "\n",
        {},
        [("4:64", "nesting (with aliases expanded) is deeper than 100")],
    ),
    (
        "complex-key",
        "version: 1\nservers:\n  ? [a]\n  : {}\n",
        {},
        [("3:5", "a mapping key must be plain text")],
    ),
    # --- schema: structure --------------------------------------------------------------------------
    ("missing-version", "servers: {}\n", {}, [("1:1", "the top level is missing 'version'")]),
    ("missing-servers", "version: 1\n", {}, [("1:1", "the top level is missing 'servers'")]),
    ("wrong-version", "version: 2\nservers: {}\n", {}, [("1:10", "'version' must be 1, not 2")]),
    (
        "unknown-top-key",
        "version: 1\nserver: {}\n",
        {},
        [
            ("1:1", "is missing 'servers'"),
            ("2:1", "unknown key 'server' in the top level; did you mean 'servers'?"),
        ],
    ),
    (
        "servers-null",
        "version: 1\nservers:\n",
        {},
        [("2:9", "'servers' must be a mapping, not empty (write {} for none)")],
    ),
    (
        "server-key-invalid",
        "version: 1\nservers:\n  On-Prem:\n    url: https://a.example.org\n",
        {},
        [("3:3", "server key 'On-Prem' is not valid")],
    ),
    (
        "unknown-server-key",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    prun: true\n",
        {},
        [
            (
                "5:5",
                "unknown key 'prun' in server 'lab'; did you mean 'prune'? "
                "(allowed: allow_insecure_http, auth_url, delete_threshold, namespaces, pat_env, prune, "
                "service_secret_env, url)",
            )
        ],
    ),
    (
        "server-token-key",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    token_env: X\n",
        {},
        [
            (
                "5:5",
                "unknown key 'token_env' in server 'lab'; did you mean 'pat_env'? "
                "(allowed: allow_insecure_http, auth_url, delete_threshold, namespaces, pat_env, "
                "prune, service_secret_env, url); tokens never go in the config",
            )
        ],
    ),
    (
        "prune-not-bool",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    prune: maybe\n",
        {},
        [("5:12", "'prune' must be true or false, not 'maybe'")],
    ),
    (
        "delete-threshold-above-100",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    delete_threshold: 150\n",
        {},
        [("5:23", "'delete_threshold' must be a whole number from 0 to 100 (a percent), not 150")],
    ),
    (
        "delete-threshold-negative",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    delete_threshold: -1\n",
        {},
        [("5:23", "'delete_threshold' must be a whole number from 0 to 100 (a percent), not -1")],
    ),
    (
        "delete-threshold-not-a-number",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    delete_threshold: 30%\n",
        {},
        [("5:23", "'delete_threshold' must be a whole number, not '30%'")],
    ),
    (
        "delete-threshold-fraction",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    delete_threshold: 2.5\n",
        {},
        [("5:23", "'delete_threshold' must be a whole number, not 2.5")],
    ),
    (
        "pat-env-invalid",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    pat_env: MY-PAT\n",
        {},
        [("5:14", "'pat_env' must name an environment variable")],
    ),
    (
        "url-not-http",
        "version: 1\nservers:\n  lab:\n    url: ftp://a.example.org\n",
        {},
        [("4:10", "'url' must be an http:// or https:// URL, not 'ftp://a.example.org'")],
    ),
    (
        "namespaces-null",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    namespaces:\n",
        {},
        [("5:16", "must be a mapping, not empty (write {} for none)")],
    ),
    (
        "unknown-namespace-key",
        ns("descripton: d\nobject_store: default\nbucket: b\n"),
        {},
        [
            (
                "6:7",
                "namespace 'alpha' of server 'lab' is missing 'description' (required unless ensure: absent)",
            ),
            (
                "7:9",
                "unknown key 'descripton' in namespace 'alpha' of server 'lab'; did you mean 'description'?",
            ),
        ],
    ),
    (
        "missing-bucket",
        ns("description: d\nobject_store: default\n"),
        {},
        [("6:7", "namespace 'alpha' of server 'lab' is missing 'bucket' (required unless ensure: absent)")],
    ),
    (
        "missing-all-three",
        ns("protect: false\n"),
        {},
        [("6:7", "missing 'description'"), ("6:7", "missing 'object_store'"), ("6:7", "missing 'bucket'")],
    ),
    (
        "empty-description",
        ns("description: ''\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "'description' must not be empty (the server rejects an empty description)")],
    ),
    (
        "blank-description",
        ns("description: '   '\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "'description' must not be empty")],
    ),
    (
        "description-number",
        ns("description: 2024\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "'description' must be a string, not 2024 (put it in quotes: \"2024\")")],
    ),
    (
        "description-yes",
        ns("description: yes\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", 'not yes (put it in quotes: "yes")')],
    ),
    (
        "ensure-enum",
        ns("ensure: absnt\n"),
        {},
        [("7:17", "'ensure' must be present or absent, not 'absnt'; did you mean 'absent'?")],
    ),
    (
        "namespace-not-mapping",
        ns("", extra="") + "",
        {},
        [("6:13", "namespace 'alpha' of server 'lab' must be a mapping, not empty")],
    ),
    (
        "sync-not-list",
        ns(BASIC + "sync: {target: x}\n"),
        {},
        [("10:15", "'sync' must be a list, not a mapping")],
    ),
    (
        "sync-type-enum",
        ns(BASIC + "sync:\n  - target: https://x.example.org\n    type: duplx\n"),
        {},
        [("12:19", "'type' must be simplex or duplex, not 'duplx'; did you mean 'duplex'?")],
    ),
    (
        "sync-missing-type",
        ns(BASIC + "sync:\n  - target: https://x.example.org\n"),
        {},
        [
            (
                "11:13",
                "sync target #1 of namespace 'alpha' of server 'lab' is missing 'type' (simplex or duplex)",
            )
        ],
    ),
    (
        "sync-unknown-key",
        ns(BASIC + "sync:\n  - target: https://x.example.org\n    type: simplex\n    namepsace: x\n"),
        {},
        [
            (
                "13:13",
                "unknown key 'namepsace' in sync target #1 of namespace 'alpha' of server 'lab'; "
                "did you mean 'namespace'? (allowed: namespace, target, type)",
            )
        ],
    ),
    # --- namespace names: one URL path segment -------------------------------------------------------
    *[
        (f"name-{label}", ns(BASIC, name=name), {}, [("6:7", f"namespace name {shown} {reason}")])
        for label, name, shown, reason in [
            ("slash", "a/b", "'a/b'", "contains '/'"),
            ("question", "'a?b'", "'a?b'", "contains '?'"),
            ("hash", "'a#b'", "'a#b'", "contains '#'"),
            ("percent", "a%20b", "'a%20b'", "contains '%'"),
            ("space", "'a b'", "'a b'", "contains whitespace"),
            ("trailing-space", "'ab '", "'ab '", "contains whitespace"),
            ("control", '"a\\x01b"', "'a\x01b'", "contains a control character"),
            ("dot", "'.'", "'.'", "is '.'"),
            ("dotdot", "'..'", "'..'", "is '..'"),
            ("empty", "''", "''", "is empty"),
        ]
    ],
    (
        "target-namespace-invalid",
        ns(BASIC + "sync:\n  - target: https://x.example.org\n    namespace: a/b\n    type: simplex\n"),
        {},
        [("12:24", "target namespace 'a/b' contains '/'")],
    ),
    # --- interpolation --------------------------------------------------------------------------------
    (
        "undefined-variable",
        "version: 1\nservers:\n  lab:\n    url: ${LAB_URL}\n",
        {},
        [("4:10", "environment variable LAB_URL is not set; set it or give a default: ${LAB_URL:-default}")],
    ),
    (
        "undefined-in-description",
        ns("description: 'Data of ${LAB}'\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "environment variable LAB is not set")],
    ),
    (
        "malformed-variable",
        ns("description: 'Data of ${LAB'\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "malformed variable reference")],
    ),
    (
        "variable-bad-value",
        "version: 1\nservers:\n  lab:\n    url: ${LAB_URL}\n",
        {"LAB_URL": "ftp://x"},
        [("4:10", "'url' must be an http:// or https:// URL, not 'ftp://x'")],
    ),
    # --- secrets --------------------------------------------------------------------------------------
    (
        "pat-in-description",
        ns(f"description: Bearer {PAT}\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "this value looks like an access token; tokens never go in config files")],
    ),
    (
        "pat-as-pat-env",
        f"version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    pat_env: {PAT}\n",
        {},
        [("5:14", "pat_env names the environment variable that holds the token, not the token itself")],
    ),
    (
        "jwt-in-url",
        f"version: 1\nservers:\n  lab:\n    url: {JWT}\n",
        {},
        [("4:10", "looks like an access token")],
    ),
    (
        "service-secret",
        ns("description: hsvc_supersecret123\nobject_store: default\nbucket: b\n"),
        {},
        [("7:22", "looks like an access token")],
    ),
    (
        "token-as-key",
        f"version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    {PAT}: x\n",
        {},
        [("5:5", "this key looks like an access token")],
    ),
    (
        "token-via-variable",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    pat_env: ${WHO}\n",
        {"WHO": PAT},
        [("5:14", "pat_env names the environment variable")],
    ),
    (
        "token-in-default",
        "version: 1\nservers:\n  lab:\n    url: ${U:-https://" + JWT + "}\n",
        {},
        [("4:10", "looks like an access token")],
    ),
    (
        "url-with-credentials",
        "version: 1\nservers:\n  lab:\n    url: https://me:pw@a.example.org\n",
        {},
        [("4:10", "'url' of server 'lab' must not contain a user name or password")],
    ),
    # --- semantic rules -------------------------------------------------------------------------------
    (
        "server-without-url",
        "version: 1\nservers:\n  lab:\n    prune: true\n",
        {},
        [("3:3", "server 'lab' has no url")],
    ),
    (
        "url-with-path",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org/hoss\n",
        {},
        [("4:10", "must be the server's base URL without a path")],
    ),
    (
        "url-no-host",
        "version: 1\nservers:\n  lab:\n    url: 'https://'\n",
        {},
        [("4:10", "is not an http(s) URL with a host")],
    ),
    (
        "same-url-twice",
        "version: 1\nservers:\n  a:\n    url: https://x.example.org\n  b:\n"
        "    url: HTTPS://x.example.org:443/\n",
        {},
        [("6:10", "servers 'a' and 'b' have the same URL")],
    ),
    (
        "target-unknown",
        ns(BASIC + "sync:\n  - target: lba\n    type: simplex\n"),
        {},
        [
            (
                "11:21",
                "sync target 'lba' is neither a server of this config (servers: lab) nor an http(s) URL; "
                "did you mean 'lab'?",
            )
        ],
    ),
    (
        "target-bad-url",
        ns(BASIC + "sync:\n  - target: 'https://x.example.org/some/path'\n    type: simplex\n"),
        {},
        [("11:21", "must be the server's base URL or its core URL")],
    ),
    (
        "self-sync-key",
        ns(BASIC + "sync:\n  - target: lab\n    type: simplex\n"),
        {},
        [("11:21", "namespace 'alpha' of server 'lab' syncs to itself")],
    ),
    (
        "self-sync-url",
        ns(
            BASIC + "sync:\n  - target: https://LAB.example.org:443/core/v1/\n    namespace: alpha\n"
            "    type: duplex\n"
        ),
        {},
        [("11:21", "syncs to itself")],
    ),
    (
        "two-targets",
        ns(
            BASIC + "sync:\n  - {target: 'https://x.example.org', type: simplex}\n"
            "  - {target: 'https://y.example.org', type: simplex}\n"
        ),
        {},
        [
            (
                "12:13",
                "namespace 'alpha' declares 2 sync targets; "
                "Hoss documents only one per namespace as supported "
                "(set allow_multiple_sync_targets: true",
            )
        ],
    ),
    (
        "same-target-twice",
        ns(
            BASIC + "allow_multiple_sync_targets: true\nsync:\n"
            "  - {target: 'https://x.example.org', type: simplex}\n"
            "  - {target: 'https://X.example.org/core/v1', type: simplex}\n"
        ),
        {},
        [("13:13", "this sync target is already declared at")],
    ),
    (
        "absent-and-protect",
        ns("ensure: absent\nprotect: true\n"),
        {},
        [("7:17", "namespace 'alpha' has ensure: absent and protect: true")],
    ),
    (
        "absent-with-sync",
        ns("ensure: absent\nsync:\n  - {target: 'https://x.example.org', type: simplex}\n"),
        {},
        [("8:9", "namespace 'alpha' has ensure: absent but declares sync targets")],
    ),
    (
        "duplex-disagrees",
        VALID.replace("            type: duplex\n", "            type: simplex\n", 1),
        {},
        [
            (
                "13:13",
                "the link onprem/default -> cloud/default is simplex here "
                "but cloud/default -> onprem/default is "
                "duplex at",
            )
        ],
    ),
    (
        "target-declared-absent",
        VALID.replace(
            "          - target: cloud\n", "          - target: onprem\n            namespace: scratch\n"
        ),
        {},
        [("13:13", "onprem/default syncs to onprem/scratch, which is declared ensure: absent at")],
    ),
    (
        "dataset-policy-the-server-refuses",
        ns(BASIC + "datasets:\n  sync: simplex\n  policy: {Version: '2'}\n"),
        {},
        [("12:19", "would be refused by the server: unsupported Policy Version value '2'")],
    ),
    (
        "dataset-policy-text-that-is-no-yaml",
        ns(BASIC + "datasets:\n  sync: duplex\n  policy: 'Version: [1'\n"),
        {},
        [("12:19", "would be refused by the server: Could not parse policy document: error converting YAML")],
    ),
    (
        "dataset-policy-infinity",
        ns(BASIC + "datasets:\n  sync: simplex\n  policy: {Version: '1', X: .inf}\n"),
        {},
        [("12:19", "json: unsupported value: +Inf")],
    ),
    (
        "dataset-policy-without-sync",
        ns(BASIC + "datasets:\n  sync: off\n  policy: {Version: '1'}\n"),
        {},
        [("12:19", "gives a datasets policy, but its datasets sync is off")],
    ),
    (
        "dataset-sync-on-absent",
        ns("ensure: absent\ndatasets:\n  sync: duplex\n"),
        {},
        [("8:9", "has ensure: absent but declares datasets sync: duplex")],
    ),
    (
        "dataset-policy-empty",
        ns(BASIC + "datasets:\n  sync: simplex\n  policy:\n"),
        {},
        [("12:18", "'policy' must be a mapping or a string, not empty")],
    ),
    (
        "dataset-sync-unknown",
        ns(BASIC + "datasets:\n  sync: on\n"),
        {},
        [("11:17", "'sync' must be unmanaged or off or simplex or duplex")],
    ),
]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [pytest.param(text, env, expected, id=case_id) for case_id, text, env, expected in ERROR_CASES],
)
def test_every_rule_reports_its_message_at_its_position(
    tmp_path: Path, text: str | bytes, env: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    diagnostics = errors_of(tmp_path, {"hoss.yaml": text}, env)
    errors = [
        (where, message) for severity, where, message in located(diagnostics, tmp_path) if severity == "error"
    ]
    for position, fragment in expected:
        assert any(where == f"hoss.yaml:{position}" and fragment in message for where, message in errors), (
            f"expected {fragment!r} at {position}, got {errors}"
        )
    assert len(errors) == len(expected), errors
    for secret in SECRETS:
        assert all(secret not in str(d) for d in diagnostics)


VALID_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("issue-example", VALID, {}),
    ("absent-needs-nothing-else", ns("ensure: absent\n"), {}),
    ("yes-is-true", ns(BASIC + "protect: yes\n"), {}),
    ("numeric-namespace-name", ns(BASIC, name="2024"), {}),
    ("unicode-name", ns(BASIC, name="données"), {}),
    ("short-hp-name-is-no-token", ns(BASIC, name="hp_scratch"), {}),
    (
        "variable-set",
        "version: 1\nservers:\n  lab:\n    url: ${LAB_URL}\n",
        {"LAB_URL": "https://l.example.org"},
    ),
    ("variable-default", "version: 1\nservers:\n  lab:\n    url: ${LAB_URL:-https://l.example.org}\n", {}),
    ("escaped-dollar", ns("description: 'costs $${HOME} dollars'\nobject_store: default\nbucket: b\n"), {}),
    (
        "merge-keys",
        "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n    namespaces:\n"
        "      base: &base {description: d, object_store: default, bucket: b1}\n"
        "      other:\n        <<: *base\n        bucket: b2\n",
        {},
    ),
    (
        "two-targets-allowed",
        ns(
            BASIC + "allow_multiple_sync_targets: true\nsync:\n"
            "  - {target: 'https://x.example.org', type: simplex}\n"
            "  - {target: 'https://y.example.org', type: duplex}\n"
        ),
        {},
    ),
    (
        "sync-to-other-namespace-same-server",
        ns(BASIC + "sync:\n  - {target: lab, namespace: beta, type: simplex}\n"),
        {},
    ),
    (
        "x-keys-hold-anchors",
        "version: 1\nx-defaults: &d {object_store: default}\nservers:\n  lab:\n    url: https://a.example.org\n"
        "    namespaces:\n      a:\n        <<: *d\n        description: d\n        bucket: b\n",
        {},
    ),
    ("utf8-bom", "\ufeffversion: 1\nservers: {}\n", {}),
    ("datasets-off-unquoted", ns(BASIC + "datasets:\n  sync: off\n  except: ['tmp-*']\n"), {}),
    (
        "datasets-policy-as-json-text",
        ns(
            BASIC + "sync:\n  - {target: 'https://x.example.org', type: simplex}\n"
            "datasets:\n  sync: simplex\n"
            '  policy: \'{"Version": "1", "Statements": []}\'\n'
        ),
        {},
    ),
]


@pytest.mark.parametrize(("text", "env"), [pytest.param(t, e, id=i) for i, t, e in VALID_CASES])
def test_valid_configs_load(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    write(tmp_path, {"hoss.yaml": text})
    config = load_config([tmp_path / "hoss.yaml"], env=env)
    assert isinstance(config, Config)


def test_the_model_is_resolved_sorted_and_positioned(tmp_path: Path) -> None:
    write(tmp_path, {"hoss.yaml": VALID})
    config = load_config([str(tmp_path / "hoss.yaml")], env={})
    assert [s.key for s in config.servers] == ["cloud", "onprem"]
    cloud, onprem = config.servers
    assert onprem.url == "https://hoss.example.org"
    assert onprem.core_url == "https://hoss.example.org/core/v1"
    assert cloud.url == "HTTPS://Cloud.Example.org:443"
    assert cloud.core_url == "https://cloud.example.org/core/v1"
    assert (onprem.pat_env, cloud.pat_env) == ("ONPREM_PAT", "HOSS_PAT")
    assert [n.name for n in onprem.namespaces] == ["default", "scratch"]
    default = onprem.namespaces[0]
    assert default.protect and default.ensure == "present" and default.bucket == "data"
    (target,) = default.sync
    assert (target.target, target.target_server, target.core_url, target.namespace, target.type) == (
        "cloud",
        "cloud",
        "https://cloud.example.org/core/v1",
        "default",
        "duplex",
    )
    assert onprem.namespaces[1].ensure == "absent"
    file = str(tmp_path / "hoss.yaml")
    assert onprem.position is not None
    assert (onprem.position.file, onprem.position.line, onprem.position.column) == (file, 3, 3)
    assert default.position is not None and (default.position.line, default.position.column) == (7, 7)
    assert target.position is not None and (target.position.line, target.position.column) == (13, 13)
    assert config.warnings == ()


def test_a_url_target_naming_a_configured_server_resolves_to_it(tmp_path: Path) -> None:
    text = VALID.replace(
        "          - target: cloud\n", "          - target: https://cloud.example.org/core/v1\n"
    )
    write(tmp_path, {"hoss.yaml": text})
    config = load_config([tmp_path / "hoss.yaml"], env={})
    onprem = config.server("onprem")
    assert onprem is not None
    (target,) = onprem.namespaces[0].sync
    assert target.target_server == "cloud"
    assert target.target == "https://cloud.example.org/core/v1"


def test_an_external_url_target_has_no_server(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"hoss.yaml": ns(BASIC + "sync:\n  - {target: 'HTTP://Partner.example.net:80/', type: simplex}\n")},
    )
    config = load_config([tmp_path / "hoss.yaml"], env={})
    (target,) = config.servers[0].namespaces[0].sync
    assert (target.target_server, target.core_url, target.namespace) == (
        None,
        "http://partner.example.net/core/v1",
        "alpha",
    )


def test_two_namespaces_on_one_bucket_draw_a_warning(tmp_path: Path) -> None:
    text = ns(
        BASIC, extra="      beta:\n        description: d\n        object_store: default\n        bucket: b\n"
    )
    write(tmp_path, {"hoss.yaml": text})
    config = load_config([tmp_path / "hoss.yaml"], env={})
    (warning,) = config.warnings
    assert warning.severity == "warning"
    assert (warning.position.line, warning.position.column) == (10, 7)  # type: ignore[union-attr]
    assert "namespaces 'alpha' and 'beta' of server 'lab' share bucket 'b'" in warning.message
    assert str(warning).endswith(":10:7: warning: " + warning.message)


def test_all_errors_are_reported_not_only_the_first(tmp_path: Path) -> None:
    text = ns(
        "descripton: d\nobject_store: default\nbucket: b\nsync:\n  - {target: nowhere, type: simplex}\n",
        extra="      'a/b':\n        ensure: absent\n        protect: true\n",
    )
    diagnostics = errors_of(tmp_path, {"hoss.yaml": text})
    messages = " | ".join(d.message for d in diagnostics)
    for fragment in (
        "unknown key 'descripton'",
        "sync target 'nowhere'",
        "namespace name 'a/b'",
        "missing 'description'",
    ):
        assert fragment in messages


# --- several files ----------------------------------------------------------------------------------

SERVER_A = "version: 1\nservers:\n  lab:\n    url: https://lab.example.org\n    namespaces:\n"


def test_files_merge_their_namespaces(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": SERVER_A
            + "      one:\n        description: d\n        object_store: s\n        bucket: b1\n",
            "b.yaml": "version: 1\nservers:\n  lab:\n    namespaces:\n      two:\n        ensure: absent\n",
        },
    )
    config = load_config([tmp_path / "a.yaml", tmp_path / "b.yaml"], env={})
    (lab,) = config.servers
    assert [n.name for n in lab.namespaces] == ["one", "two"]
    assert lab.namespaces[1].position.file == str(tmp_path / "b.yaml")  # type: ignore[union-attr]


def test_a_directory_reads_yaml_and_yml_files_sorted_not_recursively(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "conf/20-b.yml": "version: 1\nservers:\n  lab:\n    namespaces:\n"
            "      b:\n        ensure: absent\n",
            "conf/10-a.yaml": SERVER_A + "      a:\n        ensure: absent\n",
            "conf/notes.txt": "not yaml",
            "conf/sub/ignored.yaml": "this: [is not: loaded",
        },
    )
    config = load_config([str(tmp_path / "conf")], env={})
    assert [n.name for n in config.servers[0].namespaces] == ["a", "b"]


def test_a_file_given_twice_is_read_once(tmp_path: Path) -> None:
    write(tmp_path, {"conf/a.yaml": SERVER_A + "      a:\n        ensure: absent\n"})
    config = load_config([tmp_path / "conf", tmp_path / "conf" / "a.yaml"], env={})
    assert len(config.servers[0].namespaces) == 1


ENTRY_NOTE = ", and every *.yaml/*.yml entry of a -f directory is read as config; "
NOT_YAML = "move it out of the directory or rename it so that it does not end in .yaml or .yml"


def _dangling(entry: Path) -> None:
    os.symlink("gone.yaml", entry)


def _loop(entry: Path) -> None:
    os.symlink(entry.name, entry)  # a link to itself


def _fifo(entry: Path) -> None:
    os.mkfifo(entry)


def _directory(entry: Path) -> None:
    entry.mkdir()


def _link_to_fifo(entry: Path) -> None:
    os.mkfifo(entry.parent.parent / "pipe")
    os.symlink("../pipe", entry)


def _link_to_directory(entry: Path) -> None:
    (entry.parent.parent / "sub").mkdir()
    os.symlink("../sub", entry)


def _socket(entry: Path) -> None:
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(entry))
    sock.close()


# (id, how to make conf/b.yaml, what the error says it is, how to fix it)
BAD_ENTRIES: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "dangling-symlink",
        _dangling,
        "is a dangling symlink (to 'gone.yaml', which does not exist)",
        "point it at an existing config file or remove it",
    ),
    ("symlink-loop", _loop, "is a symlink loop", "point it at a config file or remove it"),
    ("fifo", _fifo, "is a FIFO, not a regular file", NOT_YAML),
    ("directory", _directory, "is a directory, not a regular file", NOT_YAML),
    ("symlink-to-fifo", _link_to_fifo, "is a symlink to a FIFO, not a regular file", NOT_YAML),
    ("symlink-to-directory", _link_to_directory, "is a symlink to a directory, not a regular file", NOT_YAML),
    ("socket", _socket, "is a socket, not a regular file", NOT_YAML),
]


@pytest.mark.timeout(10)  # a FIFO opened for reading would block forever
@pytest.mark.parametrize(
    ("make", "what", "fix"), [pytest.param(m, w, f, id=i) for i, m, w, f in BAD_ENTRIES]
)
def test_a_directory_entry_that_is_not_a_regular_file_is_an_error(
    tmp_path: Path, make: Callable[[Path], None], what: str, fix: str
) -> None:
    """Skipping it would drop the namespaces it declares, and prune: true would delete them."""
    write(tmp_path, {"conf/a.yaml": SERVER_A + "      a:\n        ensure: absent\n"})
    make(tmp_path / "conf" / "b.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config([str(tmp_path / "conf")], env={})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.position is None
    assert diagnostic.message == f"{tmp_path / 'conf' / 'b.yaml'}: {what}{ENTRY_NOTE}{fix}"


def test_a_symlink_to_a_config_file_is_read(tmp_path: Path) -> None:
    shared = "version: 1\nservers:\n  lab:\n    namespaces:\n      b: {ensure: absent}\n"
    write(tmp_path, {"shared/b.yaml": shared, "conf/a.yaml": SERVER_A + "      a:\n        ensure: absent\n"})
    os.symlink("../shared/b.yaml", tmp_path / "conf" / "b.yaml")
    config = load_config([str(tmp_path / "conf")], env={})
    assert [n.name for n in config.servers[0].namespaces] == ["a", "b"]
    assert config.sources == (str(tmp_path / "conf" / "a.yaml"), str(tmp_path / "shared" / "b.yaml"))


def test_an_unreadable_entry_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"conf/a.yaml": SERVER_A + "      a:\n        ensure: absent\n", "conf/b.yaml": "x: 1\n"})
    locked = tmp_path / "conf" / "b.yaml"
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads it anyway: have the open fail as it would for anyone else
        real_open = os.open

        def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if os.fspath(path) == str(locked):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ConfigError) as caught:
        load_config([str(tmp_path / "conf")], env={})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == (
        f"{locked}: cannot read it (Permission denied); give the user running hossctl read access to it, "
        "or remove it from the config"
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("make", "what"),
    [
        pytest.param(
            _fifo,
            "is a FIFO, not a regular file or directory; give a config file or a directory of them",
            id="fifo",
        ),
        pytest.param(
            _dangling,
            "is a dangling symlink; point it at a config file or directory, or fix the path",
            id="dangling-symlink",
        ),
        pytest.param(
            _loop,
            "is a symlink loop; point it at a config file or directory, or fix the path",
            id="symlink-loop",
        ),
    ],
)
def test_a_given_path_that_is_no_file_or_directory_is_refused_without_blocking(
    tmp_path: Path, make: Callable[[Path], None], what: str
) -> None:
    given = tmp_path / "hoss.yaml"
    make(given)
    with pytest.raises(ConfigError) as caught:
        load_config([str(given)], env={})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == f"{given}: {what}"


def test_the_config_knows_the_real_paths_of_its_files(tmp_path: Path) -> None:
    write(tmp_path, {"conf/a.yaml": SERVER_A + "      a:\n        ensure: absent\n"})
    os.symlink("conf/a.yaml", tmp_path / "link.yaml")
    config = load_config([str(tmp_path / "link.yaml"), str(tmp_path / "conf")], env={})
    assert config.sources == (str((tmp_path / "conf" / "a.yaml").resolve()),)


def test_delete_threshold_is_read_per_server_with_a_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "hoss.yaml": "version: 1\nservers:\n  lab:\n    url: https://a.example.org\n"
            "    delete_threshold: 50\n  cloud:\n    url: https://b.example.org\n"
        },
    )
    config = load_config([tmp_path / "hoss.yaml"], env={})
    assert {s.key: s.delete_threshold for s in config.servers} == {"cloud": 30, "lab": 50}


def test_a_namespace_declared_in_two_files_names_both_places(tmp_path: Path) -> None:
    body = "      one:\n        ensure: absent\n"
    diagnostics = errors_of(
        tmp_path,
        {"a.yaml": SERVER_A + body, "b.yaml": "version: 1\nservers:\n  lab:\n    namespaces:\n" + body},
    )
    [(_, where, message)] = located(diagnostics, tmp_path)
    assert where == "b.yaml:5:7"
    assert (
        f"namespace 'one' of server 'lab' is declared twice: here and at {tmp_path / 'a.yaml'}:6:7" in message
    )


@pytest.mark.parametrize(
    ("field", "first", "second", "position"),
    [
        ("url", "https://lab.example.org", "https://other.example.org", "4:10"),
        ("pat_env", "LAB_PAT", "OTHER_PAT", "4:14"),
        ("prune", "true", "false", "4:12"),
        ("delete_threshold", "30", "50", "4:23"),
    ],
)
def test_a_server_whose_fields_conflict_between_files_names_both(
    tmp_path: Path, field: str, first: str, second: str, position: str
) -> None:
    url = "" if field == "url" else "    url: https://lab.example.org\n"
    diagnostics = errors_of(
        tmp_path,
        {
            "a.yaml": f"version: 1\nservers:\n  lab:\n    {field}: {first}\n{url}",
            "b.yaml": f"version: 1\nservers:\n  lab:\n    {field}: {second}\n",
        },
    )
    [(_, where, message)] = located(diagnostics, tmp_path)
    assert where == f"b.yaml:{position}"
    assert f"server 'lab' has {field}" in message
    assert f"at {tmp_path / 'a.yaml'}:{position}" in message
    assert "must agree" in message


def test_agreeing_server_fields_across_files_are_fine(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": SERVER_A + "      a:\n        ensure: absent\n",
            "b.yaml": SERVER_A + "      b:\n        ensure: absent\n",
        },
    )
    config = load_config([tmp_path / "a.yaml", tmp_path / "b.yaml"], env={})
    assert len(config.servers[0].namespaces) == 2


def test_a_target_may_be_a_server_of_another_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": SERVER_A
            + "      a:\n        description: d\n        object_store: s\n        bucket: b\n"
            "        sync:\n          - {target: cloud, type: simplex}\n",
            "b.yaml": "version: 1\nservers:\n  cloud:\n    url: https://cloud.example.org\n",
        },
    )
    config = load_config([tmp_path / "a.yaml", tmp_path / "b.yaml"], env={})
    lab = config.server("lab")
    assert lab is not None and lab.namespaces[0].sync[0].target_server == "cloud"


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [({}, "missing.yaml: no such file or directory"), ({"empty/x.txt": ""}, "directory holds no *.yaml")],
)
def test_missing_paths_are_named(tmp_path: Path, setup: dict[str, str | bytes], fragment: str) -> None:
    write(tmp_path, setup)
    target = "missing.yaml" if not setup else "empty"
    with pytest.raises(ConfigError) as caught:
        load_config([str(tmp_path / target)], env={})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.position is None
    assert fragment in diagnostic.message


def test_environment_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSSCTL_TEST_URL", "https://from-env.example.org")
    write(tmp_path, {"hoss.yaml": "version: 1\nservers:\n  lab:\n    url: ${HOSSCTL_TEST_URL}\n"})
    config = load_config([tmp_path / "hoss.yaml"])
    assert config.servers[0].url == "https://from-env.example.org"


def test_empty_variable_takes_the_default_like_the_shell(tmp_path: Path) -> None:
    write(tmp_path, {"hoss.yaml": "version: 1\nservers:\n  lab:\n    url: ${U:-https://d.example.org}\n"})
    config = load_config([tmp_path / "hoss.yaml"], env={"U": ""})
    assert config.servers[0].url == "https://d.example.org"


def test_keys_are_not_interpolated(tmp_path: Path) -> None:
    write(tmp_path, {"hoss.yaml": ns(BASIC, name="'${X}'")})
    config = load_config([tmp_path / "hoss.yaml"], env={"X": "fine"})
    assert config.servers[0].namespaces[0].name == "${X}"


def test_config_error_message_lists_every_error_and_a_count(tmp_path: Path) -> None:
    diagnostics = errors_of(tmp_path, {"hoss.yaml": "version: 2\nservers:\n  Lab: {}\n"})
    error = ConfigError(diagnostics)
    lines = error.message.splitlines()
    assert len(lines) == len(diagnostics) + 1
    assert lines[-1] == "2 errors in the config."
    assert error.exit_code == 1


# --- the command ------------------------------------------------------------------------------------


def test_validate_prints_a_summary_and_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (
        VALID + "      other:\n        description: d\n        object_store: default\n        bucket: data\n"
    )
    write(tmp_path, {"hoss.yaml": text})
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Valid: 2 servers, 4 namespaces, 1 sync link.\n"
    assert result.stderr.startswith(
        "hoss.yaml:27:7: warning: namespaces 'default' and 'other' of server 'cloud'"
    )


def test_validate_reports_every_error_with_file_line_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {"conf/a.yaml": "version: 2\nservers:\n  lab:\n    url: https://x.example.org\n    prun: 1\n"},
    )
    result = CliRunner().invoke(cli, ["validate", "-f", "conf"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "conf/a.yaml:1:10: 'version' must be 1, not 2 (1 is the only config format version)",
        "conf/a.yaml:5:5: unknown key 'prun' in server 'lab'; did you mean 'prune'? "
        "(allowed: allow_insecure_http, auth_url, delete_threshold, namespaces, pat_env, prune, "
        "service_secret_env, url)",
        "2 errors in the config.",
    ]


def test_validate_defaults_to_hoss_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["hoss.yaml: no such file or directory", "1 error in the config."]


def test_validate_never_echoes_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "hoss.yaml": f"version: 1\nservers:\n  lab:\n    url: https://x.example.org\n"
            f"    token: {PAT}\n    pat_env: {JWT}\n    prune: {PAT}\n"
        },
    )
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert PAT not in result.output and JWT not in result.output
    assert "looks like an access token" in result.stderr


def test_the_datasets_block_becomes_the_model(tmp_path: Path) -> None:
    from hossctl.config.loader import load_config
    from hossctl.plan.model import DatasetSync

    text = ns(
        BASIC + "sync:\n  - {target: 'https://x.example.org', type: duplex}\n"
        "datasets:\n  sync: duplex\n  except: ['tmp-*', 'scratch?']\n"
        "  policy:\n    Statements: []\n    Version: '1'\n"
    )
    write(tmp_path, {"hoss.yaml": text})
    declared = load_config([str(tmp_path / "hoss.yaml")]).servers[0].namespaces[0].datasets
    assert declared == DatasetSync("duplex", '{"Statements":[],"Version":"1"}', ("tmp-*", "scratch?"))
    assert declared.excludes("tmp-1") and declared.excludes("scratch1") and not declared.excludes("raw")
    write(tmp_path, {"hoss.yaml": ns(BASIC + "datasets:\n  sync: off\n")})
    assert load_config([str(tmp_path / "hoss.yaml")]).servers[0].namespaces[0].datasets.sync == "off"
    write(tmp_path, {"hoss.yaml": ns(BASIC)})
    assert not load_config([str(tmp_path / "hoss.yaml")]).servers[0].namespaces[0].datasets.managed


def test_a_file_with_thousands_of_schema_errors_lists_the_first_thousand_and_stops(tmp_path: Path) -> None:
    from hossctl.config.structure import MAX_STRUCTURAL_PROBLEMS

    body = "".join(f"      n{i}:\n        description: d\n        colour{i}: red\n" for i in range(1500))
    text = "version: 1\nservers:\n  lab:\n    url: https://l.example.org\n    namespaces:\n" + body
    diagnostics = errors_of(tmp_path, {"hoss.yaml": text}, {})
    assert {d.rule for d in diagnostics} == {"schema"}  # the semantic stage did not run on it
    assert any("unknown key 'colour0'" in d.message for d in diagnostics)
    assert str(diagnostics[0]) == (
        f"{tmp_path / 'hoss.yaml'}: more than {MAX_STRUCTURAL_PROBLEMS} problems against the schema; the "
        f"first {MAX_STRUCTURAL_PROBLEMS} are listed and the file was not checked further: fix those (they "
        "are often one mistake repeated) and validate again"
    )
    assert len(diagnostics) == MAX_STRUCTURAL_PROBLEMS + 1


def test_one_mapping_with_thousands_of_unknown_keys_is_capped_too(tmp_path: Path) -> None:
    """One schema error can stand for many unknown keys: the cap counts what is listed."""
    from hossctl.config.structure import MAX_STRUCTURAL_PROBLEMS

    keys = "".join(f"k{i}: 1\n" for i in range(5000))
    text = ns(BASIC + keys)
    diagnostics = errors_of(tmp_path, {"hoss.yaml": text}, {})
    assert len(diagnostics) == MAX_STRUCTURAL_PROBLEMS + 1
    assert "more than 1000 problems against the schema" in diagnostics[0].message


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("text", ["version: 1\nservers: {}\n", "version: 2\n"])
def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path, enabled: bool, text: str) -> None:
    """The loader pauses the collector for speed; a caller's setting survives, even an error."""
    path = tmp_path / "hoss.yaml"
    path.write_text(text)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        try:
            load_config([path])
        except ConfigError:
            pass
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
