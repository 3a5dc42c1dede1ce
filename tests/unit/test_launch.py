"""The fast entry point answers ``--help`` and ``--version`` exactly as click would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from depth import examples
from hypothesis import given, settings
from hypothesis import strategies as st

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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WARNING_CONFIG = """\
version: 1
servers:
  a:
    url: https://a.example.org
    namespaces:
      one: {description: d, object_store: default, bucket: same}
      two: {description: d, object_store: default, bucket: same}
"""
INVALID_CONFIG = (
    "version: 1\nservers:\n  a:\n    url: ftp://a\n    namespaces: {x: {bucket: 3, colour: red}}\n"
)


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "hoss.yaml").write_text(WARNING_CONFIG)
    (tmp_path / "bad.yaml").write_text(INVALID_CONFIG)
    (tmp_path / "tab.yaml").write_text("version: 1\nservers:\n\ta: {}\n")
    (tmp_path / "token.yaml").write_text("version: 1\nservers: {a: {url: 'hp_" + "Ab3" * 8 + "'}}\n")
    return tmp_path


VALIDATE_LINES = [
    ["validate"],  # hoss.yaml in the working directory, with a warning
    ["validate", "--json"],
    ["validate", "-f", str(EXAMPLES / "two-servers-duplex")],
    ["validate", "-f", str(EXAMPLES / "split"), "--json"],
    ["validate", f"-f{EXAMPLES / 'single-server' / 'hoss.yaml'}"],
    ["validate", f"--file={EXAMPLES / 'single-server' / 'hoss.yaml'}", "-f", "hoss.yaml"],
    ["validate", "--file", "bad.yaml"],
    ["validate", "--json", "-f", "bad.yaml", "-f", "tab.yaml"],
    ["validate", "-f", "token.yaml"],
    ["validate", "-f", "missing.yaml"],
    ["validate", "-f", "."],
    ["validate", "-f", "/dev/null"],
]


@pytest.mark.parametrize("args", VALIDATE_LINES, ids=lambda args: " ".join(args[1:]) or "default")
def test_the_launcher_validates_as_click_does(tmp_path: Path, args: list[str]) -> None:
    """The same bytes on stdout and stderr, and the same exit code, with click and without."""
    cwd = _workdir(tmp_path)

    def run(module: str) -> subprocess.CompletedProcess[str]:
        code = f"import sys; sys.argv[0] = 'hossctl'; from hossctl.{module} import main; main()"
        return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True)

    fast, slow = run("launch"), run("cli")
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert "Traceback" not in fast.stderr


def test_the_fast_validate_does_not_import_click(tmp_path: Path) -> None:
    code = (
        "import sys; from hossctl.launch import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('click' in sys.modules)"
    )
    args = ["validate", "-f", str(EXAMPLES / "two-servers-duplex")]
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True)
    assert out.stdout.splitlines()[-1] == "False"


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--debug"],
        ["--debug", "validate"],
        ["validate", "--help"],
        ["validate", "-f"],
        ["validate", "-f", "--json"],  # click would read the file "--json"; click decides
        ["validate", "-f", ""],
        ["validate", "--"],
        ["validate", "--jsn"],
        ["validate", "extra"],
        ["plan", "-f", "x"],
    ],
)
def test_lines_the_launcher_leaves_to_click(args: list[str]) -> None:
    from hossctl.launch import validate_line

    assert validate_line(args) is None


VOCABULARY = [
    "-f", "--file", "--json", "a.yaml", "-fb.yaml", "--file=c.yaml", "--file=", "-f-x", "--debug", "d",
    "-f=e.yaml", "--fil", "--file", "-", "--", "-j",
]  # fmt: skip


@given(st.lists(st.sampled_from(VOCABULARY), max_size=6))
@settings(max_examples=examples(300), deadline=None)
def test_a_line_the_launcher_reads_is_read_the_same_by_click(words: list[str]) -> None:
    """Whatever the launcher accepts, click's own parser reads as the same files and flag."""
    from hossctl.cli import cli
    from hossctl.launch import validate_line

    line = validate_line(["validate", *words])
    if line is None:
        return
    command = cli.commands["validate"]
    ctx = command.make_context("validate", list(words))
    assert (list(ctx.params["files"]), ctx.params["as_json"]) == (line[0], line[1])
