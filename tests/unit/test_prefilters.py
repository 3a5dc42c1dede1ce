"""The whole-file tests that let the loader skip a stage never skip one that had something to find.

``may_hold_token(raw)`` must be true whenever a key or value YAML reads from the file looks
like a token, and a file without ``${`` (and without a backslash) must read the same with or
without interpolation.
"""

from __future__ import annotations

from typing import Any

import yaml
from depth import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hossctl.config.interpolate import interpolate
from hossctl.config.yamlsource import load_yaml
from hossctl.secretscan import looks_like_token, may_hold_token

TOKEN = "hp_" + "Ab3" * 8
PIECES = [
    TOKEN, "hp_", "Ab3" * 8, "hsvc_", "12345678", "eyJ", "eyJa.b.c", ".", "${", "$", "{", "}", "\\",
    "\\x68", "'", "''", '"', "\n", "\n  ", " ", "|\n  ", ">\n  ", ": ", "- ", "a", "#",
]  # fmt: skip
SETTINGS = settings(max_examples=examples(1000), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [*data, *(s for value in data.values() for s in _strings(value))]
    if isinstance(data, list):
        return [s for value in data for s in _strings(value)]
    return [data] if isinstance(data, str) else []


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Keys and values (plain, quoted, block, folded over lines) made of token pieces."""
    lines = ["version: 1", "servers: {}"]
    for i in range(draw(st.integers(1, 4))):
        body = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=8)))
        style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded", "key"]))
        if style == "single":
            lines.append(f"x-{i}: '{body}'")
        elif style == "double":
            lines.append(f'x-{i}: "{body}"')
        elif style in ("literal", "folded"):
            lines.append(f"x-{i}: {'|' if style == 'literal' else '>'}\n  {body}")
        elif style == "key":
            lines.append(f"x-{body}: {i}")
        else:
            lines.append(f"x-{i}: {body}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text=texts())
def test_a_token_in_what_yaml_reads_is_a_token_in_the_file(text: str) -> None:
    raw = text.encode("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if any(looks_like_token(s) for s in _strings(data)):
        assert may_hold_token(raw)


@SETTINGS
@given(text=texts())
def test_without_a_reference_interpolation_changes_nothing(text: str) -> None:
    raw = text.encode("utf-8")
    if b"${" in raw or b"\\" in raw:
        return
    document, _ = load_yaml("f.yaml", raw)
    if document is None:
        return
    data, result = interpolate(document, {})
    assert data == document.data
    assert not result.diagnostics and not result.failed and not result.changed


def test_escapes_and_folds_that_hide_a_token_are_still_caught() -> None:
    for text in (
        'x: "\\x68p_' + "Ab3" * 8 + '"\n',  # an escape spells it
        'x: "hp_Ab3Ab3Ab3\\\n  Ab3Ab3Ab3Ab3Ab3"\n',  # an escaped line break joins it
        f"x: {TOKEN}\n",
    ):
        assert may_hold_token(text.encode())
    assert not may_hold_token(b"x: 'hp_Ab3Ab3Ab3\n  Ab3Ab3Ab3Ab3Ab3'\n")  # folded: a space joins it


def _substituted(value: Any, env: dict[str, str]) -> Any:
    """What interpolation must produce, by a plain full copy (the reference for the shared one)."""
    if isinstance(value, dict):
        return {key: _substituted(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, env) for item in value]
    if isinstance(value, str):
        for name, replacement in env.items():
            value = value.replace("${" + name + "}", replacement)
        return value
    return value


def test_interpolation_copies_only_the_containers_on_the_way_to_a_change() -> None:
    text = (
        "version: 1\n"
        "servers:\n"
        "  a:\n"
        "    url: ${A_URL}\n"
        "    namespaces:\n"
        "      kept: {description: plain, sync: [{target: b}]}\n"
        "      changed: {description: 'in ${ZONE}', sync: [{target: b}, {target: '${PEER}'}]}\n"
        "  b: {url: 'https://b.example.org', namespaces: {x: {bucket: x}}}\n"
    )
    document, _ = load_yaml("f.yaml", text.encode())
    assert document is not None
    before = _substituted(document.data, {})
    env = {"A_URL": "https://a.example.org", "ZONE": "eu", "PEER": "b"}
    data, result = interpolate(document, env)
    assert data == _substituted(document.data, env)
    assert document.data == before  # the document itself is never changed
    assert not result.diagnostics and not result.failed
    assert result.changed == {
        ("servers", "a", "url"),
        ("servers", "a", "namespaces", "changed", "description"),
        ("servers", "a", "namespaces", "changed", "sync", 1, "target"),
    }
    a, a_before = data["servers"]["a"], document.data["servers"]["a"]
    assert a is not a_before and data is not document.data
    assert data["servers"]["b"] is document.data["servers"]["b"]  # nothing beneath changed: shared
    assert a["namespaces"]["kept"] is a_before["namespaces"]["kept"]
    changed, changed_before = a["namespaces"]["changed"], a_before["namespaces"]["changed"]
    assert changed["sync"][0] is changed_before["sync"][0]
    assert changed["sync"][1] is not changed_before["sync"][1]
