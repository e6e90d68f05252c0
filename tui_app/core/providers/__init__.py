"""Providers: turn a :class:`~tui_app.core.request.ResolvedRequest` into a stream of text.

``stream_chat(request)`` yields :class:`TextChunk` pieces in order, possibly
:class:`RetryNotice` items before the first text (a transient failure, waiting to retry), and
finally one :class:`StreamEnd`; or raises :class:`ProviderError`.

Built-in offline models (``echo``, ``mock``; see :mod:`.offline`) run in-process with no key,
no socket and no litellm. Everything else goes through litellm (:mod:`.litellm_provider`),
imported lazily: importing this package never imports litellm; call :func:`preload` from a
background thread to pay for it early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..request import ResolvedRequest
from . import litellm_provider, offline
from .base import ProviderError, RetryNotice, StreamEnd, TextChunk, scrub_secrets
from .routing import is_offline, key_env_var, needs_key, provider_of

__all__ = [
    "ProviderError",
    "RetryNotice",
    "StreamEnd",
    "TextChunk",
    "is_offline",
    "key_env_var",
    "needs_key",
    "preload",
    "provider_of",
    "scrub_secrets",
    "stream_chat",
]

StreamItem = TextChunk | RetryNotice | StreamEnd


def preload() -> None:
    """Import litellm (and warm its first-call imports). Thread-safe, idempotent, never raises;
    call it from a background thread."""
    litellm_provider.preload()


async def stream_chat(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
) -> AsyncIterator[StreamItem]:
    """Stream the answer to ``request``.

    ``api_key``: the key to send (from keys.py); None lets litellm read the provider's
    environment variable, or sends a dummy key to a local ``api_base``.
    ``max_attempts``: total attempts for transient failures (429, 5xx, connection errors before
    any text); default ``call_options["max_attempts"]`` or 4.
    Cancelling the consuming task closes the HTTP connection at once.
    """
    if is_offline(request.model):
        inner = offline.stream(request)
    else:
        inner = litellm_provider.stream(
            request,
            api_key=api_key,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
    try:
        async for item in inner:
            yield item
    finally:
        await inner.aclose()
