"""The fast entry point answers ``--help`` and ``--version`` exactly as click would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hossctl import __version__

HELP_MODULE = Path(__file__).resolve().parents[2] / "hossctl" / "help_text.py"
HEADER = (
    '"""The root ``hossctl --help`` as click renders it at 80 columns (generated: see ``launch``)."""\n\n'
)


def clicks_help() -> str:
    """What click prints on a terminal of 80 columns or more: it wraps at min(columns, 80) - 2.
    (A subprocess, not CliRunner, which forces a width of exactly 80.)"""
    code = "import sys; sys.argv[0] = 'hossctl'; from hossctl.cli import main; main()"
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run([sys.executable, "-c", code, "--help"], env=env, capture_output=True, text=True)
    assert result.returncode == 0
    return result.stdout


def test_the_stored_help_is_clicks() -> None:
    text = clicks_help()
    lines = "".join(f"    {line!r}\n" for line in text.splitlines(keepends=True))
    expected = HEADER + f"ROOT_HELP = (\n{lines})\n"
    if os.environ.get("HOSSCTL_UPDATE_GOLDEN"):
        HELP_MODULE.write_text(expected, encoding="utf-8")
    from hossctl.help_text import ROOT_HELP

    assert ROOT_HELP == text, "run: HOSSCTL_UPDATE_GOLDEN=1 python -m pytest -n 0 tests/unit/test_launch.py"


@pytest.mark.parametrize(
    ("args", "columns", "expected"),
    [
        (["--help"], "80", "help"),
        (["-h"], "120", "help"),
        (["--version"], "80", f"hossctl, version {__version__}\n"),
        (["--help"], "60", "click"),  # narrower than 80: click wraps it itself
    ],
)
def test_the_launcher_prints_what_click_prints(args: list[str], columns: str, expected: str) -> None:
    env = {**os.environ, "COLUMNS": columns}

    def run(module: str) -> subprocess.CompletedProcess[str]:
        code = f"import sys; sys.argv[0] = 'hossctl'; from hossctl.{module} import main; main()"
        return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)

    fast, slow = run("launch"), run("cli")
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    if expected == "help":
        assert fast.stdout == clicks_help()
    elif expected != "click":
        assert fast.stdout == expected


def test_the_fast_help_does_not_import_click() -> None:
    code = (
        "import sys; from hossctl.launch import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('click' in sys.modules)"
    )
    env = {**os.environ, "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-c", code, "--help"], env=env, capture_output=True, text=True)
    assert out.stdout.rstrip().endswith("False")
