"""Making untrusted text safe to show: the one place that decides what may reach a terminal.

hossctl prints what servers and config files say: namespace names, descriptions, buckets,
sync target URLs, error bodies. Any of them may hold characters a terminal or a Markdown
renderer acts on rather than shows: ESC starts sequences that set the window title, clear
the screen or recolour text; CR and LF forge whole lines (``FAKE: Apply complete``); U+202E
reverses the rest of a line; zero-width characters make two different names look the same.
So every such string passes through ``printable`` before it reaches a terminal, a log line
or an error message, and through ``markdown_text`` before it reaches Markdown. JSON output
is left exact: JSON escapes by itself, and a machine reading it needs the real bytes.

**Escapes.** A character is shown as Python writes it in ``repr``: ``\\t``, ``\\n``, ``\\r``,
else ``\\xNN`` below U+0100, ``\\uNNNN`` in the BMP and ``\\UNNNNNNNN`` above it. So a value
reads the same whether a message quoted it with ``{value!r}`` or it was escaped here.

**Backslashes are left as they are**, deliberately. That makes ``printable`` idempotent:
``printable(printable(s)) == printable(s)``, and text that was already escaped (by this
function in another layer, such as the client, or by ``repr``) is never escaped twice, so it
can be applied at every output boundary without tracking which layers already did. A
function cannot be both idempotent and injective, and the price is paid here: a value that
literally holds the four characters ``\\x1b`` reads the same as one holding ESC. Nothing can
be hidden or forged that way (the output holds no control character either way), and where
the exact value matters, ``--json`` has it, and messages quote names with ``repr``, which
does double a backslash.

``markdown_text`` is the opposite kind of function: an encoding applied exactly once, as the
last step of the Markdown renderer. It is not idempotent (it escapes the backslashes of its
own escapes, so that they render as written).
"""

from __future__ import annotations

import re

# What ``printable`` escapes. C0 controls (TAB, LF and CR included: a value never spans
# lines), DEL and C1 controls (U+009B is a one-byte CSI to some terminals); lone surrogates,
# which a JSON answer can carry ("\ud800") and which no UTF-8 stream can encode; and the
# invisible formatting characters that reorder or hide text: the Arabic letter mark, the
# Mongolian vowel separator, zero-width space/joiners and the LRM/RLM marks, the line and
# paragraph separators, the bidi embeddings, overrides and isolates, the invisible
# operators and word joiner, the deprecated format controls, the BOM (zero-width no-break
# space), the interlinear annotation controls and the tag characters.
_UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f-\x9f"
    "\ud800-\udfff"
    "\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
    "]"
)

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Markdown (CommonMark + GFM) syntax that can start a link or image ([ ] !), an HTML tag or
# autolink (< >), an entity (&: "&#x202E;" would bring U+202E back), emphasis or
# strikethrough (* _ ~), a code span (`), a table cell break (|), a heading (#), math on
# GitHub ($), or an escape (\). Escaped anywhere in the text; CommonMark allows a
# backslash before any ASCII punctuation, and it renders as the character itself.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>#|~&!$])")
# Block syntax that matters only at the start of a line: list items, setext underlines
# and ordered list numbers ("1." / "1)").
_LEADING_MARKER = re.compile(r"^([-+=])")
_LEADING_NUMBER = re.compile(r"^(\d{1,9})([.)])")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every control, bidi and invisible formatting character as a visible escape.

    Safe to show on a terminal or in a log line, and idempotent (see the module docstring),
    so it can be applied at each output boundary. Ordinary Unicode (é, 日本, emoji) is kept.
    """
    if _UNSAFE.search(text) is None:  # the usual case: nothing to copy
        return text
    return _UNSAFE.sub(_escape, text)


def needs_escape(char: str) -> bool:
    """Whether ``printable`` would escape this one character (for encoders of other formats)."""
    return _UNSAFE.fullmatch(char) is not None


def markdown_text(text: str) -> str:
    """``printable(text)`` with Markdown's syntax escaped, for inline text in a PR comment.

    A namespace name like ``[x](http://evil)`` or ``<img src=x>`` then renders as itself, not
    as a link or HTML, and ``|`` cannot break a table cell. Backslash escapes render as the
    escaped character, so the text reads as ``printable`` shows it.
    """
    shown = _MARKDOWN_SYNTAX.sub(r"\\\1", printable(text))
    shown = _LEADING_MARKER.sub(r"\\\1", shown)
    return _LEADING_NUMBER.sub(r"\1\\\2", shown)


# What ``json.dumps`` leaves raw but a terminal would act on. C0 controls are not in it: JSON
# escapes them inside strings itself, and outside strings they are the indentation's newlines.
_JSON_UNSAFE = re.compile(
    "["
    "\x7f-\x9f"
    "\ud800-\udfff"
    "\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f"
    "]"
)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a JSON escape of an astral character is a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(value: object, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """JSON that is exact and still safe on a terminal: ordinary Unicode stays readable, while
    every character ``printable`` would escape (bidi overrides, C1 controls, ...) is written as
    a ``\\uXXXX`` escape, which any JSON parser reads back as the same character."""
    import json

    text = json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=sort_keys)
    return text if _JSON_UNSAFE.search(text) is None else _JSON_UNSAFE.sub(_json_escape, text)
