"""Shared fixtures. Keep this file thin: logic lives in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import OpenAIServer


@pytest.fixture
def model_server() -> Iterator[OpenAIServer]:
    """A started OpenAI-compatible server on 127.0.0.1 (see tests/support/openai_server.py)."""
    with OpenAIServer() as server:
        yield server
