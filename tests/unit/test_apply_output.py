"""apply's human lines: one change, one line, whatever a server named it or answered."""

from __future__ import annotations

import click

from hossctl.apply.executor import ApplyResult, ChangeResult, DuplexLink
from hossctl.commands.apply import progress_line, report_lines, result_document
from hossctl.plan.changes import Change

EVIL = "evil\x1b]0;PWNED\x07\x1b[2Jx"
EVIL_SHOWN = "evil\\x1b]0;PWNED\\x07\\x1b[2Jx"
BODY = "boom\r\nFAKE: Apply complete\u202e"
BODY_SHOWN = "boom\\r\\nFAKE: Apply complete\\u202e"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def _change(server: str, name: str, action: str = "delete_namespace") -> Change:
    if action == "enable_sync":
        return Change(
            f"{server}/{name}/sync:https://x.test/core/v1#{name}/enable", "enable_sync", server, name, "r",
            target_core_service="https://x.test/core/v1", target_namespace=name, sync_type="simplex",
        )
    return Change(f"{server}/{name}/delete", action, server, name, "not declared")  # type: ignore[arg-type]


def _clean(line: str) -> bool:
    return "\n" not in line and not any(ch in line for ch in RAW)


def test_a_progress_line_escapes_the_id_and_the_servers_answer() -> None:
    done = ChangeResult(_change("a", EVIL), "done", 0.5)
    failed = ChangeResult(_change("a", EVIL), "failed", 0.25, error=BODY)
    assert progress_line(done) == f"✓ - namespace a/{EVIL_SHOWN} (0.50s)"
    assert progress_line(failed) == f"✗ - namespace a/{EVIL_SHOWN} (0.25s): {BODY_SHOWN}"
    coloured = progress_line(failed, color=True)
    assert coloured.startswith(click.style("✗", fg="red"))  # hossctl's own colour is kept
    assert click.unstyle(coloured) == progress_line(failed) and _clean(click.unstyle(coloured))


def test_the_report_escapes_ids_labels_and_errors_but_the_json_stays_exact() -> None:
    a = ChangeResult(_change("a", EVIL, "enable_sync"), "done", 0.1)
    b = ChangeResult(_change("b", EVIL, "enable_sync"), "failed", 0.1, error=BODY)
    blocked = ChangeResult(_change("a", "rev\u202eexe"), "blocked", 0.0, error=BODY)
    skipped = ChangeResult(_change("a", "a\r\nFAKE"), "skipped", 0.0)
    result = ApplyResult(results=(a, b, blocked, skipped), links=(DuplexLink(a, b),))
    lines = report_lines(result)
    assert all(_clean(line) for line in lines), lines
    assert f"Duplex link a/{EVIL_SHOWN} <-> b/{EVIL_SHOWN}: NOT complete." in lines
    target = f"https://x.test/core/v1#{EVIL_SHOWN}"
    assert f"  ~ enable sync b/{EVIL_SHOWN} → {target} (simplex): {BODY_SHOWN}" in lines
    assert f"  - namespace a/rev\\u202eexe: {BODY_SHOWN}" in lines
    assert "  - namespace a/a\\r\\nFAKE" in lines
    doc = result_document(result, None)
    assert [c["namespace"] for c in doc["changes"]] == [EVIL, EVIL, "rev\u202eexe", "a\r\nFAKE"]
    assert doc["changes"][1]["error"] == BODY
