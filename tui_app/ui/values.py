"""Text <-> value conversions for the parameter form: parameters and validated model settings."""

from __future__ import annotations

import json
from typing import Any

from ..core.model_settings import COMMON_SETTINGS, HIDDEN_SETTINGS, parse_setting

# One place knows model settings (types, ranges, messages): the form parses with it.
__all__ = [
    "COMMON_SETTINGS",
    "HIDDEN_SETTINGS",
    "format_value",
    "parse_parameter",
    "parse_setting",
    "short",
]


def format_value(value: Any) -> str:
    """How a value is shown in an input: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def is_multiline(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or "\r" in value)


def to_input_text(value: Any) -> str:
    """A value as one line of an input: a line break in a text value is written ``\\n`` (and a
    backslash ``\\\\``), so a multi-line value stays inside its row and survives an edit."""
    if is_multiline(value):
        text = str(value).replace("\r\n", "\n").replace("\r", "\n")
        return text.replace("\\", "\\\\").replace("\n", "\\n")
    return format_value(value)


def from_input_text(text: str) -> str:
    """The inverse of :func:`to_input_text` for a multi-line value."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "n\\":
            out.append("\n" if text[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_parameter(text: str, original: Any = None) -> Any:
    """A typed parameter value: text, unless the value it replaces was JSON (a number, list...)."""
    if original is not None and not isinstance(original, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def short(value: Any, width: int = 60) -> str:
    text = format_value(value).replace("\n", "⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"
