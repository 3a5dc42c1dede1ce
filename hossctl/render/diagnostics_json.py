"""``validate --json`` (and ``plan --json`` on an invalid config): diagnostics as one JSON document.

CI annotations, editors and review bots need the file, line, column and a stable rule id of
every finding; parsing ``FILE:LINE:COL: message`` lines would break on the first file name
with a colon and on every rewording. Described by ``schemas/diagnostics.schema.json``.
Messages are exact, as in every ``--json`` output; written ASCII-only, so that a bidi or C1
character quoted from a hostile config is a ``\\u`` escape even in a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hossctl.plan.model import Config, Diagnostic
from hossctl.sanitize import json_text

FORMAT_VERSION = 1


def diagnostic_to_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    position = diagnostic.position
    return {
        "file": position.file if position else None,
        "line": position.line if position else None,
        "column": position.column if position else None,
        "rule": diagnostic.rule,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
    }


def document(diagnostics: Sequence[Diagnostic], config: Config | None) -> dict[str, Any]:
    """The document for a config that loaded (``config``, with its warnings) or did not (None)."""
    from hossctl.config.loader import summary_counts

    return {
        "format_version": FORMAT_VERSION,
        "valid": config is not None,
        "summary": summary_counts(config) if config is not None else None,
        "diagnostics": [diagnostic_to_dict(d) for d in diagnostics],
    }


def render(diagnostics: Sequence[Diagnostic], config: Config | None) -> str:
    return json_text(document(diagnostics, config)) + "\n"
