"""Dataset sync policies, checked the way the real server's policy parser checks them.

One checker for both sides: the config loader refuses, offline, a ``datasets.policy`` that a
server would answer 400 (or crash on), and the sandbox answers ``PUT …/dataset/{name}/sync``
with the server's own error text. The rules are in docs/hoss-server.md §8.4: the document is YAML
(so JSON too), converted to JSON with scalars turned into strings where the server's field is a
string, then decoded with field names matched case-insensitively and unknown ones ignored;
``Version`` must be exactly "1"; effects are ``AND`` or ``OR``; each condition needs a known
``Left``, a ``Right`` of the matching type and an ``Operator`` valid for it.

``parse`` returns None when the policy is valid, the server's error text when it is not, and
raises ``NullPolicy`` for a document that is YAML null (empty, ``null``, ``~``), which the real
server answers with a bare 500 (§8.4).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import yaml

_DOC = "Could not parse policy document: "
_LEFTS = ("event:operation", "object:key", "object:size", "object:metadata")
_STRING_LEFTS = ("event:operation", "object:key")


class NullPolicy(Exception):
    """The document decodes to a nil policy; the real server panics (500, empty body)."""


class _Invalid(Exception):
    pass


# What the server stores when a sync is enabled without a policy (docs/hoss-server.md §8.4).
DEFAULT_POLICY = '{"Version":"1","Statements":[]}'


def parse(document: str) -> str | None:
    try:
        value = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        return f"{_DOC}error converting YAML to JSON: {_yaml_error(exc)}"
    return check(value)


@lru_cache(maxsize=1024)
def canonical(document: str) -> str | None:
    """A policy as a comparable value: its decoded document as compact, key-sorted JSON.

    The server stores a policy exactly as sent and "" when none was given, so two spellings of
    one document (YAML or JSON, any key order or spacing) must compare equal. None when the
    text does not decode (a live policy hossctl cannot read is never taken for the wanted one).
    Remembered: a plan compares the same few texts for every dataset, and PyYAML's pure-Python
    loader takes half a millisecond each time.
    """
    text = document or DEFAULT_POLICY
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def check(value: Any) -> str | None:
    """``parse`` for a document already decoded from YAML (the config loader's case)."""
    if value is None:
        raise NullPolicy()
    odd = _non_finite(value)
    if odd is not None:  # YAML has .inf and .nan, JSON has neither: the conversion fails
        return f"{_DOC}error converting YAML to JSON: json: unsupported value: {odd}"
    try:
        policy = _struct(value, "policy.Policy", "Policy", ("Version", "Effect", "Statements"))
        statements = [
            _struct(item, "policy.Statement", "Policy.Statements", ("Id", "Effect", "Conditions"))
            for item in _list(policy.get("Statements"), "Policy.Statements", "[]policy.Statement")
        ]
        conditions = [
            [
                _struct(c, "policy.Condition", "Policy.Statements.Conditions", ("Left", "Right", "Operator"))
                for c in _list(s.get("Conditions"), "Policy.Statements.Conditions", "[]policy.Condition")
            ]
            for s in statements
        ]
    except _Invalid as exc:
        return f"{_DOC}error unmarshaling JSON: {exc}"
    version = _string(policy.get("Version"))
    if version != "1":
        return f"unsupported Policy Version value '{version}'"
    effect = _string(policy.get("Effect")) or "OR"
    if effect not in ("AND", "OR"):
        return f"unsupported Effect value '{effect}'"
    for statement, conds in zip(statements, conditions, strict=True):
        effect = _string(statement.get("Effect")) or "AND"
        if effect not in ("AND", "OR"):
            return f"unsupported Effect value '{effect}'"
        for condition in conds:
            problem = _condition(condition)
            if problem is not None:
                return problem
    return None


def _condition(condition: dict[str, Any]) -> str | None:
    left = _string(condition.get("Left"))
    if left == "":
        return "left value is required: "
    metadata_key = left.startswith("object:metadata:")
    if left not in _LEFTS and not metadata_key:
        return f"invalid Left value: {left}"
    if "Right" not in condition:
        return "Right operand is required"
    right = json.dumps(condition["Right"], separators=(",", ":"), ensure_ascii=False)
    if left == "object:size":
        try:
            float(right)
        except ValueError:
            return "Left operand expects a numeric Right operand"
    else:
        if len(right) < 2 or right[0] != '"' or right[-1] != '"':
            return "Left operand expects a string Right operand"
        pattern = right[1:-1]
        if not _glob_compiles(pattern):
            return f"problem compiling glob ({json.dumps(pattern)}): unexpected end of input"
    operator = _string(condition.get("Operator"))
    if left in _STRING_LEFTS or metadata_key:
        if operator not in ("==", "!="):
            return f"cannot apply operator {json.dumps(operator)} to string values"
    elif left == "object:size":
        if operator not in ("==", "!=", "<", "<=", ">", ">="):
            return f"cannot apply operator {json.dumps(operator)} to num values"
    elif operator != "has":
        return f"cannot apply operator {json.dumps(operator)} to map key check"
    return None


def _struct(value: Any, go_type: str, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """A YAML mapping decoded into a Go struct: keys matched case-insensitively, others ignored."""
    if not isinstance(value, dict):
        raise _Invalid(f"json: cannot unmarshal {_kind(value)} into Go value of type {go_type}")
    result: dict[str, Any] = {}
    for key, item in value.items():
        for field in fields:
            if str(key).lower() == field.lower():
                if field != "Right" and field not in ("Statements", "Conditions"):
                    if isinstance(item, dict | list):
                        raise _Invalid(
                            f"json: cannot unmarshal {_kind(item)} into Go struct field "
                            f"{where}.{field} of type string"
                        )
                result[field] = item
    return result


def _list(value: Any, where: str, go_type: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        kind = _kind(value)
        raise _Invalid(f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}")
    return value


def _string(value: Any) -> str:
    """ghodss/yaml turns a scalar into a string when the Go field is a string; null leaves it ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g") if value != int(value) or abs(value) >= 1e21 else str(int(value))
    return str(value)


def _non_finite(value: Any) -> str | None:
    """Go's spelling of the first infinite or NaN number in a decoded document, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = _non_finite(item)
        if found is not None:
            return found
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _glob_compiles(pattern: str) -> bool:
    """gobwas/glob rejects an unclosed ``[`` or ``{`` (escapes with ``\\`` aside)."""
    depth_brace = 0
    in_class = False
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "{":
            depth_brace += 1
        elif char == "}" and depth_brace:
            depth_brace -= 1
    return not (in_class or depth_brace or escaped)


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"
