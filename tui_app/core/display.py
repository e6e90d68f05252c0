"""Figures for people: durations, token counts, rates and money, worded one way everywhere.

Every surface (the tree, Info, compare columns, the CLI tables, history, diffs, estimates,
reports) formats through these functions, so a value reads the same wherever it appears. A
figure nobody knows is :data:`UNKNOWN`; a figure that does not apply (a prompt that never
started has no latency) is :data:`NONE`. An offline model costs nothing, and says so.
"""

from __future__ import annotations

import time

UNKNOWN = "unknown"  # a figure that exists but was not reported (no usage, no price)
NONE = "—"  # a figure that does not apply (never started, nothing streamed)


def seconds(value: float | None) -> str:
    """``"12 ms"`` under a second, ``"1.25 s"`` under a minute, ``"2 min 05 s"`` beyond."""
    if value is None:
        return NONE
    if value < 0:
        value = 0.0
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.2f} s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def when(t: float | None) -> str:
    """A moment in local time, ``"2026-12-07 22:41:05"``."""
    if not t:
        return NONE
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def count(value: int | None, *, estimated: bool = False) -> str:
    """A token count: ``"1,234"``; unknown when the provider did not say; ``"≈1,234"`` when it
    is an estimate (litellm counted, the server did not)."""
    if value is None:
        return UNKNOWN
    return f"≈{value:,}" if estimated else f"{value:,}"


def tokens(tokens_in: int | None, tokens_out: int | None, *, estimated: bool = False) -> str:
    """Input/output tokens as ``"120/45"`` (under a "tokens in/out" heading); ``unknown`` when
    the provider reported neither, a side ``unknown`` when it reported only the other."""
    if tokens_in is None and tokens_out is None:
        return UNKNOWN
    return f"{count(tokens_in, estimated=estimated)}/{count(tokens_out, estimated=estimated)}"


def tokens_per_s(tokens_out: int | None, latency: float | None, ttft: float | None) -> float | None:
    """Output tokens per second of streaming (first token to last). None when it cannot be
    told: no token count, no time, or every token arrived at once."""
    if not tokens_out or latency is None:
        return None
    streaming = latency - (ttft or 0.0)
    return tokens_out / streaming if streaming > 0 else None


def rate(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f} tok/s"


def cost(value: float | None, *, offline: bool = False) -> str:
    """Money in USD: ``"$0"`` for offline models, ``"unknown"`` for a model without a price,
    enough digits to tell small amounts apart (``"$0.000042"``, ``"$1.25"``)."""
    if offline:
        return "$0"
    if value is None:
        return UNKNOWN
    if value == 0:
        return "$0"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    if abs(value) >= 0.01:
        return f"${value:.4f}"
    return f"${value:.6f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 prompt"``, ``"2 prompts"``; ``many`` for irregular plurals."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
