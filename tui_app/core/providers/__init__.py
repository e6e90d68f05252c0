"""Providers: turn a :class:`~tui_app.core.request.ResolvedRequest` into a stream of text.

``stream_chat(request)`` yields :class:`TextChunk` pieces in order, possibly
:class:`RetryNotice` items before the first text (a transient failure, waiting to retry), and
finally one :class:`StreamEnd`; or raises :class:`ProviderError`. Chunk boundaries are not the
server's: a transport may join the deltas that arrived together (the direct client does).

The first item of a network call is :class:`RequestSent`: the transport is loaded and the
request goes out now (TTFT and latency count from it).

Transports, chosen per call by :func:`.routing.transport_for`:
- built-in offline models (``echo``, ``mock``; :mod:`.offline`): in-process, no key, no socket;
- OpenAI and any ``openai/<name>`` with an ``api_base`` (Ollama's /v1, vLLM, LM Studio, ...): our
  own httpx client (:mod:`.openai_compat`), ~1 ms of CPU per chunk cheaper than litellm;
- Anthropic (``claude-*``, ``anthropic/*``), Gemini (``gemini-*``, ``gemini/*``) and Ollama
  (``ollama/*``): native httpx clients (:mod:`.anthropic`, :mod:`.gemini`, :mod:`.ollama`, sharing
  :mod:`.wire`), with or without an ``api_base``;
- everything else, and any model with ``transport: litellm``: litellm (:mod:`.litellm_provider`).
Every network transport shares the retry loop (:mod:`.retry`), the error wording and the price
table (:mod:`.pricing`).

Importing this package imports neither litellm nor httpx; call :func:`preload` from a background
thread to pay for them (and the price table) early.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..attachments import materialize
from ..toolcalls import ToolCallPiece
from .base import ProviderError, RequestSent, RetryNotice, StreamEnd, TextChunk
from .routing import (
    is_offline,
    key_env_var,
    needs_key,
    provider_of,
    transport_for,
    unknown_model_reason,
    unsupported_reason,
    uses_direct_openai,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from ..request import ResolvedRequest
    from . import (  # noqa: F401
        anthropic,
        gemini,
        litellm_provider,
        offline,
        ollama,
        openai_compat,
        pricing,
        wire,
    )

# The transports are imported on first use (``providers.pricing`` and the like still work): the
# package itself stays cheap to import before the first frame.
_LAZY_SUBMODULES = frozenset(
    {
        "anthropic",
        "gemini",
        "litellm_provider",
        "offline",
        "ollama",
        "openai_compat",
        "pricing",
        "retry",
        "wire",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ProviderError",
    "RequestSent",
    "RetryNotice",
    "StreamEnd",
    "TextChunk",
    "ToolCallPiece",
    "is_offline",
    "key_env_var",
    "needs_key",
    "needs_litellm",
    "preload",
    "preload_for",
    "preload_for_requests",
    "prewarm_check",
    "provider_of",
    "stream_chat",
    "transport_for",
    "uses_direct_openai",
]

StreamItem = TextChunk | ToolCallPiece | RequestSent | RetryNotice | StreamEnd
_TRANSPORT_MODULES = {
    "openai": "openai_compat",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
    "litellm": "litellm_provider",
}


def _needs_litellm(
    model: str, options: dict[str, Any] | None, settings: dict[str, Any] | None
) -> bool:
    return (
        bool(model)
        and transport_for(model, options, settings) == "litellm"
        and unknown_model_reason(model, options) is None  # refused without litellm
        and unsupported_reason(model) is None
    )


def needs_litellm(model_ids: Iterable[str]) -> bool:
    """Whether any of these model ids is served by litellm (not offline, not one of the native
    clients). Reads the price table (no litellm import): call it off the event loop."""
    with contextlib.suppress(Exception):
        _prepare_direct()
    return any(_needs_litellm(m, None, None) for m in model_ids)


def preload_for(model_ids: Iterable[str]) -> bool:
    """Prepare what these models need: the direct client for any online model, litellm only when
    one of them needs it (an offline, OpenAI-compatible, Anthropic, Gemini or Ollama file never
    imports it). Returns whether litellm was loaded. Thread-safe, never raises; call it from a
    background thread. An offline-only file prepares nothing (its idle memory: bench/memory.py);
    a model switched to later prepares them on its first request."""
    model_ids = list(model_ids)
    if all(is_offline(m) for m in model_ids if m):
        return False
    if not needs_litellm(model_ids):
        return False
    from . import litellm_provider

    litellm_provider.preload()
    return True


def preload_for_requests(requests: Iterable[ResolvedRequest]) -> bool:
    """:func:`preload_for` for resolved requests, which also knows their settings
    (``transport: litellm``). Thread-safe, never raises."""
    if not any(_needs_litellm(r.model, r.call_options, r.settings) for r in requests):
        return False
    from . import litellm_provider

    litellm_provider.preload(for_run=True)
    return True


def prewarm_check(run: object, requests: list[ResolvedRequest]) -> list[str]:
    """A runner preflight check (it runs in a thread before anything is sent, once the plan is
    known) that imports litellm when the run will need it: its 3-5 s import is then off every
    prompt's clock, and the columns of a comparison start together. Finds no problems."""
    preload_for_requests(requests)
    return []


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


def _with_attachments_inline(request: ResolvedRequest) -> ResolvedRequest:
    messages = materialize(request.messages)
    return request if messages is request.messages else replace(request, messages=messages)


async def stream_chat(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> AsyncGenerator[StreamItem, None]:
    """Stream the answer to ``request``.

    ``api_key``: the key to send (from keys.py); None: the provider's environment variable
    (``OPENAI_API_KEY`` for the direct client), or a dummy key for a local ``api_base``.
    ``max_attempts``: total attempts for transient failures (429, 5xx, connection errors before
    any text); default ``call_options["max_attempts"]`` or 4. ``sleep``: how to wait between
    attempts (``asyncio.sleep``; tests pass one that does not wait).
    Cancelling the consuming task closes the HTTP connection at once.
    """
    if is_offline(request.model):
        from . import offline

        inner = offline.stream(request)
    else:
        from . import openai_compat, pricing

        if not openai_compat.is_prepared():
            await asyncio.to_thread(openai_compat.prepare)  # ~0.1-0.3 s once: off the loop
        if not pricing.is_loaded() and provider_of(request.model, request.call_options) in (
            "openai",
            "unknown",
        ):  # routing an OpenAI id reads the table's "mode" (~40 ms once, off the loop)
            await asyncio.to_thread(pricing.load)
        # Other routes need the price table only for the cost, at the end: it loads meanwhile
        # (retry.run awaits it before pricing the answer).
        unsupported = unsupported_reason(request.model)
        if unsupported is not None:
            raise ProviderError(unsupported, attempts=0, provider=provider_of(request.model))
        # Local files attached to the prompt go out as data: URLs (read now, not at resolve).
        request = _with_attachments_inline(request)
        route = transport_for(request.model, request.call_options, request.settings)
        if route == "litellm":
            unknown = unknown_model_reason(request.model, request.call_options)
            if unknown is not None:  # judged from the id: no 3-5 s litellm import to say so
                provider = provider_of(request.model, request.call_options)
                raise ProviderError(unknown, attempts=0, provider=provider)
        module = importlib.import_module(f"{__name__}.{_TRANSPORT_MODULES[route]}")
        inner = module.stream(
            request,
            api_key=api_key,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            sleep=sleep,
        )
    try:
        async for item in inner:
            yield item
    finally:
        await inner.aclose()
