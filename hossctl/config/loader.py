"""Reading config files into the immutable model, reporting every problem at once.

The stages, each reporting what it finds and marking what it broke so later stages stay quiet
about it: YAML (positions, duplicates, bombs) -> token scan -> ``${VAR}`` interpolation ->
JSON Schema -> merge across files and semantic rules. Only this module touches the disk.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hossctl.config.interpolate import interpolate
from hossctl.config.semantics import CheckedDocument, build_config
from hossctl.config.structure import MAX_STRUCTURAL_PROBLEMS, check_structure
from hossctl.config.yamlsource import MAX_BYTES, Document, PathKey, load_yaml
from hossctl.errors import HossctlError
from hossctl.plan.model import Config, Diagnostic
from hossctl.secretscan import looks_like_token, may_hold_token, redact
from hossctl.values import replace

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


def summary_counts(config: Config) -> dict[str, int]:
    """Servers, namespaces and sync links; a duplex link declared from both ends is one link."""
    namespaces = sum(len(server.namespaces) for server in config.servers)
    links: set[tuple[Any, ...]] = set()
    for server in config.servers:
        for namespace in server.namespaces:
            for target in namespace.sync:
                here = (server.core_url, namespace.name)
                there = (target.core_url, target.namespace)
                pair = (min(here, there), max(here, there)) if target.type == "duplex" else (here, there)
                links.add((target.type, *pair))
    return {"servers": len(config.servers), "namespaces": namespaces, "sync_links": len(links)}


def config_summary(config: Config) -> str:
    """``Valid: 2 servers, 14 namespaces, 3 sync links.`` (the counts of ``summary_counts``)."""
    counts = summary_counts(config)
    return (
        f"Valid: {_plural(counts['servers'], 'server')}, {_plural(counts['namespaces'], 'namespace')}, "
        f"{_plural(counts['sync_links'], 'sync link')}."
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def load_config(paths: Sequence[str | Path], env: Mapping[str, str] | None = None) -> Config:
    """Load, merge and check config files (or directories of them); raise ConfigError with all errors.

    The cyclic garbage collector is paused meanwhile: loading allocates hundreds of thousands of
    containers that all stay alive, so every collection it would trigger scans them and frees
    nothing (about a tenth of a 10,000-namespace load; BENCHMARKS.md, issue 15). The loader makes
    no reference cycles worth collecting, and the collector resumes as it was, error or not.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_config(paths, env)
    finally:
        if was_enabled:
            gc.enable()


def _load_config(paths: Sequence[str | Path], env: Mapping[str, str] | None) -> Config:
    environment: Mapping[str, str] = os.environ if env is None else env
    diagnostics: list[Diagnostic] = []
    sources: list[CheckedDocument] = []
    unfinished = False
    files = _config_files(paths, diagnostics)
    for display, real in files:
        data = _read(display, real, diagnostics)
        if data is None:
            continue
        doc, found = load_yaml(display, data)
        diagnostics.extend(found)
        if doc is not None:
            try:
                sources.append(_check_document(doc, data, environment, diagnostics))
            except _Unfinished:
                unfinished = True
    # The merge and semantic checks trust the schema stage's list of broken paths: after a file
    # whose check stopped early they cannot run, and the config is invalid anyway.
    config, semantic = (None, []) if unfinished else build_config(sources)
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
    if config is None or any(d.severity == "error" for d in diagnostics):
        raise ConfigError(diagnostics)
    return Config(
        servers=config.servers,
        warnings=tuple(diagnostics),
        sources=tuple(os.path.realpath(real) for _, real in files),
    )


def _read(display: str, path: str, diagnostics: list[Diagnostic]) -> bytes | None:
    """The bytes of a config file, or None with the reason reported.

    ``_config_files`` has already refused anything but regular files; opening without
    blocking and checking the opened file again closes the window in which the entry could
    have been swapped for a FIFO, whose open would otherwise hang the run.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        diagnostics.append(_file_error(f"{display}: cannot read it ({exc.strerror or exc}); {_READ_FIX}"))
        return None
    with os.fdopen(fd, "rb") as stream:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            diagnostics.append(_file_error(f"{display}: is {kind}, not a regular file; {_REGULAR_FIX}"))
            return None
        try:
            return stream.read(MAX_BYTES + 1)  # the YAML stage refuses anything larger
        except OSError as exc:
            diagnostics.append(_file_error(f"{display}: cannot read it ({exc.strerror or exc}); {_READ_FIX}"))
            return None


def _check_document(
    doc: Document, raw: bytes, env: Mapping[str, str], diagnostics: list[Diagnostic]
) -> CheckedDocument:
    """Token scan, interpolation and schema for one file; ``raw`` is its bytes, which tell cheaply
    when a stage has nothing to find (no token-like text, no ``${``; with no backslash, escape
    sequences cannot make one)."""
    skip: set[PathKey] = set(doc.bad_paths)
    if may_hold_token(raw):
        skip |= _scan_tokens(doc, doc.data, None, diagnostics)
    if b"${" in raw or b"\\" in raw:
        data, interpolated = interpolate(doc, env)
        diagnostics.extend(interpolated.diagnostics)
        skip |= interpolated.failed
        skip |= _scan_tokens(doc, data, interpolated.changed - skip, diagnostics)
    else:
        data = doc.data
    structural, broken, complete = check_structure(doc, data, skip)
    diagnostics.extend(structural)
    if not complete:
        diagnostics.append(
            Diagnostic(
                f"{doc.file}: more than {MAX_STRUCTURAL_PROBLEMS} problems against the schema; the first "
                f"{MAX_STRUCTURAL_PROBLEMS} are listed and the file was not checked further: fix those "
                "(they are often one mistake repeated) and validate again",
                rule="schema",
            )
        )
        raise _Unfinished()
    return CheckedDocument.of(doc, data, broken | skip)


class _Unfinished(Exception):
    """A file's check stopped early: its broken paths are unknown, so nothing may build on it."""


def _at(data: Any, path: PathKey) -> Any:
    """The value at ``path`` (keys and list indexes), or None where the path leads nowhere."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data):
            data = data[step]
        else:
            return None
    return data


def _token_message(path: PathKey, interpolated: bool) -> str:
    if path[-1:] in (("pat_env",), ("service_secret_env",)):
        secret = "token" if path[-1] == "pat_env" else "secret"
        return f"{path[-1]} names the environment variable that holds the {secret}, not the {secret} itself"
    if interpolated:
        return f"this value, with its variables replaced, looks like a token; {_TOKEN_ADVICE}"
    return f"this value looks like an access token; {_TOKEN_ADVICE}"


def _scan_tokens(
    doc: Document, data: Any, only: set[PathKey] | None, diagnostics: list[Diagnostic]
) -> set[PathKey]:
    """Report token-looking keys and values (never echoing them); ``only`` limits it to those paths."""
    found: set[PathKey] = set()
    if only is not None:
        # The values interpolation changed: look them up rather than walk the whole tree, which
        # for a large config costs far more than the few values a ``${VAR}`` touches.
        for path in sorted(only, key=repr):
            value = _at(data, path)
            if isinstance(value, str) and looks_like_token(value):
                message = _token_message(path, True)
                diagnostics.append(Diagnostic(message, doc.value_position(path), rule="token-literal"))
                found.add(path)
        return found
    stack: list[tuple[PathKey, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                child = (*path, key)
                if only is None and looks_like_token(key):
                    diagnostics.append(
                        Diagnostic(
                            f"this key looks like an access token; {_TOKEN_ADVICE}",
                            doc.key_position(child),
                            rule="token-literal",
                        )
                    )
                    found.add(child)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
        elif isinstance(value, str) and looks_like_token(value):
            diagnostics.append(
                Diagnostic(_token_message(path, False), doc.value_position(path), rule="token-literal")
            )
            found.add(path)
    return found


def _file_error(message: str) -> Diagnostic:
    """A config path that cannot be read as config; the message names the path as given."""
    return Diagnostic(message, rule="file")


_READ_FIX = "give the user running hossctl read access to it, or remove it from the config"
_REGULAR_FIX = "give a config file or a directory of them"
_ENTRY_NOTE = "and every *.yaml/*.yml entry of a -f directory is read as config"
_ENTRY_FIX = "move it out of the directory or rename it so that it does not end in .yaml or .yml"


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def _entry_problem(path: Path) -> tuple[str, str] | None:
    """(what the entry is, how to fix it) for a directory entry that is not a readable
    regular file (or a symlink to one); None when it is fine.

    Only ``lstat``/``stat`` look at it: opening a FIFO to find out would block forever.
    A skipped entry is not harmless: with ``prune: true`` the namespaces it declares
    would be planned for deletion, so every such entry is an error.
    """
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", _READ_FIX
    link = ""
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            if exc.errno == errno.ELOOP:
                return "is a symlink loop", "point it at a config file or remove it"
            if exc.errno == errno.ENOENT:
                return (
                    f"is a dangling symlink (to {target!r}, which does not exist)",
                    "point it at an existing config file or remove it",
                )
            return f"is a symlink that cannot be followed ({exc.strerror or exc})", _READ_FIX
        link = "a symlink to "
    kind = _kind(mode)
    if kind is None:
        return None
    return f"is {link}{kind}, not a regular file", _ENTRY_FIX


def _config_files(paths: Sequence[str | Path], diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    """(display name, path) of every config file, directories expanded, each file once.

    Nothing that could be config is skipped in silence: a bad ``*.yaml`` entry of a
    directory is an error, since the namespaces it holds would otherwise be missing from
    the desired state, and look like ones to prune.
    """
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
            mode = os.stat(path).st_mode
        except OSError as exc:
            if os.path.islink(path) and exc.errno in (errno.ENOENT, errno.ELOOP):
                what = "a symlink loop" if exc.errno == errno.ELOOP else "a dangling symlink"
                fix = "point it at a config file or directory, or fix the path"
                diagnostics.append(_file_error(f"{display}: is {what}; {fix}"))
                continue
            if exc.errno == errno.ENOENT:
                diagnostics.append(_file_error(f"{display}: no such file or directory"))
                continue
            diagnostics.append(_file_error(f"{display}: cannot read it ({exc.strerror or exc}); {_READ_FIX}"))
            continue
        if stat.S_ISREG(mode):
            add(display, path)
            continue
        if not stat.S_ISDIR(mode):
            diagnostics.append(
                _file_error(f"{display}: is {_kind(mode)}, not a regular file or directory; {_REGULAR_FIX}")
            )
            continue
        try:
            names = sorted(name for name in os.listdir(path) if name.endswith(CONFIG_SUFFIXES))
        except OSError as exc:
            diagnostics.append(_file_error(f"{display}: cannot read it ({exc.strerror or exc}); {_READ_FIX}"))
            continue
        if not names:
            diagnostics.append(_file_error(f"{display}: directory holds no *.yaml or *.yml file"))
        for name in names:
            entry_display = os.path.join(display, name)
            problem = _entry_problem(path / name)
            if problem is None:
                add(entry_display, path / name)
            else:
                what, fix = problem
                diagnostics.append(_file_error(f"{entry_display}: {what}, {_ENTRY_NOTE}; {fix}"))
    return files
