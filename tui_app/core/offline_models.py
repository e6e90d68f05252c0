"""The built-in offline models' names: imports nothing, so the first frame can mark a model
"(offline)" without loading the providers package (which loads every transport's code)."""

from __future__ import annotations

OFFLINE_MODELS = frozenset({"echo", "mock", "mock-json", "mock-tool"})


def offline_name(model: str) -> str:
    """``offline/echo`` and ``Echo`` are ``echo``."""
    name = model.strip().lower()
    return name[len("offline/") :] if name.startswith("offline/") else name


def is_offline(model: str) -> bool:
    """A built-in offline model (``echo``, ``mock``): no key, no network, no litellm."""
    return offline_name(model) in OFFLINE_MODELS
