"""Structural checks: the JSON Schema's verdicts, told as sentences at the right line.

``schemas/config.schema.json`` is the single source of the structural rules; this module
only runs it (compiled by ``schemacheck``, which reports what jsonschema would) and rephrases
jsonschema's errors ("Additional properties are not allowed
('descripton' was unexpected)") into what a person needs: which key, where, what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from hossctl.config.yamlsource import Document, PathKey
from hossctl.plan.model import Diagnostic
from hossctl.secretscan import redact

_SECRET_WORDS = ("token", "pat", "password", "secret", "jwt", "key")
_TYPE_WORDS = {
    "object": "a mapping",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "integer": "a whole number",
}


@cache
def _validator() -> Any:
    """The config schema compiled into closures (``schemacheck``), built once per process.

    jsonschema itself is the fallback for a schema that uses a keyword the compiler does not
    implement: slower, never wrong. ``tests/unit/test_schemacheck.py`` fails while the shipped
    schema needs the fallback, so it is never taken unnoticed.
    """
    from hossctl.config.schemacheck import CompiledSchema, UnsupportedSchema
    from hossctl.schemas import load_schema

    schema = load_schema("config.schema.json")
    try:
        return CompiledSchema(schema)
    except UnsupportedSchema:
        return reference_validator(schema)


def reference_validator(schema: dict[str, Any]) -> Any:
    """jsonschema's validator for ``schema``: the reference the compiled one is tested against."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def quote(value: str) -> str:
    """A user string for a message: quoted, shortened, never a token."""
    shown = redact(value).replace("\n", "\\n")  # before shortening: no part of a token survives
    return "'" + (shown if len(shown) <= 80 else shown[:77] + "...") + "'"


def show(value: Any, raw: str | None = None) -> str:
    """A value for a message, as the user would recognise it from the file."""
    if raw is not None and not isinstance(value, dict | list):
        return raw if raw else "empty"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return quote(repr(value))[1:-1]


def where(path: PathKey) -> str:
    """The thing at ``path`` named the way the config's reader thinks of it."""
    if not path:
        return "the top level"
    if path[0] == "servers" and len(path) >= 2:
        server = f"server {quote(str(path[1]))}"
        if len(path) == 2:
            return server
        if path[2] == "namespaces" and len(path) >= 4:
            namespace = f"namespace {quote(str(path[3]))} of {server}"
            if len(path) == 4:
                return namespace
            if path[4] == "sync" and len(path) >= 6 and isinstance(path[5], int):
                target = f"sync target #{path[5] + 1} of {namespace}"
                if len(path) == 6:
                    return target
                return f"{_field(path[6:])} of {target}"
            return f"{_field(path[4:])} of {namespace}"
        return f"{_field(path[2:])} of {server}"
    return _field(path)


def _field(rest: PathKey) -> str:
    return quote(".".join(str(p) for p in rest))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a config with a mistake needs it: not paid at every start

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {quote(close[0])}?" if close else ""


def name_problem(name: str) -> str | None:
    """Why a namespace name cannot be used as one URL path segment, or None when it can."""
    if name == "":
        return "is empty"
    if name in (".", ".."):
        return f"is {quote(name)}"
    for char in name:
        if char in "/?#%":
            return f"contains {quote(char)}"
        if char.isspace():
            return "contains whitespace"
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return "contains a control character"
    return None


def _name_message(kind: str, name: str) -> str:
    reason = name_problem(name) or "is not valid"
    return (
        f"{kind} {quote(name)} {reason}: a namespace name must be usable as one URL path segment "
        "(no '/', '?', '#', '%', whitespace or control characters, not '.' or '..'); "
        "the server would accept it but could never address it again"
    )


# A file with more schema errors than this is not worth listing in full: a 10 MiB file can hold
# hundreds of thousands, and building each message (with its did-you-mean search) would take
# tens of seconds. The first ones are listed and the check stops there.
MAX_STRUCTURAL_PROBLEMS = 1000


def check_structure(
    doc: Document, data: dict[str, Any], skip: set[PathKey]
) -> tuple[list[Diagnostic], set[PathKey], bool]:
    """Diagnostics for schema violations, the paths found broken (for later stages to skip), and
    whether the check went through the whole document (False: it stopped at
    ``MAX_STRUCTURAL_PROBLEMS``, and the broken paths are incomplete).

    Errors at or below a path in ``skip`` were already reported another way and are dropped.
    """
    diagnostics: list[Diagnostic] = []
    broken: set[PathKey] = set()
    seen: set[tuple[str, str]] = set()
    for error in _validator().iter_errors(data):
        path: PathKey = tuple(error.absolute_path)
        if any(path[:i] in skip for i in range(len(path) + 1)):
            continue
        room = MAX_STRUCTURAL_PROBLEMS - len(diagnostics)
        for diagnostic, bad_path in _rephrase(error, doc, path, room):
            if bad_path in skip:
                continue
            key = (str(diagnostic.position), diagnostic.message)
            if key not in seen:
                if len(diagnostics) == MAX_STRUCTURAL_PROBLEMS:
                    return diagnostics, broken, False  # one more than the cap: stop here
                seen.add(key)
                diagnostics.append(diagnostic)
            broken.add(bad_path)
    return diagnostics, broken, True


def _rephrase(error: Any, doc: Document, path: PathKey, room: int) -> list[tuple[Diagnostic, PathKey]]:
    """What one schema error means, in diagnostics; one error can stand for many unknown keys, of
    which at most ``room`` + 1 are described (one more than fits says that there are more)."""
    validator: str = error.validator
    schema_path = list(error.absolute_schema_path)
    instance = error.instance
    field = path[-1] if path and isinstance(path[-1], str) else None
    in_names = "propertyNames" in schema_path

    if in_names:
        name = str(instance)
        name_path = (*path, name)
        position = doc.key_position(name_path)
        if path[-1:] == ("servers",):
            message = (
                f"server key {quote(name)} is not valid: use lower-case letters, digits, '_' and '-', "
                "starting with a letter or digit"
            )
        else:
            message = _name_message("namespace name", name)
        return [(Diagnostic(message, position, rule="schema"), name_path)]

    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        results: list[tuple[Diagnostic, PathKey]] = []
        for key in instance:
            if key in allowed or any(p.search(key) for p in patterns):
                continue
            if len(results) > room:
                break
            message = f"unknown key {quote(key)} in {where(path)}{did_you_mean(key, allowed)}"
            message += f" (allowed: {', '.join(allowed)}{', x-…' if patterns else ''})"
            if len(path) == 2 and path[0] == "servers" and any(word in key.lower() for word in _SECRET_WORDS):
                message += "; tokens never go in the config: put the token in an environment variable and "
                message += "name that variable with pat_env"
            results.append((Diagnostic(message, doc.key_position((*path, key)), rule="schema"), (*path, key)))
        return results

    if validator == "required":
        if "then" in schema_path and instance.get("ensure", "present") != "present":
            return []  # an invalid 'ensure' is reported by itself
        missing = [name for name in error.validator_value if name not in instance]
        results = []
        for name in missing:
            if not path:
                hint = " (a config file starts with 'version: 1' and a 'servers' mapping)"
            elif "then" in schema_path:
                hint = " (required unless ensure: absent)"
            elif name == "type":
                hint = " (simplex or duplex)"
            else:
                hint = ""
            message = f"{where(path)} is missing {quote(name)}{hint}"
            results.append((Diagnostic(message, doc.key_position(path), rule="schema"), (*path, name)))
        return results

    position = doc.value_position(path)
    raw = doc.raw(path)
    is_entity = (
        len(path) <= 2
        or (len(path) == 4 and path[2] == "namespaces")
        or (len(path) == 6 and path[4] == "sync")
    )
    subject = where(path) if is_entity or field is None else quote(field)
    if validator == "type":
        expected = error.validator_value
        kinds = expected if isinstance(expected, list) else [expected]
        expected_words = " or ".join(_TYPE_WORDS.get(kind, str(kind)) for kind in kinds)
        hint = ""
        if expected == "string" and raw is not None:
            hint = f' (put it in quotes: "{raw}")'
        elif expected == "object" and instance is None:
            hint = " (write {} for none)" if field in ("namespaces", "servers") else ""
        message = f"{subject} must be {expected_words}, not {show(instance, raw)}{hint}"
    elif validator == "enum":
        # ``false`` is in datasets.sync's enum only as YAML's reading of an unquoted ``off``
        choices = [str(c) for c in error.validator_value if isinstance(c, str)]
        hint = did_you_mean(instance, choices) if isinstance(instance, str) else ""
        message = f"{subject} must be {' or '.join(choices)}, not {show(instance, raw)}{hint}"
    elif validator == "const":
        message = f"{subject} must be {show(error.validator_value)}, not {show(instance, raw)}"
        if field == "version":
            message += " (1 is the only config format version)"
    elif validator in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        unit = " (a percent)" if field == "delete_threshold" else ""
        message = f"{subject} must be a whole number from {low} to {high}{unit}, not {show(instance, raw)}"
    elif field == "namespace" and validator in ("pattern", "minLength"):
        message = _name_message("target namespace", str(instance))
    elif field == "url" and validator in ("pattern", "minLength"):
        message = f"'url' must be an http:// or https:// URL, not {show(instance)}"
    elif field in ("pat_env", "service_secret_env") and validator == "pattern":
        message = (
            f"'{field}' must name an environment variable (letters, digits and '_'), not {show(instance)}"
        )
    elif validator in ("minLength", "pattern") and isinstance(instance, str) and not instance.strip():
        message = f"{subject} must not be empty"
        if field == "description":
            message += " (the server rejects an empty description)"
    else:
        message = f"{where(path)}: {redact(error.message)}"
    return [(Diagnostic(message, position, rule="schema"), path)]
