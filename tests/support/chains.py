"""Config documents shared by the live-reload tests and bench/reload.py."""

from __future__ import annotations

from typing import Any

FIVE = ("one", "two", "three", "four", "five")


def five_chain(base_url: str, words: dict[str, str] | None = None) -> dict[str, Any]:
    """one -> two -> three -> four -> five, each reading the previous output, on the local
    server. Chat context is off, so the only dependencies are the outputs read."""
    words = words or {}
    prompts = []
    previous = None
    for name in FIVE:
        text = f"{name} says {words.get(name, 'hello')}"
        if previous is not None:
            text += f" after {{{{{previous}.output}}}}"
        prompts.append({"name": name, "input": text, "metadata": {"remember_chat_context": False}})
        previous = name
    return {
        "name": "five",
        "schema_version": "latest",
        "metadata": {
            "parameters": {},
            "models": {
                "local": {"model": "openai/test-model", "api_base": base_url, "max_attempts": 1}
            },
            "default_model": "local",
        },
        "prompts": prompts,
    }
