"""Building provider requests and draining stream_chat: shared by the provider test files."""

from __future__ import annotations

import socket

import pytest

from tui_app.core.providers import ProviderError, RequestSent, TextChunk, stream_chat
from tui_app.core.request import ResolvedRequest

FAST = {"backoff_base": 0.001, "backoff_max": 0.01}  # retries without real waiting


def make_request(
    api_base: str | None,
    content: str = "hello big world",
    *,
    model: str = "openai/test-model",
    settings: dict | None = None,
    via: str = "direct",
    **call_options,
) -> ResolvedRequest:
    """A resolved request; ``via="litellm"`` forces the litellm transport."""
    options = dict(call_options)
    if via == "litellm":
        options["transport"] = "litellm"
    if api_base is not None:
        options.setdefault("api_base", api_base)
    options.setdefault("timeout", 20)
    return ResolvedRequest(
        prompt="p",
        model_name=model,
        model=model,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": content}],
        settings=dict(settings or {}),
        call_options=options,
    )


async def collect(request, *, sent: bool = False, **kw):
    """Every item of the stream; the leading RequestSent marker only with ``sent=True``."""
    return [
        item
        async for item in stream_chat(request, **kw)
        if sent or not isinstance(item, RequestSent)
    ]


async def collect_until_error(request, *, sent: bool = False, **kw):
    items = []
    with pytest.raises(ProviderError) as info:
        async for item in stream_chat(request, **kw):
            if sent or not isinstance(item, RequestSent):
                items.append(item)
    return items, info.value


def text_of(items) -> str:
    return "".join(i.text for i in items if isinstance(i, TextChunk))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
