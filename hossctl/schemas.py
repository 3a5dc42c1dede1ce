"""Locating the JSON Schemas shipped in ``schemas/``.

The wheel carries them inside the package (``hossctl/schemas/``); an editable install or a
source checkout reads them from the repository's top-level ``schemas/``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGED = Path(__file__).parent / "schemas"
_SOURCE = Path(__file__).parent.parent / "schemas"


def schema_path(name: str) -> Path:
    for folder in (_PACKAGED, _SOURCE):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} is missing from this installation")


def read_schema_text(name: str) -> str:
    return schema_path(name).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(read_schema_text(name))
    return loaded
