"""Shared fixtures. Keep this file thin: logic lives in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import OpenAIServer


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's prompt-tui files (history, settings, custom key names) go to its own temp
    dir, never the real home; a test that wants another home sets PROMPT_TUI_HOME itself."""
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "prompt-tui-home"))


@pytest.fixture
def model_server() -> Iterator[OpenAIServer]:
    """A started OpenAI-compatible server on 127.0.0.1 (see tests/support/openai_server.py)."""
    with OpenAIServer() as server:
        yield server
