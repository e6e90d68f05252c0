"""Providers: turn a :class:`~tui_app.core.request.ResolvedRequest` into a stream of text.

``stream_chat(request)`` yields :class:`TextChunk` pieces in order, possibly
:class:`RetryNotice` items before the first text (a transient failure, waiting to retry), and
finally one :class:`StreamEnd`; or raises :class:`ProviderError`. Chunk boundaries are not the
server's: a transport may join the deltas that arrived together (the direct client does).

Transports, chosen per call:
- built-in offline models (``echo``, ``mock``; :mod:`.offline`): in-process, no key, no socket;
- OpenAI and any ``openai/<name>`` with an ``api_base`` (Ollama's /v1, vLLM, LM Studio, ...): our
  own httpx client (:mod:`.openai_compat`), ~1 ms of CPU per chunk cheaper than litellm;
- everything else: litellm (:mod:`.litellm_provider`).
:func:`.routing.uses_direct_openai` holds the rule (``call_options["transport"] = "litellm"``
forces litellm). Both network transports share the retry loop (:mod:`.retry`), the error wording
and the price table (:mod:`.pricing`).

Importing this package imports neither litellm nor httpx; call :func:`preload` from a background
thread to pay for them (and the price table) early.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from .base import ProviderError, RetryNotice, StreamEnd, TextChunk
from .routing import (
    is_offline,
    key_env_var,
    needs_key,
    provider_of,
    unsupported_reason,
    uses_direct_openai,
)

if TYPE_CHECKING:
    from ..request import ResolvedRequest
    from . import litellm_provider, offline, openai_compat, pricing  # noqa: F401

# The transports are imported on first use (``providers.pricing`` and the like still work): the
# package itself stays cheap to import before the first frame.
_LAZY_SUBMODULES = frozenset({"litellm_provider", "offline", "openai_compat", "pricing", "retry"})


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ProviderError",
    "RetryNotice",
    "StreamEnd",
    "TextChunk",
    "is_offline",
    "key_env_var",
    "needs_key",
    "needs_litellm",
    "preload",
    "preload_for",
    "provider_of",
    "stream_chat",
    "uses_direct_openai",
]

StreamItem = TextChunk | RetryNotice | StreamEnd


def needs_litellm(model_ids: list[str]) -> bool:
    """Whether any of these model ids is served by litellm (not offline, not OpenAI-compatible).
    Reads the price table (no litellm import): call it off the event loop."""
    with contextlib.suppress(Exception):
        _prepare_direct()
    return any(not is_offline(m) and not uses_direct_openai(m) for m in model_ids if m)


def preload_for(model_ids: list[str]) -> bool:
    """Prepare what these models need: the direct client for any online model, litellm only when one of them
    needs it (an offline or OpenAI-compatible file never imports it). Returns whether litellm
    was loaded. Thread-safe, never raises; call it from a background thread. An offline-only
    file prepares nothing: httpx, TLS and the price table were ~10 MiB of its idle memory
    (bench/memory.py); a model switched to later prepares them on its first request."""
    if all(is_offline(m) for m in model_ids if m):
        return False
    if not needs_litellm(model_ids):
        return False
    from . import litellm_provider

    litellm_provider.preload()
    return True


def preload() -> None:
    """Read the price table, prepare the direct client (httpx, TLS context), import litellm and
    warm its first-call imports. Thread-safe, idempotent, never raises; call it from a background
    thread."""
    with contextlib.suppress(Exception):  # a broken install shows up on the first real call
        _prepare_direct()
    from . import litellm_provider

    litellm_provider.preload()


def _prepare_direct() -> None:
    from . import openai_compat, pricing

    pricing.load()
    openai_compat.prepare()


async def stream_chat(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
) -> AsyncGenerator[StreamItem, None]:
    """Stream the answer to ``request``.

    ``api_key``: the key to send (from keys.py); None: the provider's environment variable
    (``OPENAI_API_KEY`` for the direct client), or a dummy key for a local ``api_base``.
    ``max_attempts``: total attempts for transient failures (429, 5xx, connection errors before
    any text); default ``call_options["max_attempts"]`` or 4.
    Cancelling the consuming task closes the HTTP connection at once.
    """
    if is_offline(request.model):
        from . import offline

        inner = offline.stream(request)
    else:
        from . import litellm_provider, openai_compat, pricing

        if not (pricing.is_loaded() and openai_compat.is_prepared()):
            await asyncio.to_thread(_prepare_direct)  # ~0.1-0.4 s once: off the event loop
        unsupported = unsupported_reason(request.model)
        if unsupported is not None:
            raise ProviderError(unsupported, attempts=0, provider=provider_of(request.model))
        direct = uses_direct_openai(request.model, request.call_options, request.settings)
        transport = openai_compat if direct else litellm_provider
        inner = transport.stream(
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
