"""Real providers through litellm, imported lazily and streamed with our own retry loop.

litellm is never imported at module level: importing it costs seconds and ~175 MB. :func:`load`
imports it once (thread-safe) after setting the environment it needs to stay offline and quiet;
:func:`preload` also imports what the first ``acompletion`` would otherwise import lazily, so the
TUI can pay both costs in a background thread after the first paint.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..events import Usage
from ..request import ResolvedRequest
from . import retry
from .base import ProviderError, RetryNotice, StreamEnd, TextChunk, scrub_secrets
from .routing import api_base_of, is_local_url, key_env_var, needs_key, provider_of

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_ATTEMPTS = 4
# Sent when the server is local and no key was given: the OpenAI SDK refuses to run without one,
# and we must not fall back to a real key from the environment for a local server.
LOCAL_DUMMY_KEY = "sk-local-no-key-needed"

_ENV_DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it fetches a price table at import
    "LITELLM_MODE": "PRODUCTION",  # else it loads .env from the working directory
    "LITELLM_LOG": "ERROR",
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
    "litellm.litellm_core_utils.default_encoding",
    "litellm.types.litellm_core_utils.streaming_chunk_builder_utils",
    "litellm.proxy._types",
    "litellm._service_logger",
)

_lock = threading.Lock()
_litellm: Any = None
_warmed = False


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
        for name in _WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # optional warm-up
                continue
        _warmed = True


def preload() -> None:
    """Import litellm and warm what its first call imports. Idempotent, thread-safe; meant for a
    background thread. Never raises (a broken install shows up on the first real call)."""
    try:
        load()
    except Exception:
        return
    _warm()


def _load_and_warm() -> Any:
    litellm = load()
    _warm()
    return litellm


async def _ensure_loaded() -> Any:
    """litellm, imported and warmed off the event loop (both take seconds the first time)."""
    if _litellm is not None and _warmed:
        return _litellm
    return await asyncio.to_thread(_load_and_warm)


# -- errors ------------------------------------------------------------------------------------

_HTTP_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class _Failure:
    message: str  # final message (attempt count is added later for retryable kinds)
    reason: str  # short, for RetryNotice
    status: int | None
    retryable: bool
    retry_after: float | None = None
    kind: str = "status"  # status | connection | timeout | dropped | other


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
    status = getattr(exc, "status_code", None)
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
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


def classify(
    exc: BaseException,
    *,
    provider: str,
    model: str,
    where: str,
    timeout: float | None = None,
) -> _Failure:
    """Map a litellm (or lower-level) exception to a failure kind and a short message."""
    chain = _chain(exc)
    names: set[str] = set()
    for e in chain:
        names |= _names(e)

    if names & _TIMEOUT_TYPES and not any(isinstance(e, ConnectionRefusedError) for e in chain):
        after = f" after {timeout:g} s" if timeout else ""
        return _Failure(
            f"timed out{after} waiting for {where}", "timeout", None, False, kind="timeout"
        )

    dropped = "litellm.exceptions.MidStreamFallbackError" in _names(exc)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        msg = f"connection refused: {where}"
        return _Failure(msg, msg, None, True, kind="connection")
    if dropped or names & _CONNECTION_TYPES:
        # A real HTTP error status wrapped in a mid-stream error keeps its meaning.
        original = getattr(exc, "original_exception", None)
        if (
            dropped
            and original is not None
            and "litellm.exceptions.APIConnectionError" not in _names(original)
        ):
            status = _status_of(original)
            if status is not None and status < 500:
                return classify(
                    original, provider=provider, model=model, where=where, timeout=timeout
                )
        if dropped:
            msg = f"connection to {where} closed before the answer finished"
            return _Failure(msg, "connection closed", None, True, kind="dropped")
        detail = _short(next((e for e in reversed(chain) if isinstance(e, OSError)), exc))
        msg = f"connection failed: {where}: {detail}"
        return _Failure(msg, f"connection failed: {where}", None, True, kind="connection")

    status = _status_of(exc)
    detail = _short(exc)
    if status is None:
        return _Failure(f"{provider}: {detail}", detail, None, False, kind="other")
    reason = _HTTP_REASONS.get(status, "")
    label = f"{status} {reason}".strip()
    if "LLM Provider NOT provided" in str(exc):
        msg = (
            f"litellm cannot tell the provider of model '{model}': write it as provider/model "
            f"(e.g. openai/{model} with an api_base for an OpenAI-compatible server)"
        )
        return _Failure(msg, msg, status, False, kind="other")
    if status == 401:
        env = key_env_var(provider)
        hint = f"check {env}" if env else "check the API key"
        return _Failure(f"{provider}: {label} — {hint}", label, 401, False)
    if status == 403:
        return _Failure(f"{provider}: {label} — {detail}", label, 403, False)
    if status == 404:
        return _Failure(
            f"{provider}: {label} — model '{model}' at {where}: {detail}", label, 404, False
        )
    if status == 429:
        return _Failure("rate limited (429)", "rate limited (429)", 429, True, _retry_after_of(exc))
    if 500 <= status <= 599:
        return _Failure(
            f"{provider}: server error ({status}): {detail}",
            f"server error ({status})",
            status,
            True,
            _retry_after_of(exc),
        )
    return _Failure(f"{provider}: {label}: {detail}", label, status, False)


def _final_error(
    failure: _Failure, attempts: int, provider: str, secrets: list[str | None], partial: str = ""
) -> ProviderError:
    message = failure.message
    if failure.retryable and attempts > 1:
        if failure.status == 429:
            message = f"rate limited (429) after {attempts} attempts"
        else:
            message = f"{message} (after {attempts} attempts)"
    return ProviderError(
        message,
        status=failure.status,
        retryable=failure.retryable,
        attempts=attempts,
        partial_text=partial,
        provider=provider,
        secrets=secrets,
    )


# -- cost --------------------------------------------------------------------------------------


def cost_of(model: str, usage: Usage | None, provider: str | None = None) -> float | None:
    """USD from litellm's local price table; None when the model (or the usage) is unknown."""
    if usage is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    litellm = load()
    try:
        kwargs: dict[str, Any] = {}
        if provider and provider not in ("unknown",) and "/" not in model:
            kwargs["custom_llm_provider"] = provider
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model,
            prompt_tokens=int(usage.prompt_tokens),
            completion_tokens=int(usage.completion_tokens),
            **kwargs,
        )
        return float(prompt_cost) + float(completion_cost)
    except Exception:
        return None


def _usage_of(raw: Any) -> Usage | None:
    if raw is None:
        return None

    def num(name: str) -> int | None:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        return int(value) if isinstance(value, (int, float)) else None

    usage = Usage(num("prompt_tokens"), num("completion_tokens"), num("total_tokens"))
    if usage.prompt_tokens is None and usage.completion_tokens is None:
        return None
    return usage


# -- streaming ---------------------------------------------------------------------------------


async def stream(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
) -> AsyncIterator[TextChunk | RetryNotice | StreamEnd]:
    options = request.call_options or {}
    provider = provider_of(request.model, options)
    api_base = api_base_of(options)
    where = api_base or provider
    secrets: list[str | None] = [api_key]
    if max_attempts is None:
        max_attempts = options.get("max_attempts") or DEFAULT_MAX_ATTEMPTS
    max_attempts = max(1, int(max_attempts))
    timeout = options.get("timeout") or DEFAULT_TIMEOUT

    if api_key is None:
        if is_local_url(api_base):
            api_key = LOCAL_DUMMY_KEY
        elif needs_key(request):
            env = key_env_var(provider)
            if env and not os.environ.get(env):
                raise ProviderError(
                    f"no API key for {provider}: set {env} or run `prompt-tui keys set {provider}`",
                    provider=provider,
                    attempts=0,
                )

    try:
        litellm = await _ensure_loaded()
    except ImportError as exc:
        raise ProviderError(
            f"cannot load litellm ({exc.name or exc}): reinstall prompt-tui to run {provider} models",
            provider=provider,
            attempts=0,
        ) from None
    kwargs: dict[str, Any] = dict(request.settings)
    kwargs.update(
        model=request.model,
        messages=request.messages,
        stream=True,
        stream_options={"include_usage": True},
        max_retries=0,
        timeout=timeout,
        api_base=api_base,
        api_key=api_key,
    )
    if options.get("api_version"):
        kwargs["api_version"] = options["api_version"]
    if options.get("custom_llm_provider"):
        kwargs["custom_llm_provider"] = options["custom_llm_provider"]

    attempt = 0
    while True:
        attempt += 1
        parts: list[str] = []
        finish_reason: str | None = None
        usage: Usage | None = None
        answered_by: str | None = None
        response: Any = None
        failure: _Failure | None = None
        try:
            response = await litellm.acompletion(**kwargs)
            async for chunk in response:
                choices = getattr(chunk, "choices", None) or ()
                if choices:
                    choice = choices[0]
                    delta = getattr(choice, "delta", None)
                    text = getattr(delta, "content", None) if delta is not None else None
                    if text:
                        parts.append(text)
                        yield TextChunk(text)
                    reason = getattr(choice, "finish_reason", None)
                    if reason:
                        finish_reason = reason
                raw_usage = getattr(chunk, "usage", None)
                if raw_usage is not None:
                    usage = _usage_of(raw_usage) or usage
                if answered_by is None:
                    answered_by = getattr(chunk, "model", None) or None
        except Exception as exc:  # every failure becomes a ProviderError
            failure = classify(
                exc, provider=provider, model=request.model, where=where, timeout=timeout
            )
        finally:
            if response is not None:
                aclose = getattr(response, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):  # closing a broken stream
                        await aclose()

        if failure is None:
            break
        if parts:  # never retry once text has streamed: the caller already showed it
            partial = "".join(parts)
            failure.message = (
                f"stream interrupted after {len(partial)} characters: {failure.message}"
            )
            raise _final_error(failure, attempt, provider, secrets, partial)
        if not failure.retryable or attempt >= max_attempts:
            raise _final_error(failure, attempt, provider, secrets)
        if failure.retry_after is not None and failure.retry_after > retry.MAX_RETRY_AFTER:
            failure.message += f"; the server asks to wait {failure.retry_after:.0f} s"
            raise _final_error(failure, attempt, provider, secrets)
        delay = retry.next_delay(attempt, failure.retry_after, backoff_base, backoff_max)
        yield RetryNotice(
            attempt=attempt, delay=delay, reason=scrub_secrets(failure.reason, secrets)
        )
        await asyncio.sleep(delay)

    yield StreamEnd(
        finish_reason=finish_reason,
        usage=usage,
        cost=cost_of(request.model, usage, provider),
        model=answered_by or request.model,
        attempts=attempt,
        offline=False,
    )


def litellm_imported() -> bool:
    """Whether litellm is in this interpreter (imported by us or anyone)."""
    return "litellm" in sys.modules
