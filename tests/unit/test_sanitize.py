"""``sanitize``: what may reach a terminal, a log line or Markdown from a server or a config."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hossctl.sanitize import markdown_text, needs_escape, printable

# (raw, shown): one row per class of character a hostile server has used or could use.
CASES = [
    ("evil\x1b[2Jx", "evil\\x1b[2Jx"),  # ESC: CSI clear screen
    ("evil\x1b]0;PWNED\x07x", "evil\\x1b]0;PWNED\\x07x"),  # OSC window title, ended by BEL
    ("a\rFAKE", "a\\rFAKE"),  # CR: overwrite the line
    ("a\nFAKE: Apply complete", "a\\nFAKE: Apply complete"),  # LF: forge a line
    ("a\r\nb", "a\\r\\nb"),
    ("a\tb", "a\\tb"),  # TAB: inside a value it is a layout trick
    ("nul\x00", "nul\\x00"),
    ("bs\x08", "bs\\x08"),
    ("us\x1f", "us\\x1f"),
    ("del\x7f", "del\\x7f"),
    ("c1\x80", "c1\\x80"),
    ("csi\x9b2J", "csi\\x9b2J"),  # C1 CSI: ESC [ in one byte on some terminals
    ("nel\x85", "nel\\x85"),
    ("c1\x9f", "c1\\x9f"),
    ("rev\u202eexe.txt", "rev\\u202eexe.txt"),  # RIGHT-TO-LEFT OVERRIDE
    ("lre\u202a", "lre\\u202a"),
    ("iso\u2066x\u2069", "iso\\u2066x\\u2069"),  # bidi isolates
    ("alm\u061c", "alm\\u061c"),  # ARABIC LETTER MARK
    ("zw\u200bsp", "zw\\u200bsp"),  # ZERO WIDTH SPACE: two names that look the same
    ("zwj\u200d", "zwj\\u200d"),
    ("rlm\u200f", "rlm\\u200f"),
    ("bom\ufeff", "bom\\ufeff"),
    ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),  # line and paragraph separators
    ("wj\u2060", "wj\\u2060"),
    ("tag\U000e0041", "tag\\U000e0041"),  # tag characters: invisible ASCII
    ("lone\ud800", "lone\\ud800"),  # a lone surrogate from JSON "\ud800": no UTF-8 for it
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_every_class_of_control_and_bidi_character_is_shown_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert all(not needs_escape(ch) for ch in printable(raw))


@pytest.mark.parametrize(("raw", "_shown"), CASES)
def test_the_escapes_are_the_ones_repr_writes(raw: str, _shown: str) -> None:
    # A value quoted with {value!r} in a message reads the same as one escaped here.
    assert printable(raw) == repr(raw)[1:-1].replace("\\\\", "\\")


@pytest.mark.parametrize(
    "text", ["plain", "café", "日本語", "emoji 🎉🚀", "Ελληνικά", "עברית", "", " spaced "]
)
def test_ordinary_unicode_is_untouched(text: str) -> None:
    assert printable(text) == text
    assert printable(text) is text  # nothing to copy


@pytest.mark.parametrize(("raw", "_shown"), CASES)
def test_printable_is_idempotent(raw: str, _shown: str) -> None:
    once = printable(raw)
    assert printable(once) == once


def test_backslashes_are_kept_so_escaping_twice_changes_nothing() -> None:
    # The backslash rule: a backslash is never escaped, so text escaped in another layer (the
    # client, repr) is not escaped again. The price: a literal "\x1b" reads like an ESC did,
    # but it is as harmless, and nothing raw reaches the terminal either way.
    assert printable("C:\\path\\x") == "C:\\path\\x"
    assert printable(repr("a\x1bb")) == repr("a\x1bb") == "'a\\x1bb'"
    assert printable("a\\x1bb") == printable("a\x1bb")


@given(st.text())
def test_no_output_holds_a_character_that_needs_escaping(text: str) -> None:
    shown = printable(text)
    assert not any(needs_escape(ch) for ch in shown)
    assert printable(shown) == shown
    # Character by character, and only the characters that need it change. (Stripping escapes
    # from the output cannot show this: a literal backslash and 'n' read like an escaped newline.)
    assert shown == "".join(printable(ch) for ch in text)
    assert all((printable(ch) == ch) != needs_escape(ch) for ch in text)


@pytest.mark.parametrize(
    ("raw", "markdown"),
    [
        ("[x](http://evil)", "\\[x\\](http://evil)"),  # a link
        ("![x](http://evil/p.png)", "\\!\\[x\\](http://evil/p.png)"),  # an image
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),  # HTML
        ("<https://evil>", "\\<https://evil\\>"),  # an autolink
        ("a|b", "a\\|b"),  # a table cell break
        ("`code`", "\\`code\\`"),  # a code span
        ("**bold** _it_ ~~gone~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~"),
        ("&#x202E;", "\\&\\#x202E;"),  # an entity would bring the bidi override back
        ("# heading", "\\# heading"),
        ("$x^2$", "\\$x^2\\$"),  # GitHub math
        ("back\\slash", "back\\\\slash"),
        ("- item", "\\- item"),  # only at the start: a list item
        ("+ item", "\\+ item"),
        ("= setext", "\\= setext"),
        ("1. item", "1\\. item"),
        ("12) item", "12\\) item"),
        ("a-b+c 1. d", "a-b+c 1. d"),  # the same characters inside the text are harmless
        ("café 日本 🎉", "café 日本 🎉"),
    ],
)
def test_markdown_syntax_in_names_is_escaped(raw: str, markdown: str) -> None:
    assert markdown_text(raw) == markdown


def test_markdown_escapes_control_characters_first_and_renders_their_escapes() -> None:
    # printable's backslash is escaped again, so that "\x1b" renders as written.
    assert markdown_text("evil\x1b]0;PWNED\x07") == "evil\\\\x1b\\]0;PWNED\\\\x07"
    assert markdown_text("a\r\n| FAKE |") == "a\\\\r\\\\n\\| FAKE \\|"
    assert markdown_text("rev\u202eexe") == "rev\\\\u202eexe"


@given(st.text())
def test_markdown_text_holds_no_raw_control_or_unescaped_syntax(text: str) -> None:
    shown = markdown_text(text)
    assert not any(needs_escape(ch) for ch in shown)
    # Every syntax character is preceded by an odd number of backslashes: it is escaped.
    for match in re.finditer(r"(\\*)([`*_\[\]<>#|~&!$])", shown):
        assert len(match.group(1)) % 2 == 1, (text, shown)


@pytest.mark.parametrize(
    "value",
    [
        {"name": "rev\u202eexe.txt"},
        {"name": "tag\U000e0041", "c1": "\x85\x9b", "esc": "\x1b[2J", "lone": "\ud800"},
        ["café", "日本語", "emoji 🎉", {"nested": "\u2066x\u2069"}],
    ],
)
def test_json_text_is_exact_and_has_nothing_a_terminal_would_act_on(value: object) -> None:
    from hossctl.sanitize import json_text

    text = json_text(value)
    assert json.loads(text) == value
    assert not any(needs_escape(ch) for ch in text if ch not in "\n")
    assert "café" in text or "café" not in json.dumps(value, ensure_ascii=False)  # readable stays readable
