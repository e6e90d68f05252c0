"""One list of terminal-injection payloads, shared by every surface's test: whatever prompt-tui
shows (CLI printers, TUI widgets), none of these may reach the terminal raw."""

from __future__ import annotations

import re

PAYLOADS: dict[str, str] = {
    "clear screen (CSI 2J)": "\x1b[2J",
    "window title (OSC 0)": "\x1b]0;pwned\x07",
    "clipboard write (OSC 52)": "\x1b]52;c;cHduZWQ=\x07",
    "hyperlink (OSC 8)": "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "bell": "\x07",
    "one-byte CSI (C1 0x9b)": "\x9b31m",
    "string terminator (C1 0x9c)": "\x9c",
    "bidi override (RLO)": "\u202eevil",
    "bidi isolate (LRI..PDI)": "\u2066x\u2069",
    "backspace overwrite": "ok\x08\x08no",
    "carriage return overwrite": "safe\rEVIL",
    "delete": "\x7f",
}

# Text that Textual or Rich would read as markup if it reached a widget as a markup string:
# tags that crash (a stray closing tag), eat text ([Hi] there), act ([@click=...]) or link.
MARKUP: dict[str, str] = {
    "lone open bracket": "[",
    "bare closing tag": "[/]",
    "bracket and digit": "see [2",
    "stray closing tag": "[/dim]",
    "bold tag": "[b]x",
    "click action": "[@click=app.quit]x[/]",
    "link": "[link=file:///etc/passwd]x[/]",
    "escaped bracket": "\\[",
    "double bracket": "[[",
    "closing bracket": "]",
    "capitalised word": "[WIP] hoods",
    "template variable": "$name ${x}",
}
# All of them, one a line (a narrow pane wraps nothing), and a prompt name holding the worst.
MARKUP_TEXT = "\n".join(MARKUP.values())
MARKUP_NAME = "[WIP] [/dim] [b]x [@click=app.quit]q[/] [2"


def shown_text(svg: str) -> str:
    """The characters an exported screenshot (``app.export_screenshot()``) draws, in order."""
    import html

    return "".join(html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)).replace(
        "\xa0", " "
    )


# All of them in one string, with words around so a test can find where it was shown.
HOSTILE = "start " + " | ".join(PAYLOADS.values()) + " end"
# A prompt name holding escapes (names are one line: no \r, no \n).
HOSTILE_NAME = "bad\x1b[2J\x1b]0;pwned\x07\u202ename"

# What must never reach a terminal from text: C0 controls but newline and tab, DEL, C1, bidi.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def raw_controls(text: str, *, tty: bool = False) -> list[str]:
    """The raw control characters in ``text`` (empty: inert). ``tty``: text read back from a
    pseudo-terminal, whose line discipline writes each newline as CR LF."""
    if tty:
        text = text.replace("\r\n", "\n")
    return sorted({f"U+{ord(c):04X}" for c in _RAW.findall(text)})
