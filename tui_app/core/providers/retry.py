"""Retry policy for model calls: which failures are transient and how long to wait.

Retried: HTTP 429, HTTP 5xx and connection errors (refused, reset, dropped before any text).
Never retried: other 4xx (400, 401, 403, 404, 422, ...), a 429 whose error code is
``insufficient_quota`` (billing, not load), client-side timeouts (the user set the timeout;
repeating it multiplies the wait; also the direct client's connect timeout), and anything after
text has streamed.

Waiting: the server's ``Retry-After`` (seconds, fractional allowed, or an HTTP date; also
``retry-after-ms``) when present, else exponential backoff with full jitter:
``uniform(0, min(backoff_max, backoff_base * 2 ** (attempt - 1)))``. A ``Retry-After`` longer
than :data:`MAX_RETRY_AFTER` is not waited for: the call fails at once, saying how long the
server asked to wait.

:func:`run` is the one retry loop every transport shares: a transport only makes one attempt.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

from ..secrets import scrub_text
from ..toolcalls import ToolCallPiece
from . import pricing
from .base import (
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    ProviderError,
    RequestSent,
    RetryNotice,
    StreamEnd,
    TextChunk,
)

MAX_RETRY_AFTER = 60.0  # seconds; a longer Retry-After fails the call instead of hanging it


def backoff_delay(
    attempt: int, base: float, cap: float, *, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential backoff after the failed ``attempt`` (1-based)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return (rng or random).uniform(0.0, max(ceiling, 0.0))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date); None if absent
    or unreadable. Never negative."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # lazy: only HTTP-date Retry-After values need it

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retry_after_from_headers(headers: Mapping[str, Any] | None) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` first (OpenAI sends it), then
    ``retry-after``."""
    if not headers:
        return None
    try:
        lowered = {str(k).lower(): v for k, v in dict(headers).items()}
    except (TypeError, ValueError):
        return None
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except (TypeError, ValueError):
            pass
    return parse_retry_after(lowered.get("retry-after"))


def next_delay(attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """Seconds to wait after the failed ``attempt``: ``retry_after`` when the server gave one."""
    if retry_after is not None:
        return retry_after
    return backoff_delay(attempt, base, cap)


def final_error(
    failure: Failure, attempts: int, call: Call, partial: str = "", note: str | None = None
) -> ProviderError:
    """The one error a call ends with: the provider, the failure's own message (HTTP status and
    the server's words), and whether it was retried and why."""
    message = failure.message
    if not message.startswith(f"{call.provider}:"):
        message = f"{call.provider}: {message}"
    if note is not None:
        pass
    elif partial:
        note = "not retried: text had already streamed"
    elif failure.retryable and attempts > 1:
        note = f"gave up after {attempts} attempts"
    elif failure.retryable:
        note = "not retried: max_attempts is 1"
    elif failure.no_retry:
        note = f"not retried: {failure.no_retry}"
    elif failure.kind == "timeout":
        note = "not retried: the timeout setting bounds the whole call"
    else:
        note = "not retried"
    return ProviderError(
        f"{message} ({note})",
        status=failure.status,
        retryable=failure.retryable,
        attempts=attempts,
        partial_text=partial,
        provider=call.provider,
        secrets=call.secrets,
    )


async def run(
    attempt: Callable[[], AsyncGenerator[TextChunk | ToolCallPiece | AttemptEnd, None]],
    call: Call,
    *,
    model: str,
    price_model: str,
    backoff_base: float,
    backoff_max: float,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> AsyncGenerator[TextChunk | ToolCallPiece | RequestSent | RetryNotice | StreamEnd, None]:
    """Make attempts until one succeeds, the failure is not transient, text has streamed, or
    ``call.max_attempts`` is used up. ``attempt()`` starts one attempt (see :mod:`.base`).
    ``model``: the id reported when the server names none; ``price_model``: the id priced.
    ``sleep``: how to wait between attempts (``asyncio.sleep``; tests pass a recorder).
    Yields :class:`RequestSent` first: the transport is loaded, the request goes out now."""
    wait = sleep if sleep is not None else asyncio.sleep
    if not pricing.is_loaded():  # read the price table while the request is out
        asyncio.get_running_loop().run_in_executor(None, pricing.load)
    yield RequestSent(time.time())
    n = 0
    while True:
        n += 1
        parts: list[str] = []
        end: AttemptEnd | None = None
        failure: Failure | None = None
        agen = attempt()
        try:
            async for item in agen:
                if isinstance(item, TextChunk):
                    parts.append(item.text)
                    yield item
                elif isinstance(item, ToolCallPiece):
                    parts.append("")  # shown like text: never retried after it
                    yield item
                else:
                    end = item
        except AttemptFailed as exc:
            failure = exc.failure
        finally:
            await agen.aclose()  # at once, also when our consumer stops or is cancelled

        if failure is None:
            break
        if parts:  # never retry once text has streamed: the caller already showed it
            partial = "".join(parts)
            failure.message = (
                f"stream interrupted after {len(partial)} characters: "
                + failure.message.removeprefix(f"{call.provider}: ")
            )
            raise final_error(failure, n, call, partial)
        if not failure.retryable or n >= call.max_attempts:
            raise final_error(failure, n, call)
        if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER:
            failure.message += f"; the server asks to wait {failure.retry_after:.0f} s"
            why = f"not retried: longer than {MAX_RETRY_AFTER:.0f} s"
            raise final_error(failure, n, call, note=why)
        delay = next_delay(n, failure.retry_after, backoff_base, backoff_max)
        yield RetryNotice(attempt=n, delay=delay, reason=scrub_text(failure.reason, call.secrets))
        await wait(delay)

    end = end or AttemptEnd()
    if not pricing.is_loaded():  # ~40 ms once, off the event loop
        await asyncio.to_thread(pricing.load)
    yield StreamEnd(
        finish_reason=end.finish_reason,
        usage=end.usage,
        cost=pricing.cost_of(price_model, end.usage, call.provider, call.rates),
        model=end.model or model,
        attempts=n,
        offline=False,
        raw_finish_reason=end.raw_finish_reason or end.finish_reason,
        tool_calls=end.tool_calls,
    )
