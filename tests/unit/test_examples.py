"""Every shipped example validates through the CLI, and each says where its schema is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from hossctl.cli import cli
from hossctl.schemas import load_schema

EXAMPLES = Path(__file__).parents[2] / "examples"
CONFIG_EXAMPLES = sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "ci")
SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/config.schema.json"
ENV = {"CLOUD_HOSS_URL": "https://hoss.cloud.example.org"}


def test_the_examples_exist() -> None:
    assert {p.name for p in CONFIG_EXAMPLES} >= {"single-server", "two-servers-duplex", "split"}


@pytest.mark.parametrize("example", CONFIG_EXAMPLES, ids=lambda p: p.name)
def test_example_validates(example: Path) -> None:
    target = example / "hoss.yaml" if (example / "hoss.yaml").exists() else example
    result = CliRunner(env=ENV).invoke(cli, ["validate", "-f", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Valid: ")
    assert result.stderr == ""


@pytest.mark.parametrize(
    "path",
    sorted(p for d in CONFIG_EXAMPLES for p in d.iterdir() if p.suffix in (".yaml", ".yml")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_example_files_point_editors_at_the_schema(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    assert (path.parent / "../../schemas/config.schema.json").resolve().is_file()


def test_split_example_merges_files_and_uses_variable_defaults() -> None:
    result = CliRunner(env={**ENV, "ONPREM_HOSS_URL": None}).invoke(
        cli, ["validate", "-f", str(EXAMPLES / "split")]
    )
    assert result.stdout == "Valid: 2 servers, 6 namespaces, 2 sync links.\n"


def test_split_example_needs_its_required_variable() -> None:
    result = CliRunner(env={"CLOUD_HOSS_URL": None}).invoke(cli, ["validate", "-f", str(EXAMPLES / "split")])
    assert result.exit_code == 1
    assert "environment variable CLOUD_HOSS_URL is not set" in result.stderr
    assert "00-servers.yaml:24:10: " in result.stderr


@pytest.mark.parametrize(
    "path",
    sorted(p for d in CONFIG_EXAMPLES for p in d.iterdir() if p.suffix in (".yaml", ".yml")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_example_files_pass_the_schema_as_an_editor_sees_them(path: Path) -> None:
    """Editors validate the raw file, ${VAR} references included, against the published schema."""
    validator = Draft202012Validator(load_schema("config.schema.json"))
    assert [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))] == []


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    schema = load_schema("config.schema.json")
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "urn:hossctl:schema:config:1"
