"""Reading config files into the immutable model, reporting every problem at once.

The stages, each reporting what it finds and marking what it broke so later stages stay quiet
about it: YAML (positions, duplicates, bombs) -> token scan -> ``${VAR}`` interpolation ->
JSON Schema -> merge across files and semantic rules. Only this module touches the disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hossctl.errors import HossctlError
from hossctl.interpolate import interpolate
from hossctl.model import Config, Diagnostic
from hossctl.secretscan import looks_like_token, redact
from hossctl.semantics import CheckedDocument, build_config
from hossctl.structure import check_structure
from hossctl.yamlsource import MAX_BYTES, Document, PathKey, load_yaml

CONFIG_SUFFIXES = (".yaml", ".yml")
_TOKEN_ADVICE = (
    "tokens never go in config files: put it in an environment variable and name that variable with pat_env"
)


class ConfigError(HossctlError):
    """The config is invalid; ``diagnostics`` holds every error (and warning) found, in file order."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        lines = [str(d) for d in self.diagnostics]
        if len(self.errors) > 1:
            lines.append(count_line(self.diagnostics))
        super().__init__("\n".join(lines), exit_code=1)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    def render(self) -> str:
        """Every diagnostic as ``FILE:LINE:COL: message``, then the count: what editors and CI parse."""
        return "\n".join([*(str(d) for d in self.diagnostics), count_line(self.diagnostics)])


def count_line(diagnostics: Sequence[Diagnostic]) -> str:
    """``3 errors and 1 warning in the config.``"""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    text = _plural(errors, "error")
    if warnings:
        text += f" and {_plural(warnings, 'warning')}"
    return f"{text} in the config."


def summary_line(config: Config) -> str:
    """``Valid: 2 servers, 14 namespaces, 3 sync links.``; a duplex link declared from both ends is one."""
    namespaces = sum(len(server.namespaces) for server in config.servers)
    links: set[tuple[Any, ...]] = set()
    for server in config.servers:
        for namespace in server.namespaces:
            for target in namespace.sync:
                here = (server.core_url, namespace.name)
                there = (target.core_url, target.namespace)
                pair = (min(here, there), max(here, there)) if target.type == "duplex" else (here, there)
                links.add((target.type, *pair))
    return (
        f"Valid: {_plural(len(config.servers), 'server')}, {_plural(namespaces, 'namespace')}, "
        f"{_plural(len(links), 'sync link')}."
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def load_config(paths: Sequence[str | Path], env: Mapping[str, str] | None = None) -> Config:
    """Load, merge and check config files (or directories of them); raise ConfigError with all errors."""
    environment: Mapping[str, str] = os.environ if env is None else env
    diagnostics: list[Diagnostic] = []
    sources: list[CheckedDocument] = []
    files = _config_files(paths, diagnostics)
    for display, real in files:
        try:
            with open(real, "rb") as stream:
                data = stream.read(MAX_BYTES + 1)  # the YAML stage refuses anything larger
        except OSError as exc:
            diagnostics.append(Diagnostic(f"{display}: cannot read it ({exc.strerror or exc})"))
            continue
        doc, found = load_yaml(display, data)
        diagnostics.extend(found)
        if doc is not None:
            sources.append(_check_document(doc, environment, diagnostics))
    config, semantic = build_config(sources)
    diagnostics.extend(semantic)
    order = {display: i for i, (display, _) in enumerate(files)}
    diagnostics.sort(
        key=lambda d: (
            (0, -1, 0, 0)
            if d.position is None
            else (1, order.get(d.position.file, len(order)), d.position.line, d.position.column)
        )
    )
    # Messages are built to never echo a token; this is the net under that rule.
    diagnostics = [
        replace(d, message=redact(d.message)) if looks_like_token(d.message) else d for d in diagnostics
    ]
    if any(d.severity == "error" for d in diagnostics):
        raise ConfigError(diagnostics)
    return Config(servers=config.servers, warnings=tuple(diagnostics))


def _check_document(doc: Document, env: Mapping[str, str], diagnostics: list[Diagnostic]) -> CheckedDocument:
    skip: set[PathKey] = set(doc.bad_paths)
    skip |= _scan_tokens(doc, doc.data, None, diagnostics)
    data, interpolated = interpolate(doc, env)
    diagnostics.extend(interpolated.diagnostics)
    skip |= interpolated.failed
    skip |= _scan_tokens(doc, data, interpolated.changed - skip, diagnostics)
    structural, broken = check_structure(doc, data, skip)
    diagnostics.extend(structural)
    return CheckedDocument.of(doc, data, broken | skip)


def _scan_tokens(
    doc: Document, data: Any, only: set[PathKey] | None, diagnostics: list[Diagnostic]
) -> set[PathKey]:
    """Report token-looking keys and values (never echoing them); ``only`` limits it to those paths."""
    found: set[PathKey] = set()
    stack: list[tuple[PathKey, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, key)
                if only is None and looks_like_token(key):
                    diagnostics.append(
                        Diagnostic(
                            f"this key looks like an access token; {_TOKEN_ADVICE}", doc.key_position(child)
                        )
                    )
                    found.add(child)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
        elif isinstance(value, str) and (only is None or path in only) and looks_like_token(value):
            if path[-1:] == ("pat_env",):
                what = "pat_env names the environment variable that holds the token, not the token itself"
            elif only is not None:
                what = f"this value, with its variables replaced, looks like a token; {_TOKEN_ADVICE}"
            else:
                what = f"this value looks like an access token; {_TOKEN_ADVICE}"
            diagnostics.append(Diagnostic(what, doc.value_position(path)))
            found.add(path)
    return found


def _config_files(paths: Sequence[str | Path], diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    """(display name, real path) of every config file, directories expanded, each file once."""
    files: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(display: str, path: Path) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            files.append((display, str(path)))

    for given in paths:
        display = str(given)
        path = Path(given)
        try:
            if path.is_dir():
                entries = sorted(
                    entry.name
                    for entry in path.iterdir()
                    if entry.name.endswith(CONFIG_SUFFIXES) and entry.is_file()
                )
                if not entries:
                    diagnostics.append(Diagnostic(f"{display}: directory holds no *.yaml or *.yml file"))
                for name in entries:
                    add(os.path.join(display, name), path / name)
            elif path.is_file():
                add(display, path)
            elif path.exists():
                diagnostics.append(Diagnostic(f"{display}: not a regular file or directory"))
            else:
                diagnostics.append(Diagnostic(f"{display}: no such file or directory"))
        except OSError as exc:
            diagnostics.append(Diagnostic(f"{display}: cannot read it ({exc.strerror or exc})"))
    return files
