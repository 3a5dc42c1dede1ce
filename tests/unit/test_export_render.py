"""The pure part of ``hossctl export``: option parsing and live state -> config text."""

from __future__ import annotations

import pytest
import yaml
from depth import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hossctl.config.structure import name_problem
from hossctl.errors import HossctlError
from hossctl.plan.snapshot import LiveNamespace, LiveSyncTarget, make_server_state, make_snapshot
from hossctl.render.export_yaml import ExportSource, parse_sources, render_export
from hossctl.sanitize import needs_escape

A = ExportSource("onprem", "http://a.example:8000", "http://a.example:8000/core/v1")
B = ExportSource("cloud", "https://b.example", "https://b.example/core/v1", "CLOUD_PAT")


def _snapshot(namespaces: dict[str, list[LiveNamespace]]) -> object:
    cores = {A.key: A.core_url, B.key: B.core_url}
    return make_snapshot(
        {
            key: make_server_state(key, cores[key], "0.2.13", ("default",), {ns.name: ns for ns in nss})
            for key, nss in namespaces.items()
        }
    )


def _ns(name: str, *sync: LiveSyncTarget, bucket: str = "") -> LiveNamespace:
    return LiveNamespace(name, f"About {name}", "default", bucket or name, tuple(sync))


def _render(live: dict[str, list[LiveNamespace]]) -> tuple[dict[str, object], tuple[str, ...], str]:
    result = render_export([A, B], _snapshot(live))  # type: ignore[arg-type]
    return yaml.safe_load(result.text), result.warnings, result.text


def test_targets_name_exported_servers_and_keep_other_urls() -> None:
    doc, warnings, text = _render(
        {
            "onprem": [
                _ns("raw", LiveSyncTarget("https://B.example:443/core/v1/", "raw", "duplex")),
                _ns("out", LiveSyncTarget("https://partner.example.org/core/v1", "inbox", "simplex")),
                _ns("local", LiveSyncTarget("http://a.example:8000/core/v1", "raw", "simplex")),
            ],
            "cloud": [_ns("raw", LiveSyncTarget("http://a.example:8000/core/v1", "raw", "duplex"))],
        }
    )
    assert warnings == ()
    assert text.splitlines()[0] == (
        "# Exported by `hossctl export` from: cloud = https://b.example, onprem = http://a.example:8000"
    )
    # No schema line: the schema is not published at a URL; `hossctl schema` prints it.
    assert text.splitlines()[1] == "version: 1"
    servers = doc["servers"]
    assert servers == {
        "cloud": {
            "url": "https://b.example",
            "pat_env": "CLOUD_PAT",
            "namespaces": {
                "raw": {
                    "description": "About raw",
                    "object_store": "default",
                    "bucket": "raw",
                    "sync": [{"target": "onprem", "type": "duplex"}],
                }
            },
        },
        "onprem": {
            "url": "http://a.example:8000",
            "namespaces": {
                "local": {
                    "description": "About local",
                    "object_store": "default",
                    "bucket": "local",
                    "sync": [{"target": "onprem", "namespace": "raw", "type": "simplex"}],
                },
                "out": {
                    "description": "About out",
                    "object_store": "default",
                    "bucket": "out",
                    "sync": [
                        {
                            "target": "https://partner.example.org/core/v1",
                            "namespace": "inbox",
                            "type": "simplex",
                        }
                    ],
                },
                "raw": {
                    "description": "About raw",
                    "object_store": "default",
                    "bucket": "raw",
                    "sync": [{"target": "cloud", "type": "duplex"}],
                },
            },
        },
    }


def test_several_targets_allow_multiple_and_are_sorted() -> None:
    rows = (
        LiveSyncTarget("https://z.example/core/v1", "x", "simplex"),
        LiveSyncTarget("https://b.example/core/v1", "y", "simplex"),
    )
    doc, _, _ = _render({"onprem": [_ns("multi", *rows)], "cloud": []})
    ns = doc["servers"]["onprem"]["namespaces"]["multi"]  # type: ignore[index]
    assert ns["allow_multiple_sync_targets"] is True
    assert [t["target"] for t in ns["sync"]] == ["cloud", "https://z.example/core/v1"]


@pytest.mark.parametrize(
    ("namespace", "fragment"),
    [
        (_ns("a/b"), "not a valid URL path segment"),
        (_ns("has space"), "not a valid URL path segment"),
        (_ns("..", bucket="dots"), "not a valid URL path segment"),
        (_ns("bad", LiveSyncTarget("not a url", "x", "simplex")), "is not an http(s) URL"),
        (_ns("odd", LiveSyncTarget("https://z.example/core/v1", "x", "Duplex")), "only simplex or duplex"),
        (_ns("tgt", LiveSyncTarget("https://z.example/core/v1", "a?b", "simplex")), "target namespace"),
        (_ns("loop", LiveSyncTarget("http://a.example:8000/core/v1", "loop", "simplex")), "syncs to itself"),
    ],
)
def test_unmanageable_namespaces_are_left_out_with_a_warning(namespace: LiveNamespace, fragment: str) -> None:
    doc, warnings, _ = _render({"onprem": [namespace, _ns("fine")], "cloud": []})
    assert list(doc["servers"]["onprem"]["namespaces"]) == ["fine"]  # type: ignore[index]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"onprem: namespace {namespace.name!r} left out")
    assert fragment in warnings[0]


def test_half_duplex_link_leaves_out_both_ends() -> None:
    doc, warnings, _ = _render(
        {
            "onprem": [_ns("raw", LiveSyncTarget(B.core_url, "raw", "duplex")), _ns("other")],
            "cloud": [_ns("raw", LiveSyncTarget(A.core_url, "raw", "simplex"))],
        }
    )
    assert doc["servers"]["onprem"]["namespaces"].keys() == {"other"}  # type: ignore[index]
    assert doc["servers"]["cloud"]["namespaces"] == {}  # type: ignore[index]
    assert len(warnings) == 2 and all("duplex on one end and simplex on the other" in w for w in warnings)


def test_two_simplex_links_both_ways_are_kept() -> None:
    doc, warnings, _ = _render(
        {
            "onprem": [_ns("raw", LiveSyncTarget(B.core_url, "raw", "simplex"))],
            "cloud": [_ns("raw", LiveSyncTarget(A.core_url, "raw", "simplex"))],
        }
    )
    assert warnings == ()
    assert doc["servers"]["cloud"]["namespaces"]["raw"]["sync"] == [{"target": "onprem", "type": "simplex"}]  # type: ignore[index]


def test_yaml_special_names_round_trip_as_strings() -> None:
    names = ["true", "null", "1.0", "0x10", "no", "é-ü", "#x", "- a", "a: b", "'q'", '"d"']
    usable = [n for n in names if name_problem(n) is None]
    doc, warnings, _ = _render({"onprem": [], "cloud": [_ns(n, bucket="b") for n in usable]})
    assert warnings == ()
    assert sorted(doc["servers"]["cloud"]["namespaces"]) == sorted(usable)  # type: ignore[index]


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(names, st.tuples(names, names), max_size=8))
def test_output_is_deterministic_and_round_trips(live: dict[str, tuple[str, str]]) -> None:
    """Whatever the names and texts, the output parses back to exactly the live values."""
    namespaces = [LiveNamespace(n, d, "default", b) for n, (d, b) in live.items()]
    first = render_export([A, B], _snapshot({"onprem": namespaces, "cloud": []}))  # type: ignore[arg-type]
    again = render_export([B, A], _snapshot({"onprem": list(reversed(namespaces)), "cloud": []}))  # type: ignore[arg-type]
    assert first.text == again.text
    assert not any(needs_escape(ch) for ch in first.text.replace("\n", ""))  # safe to print
    doc = yaml.safe_load(first.text)["servers"]["onprem"]["namespaces"]
    for ns in namespaces:
        if name_problem(ns.name) is None:  # the config rule: export writes only names that validate
            assert doc[ns.name]["description"] == ns.description
            assert doc[ns.name]["bucket"] == ns.bucket
        else:
            assert ns.name not in doc


@pytest.mark.parametrize(
    ("servers", "pat_envs", "message"),
    [
        ((), (), "at least one server"),
        (("onprem",), (), "not of the form KEY=URL"),
        (("=http://x",), (), "not of the form KEY=URL"),
        (("OnPrem=http://x",), (), "must match"),
        (("a=http://x", "a=http://y"), (), "given twice"),
        (("a=ftp://x",), (), "not an http(s) URL"),
        (("a=http://x y",), (), "whitespace"),
        (("a=http://X:80/", "b=http://x/core/v1"), (), "name the same server"),
        (("a=http://x",), ("b=VAR",), "not a key given with --server"),
        (("a=http://x",), ("a=1VAR",), "not a valid environment variable name"),
        (("a=http://x",), ("a=V", "a=W"), "given twice"),
    ],
)
def test_bad_options_are_one_sentence(
    servers: tuple[str, ...], pat_envs: tuple[str, ...], message: str
) -> None:
    with pytest.raises(HossctlError) as info:
        parse_sources(servers, pat_envs)
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_sources_are_sorted_and_canonical() -> None:
    sources = parse_sources(["z=HTTPS://Z.example:443/core/v1/", "a=http://a:8080"], ["z=Z_PAT"])
    assert sources == (
        ExportSource("a", "http://a:8080", "http://a:8080/core/v1", "HOSS_PAT"),
        ExportSource("z", "https://z.example", "https://z.example/core/v1", "Z_PAT"),
    )


def test_one_sided_duplex_is_declared_with_a_warning() -> None:
    doc, warnings, _ = _render(
        {"onprem": [_ns("raw", LiveSyncTarget(B.core_url, "raw", "duplex"))], "cloud": [_ns("raw")]}
    )
    assert doc["servers"]["onprem"]["namespaces"]["raw"]["sync"] == [{"target": "cloud", "type": "duplex"}]  # type: ignore[index]
    assert warnings == (
        "onprem: namespace 'raw' syncs duplex to cloud/raw, which has no sync row back; the duplex link "
        "is half set up, and plan will propose adding the missing row.",
    )


HOSTILE = "evil\x1b]0;PWNED\x07\x1b[2J\r\nFAKE: Apply complete\x9b\u202eexe\u200b\ufeff\U000e0041"


def test_control_and_bidi_characters_cannot_break_the_yaml_or_reach_the_terminal() -> None:
    """A hostile description, bucket or name reads back exactly, and the text holds none raw."""
    name = "rev\u202eexe\x9b\u2066x"  # a URL path segment, so it is exported
    evil = ExportSource("evil", "http://a\u202eb\x9b.example", "http://a\u202eb\x9b.example/core/v1")
    live = [
        LiveNamespace(name, HOSTILE, "default", "b\u202e"),
        LiveNamespace("plain", HOSTILE, "default", "p"),
    ]
    snapshot = make_snapshot(
        {"evil": make_server_state("evil", evil.core_url, "0.2.13", ("default",), {n.name: n for n in live})}
    )
    result = render_export([evil], snapshot)
    assert not any(needs_escape(ch) for ch in result.text.replace("\n", ""))
    header = result.text.splitlines()[0]
    assert header == "# Exported by `hossctl export` from: evil = http://a\\u202eb\\x9b.example"
    doc = yaml.safe_load(result.text)  # the header is still one comment line
    namespaces = doc["servers"]["evil"]["namespaces"]
    assert namespaces[name] == {"description": HOSTILE, "object_store": "default", "bucket": "b\u202e"}
    assert namespaces["plain"]["description"] == HOSTILE
    assert '"rev\\u202Eexe\\x9B\\u2066x":' in result.text


def test_a_name_with_control_characters_is_left_out_and_named_escaped_by_the_cli() -> None:
    from hossctl.sanitize import printable

    _, warnings, text = _render({"onprem": [_ns("a\r\nFAKE: Apply complete\x1b[2J")], "cloud": []})
    assert "FAKE" not in text
    assert len(warnings) == 1 and "\r" not in printable(warnings[0]) and "\x1b" not in printable(warnings[0])
    assert "'a\\r\\nFAKE: Apply complete\\x1b[2J' left out" in printable(warnings[0])


def _with(ns: LiveNamespace, *datasets: tuple[bool, str, str]) -> LiveNamespace:
    from dataclasses import replace

    from hossctl.plan.snapshot import LiveDataset

    return replace(
        ns,
        datasets=tuple(
            LiveDataset(f"d{i}", enabled, kind, "NOT_SCHEDULED", policy)
            for i, (enabled, kind, policy) in enumerate(datasets)
        ),
    )


POLICY = '{"Version":"1","Statements":[]}'
CSV_ONLY = (
    '{"Version":"1","Statements":[{"Conditions":[{"Left":"object:key","Right":"*.csv","Operator":"=="}]}]}'
)


def test_datasets_sync_is_exported_where_every_visible_dataset_shares_it() -> None:
    duplex = LiveSyncTarget("https://b.example/core/v1", "raw", "duplex")
    simplex = LiveSyncTarget("https://b.example/core/v1", "one", "simplex")
    doc, warnings, text = _render(
        {
            "onprem": [
                _with(_ns("raw", duplex), (True, "duplex", POLICY), (True, "duplex", POLICY)),
                _with(_ns("mixed", duplex, bucket="m"), (True, "duplex", POLICY), (False, "simplex", "")),
                _with(_ns("quiet", bucket="q"), (False, "simplex", ""), (False, "", "")),
                _with(_ns("one", simplex, bucket="o"), (True, "duplex", POLICY)),
                _with(_ns("csv", simplex, bucket="c"), (True, "simplex", CSV_ONLY)),
                _ns("unread", bucket="u"),
            ],
            "cloud": [],
        }
    )
    spaces = doc["servers"]["onprem"]["namespaces"]  # type: ignore[index]
    assert spaces["raw"]["datasets"] == {"sync": "duplex"}
    assert spaces["quiet"]["datasets"] == {"sync": "off"}
    assert spaces["csv"]["datasets"]["sync"] == "simplex"
    assert spaces["csv"]["datasets"]["policy"]["Statements"][0]["Conditions"][0]["Right"] == "*.csv"
    for unmanaged in ("mixed", "one", "unread"):
        assert "datasets" not in spaces[unmanaged]
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# onprem/mixed: datasets sync left unmanaged: its datasets differ (1 duplex, 1 off)" in header
    assert (
        "# onprem/one: datasets sync left unmanaged: its datasets all sync duplex, but the namespace has "
        "only simplex sync targets" in header
    )
    assert not any("unread" in line for line in header)  # not read says nothing
    assert all("no sync row back" in w for w in warnings)  # the half links of this made-up state
