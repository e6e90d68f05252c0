"""Make text inert for a terminal: control characters shown, never executed.

A model's answer or a prompt's name is untrusted text. Printed raw to a terminal, ``ESC ] 0 ;
... BEL`` retitles the window and ``ESC [ 2 J`` clears the screen; in the TUI a control character
in a name breaks the layout. :func:`visible` replaces every control character with a visible
placeholder (the Unicode "control pictures": ``␛`` for ESC, ``␇`` for BEL...), so the sequence is
*shown*. Used by the CLI printers (only when writing to a terminal: a pipe gets the text as is)
and by the TUI widgets.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["json_text", "visible", "visible_name"]

_C1_PLACEHOLDER = "\ufffd"  # C1 controls (0x80-0x9f, e.g. the one-byte CSI 0x9b) have no picture
# Bidirectional overrides and isolates reorder what is shown around them ("Trojan source").
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Everything but \n and \t in multi-line text; also those in one-line text (names).
_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return _C1_PLACEHOLDER


def visible(text: str) -> str:
    """Multi-line text with control characters replaced by visible placeholders; newlines and
    tabs stay (a ``\\r\\n`` line end becomes ``\\n``)."""
    if not text:
        return text
    return _MULTILINE.sub(_picture, text.replace("\r\n", "\n"))


def visible_name(text: str) -> str:
    """One-line text (a prompt or file name, a table cell): every control character, newlines
    and tabs included, replaced by a visible placeholder."""
    if not text or text.isprintable():  # no control or format character: the common case
        return text
    return _ONE_LINE.sub(_picture, text)


# What json.dumps(ensure_ascii=False) leaves raw: DEL, C1 controls, bidi controls (C0 it escapes).
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}]")


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps`` of ``value`` that a terminal cannot execute: readable non-ASCII text, but
    DEL, C1 and bidi controls written as ``\\uXXXX`` escapes (the same JSON value; they only
    occur inside strings). For every JSON that is printed or written for people to read."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
