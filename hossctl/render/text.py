"""Plan renderers: text (Terraform's idiom), JSON (``schemas/plan.schema.json``) and Markdown.

Both human renderers list the changes in one order, the plan's execution order (every change
after what it depends on), and name them as ``labels`` does: ``+ namespace onprem/raw-data``.
A replace is two changes in the plan but one item for the reader (``-/+``), shown where its
delete runs, with what changes before → after. Each violation appears once, under its change.
Colour is the caller's decision (TTY, NO_COLOR, ... are I/O questions), so it is a parameter.

Every value in a plan may come from a server or a config (names, descriptions, target URLs,
reasons and messages that quote them), so the text renderer passes each one through
``sanitize.printable`` and the Markdown renderer through ``sanitize.markdown_text`` or a code
span, value by value, before any colour or Markdown of hossctl's own is put around it.
JSON stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hossctl.plan.changes import Change, Plan, Violation
from hossctl.render import labels
from hossctl.render.plan_json import plan_to_dict
from hossctl.sanitize import json_text, markdown_text, printable
from hossctl.urls import try_normalise_core_url

_Escape = Callable[[str], str]

_ANSI = {"green": "32", "red": "31", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}
_SYMBOL_COLOUR = {"+": "green", "-": "red", "-/+": "yellow", "~": "yellow"}
# Markdown plans longer than this fold their change list, so the PR conversation stays readable.
FOLD_AFTER = 20


@dataclass(frozen=True)
class _Item:
    """What the reader sees as one entry: one change, or the delete+create pair of a replace."""

    changes: tuple[Change, ...]

    @property
    def first(self) -> Change:
        return self.changes[0]

    @property
    def ids(self) -> set[str]:
        return {c.id for c in self.changes}


def _items(plan: Plan) -> list[_Item]:
    """The plan's changes in execution order; a replace's create joins its delete's entry."""
    creates = {
        (c.server, c.namespace): c for c in plan.changes if c.action == "create_namespace" and c.replace
    }
    items: list[_Item] = []
    for c in plan.changes:
        if c.action == "create_namespace" and c.replace:
            continue
        if c.action == "delete_namespace" and c.replace and (c.server, c.namespace) in creates:
            items.append(_Item((c, creates[(c.server, c.namespace)])))
        else:
            items.append(_Item((c,)))
    return items


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plan_summary(plan: Plan) -> str:
    if not plan.has_changes:
        return "No changes."
    s = plan.summary
    line = (
        f"Plan: {s.create} to create, {s.replace} to replace, {s.delete} to delete, "
        f"{s.enable_sync} sync to enable, {s.disable_sync} sync to disable"
    )
    datasets = s.enable_dataset_sync + s.update_dataset_sync + s.disable_dataset_sync
    if datasets:
        line += (
            f"; dataset sync: {s.enable_dataset_sync} to enable, {s.update_dataset_sync} to update, "
            f"{s.disable_dataset_sync} to disable"
        )
    return line + "."


def live_findings(plan: Plan) -> list[Violation]:
    """Violations about the live state that no change causes (``change`` is "")."""
    return [v for v in plan.violations if not v.change]


def _blocking_line(plan: Plan) -> str | None:
    errors, warnings = len(plan.errors), len(plan.warnings)
    if errors:
        return f"This plan cannot be applied: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}."
    if warnings:
        return f"{_plural(warnings, 'warning')}; the plan can still be applied."
    return None


def partial_line(plan: Plan) -> str | None:
    if not plan.targets:
        return None
    return (
        f"Partial plan (--target {', '.join(plan.targets)}): only these and what they depend on; "
        "other differences are neither shown nor applied."
    )


def _violations(plan: Plan, item: _Item) -> list[Violation]:
    return [v for v in plan.violations if v.change in item.ids]


def _row_label(url: str, namespace: str, sync_type: str, by_url: dict[str, str]) -> str:
    server = by_url.get(try_normalise_core_url(url))
    where = f"{server}/{namespace}" if server is not None else f"{url}#{namespace}"
    return f"{where} ({sync_type})"


def replacement_changes(plan: Plan, item: _Item) -> list[tuple[str, str, str]]:
    """What a replace changes, as (what, before, after): attributes and the namespace's sync rows.

    DeepDiff compares the namespace as a structure (three attributes plus a set of rows), so a
    reviewer sees exactly which attribute and which sync target differ, and nothing else.
    """
    delete, create = item.changes
    expect = delete.expect
    if expect is None or expect.attributes is None:
        return []
    by_url = {
        try_normalise_core_url(c.target_core_service or ""): c.target_server
        for c in plan.changes
        if c.target_server is not None
    }
    names = ("description", "object_store", "bucket")
    before: dict[str, Any] = dict(zip(names, expect.attributes, strict=True))
    before["sync"] = sorted(_row_label(*row, by_url) for row in expect.sync_rows or ())
    after: dict[str, Any] = {
        "description": create.description, "object_store": create.object_store, "bucket": create.bucket,
        "sync": sorted(
            f"{labels.target(c)} ({c.sync_type})"
            for c in plan.changes
            if c.action == "enable_sync" and (c.server, c.namespace) == (create.server, create.namespace)
        ),
    }
    from deepdiff import DeepDiff

    diff = DeepDiff(before, after, ignore_order=True)
    out: list[tuple[str, str, str]] = []
    changed = {_root_key(path): change for path, change in diff.get("values_changed", {}).items()}
    for key in names:  # in the order a reader knows them, not DeepDiff's
        if key in changed:
            out.append((key, repr(changed[key]["old_value"]), repr(changed[key]["new_value"])))
    removed = sorted(str(v) for v in diff.get("iterable_item_removed", {}).values())
    added = sorted(str(v) for v in diff.get("iterable_item_added", {}).values())
    for path, change in diff.get("values_changed", {}).items():
        if path.startswith("root['sync']"):
            removed.append(str(change["old_value"]))
            added.append(str(change["new_value"]))
    out += [("sync", row, "") for row in sorted(removed)]
    out += [("sync", "", row) for row in sorted(added)]
    return out


def _root_key(path: str) -> str:
    """``root['sync'][2]`` -> ``sync``: which top-level field of the namespace a DeepDiff path is in."""
    return re.sub(r"^root\['([^']+)'\].*$", r"\1", path)


def _reasons(item: _Item) -> list[str]:
    """The reason lines of an entry; a replace's attribute differences are its details already."""
    if len(item.changes) == 2:
        return ["the server cannot update a namespace: it is deleted and created again"]
    return item.first.reason.split("; ")


def _details(plan: Plan, item: _Item) -> list[tuple[str, str, str]]:
    c = item.first
    if len(item.changes) == 2:
        return replacement_changes(plan, item)
    if c.action == "create_namespace":
        return [
            ("description", "", repr(c.description)),
            ("object_store", "", repr(c.object_store)),
            ("bucket", "", repr(c.bucket)),
        ]
    return []


def _title(item: _Item) -> str:
    c = item.first
    if len(item.changes) == 2:
        return f"{labels.title(c)} (forces replacement: {', '.join(c.forced_by)})"
    return labels.title(c)


# -- text ---------------------------------------------------------------------------------------


def render_text(plan: Plan, *, color: bool = False) -> str:
    """The plan for a terminal: values escaped with ``printable``, then painted."""
    esc = printable

    def paint(text: str, *styles: str) -> str:
        if not color:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def finding(v: Violation, indent: str) -> list[str]:
        mark, hue = ("✗", "red") if v.severity == "error" else ("!", "yellow")
        at = f" at {esc(v.position)}" if v.position else ""
        return [
            indent + paint(f"{mark} {esc(v.check)}{at}: {esc(v.message)}", hue),
            f"{indent}  fix: {esc(v.resolution)}",
        ]

    live = live_findings(plan)
    extra: list[str] = []
    if live:
        extra += ["The live state, apart from the changes:", ""]
        for v in live:
            extra += finding(v, "  ")
        extra.append("")
    extra += [paint(f"Note: {esc(note)}", "dim") for note in plan.notes]
    if plan.notes:
        extra.append("")
    if not plan.has_changes:
        partial = partial_line(plan)
        head = [esc(partial)] if partial else []
        blocking = _blocking_line(plan) if live else None
        tail = [paint(blocking, "red" if plan.errors else "yellow", "bold")] if blocking else []
        return "\n".join([*head, *extra, *tail, plan_summary(plan)]) + "\n"
    lines: list[str] = []
    partial = partial_line(plan)
    if partial:
        lines += [paint(esc(partial), "yellow", "bold"), ""]
    lines += extra
    lines.append("hossctl will make these changes, in this order:")
    lines.append("")
    for item in _items(plan):
        symbol = labels.symbol(item.first)
        lines.append(f"  {paint(symbol, _SYMBOL_COLOUR[symbol], 'bold')} {esc(_title(item))}")
        for what, before, after in _details(plan, item):
            if what == "sync" and not before:
                lines.append(f"      sync:         + {esc(after)}")
            elif what == "sync":
                lines.append(f"      sync:         - {esc(before)}")
            elif before:
                lines.append(f"      {what + ':':13} {esc(before)} → {esc(after)}")
            else:
                lines.append(f"      {what + ':':13} {esc(after)}")
        for part in _reasons(item):
            lines.append(paint(f"      # {esc(part)}", "dim"))
        for v in _violations(plan, item):
            lines += finding(v, "      ")
    lines.append("")
    blocking = _blocking_line(plan)
    if blocking:
        lines.append(paint(blocking, "red" if plan.errors else "yellow", "bold"))
    lines.append(paint(plan_summary(plan), "bold"))
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json_text(plan_to_dict(plan)) + "\n"


# -- Markdown -----------------------------------------------------------------------------------


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


def _md_title(item: _Item) -> str:
    c = item.first
    where = _code(labels.where(c.server, c.namespace))
    if c.action in ("create_namespace", "delete_namespace"):
        title = f"namespace {where}"
        if len(item.changes) == 2:
            title += f" (forces replacement: {markdown_text(', '.join(c.forced_by))})"
        return title
    if c.dataset is not None:
        verb = c.action.split("_", 1)[0]
        dataset = _code(f"{labels.where(c.server, c.namespace)}/{c.dataset}")
        return f"{verb} sync of dataset {dataset} ({markdown_text(labels.dataset_state(c))})"
    verb = "enable sync" if c.action == "enable_sync" else "disable sync"
    return f"{verb} {where} → {_code(labels.target(c))} ({markdown_text(c.sync_type or '')})"


_SUMMARY_ROWS = (
    ("create", "Create namespace"),
    ("replace", "Replace namespace"),
    ("delete", "Delete namespace"),
    ("enable_sync", "Enable sync"),
    ("disable_sync", "Disable sync"),
    ("enable_dataset_sync", "Enable dataset sync"),
    ("update_dataset_sync", "Update dataset sync"),
    ("disable_dataset_sync", "Disable dataset sync"),
)


def _md_finding(v: Violation, bullet: str) -> list[str]:
    mark = "⛔" if v.severity == "error" else "⚠️"
    at = f" at {_code(v.position)}" if v.position else ""
    indent = " " * len(bullet)
    return [
        f"{bullet}{mark} **{markdown_text(v.check)}**{at}: {markdown_text(v.message)}",
        f"{indent}*How to fix:* {markdown_text(v.resolution)}",
    ]


def render_markdown(plan: Plan) -> str:
    """The plan as a PR comment: a summary, a picture of the affected links, then every change."""
    from hossctl.render.graph import plan_graph, to_mermaid

    lines = ["### hossctl plan", ""]
    partial = partial_line(plan)
    if partial:
        lines += [f"> ⚠️ **{markdown_text(partial)}**", ""]
    lines.append(f"**{plan_summary(plan)}**")
    blocking = _blocking_line(plan)
    if blocking and (plan.has_changes or live_findings(plan)):
        lines += ["", f"> {'⛔' if plan.errors else '⚠️'} **{blocking}**"]
    live = live_findings(plan)
    if live:
        lines += ["", "#### The live state, apart from the changes", ""]
        for v in live:
            lines += _md_finding(v, "- ")
    if plan.notes:
        lines.append("")
        lines += [f"> *Note:* {markdown_text(note)}" for note in plan.notes]
    if not plan.has_changes:
        return "\n".join(lines) + "\n"
    summary = plan.summary
    lines += ["", "| Change | Count |", "|---|---:|"]
    lines += [f"| {name} | {getattr(summary, key)} |" for key, name in _SUMMARY_ROWS if getattr(summary, key)]
    errors, warnings = len(plan.errors), len(plan.warnings)
    if errors or warnings:
        lines.append(f"| Safety checks | {_plural(errors, 'error')}, {_plural(warnings, 'warning')} |")
    lines += ["", "```mermaid", to_mermaid(plan_graph(plan)).rstrip("\n"), "```", ""]
    items = _items(plan)
    body: list[str] = []
    for n, item in enumerate(items, start=1):
        symbol = labels.symbol(item.first)
        body.append(f"{n}. {_code(symbol)} {_md_title(item)}")
        for what, before, after in _details(plan, item):
            if what == "sync":
                sign, row = ("+", after) if not before else ("−", before)
                body.append(f"   - sync: {sign} {_code(row)}")
            elif before:
                body.append(f"   - {what}: {_code(before)} → {_code(after)}")
            else:
                body.append(f"   - {what}: {_code(after)}")
        body.append(f"   - *Why:* {markdown_text('; '.join(_reasons(item)))}")
        for v in _violations(plan, item):
            body += _md_finding(v, "   - ")
    if len(items) > FOLD_AFTER:
        lines += ["<details>", f"<summary>{_plural(len(items), 'change')}, in execution order</summary>", ""]
        lines += [*body, "", "</details>"]
    else:
        lines += ["#### Changes, in execution order", "", *body]
    return "\n".join(lines) + "\n"

