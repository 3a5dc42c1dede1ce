"""A JSON Schema compiled once into plain closures: the structural check without jsonschema at run time.

jsonschema re-reads the schema for every value it checks (a context object and a resolver per
step: 1.5 s of a 10,000-namespace config) and costs 50 ms to import. This module walks
``schemas/config.schema.json`` once and turns every subschema into a closure, so a valid value
costs a few dict look-ups. It reports exactly what ``Draft202012Validator(schema).iter_errors``
reports (keyword, paths, instance, message): ``tests/unit/test_schemacheck.py`` proves it on
generated documents, so the schema file stays the single source of the structural rules.

Only the keywords below are compiled. A schema that uses any other keyword, a remote ``$ref``
or a nested ``$id`` raises ``UnsupportedSchema``, and the caller falls back to jsonschema: a
keyword added to the schema is never skipped in silence (and a test fails until it is compiled).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sized
from typing import Any

Errors = list["SchemaError"] | None
Check = Callable[[Any], Errors]

# Keywords that only describe: jsonschema (without a format checker, as hossctl runs it) ignores them.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "definitions",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "then",  # read by "if"
        "else",  # read by "if"
    }
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


class UnsupportedSchema(Exception):
    """The schema uses something this compiler does not implement; use jsonschema instead."""


class SchemaError:
    """One violation, with the attributes of ``jsonschema.ValidationError`` that hossctl reads."""

    __slots__ = (
        "fresh",
        "instance",
        "message",
        "path",
        "schema",
        "schema_path",
        "validator",
        "validator_value",
    )

    def __init__(self, message: str, validator: str | None, value: Any, instance: Any, schema: Any) -> None:
        self.message = message
        self.validator = validator
        self.validator_value = value
        self.instance = instance
        self.schema = schema
        self.path: deque[str | int] = deque()
        self.schema_path: deque[str | int] = deque()
        # A false schema's error skips the path of the step that reached it, as in jsonschema.
        self.fresh = validator is None

    @property
    def absolute_path(self) -> deque[str | int]:
        return self.path

    @property
    def absolute_schema_path(self) -> deque[str | int]:
        return self.schema_path

    def __repr__(self) -> str:
        return f"<SchemaError {self.validator}: {self.message!r} at {list(self.path)}>"


class CompiledSchema:
    """``iter_errors(instance)`` like jsonschema's validator, from closures built once."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._root = schema
        self._refs: dict[str, Check] = {}
        self._check = self._compile(schema, root=True)

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        return iter(self._check(instance) or ())

    def is_valid(self, instance: Any) -> bool:
        return not self._check(instance)

    # -- compiling ---------------------------------------------------------------------------
    def _compile(self, schema: Any, root: bool = False) -> Check:
        if schema is True:
            return _valid
        if schema is False:
            return _false
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"a schema must be an object or a boolean, not {schema!r}")
        if "$id" in schema and not root:
            raise UnsupportedSchema("a nested $id changes the base URI")
        steps: list[tuple[str, Callable[[Any], Errors]]] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            build = _KEYWORDS.get(keyword)
            if build is None:
                raise UnsupportedSchema(f"keyword {keyword!r} is not compiled")
            try:
                steps.append((keyword, build(self, value, schema)))
            except (AttributeError, TypeError, ValueError, re.error) as exc:
                raise UnsupportedSchema(f"keyword {keyword!r}: {exc}") from None
        return _sequence(steps)

    def _ref(self, ref: str) -> Check:
        """A local ``#/...`` reference, compiled once and resolved lazily (so it may recurse)."""
        if not ref.startswith("#"):
            raise UnsupportedSchema(f"only local $ref are compiled, not {ref!r}")
        compiled = self._refs.get(ref)
        if compiled is not None:
            return compiled
        target: Any = self._root
        for part in ref[1:].split("/")[1:]:
            part = _unquote(part).replace("~1", "/").replace("~0", "~")
            try:
                target = target[int(part)] if isinstance(target, list) else target[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise UnsupportedSchema(f"$ref {ref!r} does not resolve") from None
        cell: list[Check] = []
        self._refs[ref] = lambda instance: cell[0](instance)
        cell.append(self._compile(target))
        self._refs[ref] = cell[0]
        return cell[0]


def _unquote(part: str) -> str:
    if "%" not in part:
        return part
    from urllib.parse import unquote

    return unquote(part)


def _valid(instance: Any) -> Errors:
    return None


def _false(instance: Any) -> Errors:
    return [SchemaError(f"False schema does not allow {instance!r}", None, None, instance, False)]


def _sequence(steps: list[tuple[str, Callable[[Any], Errors]]]) -> Check:
    """Run a subschema's keywords in the schema's order; each error gets the keyword prepended."""
    transparent = ("if", "$ref")  # jsonschema leaves these out of the schema path

    def check(instance: Any) -> Errors:
        errors: Errors = None
        for keyword, step in steps:
            found = step(instance)
            if found:
                if keyword not in transparent:
                    for error in found:
                        error.schema_path.appendleft(keyword)
                errors = _joined(errors, found)
        return errors

    if len(steps) == 1 and steps[0][0] in transparent:
        return steps[0][1]
    return check


def _joined(errors: Errors, found: list[SchemaError]) -> list[SchemaError]:
    """``found`` added to ``errors``; the first list found is kept and grown, never copied."""
    if errors is None:
        return found
    errors.extend(found)
    return errors


def _descend(found: Errors, path: str | int | None, schema_path: str | int | None) -> Errors:
    """What jsonschema's ``descend`` adds to the errors of a subschema: its path and schema path."""
    if found:
        for error in found:
            if error.fresh:
                error.fresh = False
                continue
            if path is not None:
                error.path.appendleft(path)
            if schema_path is not None:
                error.schema_path.appendleft(schema_path)
    return found


# -- keywords: each builds a step from its value, mirroring jsonschema._keywords ---------------
def _type(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    names = [value] if isinstance(value, str) else list(value)
    try:
        tests = [_TYPES[name] for name in names]
    except (KeyError, TypeError):
        raise UnsupportedSchema(f"unknown type {value!r}") from None
    reprs = ", ".join(repr(name) for name in names)
    if len(tests) == 1:
        test = tests[0]

        def one(instance: Any) -> Errors:
            if test(instance):
                return None
            return [SchemaError(f"{instance!r} is not of type {reprs}", "type", value, instance, schema)]

        return one

    def several(instance: Any) -> Errors:
        if any(test(instance) for test in tests):
            return None
        return [SchemaError(f"{instance!r} is not of type {reprs}", "type", value, instance, schema)]

    return several


def _properties(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    children = [(name, compiler._compile(sub)) for name, sub in value.items()]

    def step(instance: Any) -> Errors:
        if not isinstance(instance, dict):
            return None
        errors: Errors = None
        for name, child in children:
            if name in instance:
                found = child(instance[name])
                if found:
                    _descend(found, name, name)
                    errors = _joined(errors, found)
        return errors

    return step


def _extras(schema: dict[str, Any]) -> Callable[[dict[str, Any]], list[str]]:
    """The keys that ``properties`` and ``patternProperties`` do not cover (jsonschema's own rule)."""
    names = frozenset(schema.get("properties", {}))
    joined = "|".join(schema.get("patternProperties", {}))
    if not joined:
        return lambda instance: [] if names.issuperset(instance) else [k for k in instance if k not in names]
    pattern = re.compile(joined)
    return lambda instance: [k for k in instance if k not in names and not pattern.search(k)]


def _additional_properties(
    compiler: CompiledSchema, value: Any, schema: dict[str, Any]
) -> Callable[[Any], Errors]:
    extras = _extras(schema)
    if isinstance(value, dict):
        child = compiler._compile(value)

        def each(instance: Any) -> Errors:
            if not isinstance(instance, dict):
                return None
            errors: Errors = None
            for extra in extras(instance):
                found = child(instance[extra])
                if found:
                    _descend(found, extra, None)
                    errors = _joined(errors, found)
            return errors

        return each
    if value:
        return _valid  # true: jsonschema allows every other key then
    patterns = schema.get("patternProperties")

    def none_allowed(instance: Any) -> Errors:
        if not isinstance(instance, dict):
            return None
        found = extras(instance)
        if not found:
            return None
        unique = set(found)
        if patterns is not None:
            verb = "does" if len(unique) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(unique))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            message = f"{joined} {verb} not match any of the regexes: {listed}"
        else:
            verb = "was" if len(unique) == 1 else "were"
            message = (
                f"Additional properties are not allowed ({', '.join(repr(e) for e in sorted(unique))} "
                f"{verb} unexpected)"
            )
        return [SchemaError(message, "additionalProperties", value, instance, schema)]

    return none_allowed


def _pattern_properties(
    compiler: CompiledSchema, value: Any, schema: dict[str, Any]
) -> Callable[[Any], Errors]:
    children = [(pattern, re.compile(pattern), compiler._compile(sub)) for pattern, sub in value.items()]

    def step(instance: Any) -> Errors:
        if not isinstance(instance, dict):
            return None
        errors: Errors = None
        for pattern, regex, child in children:
            for key, item in instance.items():
                if regex.search(key):
                    found = child(item)
                    if found:
                        _descend(found, key, pattern)
                        errors = _joined(errors, found)
        return errors

    return step


def _property_names(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    child = compiler._compile(value)

    def step(instance: Any) -> Errors:
        if not isinstance(instance, dict):
            return None
        errors: Errors = None
        for key in instance:
            found = _descend(child(key), None, None)
            if found:
                errors = _joined(errors, found)
        return errors

    return step


def _required(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    names = list(value)

    def step(instance: Any) -> Errors:
        if not isinstance(instance, dict):
            return None
        missing = [name for name in names if name not in instance]
        if not missing:
            return None
        return [
            SchemaError(f"{name!r} is a required property", "required", value, instance, schema)
            for name in missing
        ]

    return step


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: true and 1 differ, lists and mappings compare item by item."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list | tuple) and isinstance(two, list | tuple):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return len(one) == len(two) and all(key in two and _equal(v, two[key]) for key, v in one.items())
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def _enum(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    choices = list(value)
    strings = frozenset(choices) if all(isinstance(c, str) for c in choices) else None

    def step(instance: Any) -> Errors:
        if strings is not None and isinstance(instance, str):
            if instance in strings:
                return None
        elif any(_equal(choice, instance) for choice in choices):
            return None
        return [SchemaError(f"{instance!r} is not one of {value!r}", "enum", value, instance, schema)]

    return step


def _const(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    def step(instance: Any) -> Errors:
        if _equal(instance, value):
            return None
        return [SchemaError(f"{value!r} was expected", "const", value, instance, schema)]

    return step


def _is_number(instance: Any) -> bool:
    return isinstance(instance, int | float) and not isinstance(instance, bool)


def _bound(keyword: str) -> Callable[[CompiledSchema, Any, dict[str, Any]], Callable[[Any], Errors]]:
    def build(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
        if not _is_number(value):
            raise UnsupportedSchema(f"{keyword} must be a number")

        def step(instance: Any) -> Errors:
            if not _is_number(instance):
                return None
            if keyword == "minimum" and instance < value:
                message = f"{instance!r} is less than the minimum of {value!r}"
            elif keyword == "maximum" and instance > value:
                message = f"{instance!r} is greater than the maximum of {value!r}"
            elif keyword == "exclusiveMinimum" and instance <= value:
                message = f"{instance!r} is less than or equal to the minimum of {value!r}"
            elif keyword == "exclusiveMaximum" and instance >= value:
                message = f"{instance!r} is greater than or equal to the maximum of {value!r}"
            else:
                return None
            return [SchemaError(message, keyword, value, instance, schema)]

        return step

    return build


def _length(keyword: str) -> Callable[[CompiledSchema, Any, dict[str, Any]], Callable[[Any], Errors]]:
    """minLength/maxLength on strings, minItems/maxItems on lists, min/maxProperties on mappings."""
    kind: type[Sized] = str if keyword.endswith("Length") else list if keyword.endswith("Items") else dict
    at_least = keyword.startswith("min")

    def build(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
        if kind is dict:
            short = "should be non-empty" if value == 1 else "does not have enough properties"
            long = "is expected to be empty" if value == 0 else "has too many properties"
        else:
            short = "should be non-empty" if value == 1 else "is too short"
            long = "is expected to be empty" if value == 0 else "is too long"

        def step(instance: Any) -> Errors:
            if not isinstance(instance, kind):
                return None
            size = len(instance)
            if at_least and size < value:
                message = f"{instance!r} {short}"
            elif not at_least and size > value:
                message = f"{instance!r} {long}"
            else:
                return None
            return [SchemaError(message, keyword, value, instance, schema)]

        return step

    return build


def _pattern(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    search = re.compile(value).search

    def step(instance: Any) -> Errors:
        if not isinstance(instance, str) or search(instance):
            return None
        return [SchemaError(f"{instance!r} does not match {value!r}", "pattern", value, instance, schema)]

    return step


def _items(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    if "prefixItems" in schema:
        raise UnsupportedSchema("prefixItems is not compiled")
    if value is False:

        def none(instance: Any) -> Errors:
            if not isinstance(instance, list) or not instance:
                return None
            rest = instance if len(instance) != 1 else instance[0]
            message = f"Expected at most 0 items but found {len(instance)} extra: {rest!r}"
            return [SchemaError(message, "items", value, instance, schema)]

        return none
    child = compiler._compile(value)

    def step(instance: Any) -> Errors:
        if not isinstance(instance, list):
            return None
        errors: Errors = None
        for index, item in enumerate(instance):
            found = child(item)
            if found:
                _descend(found, index, None)
                errors = _joined(errors, found)
        return errors

    return step


def _ref(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    resolved: list[Check] = []

    def step(instance: Any) -> Errors:
        if not resolved:
            resolved.append(compiler._ref(value))
        return _descend(resolved[0](instance), None, None)

    compiler._ref(value)  # resolve now: an unresolvable reference makes the schema unsupported
    return step


def _if(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    condition = compiler._compile(value)
    then = compiler._compile(schema["then"]) if "then" in schema else None
    otherwise = compiler._compile(schema["else"]) if "else" in schema else None

    def step(instance: Any) -> Errors:
        if not condition(instance):
            return _descend(then(instance), None, "then") if then is not None else None
        return _descend(otherwise(instance), None, "else") if otherwise is not None else None

    return step


def _not(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    child = compiler._compile(value)

    def step(instance: Any) -> Errors:
        if child(instance):
            return None
        message = f"{instance!r} should not be valid under {value!r}"
        return [SchemaError(message, "not", value, instance, schema)]

    return step


def _all_of(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    children = [compiler._compile(sub) for sub in value]

    def step(instance: Any) -> Errors:
        errors: Errors = None
        for index, child in enumerate(children):
            found = child(instance)
            if found:
                _descend(found, None, index)
                errors = _joined(errors, found)
        return errors

    return step


def _any_of(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    children = [compiler._compile(sub) for sub in value]

    def step(instance: Any) -> Errors:
        if any(not child(instance) for child in children):
            return None
        message = f"{instance!r} is not valid under any of the given schemas"
        return [SchemaError(message, "anyOf", value, instance, schema)]

    return step


def _one_of(compiler: CompiledSchema, value: Any, schema: dict[str, Any]) -> Callable[[Any], Errors]:
    children = [compiler._compile(sub) for sub in value]

    def step(instance: Any) -> Errors:
        valid = [index for index, child in enumerate(children) if not child(instance)]
        if not valid:
            message = f"{instance!r} is not valid under any of the given schemas"
            return [SchemaError(message, "oneOf", value, instance, schema)]
        if len(valid) == 1:
            return None
        more = [value[index] for index in valid[1:]] + [value[valid[0]]]
        message = f"{instance!r} is valid under each of {', '.join(repr(s) for s in more)}"
        return [SchemaError(message, "oneOf", value, instance, schema)]

    return step


_KEYWORDS: dict[str, Callable[[CompiledSchema, Any, dict[str, Any]], Callable[[Any], Errors]]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "patternProperties": _pattern_properties,
    "propertyNames": _property_names,
    "required": _required,
    "enum": _enum,
    "const": _const,
    "minimum": _bound("minimum"),
    "maximum": _bound("maximum"),
    "exclusiveMinimum": _bound("exclusiveMinimum"),
    "exclusiveMaximum": _bound("exclusiveMaximum"),
    "minLength": _length("minLength"),
    "maxLength": _length("maxLength"),
    "minItems": _length("minItems"),
    "maxItems": _length("maxItems"),
    "minProperties": _length("minProperties"),
    "maxProperties": _length("maxProperties"),
    "pattern": _pattern,
    "items": _items,
    "$ref": _ref,
    "if": _if,
    "not": _not,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
}
