"""What prompt-tui knows about model settings: which ones configure the call instead of being sent,
which ones shape the request, and the types and ranges of the common ones.

One place decides whether a setting value is acceptable, with one message, whatever the source:

- :func:`parse_setting` reads a value typed as text (the parameter form, ``--set KEY=VALUE``);
- :func:`check_setting` checks a value already typed (a config file, the engine before a call);
- :func:`settings_problems` finds every bad setting in an AIConfig document, with its path
  (``validate`` turns the paths into ``file:line:col``).

Unknown settings are accepted as they are (providers take many more than we know): text that
parses as JSON becomes that JSON value, anything else stays text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .secrets import MASK

__all__ = [
    "CALL_OPTIONS",
    "COMMON_SETTINGS",
    "HIDDEN_SETTINGS",
    "PRICE_SETTINGS",
    "OFFLINE_ONLY",
    "SPECS",
    "STRUCTURAL",
    "SettingSpec",
    "check_setting",
    "parse_setting",
    "settings_problems",
]

Kind = Literal["number", "whole", "text", "stop", "object", "flag", "system_prompt"]

# Settings that configure the call (where, how long, how often, which key) and are never sent to
# the model. ``api_key_env`` / ``api_key_keyring`` name where a self-hosted server's key comes from
# (an environment variable / an OS keyring entry): names, never the key itself.
# ``input_cost_per_token`` / ``output_cost_per_token`` (USD, litellm's names) price the model for
# estimates and budgets (a self-hosted server, a negotiated price): never sent either.
PRICE_SETTINGS = frozenset({"input_cost_per_token", "output_cost_per_token"})
CALL_OPTIONS = frozenset(
    {
        "api_base",
        "base_url",
        "timeout",
        "api_version",
        "max_attempts",
        "transport",
        "api_key_env",
        "api_key_keyring",
        # USD per token for a model the price table does not list (or to override it)
        "input_cost_per_token",
        "output_cost_per_token",
    }
)
# Settings that shape the request itself rather than being sent as one value.
STRUCTURAL = frozenset({"system_prompt", "messages", "stream", "stream_options", "model"})
# Shown in the form for every prompt even when unset, in this order.
COMMON_SETTINGS = ("temperature", "max_tokens", "top_p")
# Not edited as one value in the form.
HIDDEN_SETTINGS = STRUCTURAL


@dataclass(frozen=True)
class SettingSpec:
    """The type (and for numbers the range) of one known setting."""

    name: str
    kind: Kind
    low: float | None = None  # inclusive bounds for "number" and "whole"
    high: float | None = None
    # which models take it: "any", or "offline" (the built-in echo/mock only: a real provider
    # answers a parameter it does not know with 400, so the request leaves it out, with a note)
    models: Literal["any", "offline"] = "any"

    def describe(self) -> str:
        """What the setting must be, for messages: 'a number between 0 and 2'."""
        if self.kind == "number":
            return f"a number between {self.low:g} and {self.high:g}"
        if self.kind == "whole":
            if self.high is not None:
                return f"a whole number between {self.low:g} and {self.high:g}"
            return (
                f"a whole number of at least {self.low:g}"
                if self.low is not None
                else "a whole number"
            )
        return {
            "text": "text",
            "stop": "a string or a JSON list of strings",
            "object": "a JSON object",
            "flag": "true or false",
            "system_prompt": "text",
        }.get(self.kind, "")


def _specs(*specs: SettingSpec) -> dict[str, SettingSpec]:
    return {spec.name: spec for spec in specs}


SPECS: dict[str, SettingSpec] = _specs(
    # sent to the model
    SettingSpec("temperature", "number", 0.0, 2.0),
    SettingSpec("top_p", "number", 0.0, 1.0),
    SettingSpec("presence_penalty", "number", -2.0, 2.0),
    SettingSpec("frequency_penalty", "number", -2.0, 2.0),
    SettingSpec("max_tokens", "whole", 1),
    SettingSpec("max_completion_tokens", "whole", 1),
    SettingSpec("n", "whole", 1, 128),
    SettingSpec("top_k", "whole", 1),
    SettingSpec("top_logprobs", "whole", 0, 20),
    SettingSpec("seed", "whole"),
    SettingSpec("stop", "stop"),
    SettingSpec("response_format", "object"),
    SettingSpec("logit_bias", "object"),
    SettingSpec("logprobs", "flag"),
    SettingSpec("user", "text"),
    # the built-in offline models
    SettingSpec("delay", "number", 0.0, 60.0, models="offline"),
    SettingSpec("response", "text", models="offline"),
    # the call
    SettingSpec("timeout", "number", 0.0, 3600.0),
    SettingSpec("max_attempts", "whole", 1, 100),
    SettingSpec("api_base", "text"),
    SettingSpec("base_url", "text"),
    SettingSpec("api_version", "text"),
    SettingSpec("transport", "text"),
    SettingSpec("input_cost_per_token", "number", 0.0, 1.0),
    SettingSpec("output_cost_per_token", "number", 0.0, 1.0),
    # the request's shape
    SettingSpec("system_prompt", "system_prompt"),
    SettingSpec("stream", "flag"),
    SettingSpec("model", "text"),
)


# Settings only the built-in offline models take (from SPECS): never sent to a real provider.
OFFLINE_ONLY = frozenset(spec.name for spec in SPECS.values() if spec.models == "offline")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_setting(key: str, value: Any) -> str | None:
    """``None`` when ``value`` is acceptable for setting ``key``, else the one-line reason
    (``"temperature must be a number between 0 and 2"``). ``None`` values mean "unset"."""
    spec = SPECS.get(key)
    if spec is None or value is None:
        return None
    wrong = f"{key} must be {spec.describe()}"
    if spec.kind == "number":
        if not _is_number(value) or not math.isfinite(value):
            return wrong
        if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
            return wrong
        if key == "timeout" and value == 0:
            # 0 once silently meant the default 600 s; "no timeout" would let a silent server
            # hold a run forever. Refused, with what to write instead.
            return (
                "timeout must be more than 0 seconds (at most 3600); leave it out for the "
                "default of 600 s"
            )
        return None
    if spec.kind == "whole":
        if not isinstance(value, int) or isinstance(value, bool):
            return wrong
        if (spec.low is not None and value < spec.low) or (
            spec.high is not None and value > spec.high
        ):
            return wrong
        return None
    if spec.kind == "text":
        return None if isinstance(value, str) else wrong
    if spec.kind == "stop":
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return None
        return wrong
    if spec.kind == "object":
        return None if isinstance(value, dict) else wrong
    if spec.kind == "flag":
        return None if isinstance(value, bool) else wrong
    if spec.kind == "system_prompt":
        if isinstance(value, str) or (
            isinstance(value, dict) and isinstance(value.get("content"), str)
        ):
            return None
        return f"{key} must be text (or an object with a 'content' text)"
    return None


def parse_setting(key: str, text: str) -> tuple[Any, str | None]:
    """A setting typed as text -> ``(value, None)`` or ``(None, reason)``. Empty text means
    "unset": ``(None, None)``. The reason is :func:`check_setting`'s, word for word."""
    text = text.strip()
    if not text:
        return None, None
    if MASK in text:  # the form shows secrets masked: the mask is never a value to save
        return None, f"{key} shows a masked secret: type the whole value again"
    spec = SPECS.get(key)
    value: Any
    if spec is None:
        try:
            return json.loads(text), None
        except ValueError:
            return text, None
    if spec.kind == "number":
        try:
            number = float(text)
        except ValueError:
            return None, f"{key} must be {spec.describe()}"
        # "1" stays the integer 1 (what a JSON file would hold); "1.0" stays a float
        value = int(number) if number.is_integer() and "." not in text else number
    elif spec.kind == "whole":
        try:
            value = int(text)
        except ValueError:
            return None, f"{key} must be {spec.describe()}"
    elif spec.kind in ("text", "system_prompt"):
        value = text
    elif spec.kind == "stop":
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return None, f"{key} must be {spec.describe()}"
        else:
            value = text
    else:  # object, flag: JSON
        try:
            value = json.loads(text)
        except ValueError:
            return None, f"{key} must be {spec.describe()}"
    error = check_setting(key, value)
    return (None, error) if error else (value, None)


Path = tuple[str | int, ...]


def _settings_in(doc: Mapping[str, Any]) -> list[tuple[Path, Mapping[str, Any]]]:
    """Every settings object of an AIConfig document, with its path."""
    found: list[tuple[Path, Mapping[str, Any]]] = []
    metadata = doc.get("metadata")
    if isinstance(metadata, Mapping):
        models = metadata.get("models")
        if isinstance(models, Mapping):
            for name, settings in models.items():
                if isinstance(settings, Mapping):
                    found.append((("metadata", "models", str(name)), settings))
    prompts = doc.get("prompts")
    if isinstance(prompts, list):
        for index, prompt in enumerate(prompts):
            meta = prompt.get("metadata") if isinstance(prompt, Mapping) else None
            model = meta.get("model") if isinstance(meta, Mapping) else None
            settings = model.get("settings") if isinstance(model, Mapping) else None
            if isinstance(settings, Mapping):
                found.append((("prompts", index, "metadata", "model", "settings"), settings))
    return found


def settings_problems(doc: Any) -> list[tuple[Path, str]]:
    """``(path, reason)`` for every setting in an AIConfig document that :func:`check_setting`
    refuses, in file order."""
    if not isinstance(doc, Mapping):
        return []
    problems: list[tuple[Path, str]] = []
    for base, settings in _settings_in(doc):
        for key, value in settings.items():
            error = check_setting(str(key), value)
            if error:
                problems.append(((*base, str(key)), error))
    return problems


def request_problems(
    prompt: str, settings: Mapping[str, Any], call_options: Mapping[str, Any]
) -> list[str]:
    """Every setting of a resolved request that :func:`check_setting` refuses (the check
    ``validate`` makes), as one-line messages naming the prompt: a run refuses what validate
    refuses, word for word, before anything is sent."""
    merged = {**settings, **call_options}
    problems = []
    for key in merged:
        error = check_setting(str(key), merged[key])
        if error:
            problems.append(f"prompt '{prompt}': {error}")
    return problems


def call_problem(prompt: str, call_options: Mapping[str, Any]) -> str | None:
    """The first bad call option of a resolved request, as a one-line message naming the
    prompt; None when they are all fine. Checked before a call so that a bad ``max_attempts``
    is a clear failure, never a Python exception."""
    for key in sorted(call_options):
        error = check_setting(key, call_options[key])
        if error:
            return f"prompt '{prompt}': {error}"
    return None
