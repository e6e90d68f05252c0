"""Fixtures for the Pilot tests: a private PROMPT_TUI_HOME and small offline chains."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def ui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """History, recent models and user themes go to a temp dir, never the real home."""
    home = tmp_path / "home"
    monkeypatch.setenv("PROMPT_TUI_HOME", str(home))
    return home


def chain(prompts: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "parameters": {},
        "models": {"echo": {"delay": 0}},
        "default_model": "echo",
    }
    meta.update(metadata)
    return {
        "name": "ui test chain",
        "schema_version": "latest",
        "metadata": meta,
        "prompts": prompts,
    }


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    def write(data: dict[str, Any], name: str = "chain.aiconfig.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def three_step(write_config: Callable[..., Path]) -> Path:
    """topic -> outline (reads topic's output) -> draft (reads outline's output)."""
    return write_config(
        chain(
            [
                {
                    "name": "topic",
                    "input": "Pick a topic about {{subject}}",
                    "metadata": {"remember_chat_context": False},
                },
                {
                    "name": "outline",
                    "input": "Outline: {{topic.output}}",
                    "metadata": {"remember_chat_context": False},
                },
                {
                    "name": "draft",
                    "input": "Draft from {{outline.output}} in a {{tone}} tone",
                    "metadata": {"remember_chat_context": False, "parameters": {"tone": "dry"}},
                },
            ],
            parameters={"subject": "owls"},
        )
    )
