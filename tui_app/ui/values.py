"""Text <-> value conversions for the parameter form: parameters and validated model settings."""

from __future__ import annotations

import json
from typing import Any

# Settings shown for every prompt even when unset, in this order.
COMMON_SETTINGS = ("temperature", "max_tokens", "top_p")
# Settings that shape the request rather than being edited as one value.
HIDDEN_SETTINGS = frozenset({"system_prompt", "messages", "stream", "stream_options", "model"})

_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "delay": (0.0, 60.0),
    "timeout": (0.0, 3600.0),
}
_POSITIVE_INTS = frozenset(
    {"max_tokens", "max_completion_tokens", "n", "top_k", "max_attempts", "top_logprobs"}
)
_INTS = frozenset({"seed"})
_STRINGS = frozenset({"response", "api_base", "base_url", "api_version", "user"})


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


def parse_setting(key: str, text: str) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, error)``; an empty text means "unset" -> ``(None, None)``."""
    text = text.strip()
    if not text:
        return None, None
    if key in _FLOAT_RANGES:
        low, high = _FLOAT_RANGES[key]
        try:
            value = float(text)
        except ValueError:
            return None, f"{key} must be a number"
        if not low <= value <= high:
            return None, f"{key} must be between {low:g} and {high:g}"
        return (int(value) if value.is_integer() and "." not in text else value), None
    if key in _POSITIVE_INTS or key in _INTS:
        try:
            value = int(text)
        except ValueError:
            return None, f"{key} must be a whole number"
        if key in _POSITIVE_INTS and value < 1:
            return None, f"{key} must be at least 1"
        return value, None
    if key in _STRINGS:
        return text, None
    if key == "stop":
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return None, "stop must be a string or a JSON list of strings"
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None, "stop must be a string or a JSON list of strings"
            return value, None
        return text, None
    try:
        return json.loads(text), None
    except ValueError:
        return text, None


def short(value: Any, width: int = 60) -> str:
    text = format_value(value).replace("\n", "⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"
