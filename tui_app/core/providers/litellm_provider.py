"""Real providers through litellm, imported lazily; retries are the shared loop's (:mod:`.retry`).

litellm is never imported at module level: importing it costs seconds and ~175 MB. :func:`load`
imports it once (thread-safe) after setting the environment it needs to stay offline and quiet;
:func:`preload` also imports what the first ``acompletion`` would otherwise import lazily, so the
TUI can pay both costs in a background thread after the first paint.

Streaming through litellm costs ~1 ms of CPU per chunk, so OpenAI-compatible endpoints go through
:mod:`.openai_compat` instead (see :func:`.routing.uses_direct_openai`); this module serves every
other provider.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import importlib
import os
import sys
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from ..request import ResolvedRequest
from ..toolcalls import ToolCallPiece, pieces_of_delta
from . import pricing, retry
from .base import (
    LOCAL_DUMMY_KEY,
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    ProviderError,
    RequestSent,
    RetryNotice,
    StreamEnd,
    TextChunk,
    detail_from_error_body,
    ended_early,
    failure_for_status,
    usage_from,
)

__all__ = ["LOCAL_DUMMY_KEY", "classify", "is_loaded", "load", "preload", "stream"]

_ENV_DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches a price table at import
    "LITELLM_MODE": "PRODUCTION",  # else it loads .env from the working directory
    "LITELLM_LOG": "ERROR",
    # litellm ends a stream that repeats one chunk 100 times (a "looping model" guard) and the
    # error read as a dropped connection; repeating is the model's business, not a failure.
    "REPEATED_STREAMING_CHUNK_LIMIT": "1000000000",
}
# Modules the first acompletion() imports lazily (~0.7-1 s on the event loop otherwise).
# Missing ones are skipped, so a litellm upgrade only makes the warm-up less complete.
_WARM_MODULES = (
    "openai.resources",
    "openai.types.chat",
    "tiktoken_ext.openai_public",
    "anyio._backends._asyncio",
    "litellm.llms.openai.openai",
    "litellm.llms.openai.chat.gpt_audio_transformation",
    "litellm.llms.openai_like.dynamic_config",
    "litellm.llms.litellm_proxy.chat.transformation",
    "litellm.llms.vertex_ai.vertex_ai_partner_models.anthropic.transformation",
    "litellm.types.litellm_core_utils.streaming_chunk_builder_utils",
    "litellm.proxy._types",
    "litellm._service_logger",
)

# What a call imports only to count tokens (litellm's default tiktoken encoding: ~40 MiB resident
# for the process's life, bench/memory.py). A run that will call litellm imports it in its
# preflight (:func:`preload` with ``for_run=True``), before anything is sent; the idle app, which
# may never call litellm, does not carry it.
_RUN_WARM_MODULES = ("litellm.litellm_core_utils.default_encoding",)

_lock = threading.Lock()
_litellm: Any = None
_warmed = False
_run_warmed = False


def load() -> Any:
    """Import litellm once (thread-safe) and return the module."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            for name, value in _ENV_DEFAULTS.items():
                os.environ.setdefault(name, value)
            import litellm

            litellm.suppress_debug_info = True
            pricing.share(getattr(litellm, "model_cost", None))
            _litellm = litellm
    return _litellm


def is_loaded() -> bool:
    return _litellm is not None


def _warm() -> None:
    global _warmed
    if _warmed:
        return
    with _lock:
        if _warmed:
            return
        _import_all(_WARM_MODULES)
        _warmed = True


def _warm_for_run() -> None:
    global _run_warmed
    if _run_warmed:
        return
    with _lock:
        if _run_warmed:
            return
        _import_all(_RUN_WARM_MODULES)
        _run_warmed = True


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # optional warm-up
            continue


def preload(*, for_run: bool = False) -> None:
    """Import litellm and warm what its first call imports (``for_run``: also what it imports
    to count tokens). Idempotent, thread-safe; meant for a background thread. Never raises (a
    broken install shows up on the first real call)."""
    try:
        load()
    except Exception:
        return
    _warm()
    if for_run:
        _warm_for_run()


def _load_and_warm() -> Any:
    litellm = load()
    _warm()
    _warm_for_run()
    return litellm


async def _ensure_loaded() -> Any:
    """litellm, imported and warmed off the event loop (both take seconds the first time)."""
    if _litellm is not None and _warmed and _run_warmed:
        return _litellm
    return await asyncio.to_thread(_load_and_warm)


# -- errors ------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "original_exception", None)])
    return out


def _names(exc: BaseException) -> set[str]:
    return {f"{c.__module__}.{c.__name__}" for c in type(exc).__mro__}


_CONNECTION_TYPES = {
    "litellm.exceptions.APIConnectionError",
    "openai.APIConnectionError",
    "httpx.TransportError",
    "httpx.ConnectError",
    "aiohttp.client_exceptions.ClientConnectionError",
    "aiohttp.client_exceptions.ClientPayloadError",
    "aiohttp.client_exceptions.ServerDisconnectedError",
    "builtins.ConnectionError",
    "builtins.OSError",
}
_TIMEOUT_TYPES = {
    "litellm.exceptions.Timeout",
    "openai.APITimeoutError",
    "httpx.TimeoutException",
    "builtins.TimeoutError",
    "asyncio.exceptions.TimeoutError",
    "aiohttp.client_exceptions.ServerTimeoutError",
}


def _short(exc: BaseException) -> str:
    """The interesting part of a litellm message, without its class-name prefixes."""
    text = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    text = text.split("Original exception:", 1)[0]
    text = text.split("\n", 1)[0]
    for _ in range(4):  # "litellm.BadRequestError: OpenAIException - msg" and friends
        head, sep, rest = text.partition(": ")
        if sep and (head.startswith("litellm.") or head.endswith(("Error", "Exception"))):
            text = rest
            continue
        head, sep, rest = text.partition(" - ")
        if sep and head.endswith(("Exception", "Error")) and " " not in head.strip():
            text = rest
            continue
        break
    text = text.strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status the server sent: the innermost HTTP response's own status first (litellm
    wraps Anthropic's 529 and Gemini's 503 into a 500 InternalServerError, in a
    MidStreamFallbackError mid-stream; the response underneath still says 529 or 503)."""
    chain = _chain(exc)
    for e in reversed(chain):
        value = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
    for e in chain:
        value = getattr(e, "status_code", None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
    return None


def _retry_after_of(exc: BaseException) -> float | None:
    for e in _chain(exc):
        for headers in (
            getattr(getattr(e, "response", None), "headers", None),
            getattr(e, "litellm_response_headers", None),
            getattr(e, "headers", None),
        ):
            try:
                value = retry.retry_after_from_headers(headers)
            except Exception:
                value = None
            if value is not None:
                return value
    return None


def _body_detail(exc: BaseException) -> tuple[str, str | None]:
    """The server's own error message and code, from the HTTP response the exception carries
    (the OpenAI SDK's ``body``, or an httpx response), else litellm's message."""
    for e in _chain(exc):
        body = getattr(e, "body", None)
        if isinstance(body, dict) and body:
            detail, code = detail_from_error_body(
                body if "error" in body or "detail" in body else {"error": body}
            )
            if detail:
                return detail, code
        response = getattr(e, "response", None)
        content = None
        with contextlib.suppress(Exception):  # a streamed response may not be readable
            content = response.content if response is not None else None
        if content:
            detail, code = detail_from_error_body(content)
            if detail:
                return detail, code
    return _short(exc), None


def classify(
    exc: BaseException,
    *,
    provider: str,
    model: str,
    where: str,
    timeout: float | None = None,
) -> Failure:
    """Map a litellm (or lower-level) exception to a failure kind and a short message."""
    chain = _chain(exc)
    names: set[str] = set()
    for e in chain:
        names |= _names(e)

    if names & _TIMEOUT_TYPES and not any(isinstance(e, ConnectionRefusedError) for e in chain):
        after = f" after {timeout:g} s" if timeout else ""
        return Failure(
            f"timed out{after} waiting for {where}", "timeout", None, False, kind="timeout"
        )

    dropped = "litellm.exceptions.MidStreamFallbackError" in _names(exc)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        msg = f"connection refused: {where}"
        return Failure(msg, msg, None, True, kind="connection")
    if dropped or names & _CONNECTION_TYPES:
        # A real HTTP error status wrapped in a mid-stream error keeps its meaning.
        # (Anthropic's in-stream overloaded_error, Gemini's 503): never "connection closed".
        original = getattr(exc, "original_exception", None)
        if (
            dropped
            and original is not None
            and "litellm.exceptions.APIConnectionError" not in _names(original)
        ):
            status = _status_of(original)
            if status is not None:
                return classify(
                    original, provider=provider, model=model, where=where, timeout=timeout
                )
        if dropped:
            msg = f"connection to {where} closed before the answer finished"
            return Failure(msg, "connection closed", None, True, kind="dropped")
        detail = _short(next((e for e in reversed(chain) if isinstance(e, OSError)), exc))
        msg = f"connection failed: {where}: {detail}"
        return Failure(msg, f"connection failed: {where}", None, True, kind="connection")

    status = _status_of(exc)
    if status is None:
        detail = _short(exc)
        return Failure(f"{provider}: {detail}", detail, None, False, kind="other")
    if "LLM Provider NOT provided" in str(exc):
        msg = (
            f"litellm cannot tell the provider of model '{model}': write it as provider/model "
            f"(e.g. openai/{model} with an api_base for an OpenAI-compatible server)"
        )
        return Failure(msg, msg, status, False, kind="other")
    detail, code = _body_detail(exc)
    return failure_for_status(
        status,
        detail,
        provider=provider,
        model=model,
        where=where,
        retry_after=_retry_after_of(exc),
        code=code,
    )


# -- streaming ---------------------------------------------------------------------------------


async def stream(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> AsyncGenerator[TextChunk | ToolCallPiece | RequestSent | RetryNotice | StreamEnd, None]:
    options = request.call_options or {}
    call = Call.of(request, api_key, max_attempts)
    try:
        litellm = await _ensure_loaded()
    except ImportError as exc:
        raise ProviderError(
            f"cannot load litellm ({exc.name or exc}): reinstall prompt-tui to run "
            f"{call.provider} models",
            provider=call.provider,
            attempts=0,
        ) from None
    kwargs: dict[str, Any] = dict(request.settings)
    kwargs.update(
        model=request.model,
        messages=request.messages,
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,  # the OpenAI SDK underneath would retry twice more by itself
        timeout=call.timeout,
        api_base=call.api_base,
        api_key=call.api_key,
    )
    basic = _basic_auth(options)
    if basic is not None:  # user:password@ in the api_base: litellm would drop it, send it here
        headers = dict(kwargs.get("extra_headers") or {})
        headers.setdefault("Authorization", basic)
        kwargs["extra_headers"] = headers
        call.secrets.append(basic.split(" ", 1)[1])
    if options.get("api_version"):
        kwargs["api_version"] = options["api_version"]
    if options.get("custom_llm_provider"):
        kwargs["custom_llm_provider"] = options["custom_llm_provider"]

    async def attempt() -> AsyncGenerator[TextChunk | ToolCallPiece | AttemptEnd, None]:
        finish_reason: str | None = None
        usage = None
        answered_by: str | None = None
        response: Any = None
        answered = False
        try:
            response = await litellm.acompletion(**kwargs)
            async for chunk in response:
                choices = getattr(chunk, "choices", None) or ()
                if choices:
                    choice = choices[0]
                    delta = getattr(choice, "delta", None)
                    text = getattr(delta, "content", None) if delta is not None else None
                    if text:
                        answered = True
                        yield TextChunk(text)
                    dump = getattr(delta, "model_dump", None)
                    if dump is not None and (
                        getattr(delta, "tool_calls", None) or getattr(delta, "function_call", None)
                    ):
                        for piece in pieces_of_delta(dump()):  # a tool call, in pieces
                            yield piece
                    reason = getattr(choice, "finish_reason", None)
                    if reason:
                        finish_reason = reason
                raw_usage = getattr(chunk, "usage", None)
                if raw_usage is not None:
                    usage = usage_from(raw_usage) or usage
                if answered_by is None:
                    answered_by = getattr(chunk, "model", None) or None
            if finish_reason is None:  # the stream stopped without saying it was complete
                raise AttemptFailed(ended_early(call.where))
            if finish_reason == "content_filter" and not answered:  # a block, not an answer
                msg = (
                    f"{call.provider}: the answer was blocked by the provider's content filter "
                    "(finish_reason content_filter)"
                )
                raise AttemptFailed(
                    Failure(msg, "answer blocked", None, False, kind="other", no_retry="a refusal")
                )
            if usage is not None and not _server_sent_usage(response):
                # litellm counted the tokens itself: say so, never show them as the server's
                usage = dataclasses.replace(usage, estimated=True)
        except AttemptFailed:
            raise
        except Exception as exc:  # every failure becomes a classified Failure
            failure = classify(
                exc,
                provider=call.provider,
                model=request.model,
                where=call.where,
                timeout=call.timeout,
            )
            raise AttemptFailed(failure) from None
        finally:
            if response is not None:
                aclose = getattr(response, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):  # closing a broken stream
                        await aclose()
        yield AttemptEnd(finish_reason, usage, answered_by)

    inner = retry.run(
        attempt,
        call,
        model=request.model,
        price_model=request.model,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        sleep=sleep,
    )
    try:
        async for item in inner:
            yield item
    finally:
        await inner.aclose()


def _basic_auth(options: dict[str, Any]) -> str | None:
    """``Basic ...`` for an api_base written ``scheme://user:password@host``, else None."""
    raw = str(options.get("api_base") or options.get("base_url") or "")
    if "@" not in raw:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.username is None and parts.password is None:
        return None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _server_sent_usage(response: Any) -> bool:
    """Whether any raw chunk of litellm's stream wrapper carried the provider's own usage (the
    final usage chunk litellm adds is otherwise its own count from the text)."""
    chunks = getattr(response, "chunks", None)
    if not isinstance(chunks, list):
        return True  # cannot tell: do not claim an estimate
    return any(getattr(chunk, "usage", None) is not None for chunk in chunks)


def litellm_imported() -> bool:
    """Whether litellm is in this interpreter (imported by us or anyone)."""
    return "litellm" in sys.modules
