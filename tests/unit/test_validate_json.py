"""`validate --json` and `plan --json` on an invalid config: one diagnostics document on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from hossctl.cli import cli
from hossctl.plan.model import RULES
from hossctl.schemas import load_schema

HEAD = "version: 1\nservers:\n"


def ns(bucket: str) -> str:
    return f"{{description: d, object_store: default, bucket: {bucket}}}"


def _server(key: str, url: str, namespaces: str = "{}") -> str:
    return f"  {key}:\n    url: {url}\n    namespaces: {namespaces}\n"


VALID = (
    HEAD
    + _server("onprem", "https://hoss.example.org", f"{{raw: {ns('raw')}, old: {ns('raw')}}}")
    + _server("cloud", "https://cloud.example.org")
)


def _validate(tmp_path: Path, *texts: str | bytes, args: tuple[str, ...] = ()) -> Result:
    files: list[str] = []
    for i, text in enumerate(texts):
        path = tmp_path / f"c{i}.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        files += ["-f", str(path)]
    return CliRunner().invoke(cli, ["validate", "--json", *files, *args])


def _document(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator(load_schema("diagnostics.schema.json")).validate(doc)
    return doc


def test_a_valid_config_gives_its_counts_and_its_warnings(tmp_path: Path) -> None:
    result = _validate(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    doc = _document(result)
    assert doc["format_version"] == 1 and type(doc["format_version"]) is int
    assert doc["valid"] is True
    assert doc["summary"] == {"servers": 2, "namespaces": 2, "sync_links": 0}
    [warning] = doc["diagnostics"]
    assert warning["rule"] == "bucket-shared" and warning["severity"] == "warning"
    assert (warning["file"], warning["line"], warning["column"]) == (str(tmp_path / "c0.yaml"), 5, 18)
    assert "share bucket" in warning["message"]
    assert "share bucket" in result.stderr  # the person reading the log sees it too


def test_the_summary_counts_what_the_text_line_says(tmp_path: Path) -> None:
    config = tmp_path / "hoss.yaml"
    config.write_text(
        HEAD
        + _server(
            "a",
            "https://a.example.org",
            "{x: {description: d, object_store: s, bucket: x, sync: [{target: b, type: duplex}]}}",
        )
        + _server(
            "b",
            "https://b.example.org",
            "{x: {description: d, object_store: s, bucket: x, sync: [{target: a, type: duplex}]}}",
        ),
        encoding="utf-8",
    )
    text = CliRunner().invoke(cli, ["validate", "-f", str(config)])
    assert text.stdout == "Valid: 2 servers, 2 namespaces, 1 sync link.\n"
    doc = _document(CliRunner().invoke(cli, ["validate", "--json", "-f", str(config)]))
    assert doc["summary"] == {"servers": 2, "namespaces": 2, "sync_links": 1}


OK_NS = ns("b")
CASES: list[tuple[str, list[str | bytes], list[str]]] = [
    ("yaml-syntax", [HEAD + "  a: [\n"], []),
    ("yaml-syntax", [HEAD + "---\n---\n"], []),
    ("yaml-duplicate-key", [HEAD + _server("a", "https://a.example.org") + "  a: {}\n"], []),
    ("yaml-unsupported", [HEAD + "  a: !!python/object {}\n"], []),
    ("yaml-limit", [HEAD + "  a: " + "[" * 120 + "]" * 120 + "\n"], []),
    ("encoding", ["version: 1\n".encode("utf-16")], []),
    ("file", [], ["-f", "/nonexistent/hoss.yaml"]),
    ("token-literal", [HEAD + _server("a", "https://a.example.org") + f"    pat_env: hp_{'a' * 30}\n"], []),
    ("interpolation", [HEAD + _server("a", "${HOSSCTL_TEST_SURELY_UNSET}")], []),
    ("schema", [HEAD + _server("a", "https://a.example.org") + "    prune: maybe\n"], []),
    ("schema", [HEAD + "  a:\n    url: https://a.example.org\n    descripton: x\n"], []),
    ("schema", [""], []),
    ("missing-url", [HEAD + "  a:\n    namespaces: {}\n"], []),
    ("invalid-url", [HEAD + _server("a", "https://user:pw@a.example.org")], []),
    (
        "duplicate-url",
        [HEAD + _server("a", "https://a.example.org") + _server("b", "https://a.example.org/")],
        [],
    ),
    (
        "server-conflict",
        [HEAD + _server("a", "https://a.example.org"), HEAD + _server("a", "https://other.example.org")],
        [],
    ),
    (
        "duplicate-namespace",
        [
            HEAD + _server("a", "https://a.example.org", f"{{n: {OK_NS}}}"),
            HEAD + _server("a", "https://a.example.org", f"{{n: {OK_NS}}}"),
        ],
        [],
    ),
    (
        "protected-absent",
        [HEAD + _server("a", "https://a.example.org", "{n: {ensure: absent, protect: true}}")],
        [],
    ),
    (
        "absent-with-sync",
        [
            HEAD
            + _server(
                "a", "https://a.example.org", "{n: {ensure: absent, sync: [{target: b, type: simplex}]}}"
            )
            + _server("b", "https://b.example.org")
        ],
        [],
    ),
    (
        "multiple-sync-targets",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, "
                "sync: [{target: b, type: simplex}, {target: b, namespace: m, type: simplex}]}}",
            )
            + _server("b", "https://b.example.org")
        ],
        [],
    ),
    (
        "unknown-target",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, sync: [{target: clod, type: simplex}]}}",
            )
        ],
        [],
    ),
    (
        "self-sync",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, sync: [{target: a, type: simplex}]}}",
            )
        ],
        [],
    ),
    (
        "duplicate-target",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, allow_multiple_sync_targets: true, "
                "sync: [{target: b, type: simplex}, {target: b, type: duplex}]}}",
            )
            + _server("b", "https://b.example.org")
        ],
        [],
    ),
    (
        "target-absent",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, sync: [{target: b, type: simplex}]}}",
            )
            + _server("b", "https://b.example.org", "{n: {ensure: absent}}")
        ],
        [],
    ),
    (
        "link-type-mismatch",
        [
            HEAD
            + _server(
                "a",
                "https://a.example.org",
                "{n: {description: d, object_store: s, bucket: b, sync: [{target: b, type: simplex}]}}",
            )
            + _server(
                "b",
                "https://b.example.org",
                "{n: {description: d, object_store: s, bucket: b, sync: [{target: a, type: duplex}]}}",
            )
        ],
        [],
    ),
]


@pytest.mark.parametrize(("rule", "texts", "args"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_kind_of_error_has_its_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str, texts: list[str | bytes], args: list[str]
) -> None:
    monkeypatch.delenv("HOSSCTL_TEST_SURELY_UNSET", raising=False)
    result = _validate(tmp_path, *texts, args=tuple(args))
    assert result.exit_code == 1, result.output
    doc = _document(result)
    assert doc["valid"] is False and doc["summary"] is None
    rules = {d["rule"] for d in doc["diagnostics"]}
    assert rule in rules, doc["diagnostics"]
    assert "config" not in rules  # every diagnostic these produce has a specific rule
    assert "error in the config." in result.stderr or "errors" in result.stderr  # text on stderr too
    for diagnostic in doc["diagnostics"]:
        position = (diagnostic["file"], diagnostic["line"], diagnostic["column"])
        assert all(p is None for p in position) or all(p is not None for p in position)


def test_the_rules_in_the_schema_are_the_rules_in_the_code() -> None:
    schema = load_schema("diagnostics.schema.json")
    assert schema["$defs"]["diagnostic"]["properties"]["rule"]["enum"] == list(RULES)
    assert schema["$id"] == "urn:hossctl:schema:diagnostics:1"


def test_the_document_is_ascii_so_hostile_characters_stay_escapes(tmp_path: Path) -> None:
    result = _validate(tmp_path, HEAD + "  a:\n    url: https://a.example.org\n    \u202eevil: 1\n")
    assert result.exit_code == 1
    assert result.stdout.isascii()
    assert any("\u202e" in d["message"] for d in _document(result)["diagnostics"])


def test_plan_json_prints_the_same_document_for_an_invalid_config(tmp_path: Path) -> None:
    bad = HEAD + _server("a", "https://a.example.org") + "  a: {}\n"
    path = tmp_path / "c0.yaml"
    path.write_text(bad, encoding="utf-8")
    plan = CliRunner().invoke(cli, ["plan", "--json", "-f", str(path)])
    validate = CliRunner().invoke(cli, ["validate", "--json", "-f", str(path)])
    assert plan.exit_code == validate.exit_code == 1
    assert _document(plan) == _document(validate)
    assert "duplicate key 'a'" in plan.stderr and "1 error in the config." in plan.stderr


def test_plan_without_json_prints_nothing_on_stdout_for_an_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "c0.yaml"
    path.write_text(HEAD + "  a: [\n", encoding="utf-8")
    for output in ((), ("--markdown",)):
        result = CliRunner().invoke(cli, ["plan", *output, "-f", str(path)])
        assert result.exit_code == 1 and result.stdout == ""
