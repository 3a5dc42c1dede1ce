"""The one-pass loader of plain YAML gives exactly what the general loader gives, or leaves the file to it.

``yamlsource._load_plain`` reads documents without tags, anchors, aliases or merge keys; the
general loader (nodes first, then data) reads everything. For any text, ``load_yaml`` must
answer the same whichever of them read it: data, every position, raw scalar texts, paths
marked bad and diagnostics.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from depth import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hossctl.config import yamlsource
from hossctl.config.yamlsource import Document, load_yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(
    max_examples=examples(1500),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_words = st.sampled_from(
    ["a", "b", "x-y", "<<", "~", "null", "yes", "No", "on", "0x1F", "0o17", "1_000", "1:30", "-.inf", ".nan",
     "1e3", "2001-12-14", "=", "", " ", "true", "3.", "+1", "0b101", "hp_" + "a1" * 12, "${A}", "é", "'q'"]
)  # fmt: skip
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | _words | _text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_words | _text, inner, max_size=3),
    max_leaves=10,
)
FRAGMENTS = [
    "&a ", "*a", "!!str ", "!!int ", "!x ", "<<: *a\n", "? ", "---\n", "...\n", "- ", ": ", "\n  ",
    "{", "[", "#", "'", '"', "|\n", ">\n", "  ", "\t", "%YAML 1.1\n", "a: 1\n", "a:\n",
]  # fmt: skip


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A dump of random data in block, flow or mixed style, sometimes edited with YAML's syntax."""
    data = draw(st.dictionaries(_words | _text, values, max_size=5) | values)
    style = draw(st.sampled_from([False, True, None]))
    text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=draw(st.booleans()), sort_keys=False)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(FRAGMENTS) | _text) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
    return text


def _same(value: Any) -> Any:
    """Comparable form: NaN equals NaN, and True differs from 1."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, dict):
        return ("map", [(key, _same(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("seq", [_same(item) for item in value])
    return (type(value).__name__, value)


def _answer(document: Document | None, diagnostics: list[Any]) -> Any:
    if document is None:
        return None, diagnostics
    return (
        (document.file, _same(document.data), document.spans, document.bad_paths),
        diagnostics,
    )


def _both(text: str) -> tuple[Any, Any]:
    data = text.encode("utf-8", errors="surrogatepass")
    fast = _answer(*load_yaml("f.yaml", data))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsource, "_load_plain", lambda text: None)
        general = _answer(*load_yaml("f.yaml", data))
    return fast, general


@SETTINGS
@given(text=texts())
def test_the_fast_path_answers_as_the_general_loader(text: str) -> None:
    fast, general = _both(text)
    assert fast == general


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").rglob("*.yaml")), ids=str
)
def test_every_example_takes_the_fast_path_and_agrees(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    if not any(mark in text for mark in ("&", "*", "<<", "!")):  # else it may be the general loader's
        assert yamlsource._load_plain(text) is not None
    fast, general = _both(text)
    assert fast == general


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nservers: {}\nx-a: &a {k: 1}\n",  # anchor
        "version: 1\nservers: {}\nx-a: !!str 1\n",  # tag
        "a: 1\na: 2\n",  # duplicate key
        "<<: {a: 1}\n",  # merge key
        "? [a]\n: 1\n",  # complex key
        "a: 1\n---\nb: 2\n",  # second document
        "- a\n",  # not a mapping
        "",  # empty
        "x: " + "[" * 150 + "]" * 150 + "\n",  # too deep
    ],
)
def test_anything_else_is_left_to_the_general_loader(text: str) -> None:
    assert yamlsource._load_plain(text) is None
    fast, general = _both(text)
    assert fast == general


def test_the_node_limit_is_reported_alike_by_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_NODES", 50)
    text = "version: 1\nservers: {}\nx-a: [" + ", ".join(["1"] * 60) + "]\n"
    fast, general = _both(text)
    assert fast == general
    document, [diagnostic] = fast
    assert document is None
    assert diagnostic.rule == "yaml-limit"
    assert "more than 50 keys, values and list items" in diagnostic.message
    # Seven nodes before the list's items (the root, three keys, 1, {} and the list): the 51st
    # node is item 44, at index 43.
    assert (diagnostic.position.line, diagnostic.position.column) == (3, 1 + len("x-a: [") + 3 * 43)
