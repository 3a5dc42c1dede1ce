"""Plan renderers: text (Terraform's idiom), JSON (``schemas/plan.schema.json``) and Markdown.

A replace is two changes in the plan but one item for the reader (``-/+``), because that is
how a reviewer thinks about it: "this namespace is recreated, forced by these attributes".
Colour is the caller's decision (TTY and NO_COLOR are I/O questions), so it is a parameter.

Every value in a plan may come from a server or a config (names, descriptions, target URLs,
reasons and messages that quote them), so the text renderer passes each one through
``sanitize.printable`` and the Markdown renderer through ``sanitize.markdown_text``, value by
value, before any colour or Markdown of hossctl's own is put around it. JSON stays exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hossctl.plan import Change, Plan, Violation
from hossctl.plan_json import plan_to_dict
from hossctl.sanitize import markdown_text, printable
from hossctl.urls import try_normalise_core_url

_Escape = Callable[[str], str]  # printable for text, markdown_text for Markdown

_ANSI = {"green": "32", "red": "31", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}


@dataclass(frozen=True)
class _Item:
    """What the reader sees as one line: one change, or the delete+create pair of a replace."""

    symbol: str
    title: str
    changes: tuple[Change, ...]
    details: tuple[str, ...] = ()


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes."
    s = plan.summary
    return (
        f"Plan: {s.create} to create, {s.replace} to replace, {s.delete} to delete, "
        f"{s.enable_sync} sync to enable, {s.disable_sync} sync to disable."
    )


def _sync_target(c: Change, esc: _Escape) -> str:
    url = c.target_core_service or ""
    label = f"{esc(c.target_server or url)}#{esc(c.target_namespace or '')}"
    if c.target_server is not None and try_normalise_core_url(url) != url:
        label += f" (stored as {esc(repr(url))})"
    return label


def _items(changes: Sequence[Change], esc: _Escape) -> list[_Item]:
    """Group one server's changes into display items, in execution order.

    ``esc`` escapes each value that came from a server or a config; titles and details are
    finished text for the target format, so the renderers must not escape them again.
    """
    creates = {c.namespace: c for c in changes if c.action == "create_namespace" and c.replace}
    items: list[_Item] = []
    for c in changes:
        if c.action == "create_namespace" and c.replace:
            continue  # shown with its delete
        if c.action == "delete_namespace" and c.replace:
            pair = (c, creates[c.namespace]) if c.namespace in creates else (c,)
            forced = esc(", ".join(c.forced_by))
            title = f'namespace "{esc(c.namespace)}" (forces replacement: {forced})'
            items.append(_Item("-/+", title, pair))
        elif c.action == "delete_namespace":
            items.append(_Item("-", f'namespace "{esc(c.namespace)}"', (c,)))
        elif c.action == "create_namespace":
            details = (
                f"description:  {esc(repr(c.description))}",
                f"object_store: {esc(repr(c.object_store))}",
                f"bucket:       {esc(repr(c.bucket))}",
            )
            items.append(_Item("+", f'namespace "{esc(c.namespace)}"', (c,), details))
        else:
            verb = "enable sync " if c.action == "enable_sync" else "disable sync"
            title = f"{verb} {esc(c.namespace)} → {_sync_target(c, esc)} ({esc(c.sync_type or '')})"
            items.append(_Item("~", title, (c,)))
    return items


def _by_server(plan: Plan) -> dict[str, list[Change]]:
    out: dict[str, list[Change]] = {}
    for c in plan.changes:
        out.setdefault(c.server, []).append(c)
    return dict(sorted(out.items()))


def _violations_of(plan: Plan, changes: Sequence[Change]) -> list[Violation]:
    ids = {c.id for c in changes}
    return [v for v in plan.violations if v.change in ids]


def _blocking_line(plan: Plan) -> str | None:
    errors, warnings = len(plan.errors), len(plan.warnings)
    if errors:
        return f"This plan cannot be applied: {errors} error(s), {warnings} warning(s)."
    if warnings:
        return f"{warnings} warning(s); the plan can still be applied."
    return None


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal: values escaped with ``printable``, then painted."""
    esc = printable

    def paint(text: str, *styles: str) -> str:
        if not color:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    symbol_colour = {"+": "green", "-": "red", "-/+": "yellow", "~": "yellow"}
    lines: list[str] = []
    if not plan.has_changes:
        return summary_line(plan) + "\n"
    lines.append("hossctl would perform the following changes, in this order:")
    for server, changes in _by_server(plan).items():
        lines.append("")
        lines.append(paint(f"Server {esc(server)}:", "bold"))
        for item in _items(changes, esc):
            lines.append(f"  {paint(item.symbol, symbol_colour[item.symbol], 'bold')} {item.title}")
            for detail in item.details:
                lines.append(f"      {detail}")
            for part in item.changes[0].reason.split("; "):
                lines.append(paint(f"      # {esc(part)}", "dim"))
            for v in _violations_of(plan, item.changes):
                mark, hue = ("✗", "red") if v.severity == "error" else ("!", "yellow")
                lines.append("      " + paint(f"{mark} {esc(v.check)}: {esc(v.message)}", hue))
                lines.append(f"        fix: {esc(v.resolution)}")
    if plan.violations:
        lines.append("")
        lines.append(paint("Violations:", "bold"))
        for v in plan.violations:
            mark = "✗" if v.severity == "error" else "!"
            at = f" at {esc(v.position)}" if v.position else ""
            head = f"{mark} [{esc(v.severity)}] {esc(v.check)} ({esc(v.change)}){at}"
            lines.append("  " + paint(head, "red" if mark == "✗" else "yellow"))
            lines.append(f"      {esc(v.message)}")
            lines.append(f"      fix: {esc(v.resolution)}")
    lines.append("")
    blocking = _blocking_line(plan)
    if blocking:
        lines.append(paint(blocking, "red" if plan.errors else "yellow", "bold"))
    lines.append(paint(summary_line(plan), "bold"))
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"


def _code(text: str, *, in_table: bool = False) -> str:
    """A code span: nothing inside is Markdown (no links, HTML, entities or mentions).

    Backslash escapes do not work in code spans, so the content is only ``printable``; the
    fence is longer than any run of backticks in it. In a GFM table ``|`` still ends the cell,
    even inside a code span, and ``\\|`` is how the table syntax keeps it.
    """
    content = printable(text)
    if in_table:
        content = content.replace("|", "\\|")
    if not content:
        return ""
    longest = max((len(run) for run in re.findall("`+", content)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if content[0] in "` " or content[-1] in "` " else ""
    return f"{fence}{pad}{content}{pad}{fence}"


def render_markdown(plan: Plan) -> str:
    """The plan as a PR comment: values escaped with ``markdown_text`` or put in code spans."""
    _md = markdown_text
    lines = ["### hossctl plan", ""]
    lines.append(f"**{summary_line(plan)}**")
    blocking = _blocking_line(plan)
    if blocking:
        lines += ["", f"> {'⛔' if plan.errors else '⚠️'} {blocking}"]
    if plan.has_changes:
        lines += ["", "| | Server | Change | Reason | Checks |", "|---|---|---|---|---|"]
        for server, changes in _by_server(plan).items():
            for item in _items(changes, markdown_text):
                marks = " ".join(
                    f"{'✗' if v.severity == 'error' else '!'} {_md(v.check)}"
                    for v in _violations_of(plan, item.changes)
                )
                lines.append(
                    f"| {_code(item.symbol, in_table=True)} | {_code(server, in_table=True)} | {item.title} "
                    f"| {_md(item.changes[0].reason)} | {marks} |"
                )
    if plan.violations:
        lines += ["", "#### Violations", ""]
        for v in plan.violations:
            mark = "✗" if v.severity == "error" else "!"
            at = f" at {_code(v.position)}" if v.position else ""
            lines.append(
                f"- {mark} **{_md(v.check)}** ({_md(v.severity)}) on {_code(v.change)}{at}: {_md(v.message)}"
            )
            lines.append(f"  - *How to fix:* {_md(v.resolution)}")
    return "\n".join(lines) + "\n"
