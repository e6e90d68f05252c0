"""Built-in offline models: no key, no network, no litellm.

``echo``: answers with the last user message, word by word.
``mock``: answers with ``settings["response"]``, word by word (a fixed answer for demos and CI).

Both take ``settings["delay"]``: seconds between words (default 0.03, a human-visible pace;
0 streams at once). Usage is counted in words: ``prompt_tokens`` over every message's text,
``completion_tokens`` over the answer. Cost is 0.0. ``max_tokens`` cuts the answer after that
many words with ``finish_reason="length"``, as a real model cuts it (so the "cut at max_tokens"
path can be tried offline).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncGenerator
from typing import Any

from ..events import Usage
from ..request import ResolvedRequest
from .base import ProviderError, StreamEnd, TextChunk
from .routing import offline_name

DEFAULT_DELAY = 0.03  # seconds per word
_WORDS = re.compile(r"\S+\s*|\s+")
_YIELD_EVERY = 64  # with delay 0, give the event loop a turn this often


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type", "text") == "text"
        )
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return "" if content is None else str(content)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            return _text_of(message.get("content"))
    return ""


def _delay_of(request: ResolvedRequest, name: str) -> float:
    raw = request.settings.get("delay", DEFAULT_DELAY)
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or not math.isfinite(raw)
        or raw < 0
    ):
        raise ProviderError(
            f"{name} model (prompt '{request.prompt}'): settings.delay must be a number of "
            f"seconds >= 0, got {raw!r}",
            provider="offline",
            attempts=0,
        )
    return float(raw)


def answer_of(request: ResolvedRequest) -> str:
    """The full text an offline model answers ``request`` with (raises ProviderError)."""
    name = offline_name(request.model)
    if name == "echo":
        return _last_user_text(request.messages)
    if name == "mock":
        response = request.settings.get("response")
        if not isinstance(response, str):
            got = "it is missing" if response is None else f"got {type(response).__name__}"
            raise ProviderError(
                f"mock model (prompt '{request.prompt}'): set settings.response to the text it "
                f"should answer ({got})",
                provider="offline",
                attempts=0,
            )
        return response
    raise ProviderError(f"no offline model named '{request.model}'", provider="offline", attempts=0)


async def stream(request: ResolvedRequest) -> AsyncGenerator[TextChunk | StreamEnd, None]:
    name = offline_name(request.model)
    text = answer_of(request)
    delay = _delay_of(request, name)
    words = _WORDS.findall(text)
    words, cut = _cut_at(words, request.settings.get("max_tokens"))
    text = "".join(words)
    for i, word in enumerate(words):
        if i and delay > 0:
            await asyncio.sleep(delay)
        elif i % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        yield TextChunk(word)
    prompt_words = sum(
        len(_text_of(m.get("content")).split()) for m in request.messages if isinstance(m, dict)
    )
    completion_words = len(text.split())
    yield StreamEnd(
        finish_reason="length" if cut else "stop",
        usage=Usage(
            prompt_tokens=prompt_words,
            completion_tokens=completion_words,
            total_tokens=prompt_words + completion_words,
        ),
        cost=0.0,
        model=request.model,
        attempts=1,
        offline=True,
    )


def _cut_at(pieces: list[str], max_tokens: Any) -> tuple[list[str], bool]:
    """The answer's pieces up to ``max_tokens`` words (a word is a token here); True when cut."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        return pieces, False
    kept: list[str] = []
    count = 0
    for piece in pieces:
        if not piece.isspace():
            if count == max_tokens:
                if kept:
                    kept[-1] = kept[-1].rstrip()
                return kept, True
            count += 1
        kept.append(piece)
    return pieces, False
