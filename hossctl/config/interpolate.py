"""``${VAR}`` and ``${VAR:-default}`` in config string values, replaced from the environment.

Interpolation happens before schema validation, so the schema judges the values that will
actually be used. ``$${`` stands for a literal ``${``. Keys are never interpolated: names
of servers and namespaces must be readable in the file itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hossctl.config.yamlsource import Document, PathKey
from hossctl.plan.model import Diagnostic

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


class Interpolated:
    """The document's data with variables replaced, what went wrong, and which paths changed."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.failed: set[PathKey] = set()
        self.changed: set[PathKey] = set()


def interpolate(doc: Document, env: Mapping[str, str]) -> tuple[dict[str, Any], Interpolated]:
    result = Interpolated()
    data = _walk(doc.data, (), doc, env, result)
    assert isinstance(data, dict)
    return data, result


def _walk(value: Any, path: PathKey, doc: Document, env: Mapping[str, str], out: Interpolated) -> Any:
    """``value`` with references replaced: the same object where nothing beneath it changed, a
    copy of only the containers on the way to a replaced string. A child's path is built only for
    a container or a string holding ``${``: most values are neither, and a copy of every mapping
    and a tuple per value were most of the cost (BENCHMARKS.md, issue 15)."""
    if isinstance(value, str):
        return _substitute(value, path, doc, env, out) if "${" in value else value
    if not isinstance(value, dict | list):
        return value
    copied: Any = None
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if isinstance(item, str):
            if "${" not in item:
                continue
        elif not isinstance(item, dict | list):
            continue
        new = _walk(item, (*path, key), doc, env, out)
        if new is not item:
            if copied is None:
                copied = value.copy()
            copied[key] = new
    return value if copied is None else copied


def _substitute(text: str, path: PathKey, doc: Document, env: Mapping[str, str], out: Interpolated) -> str:
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            problems.append(
                "malformed variable reference: write ${NAME} or ${NAME:-default} "
                "(NAME is letters, digits and '_'), or $${ for a literal ${"
            )
            return whole
        value = env.get(name)
        if default is not None and not value:
            return default
        if value is None:
            problems.append(
                f"environment variable {name} is not set; set it or give a default: ${{{name}:-default}}"
            )
            return whole
        return value

    replaced = _REFERENCE.sub(replace, text)
    position = doc.value_position(path)
    for problem in dict.fromkeys(problems):
        out.diagnostics.append(Diagnostic(problem, position, rule="interpolation"))
    if problems:
        out.failed.add(path)
    elif replaced != text:
        out.changed.add(path)
    return replaced
