"""The compiled schema check reports exactly what jsonschema reports, so the schema file stays the rule.

Documents are generated from the schema itself (whatever keys it has, the ``datasets`` block of
a later schema included), then broken at random places; jsonschema's ``Draft202012Validator``
is the reference for every error's keyword, paths, instance and message, and for the
diagnostics (message and file:line:column) that ``hossctl validate`` prints from them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from depth import examples
from documents import paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hossctl.config import structure
from hossctl.config.schemacheck import CompiledSchema, UnsupportedSchema
from hossctl.config.yamlsource import load_yaml
from hossctl.schemas import load_schema

SCHEMA = load_schema("config.schema.json")
REFERENCE = structure.reference_validator(SCHEMA)
COMPILED = CompiledSchema(SCHEMA)

CORPUS = settings(
    max_examples=examples(1000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | _text
    | st.sampled_from(["", " ", "x-a", "simplex", "duplex", "absent", "present", "http://h", "${A}", ".."])
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)


def _resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and len(schema) <= 2:
        pointer = schema["$ref"]
        target: Any = SCHEMA
        for part in pointer[2:].split("/"):
            target = target[part]
        schema = target
    return schema


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            matching = st.from_regex(pattern, fullmatch=True).filter(
                lambda s: re.search(pattern, s) is not None
            )
            long_enough = matching.filter(lambda s: len(s) >= schema.get("minLength", 0))
            return st.one_of(long_enough, long_enough, long_enough, _text)  # mostly valid
        except Exception:
            return _text
    return st.text(min_size=schema.get("minLength", 0), max_size=12)


def from_schema(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly valid documents for ``schema``, built from its keywords alone."""
    schema = _resolve(schema)
    if not isinstance(schema, dict) or depth > 8:
        return junk
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return st.one_of([from_schema(sub, depth + 1) for sub in schema[combinator]])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ())) | set(schema.get("then", {}).get("required", ()))
        fixed = {name: from_schema(sub, depth + 1) for name, sub in properties.items() if name in required}
        optional = {
            name: from_schema(sub, depth + 1) for name, sub in properties.items() if name not in required
        }
        base = st.fixed_dictionaries(fixed, optional=optional)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            names = schema.get("propertyNames", {})
            keys = _string(_resolve(names)) if names else _text
            more = st.dictionaries(keys, from_schema(extra, depth + 1), max_size=3)
            return st.tuples(base, more).map(lambda pair: {**pair[1], **pair[0]})
        return base
    if kind == "array":
        return st.lists(from_schema(schema.get("items", True), depth + 1), max_size=3)
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000) - 2, schema.get("maximum", 1000) + 2)
    if kind == "boolean":
        return st.booleans()
    return junk


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A generated config, then up to four edits: junk values, unknown or near-miss keys, deletions."""
    data = draw(from_schema(SCHEMA))
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(paths(data)))
        if not path:
            continue
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        edit = draw(st.sampled_from(["replace", "add", "delete"]))
        if edit == "replace":
            parent[path[-1]] = draw(junk)
        elif edit == "add" and isinstance(parent, dict):
            parent[
                draw(_text | st.sampled_from(["sync", "ensure", "protect", "url", "descripton", "x-y"]))
            ] = draw(junk)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    return data


def _errors(validator: Any, data: Any) -> list[tuple[str, ...]]:
    """Every error as comparable text; sorted, since jsonschema orders some errors by hash."""
    return sorted(
        (
            repr(error.validator),
            repr(list(error.absolute_path)),
            repr(list(error.absolute_schema_path)),
            repr(error.instance),
            repr(error.validator_value),
            json.dumps(error.schema, sort_keys=True, default=repr),
            error.message,
        )
        for error in validator.iter_errors(data)
    )


def test_the_shipped_schema_compiles() -> None:
    """Else every run would fall back to jsonschema, 10 times slower: add the keyword to schemacheck."""
    assert isinstance(structure._validator(), CompiledSchema)


@CORPUS
@given(data=documents())
def test_errors_agree_with_jsonschema(data: Any) -> None:
    assert _errors(COMPILED, data) == _errors(REFERENCE, data)


@settings(CORPUS, max_examples=examples(300))
@given(data=documents())
def test_diagnostics_agree_with_jsonschema(data: Any) -> None:
    """What users see: the same sentences at the same file:line:column, and the same paths marked broken."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    doc, _ = load_yaml("c.yaml", text.encode("utf-8"))
    if doc is None:
        return  # not a mapping at the top: the YAML stage reports it, the schema never runs
    seen = []
    for validator in (COMPILED, REFERENCE):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(structure, "_validator", lambda v=validator: v)
            diagnostics, broken, _complete = structure.check_structure(doc, doc.data, set())
        seen.append((sorted(diagnostics, key=lambda d: (str(d.position), d.message)), broken))
    assert seen[0] == seen[1]


def test_valid_documents_have_no_errors() -> None:
    example = yaml.safe_load(
        "version: 1\nservers:\n  a:\n    url: https://a.example.org\n    namespaces:\n"
        "      n:\n        description: d\n        object_store: s\n        bucket: b\n"
        "        sync: [{target: b, type: duplex}]\n      gone: {ensure: absent}\n"
    )
    assert COMPILED.is_valid(example)
    assert _errors(COMPILED, example) == _errors(REFERENCE, example) == []


# Every keyword the compiler knows, in one schema that has nothing to do with hossctl: the
# compiler is a JSON Schema compiler, not a copy of the config schema's shape.
EVERY_KEYWORD: dict[str, Any] = {
    "$defs": {
        "tree": {
            "type": "object",
            "properties": {
                "leaf": {"type": ["integer", "null"]},
                "kids": {"items": {"$ref": "#/$defs/tree"}},
            },
        },
        "a~b/c": {"const": {"k": [1, True]}},
    },
    "type": "object",
    "properties": {
        "n": {"type": "number", "minimum": 0, "maximum": 10, "exclusiveMinimum": -1, "exclusiveMaximum": 11},
        "s": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[a-c]+$"},
        "l": {"type": "array", "minItems": 1, "maxItems": 2, "items": False},
        "m": {"minProperties": 1, "maxProperties": 2},
        "e": {"enum": [1, "1", True, None, [1], {"a": 1}]},
        "c": {"$ref": "#/$defs/a~0b~1c"},
        "t": {"$ref": "#/$defs/tree"},
        "any": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "one": {"oneOf": [{"type": "integer"}, {"minimum": 3}, {"type": "boolean"}]},
        "all": {"allOf": [{"type": "integer"}, {"maximum": 3}]},
        "no": {"not": {"type": "string"}},
        "nope": False,
        "yes": True,
        "cond": {"if": {"type": "integer"}, "then": {"minimum": 5}, "else": {"type": "string"}},
        "names": {"propertyNames": {"pattern": "^[a-z]$", "maxLength": 1}},
        "pats": {
            "patternProperties": {"^p": {"type": "integer"}, "q$": False},
            "additionalProperties": False,
        },
        "more": {"properties": {"a": {}}, "additionalProperties": {"type": "boolean"}},
        "emptyprop": {"additionalProperties": {}},
    },
    "required": ["n", "zz"],
}
_keys = st.sampled_from([*list(EVERY_KEYWORD["properties"]), "zz", "leaf", "kids", "k", "p1", "aq", "a", "b"])
_any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys | _text, inner, max_size=4),
    max_leaves=12,
)


@settings(CORPUS, max_examples=examples(1500))
@given(data=st.dictionaries(_keys, _any_json, max_size=8) | _any_json)
def test_every_compiled_keyword_agrees_with_jsonschema(data: Any) -> None:
    assert _errors(CompiledSchema(EVERY_KEYWORD), data) == _errors(
        structure.reference_validator(EVERY_KEYWORD), data
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"uniqueItems": True},
        {"properties": {"a": {"$dynamicRef": "#x"}}},
        {"$ref": "https://example.org/other.json"},
        {"$ref": "#/$defs/missing"},
        {"items": {"type": "integer"}, "prefixItems": [{}]},
        {"properties": {"a": {"$id": "urn:x", "type": "string"}}},
        {"type": "decimal"},
        {"minLenght": 1},
    ],
)
def test_a_keyword_not_compiled_is_refused_not_skipped(schema: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        CompiledSchema(schema)


def test_an_unsupported_schema_falls_back_to_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "version": {"const": 1, "uniqueItems": True}}}
    monkeypatch.setattr(structure, "load_schema", lambda name: schema, raising=False)
    import hossctl.schemas

    monkeypatch.setattr(hossctl.schemas, "load_schema", lambda name: schema)
    structure._validator.cache_clear()
    try:
        assert not isinstance(structure._validator(), CompiledSchema)
        assert [e.validator for e in structure._validator().iter_errors({"version": 2, "servers": {}})] == [
            "const"
        ]
    finally:
        structure._validator.cache_clear()
