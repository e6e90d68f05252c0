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
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from ..secrets import scrub_text
from . import pricing
from .base import (
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    ProviderError,
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


def final_error(failure: Failure, attempts: int, call: Call, partial: str = "") -> ProviderError:
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
        provider=call.provider,
        secrets=call.secrets,
    )


async def run(
    attempt: Callable[[], AsyncGenerator[TextChunk | AttemptEnd, None]],
    call: Call,
    *,
    model: str,
    price_model: str,
    backoff_base: float,
    backoff_max: float,
) -> AsyncGenerator[TextChunk | RetryNotice | StreamEnd, None]:
    """Make attempts until one succeeds, the failure is not transient, text has streamed, or
    ``call.max_attempts`` is used up. ``attempt()`` starts one attempt (see :mod:`.base`).
    ``model``: the id reported when the server names none; ``price_model``: the id priced."""
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
                f"stream interrupted after {len(partial)} characters: {failure.message}"
            )
            raise final_error(failure, n, call, partial)
        if not failure.retryable or n >= call.max_attempts:
            raise final_error(failure, n, call)
        if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER:
            failure.message += f"; the server asks to wait {failure.retry_after:.0f} s"
            raise final_error(failure, n, call)
        delay = next_delay(n, failure.retry_after, backoff_base, backoff_max)
        yield RetryNotice(attempt=n, delay=delay, reason=scrub_text(failure.reason, call.secrets))
        await asyncio.sleep(delay)

    end = end or AttemptEnd()
    yield StreamEnd(
        finish_reason=end.finish_reason,
        usage=end.usage,
        cost=pricing.cost_of(price_model, end.usage, call.provider),
        model=end.model or model,
        attempts=n,
        offline=False,
    )
