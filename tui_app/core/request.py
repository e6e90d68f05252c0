"""The resolved request: exactly what will be sent for one prompt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResolvedRequest:
    prompt: str
    model_name: str  # the AIConfig model name (label, key into metadata.models)
    model: str  # the model id sent: settings.model when present, else the name
    messages: list[dict[str, Any]]
    settings: dict[str, Any]  # model parameters sent with the request (temperature, max_tokens...)
    # Call options from the settings that configure the call but are not model parameters
    # (api_base, timeout, ...). Not part of the cache key except api_base (a different server).
    call_options: dict[str, Any] = field(default_factory=dict)
    # References rendered as "" because the caller allowed missing values -> why ("no value",
    # "not run yet", "no prompt is named ..."), in the order met.
    missing_why: dict[str, str] = field(default_factory=dict)
    # Each missing key that is another prompt's output or input -> that prompt's name.
    missing_of: dict[str, str] = field(default_factory=dict)
    # What the request leaves out on purpose (an earlier answer that is a function call).
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """The references rendered as "" (see ``missing_why``)."""
        return list(self.missing_why)

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "model": self.model,
            "messages": self.messages,
            "settings": self.settings,
        }

    @property
    def cache_key(self) -> str:
        """Hash of (model id, settings, messages, server): equal keys mean the same answer."""
        payload = {
            "model": self.model,
            "settings": self.settings,
            "messages": self.messages,
            "api_base": self.call_options.get("api_base"),
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
