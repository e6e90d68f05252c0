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
