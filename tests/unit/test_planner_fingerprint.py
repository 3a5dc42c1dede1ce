"""Fingerprints: stable for the same live state, different when a fact a change rests on changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from two_servers import A, B, X

from hossctl.plan.fingerprint import facts_for
from hossctl.plan.model import Config, Namespace, Server, SyncTarget
from hossctl.plan.planner import diff
from hossctl.plan.snapshot import (
    LiveDataset,
    LiveNamespace,
    LiveSyncTarget,
    Snapshot,
    make_server_state,
    make_snapshot,
)

CONFIG = Config(
    servers=(
        Server(
            "a",
            "http://a.test",
            A,
            namespaces=(
                Namespace("n1", "d", "default", "n1", sync=(SyncTarget("b", "b", B, "u", "simplex"),)),
                Namespace("gone", ensure="absent"),
            ),
        ),
        Server("b", "https://b.test", B),
    )
)


def _snap(**edits: object) -> Snapshot:
    n1 = LiveNamespace("n1", "d", "default", "n1", (LiveSyncTarget(X, "t", "simplex"),))
    gone = LiveNamespace(
        "gone", "d", "default", "g", datasets=(LiveDataset("x", False, "simplex", "NOT_SCHEDULED"),)
    )
    u = LiveNamespace("u", "d", "default", "u")
    other = LiveNamespace("other", "d", "default", "o")
    a_spaces = {"n1": n1, "gone": gone, "other": other}
    stores: tuple[str, ...] = ("default",)
    for key, value in edits.items():
        if key == "stores":
            stores = value  # type: ignore[assignment]
        else:
            a_spaces[key] = value  # type: ignore[assignment]
    return make_snapshot(
        {
            "a": make_server_state(
                "a", A, "0.2.3", stores, {k: v for k, v in a_spaces.items() if v is not None}
            ),
            "b": make_server_state("b", B, "0.2.3", ("default",), {"u": u}),
        }
    )


def _facts(snapshot: Snapshot) -> dict[str, str]:
    return facts_for(diff(CONFIG, _snap()), snapshot)


def test_keys_cover_touched_namespaces_targets_and_servers() -> None:
    assert set(_facts(_snap())) == {
        "namespace:a/n1",
        "namespace:a/gone",
        "namespace:b/u",
        "object_stores:a",
        "object_stores:b",
    }


def test_same_input_same_output() -> None:
    assert _facts(_snap()) == _facts(_snap())
    assert all(len(v) == 64 for v in _facts(_snap()).values())


N1 = LiveNamespace("n1", "d", "default", "n1", (LiveSyncTarget(X, "t", "simplex"),))
GONE = LiveNamespace(
    "gone", "d", "default", "g", datasets=(LiveDataset("x", False, "simplex", "NOT_SCHEDULED"),)
)


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        ({"n1": dataclasses.replace(N1, description="other")}, "namespace:a/n1"),
        ({"n1": dataclasses.replace(N1, sync=(LiveSyncTarget(X + "/", "t", "simplex"),))}, "namespace:a/n1"),
        ({"n1": dataclasses.replace(N1, sync=())}, "namespace:a/n1"),
        ({"gone": None}, "namespace:a/gone"),
        ({"gone": dataclasses.replace(GONE, datasets=())}, "namespace:a/gone"),
        (
            {
                "gone": dataclasses.replace(
                    GONE, datasets=(LiveDataset("x", True, "simplex", "NOT_SCHEDULED"),)
                )
            },
            "namespace:a/gone",
        ),
        ({"stores": ("default", "s2")}, "object_stores:a"),
    ],
)
def test_a_relevant_change_changes_its_digest(edit: dict[str, object], key: str) -> None:
    before, after = _facts(_snap()), _facts(_snap(**edit))
    assert {k for k in before if before[k] != after[k]} == {key}


def test_irrelevant_changes_do_not_matter() -> None:
    assert _facts(_snap()) == _facts(_snap(other=LiveNamespace("other", "changed", "default", "o")))
    # sync rows are compared as a set: the server has no ORDER BY
    two = dataclasses.replace(N1, sync=(LiveSyncTarget(X, "t", "simplex"), LiveSyncTarget(X, "v", "duplex")))
    assert _facts(_snap(n1=two)) == _facts(_snap(n1=dataclasses.replace(two, sync=tuple(reversed(two.sync)))))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("example", "digest"),
    [
        ("two-servers-duplex", "3eff035cff989b38586cefe183bc7755cc7d970950a207e2f68c0aeb5b3861e2"),
        ("split", "9e06d7de0ad91e0450982d074874bfbaa0dd03a14391a67a62de1a08f6d99d3e"),
        ("single-server", "352b02e4e6a24af0ae985654f366780a058ffa503586cb8e0a2bcb61e2152643"),
    ],
)
def test_the_config_digest_of_the_examples_is_pinned(example: str, digest: str) -> None:
    """A plan file saved by an earlier hossctl records this digest; a change in how the model is
    built or turned into a dict must not make every saved plan look made from another config."""
    from hossctl.config.loader import load_config
    from hossctl.plan.fingerprint import config_digest

    config = load_config([EXAMPLES / example], {"CLOUD_HOSS_URL": "https://cloud.example.org"})
    assert config_digest(config) == digest
