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
