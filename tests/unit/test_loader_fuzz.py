"""Whatever bytes a config file holds, the loader answers with a Config or a ConfigError, quickly."""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from depth import examples
from documents import paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hossctl.config.loader import ConfigError, load_config
from hossctl.config.yamlsource import MAX_ALIAS_NODES
from hossctl.plan.model import Config

VALID = (Path(__file__).parents[2] / "examples" / "two-servers-duplex" / "hoss.yaml").read_text(
    encoding="utf-8"
)
VALID_DATA: dict[str, Any] = yaml.safe_load(VALID)
TOKEN = "hp_" + "Zz9" * 10
ENV = {"CLOUD_HOSS_URL": "https://cloud.example.org", "HOSS_X": TOKEN}

FUZZ = settings(
    max_examples=examples(600),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# Pieces that mean something to YAML, to the schema or to the loader.
FRAGMENTS = [
    ":",
    ": ",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!x ",
    "#",
    "\n",
    "\n  ",
    "  ",
    "\t",
    "'",
    '"',
    "|",
    ">",
    "<<: *a\n",
    "? ",
    "---\n",
    "...",
    "%YAML 1.1\n",
    "${",
    "}",
    "${HOSS_X}",
    "${NOPE}",
    "$${",
    TOKEN,
    "eyJa.eyJb.c",
    "~",
    "null",
    "yes",
    "0x1F",
    "1e999",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "é",
    "type: duplx",
    "ensure: absent",
    "protect: true",
    "target: cloud",
    "target: onprem",
    "target: https://hoss.mycompany.com",
    "namespace: ../x",
    "version: 2",
    "/",
    "%",
    "?",
]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def load_bytes(workdir: Path, data: bytes) -> Config | ConfigError:
    path = workdir / "fuzz.yaml"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        result: Config | ConfigError = load_config([path], env=ENV)
    except ConfigError as exc:
        result = exc
        assert exc.diagnostics, "a ConfigError always says why"
        assert all(d.severity in ("error", "warning") for d in exc.diagnostics)
        assert TOKEN not in exc.message
    assert time.perf_counter() - start < 5, "loading must stay fast whatever the input"
    return result


@st.composite
def edited(draw: st.DrawFn) -> str:
    """The valid example with a few random insertions, deletions and line shuffles."""
    text = VALID
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "duplicate-line", "drop-line", "indent"]))
        pos = draw(st.integers(0, len(text)))
        if op == "insert":
            piece = draw(st.sampled_from(FRAGMENTS) | st.text(max_size=5))
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 30)) :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "duplicate-line":
                lines.insert(i, lines[i])
            elif op == "drop-line":
                del lines[i]
            else:
                lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
            text = "\n".join(lines)
    return text


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "simplex",
            "duplex",
            "absent",
            "present",
            "cloud",
            "onprem",
            "https://x.example.org",
            "a/b",
            "",
            TOKEN,
        ]
    )
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3))


values = st.recursive(scalars, _containers, max_leaves=8)


ALL_PATHS = paths(VALID_DATA)


@st.composite
def structurally_edited(draw: st.DrawFn) -> bytes:
    """The valid example's data with random values put at random places: exercises the later stages."""
    data = copy.deepcopy(VALID_DATA)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(ALL_PATHS))
        if not path:
            continue
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent[draw(st.text(max_size=10) | st.sampled_from(["sync", "ensure", "protect", "url"]))] = (
                    draw(values)
                )
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", errors="surrogatepass")


@FUZZ
@given(text=edited())
def test_random_edits_of_a_valid_config(workdir: Path, text: str) -> None:
    load_bytes(workdir, text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(data=structurally_edited())
def test_random_values_in_a_valid_config(workdir: Path, data: bytes) -> None:
    load_bytes(workdir, data)


@settings(FUZZ, max_examples=examples(400))
@given(data=st.binary(max_size=512))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    assert isinstance(load_bytes(workdir, data), ConfigError)


@settings(FUZZ, max_examples=examples(400))
@given(pieces=st.lists(st.sampled_from(FRAGMENTS) | st.characters(), max_size=60))
def test_random_yaml_looking_text(workdir: Path, pieces: list[str]) -> None:
    load_bytes(workdir, "".join(pieces).encode("utf-8", errors="surrogatepass"))


@settings(FUZZ, max_examples=examples(60))
@given(
    depth=st.integers(1, 3000),
    style=st.sampled_from(["[", "{a: ", "- ", "a:\n", "{? "]),
)
def test_deep_nesting(workdir: Path, depth: int, style: str) -> None:
    if style == "- ":
        body = "".join("  " * i + "-\n" for i in range(depth))
    elif style == "a:\n":
        body = "".join("  " * i + "a:\n" for i in range(depth))
    else:
        body = style * depth
    result = load_bytes(workdir, f"version: 1\nservers:\n  x: {body}\n".encode())
    assert isinstance(result, ConfigError)


def alias_bomb(fanout: int, levels: int, merge: bool) -> str:
    """A valid config whose ``x-`` keys (which the schema accepts and ignores) hold an alias chain:
    each level repeats the one before ``fanout`` times, or (``merge``) aliases and merges it."""
    lines = ["version: 1", "servers: {}", "x-l0: &l0 [" + ", ".join(["lol"] * fanout) + "]"]
    for level in range(1, levels + 1):
        if merge:
            lines.append(
                f"x-l{level}: &l{level} {{k{level}: *l{level - 1}, <<: *l{level - 1}}}"
                if level > 1
                else f"x-l{level}: &l{level} {{k: *l0}}"
            )
        else:
            lines.append(f"x-l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("fanout", "levels", "merge"),
    [
        (40, 12, False),  # wide: 40**13 nodes
        (2, 40, False),  # narrow and deep: 2**41 nodes
        (2, 40, True),  # merge keys (<<) doubling at every level
    ],
)
def test_alias_bombs_are_refused_at_once(workdir: Path, fanout: int, levels: int, merge: bool) -> None:
    # The same shape, small, is a valid config: so the bomb is the only thing wrong with the big one.
    assert isinstance(load_bytes(workdir, alias_bomb(fanout, 1, merge).encode()), Config)

    text = alias_bomb(fanout, levels, merge)
    start = time.thread_time()  # CPU time of this thread: what the loader did, not the machine's load
    result = load_bytes(workdir, text.encode())
    # Counting up to the node limit takes well under a second; expanding 2**41 nodes, forever.
    assert time.thread_time() - start < 5, "the loader stops at the node limit instead of expanding"

    assert isinstance(result, ConfigError)
    [diagnostic] = result.diagnostics
    assert diagnostic.rule == "yaml-limit"
    # yaml-limit also covers file size and nesting depth: the message names the alias limit.
    assert diagnostic.message.startswith(f"aliases expand this document to more than {MAX_ALIAS_NODES:,} ")
    position = diagnostic.position
    assert position is not None
    assert text.splitlines()[position.line - 1][position.column - 1] == "*", "it points at an alias"


def test_the_classic_billion_laughs_is_refused_quickly(workdir: Path) -> None:
    lines = ["version: 1", "servers: {}", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    # CPU time of this thread, not wall time: what the loader did, whatever else loads the machine
    # (expanding the 9**9 nodes would take minutes; refusing at the node limit takes milliseconds).
    start = time.thread_time()
    result = load_bytes(workdir, ("\n".join(lines) + "\n").encode())
    assert time.thread_time() - start < 1
    assert isinstance(result, ConfigError)
    assert any("YAML bomb" in d.message for d in result.diagnostics)
