"""AIConfig output records the runner stores on prompts (so `{{p.output}}` and saving work)."""

from __future__ import annotations

from typing import Any

from .events import Usage


def result_output(
    text: str, *, model: str, usage: Usage | None, finish_reason: str | None, cost: float | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"role": "assistant", "model": model}
    if usage is not None:
        metadata["usage"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
    if finish_reason is not None:
        metadata["finish_reason"] = finish_reason
    if cost is not None:
        metadata["cost"] = cost
    return {
        "output_type": "execute_result",
        "execution_count": 0,
        "data": text,
        "metadata": metadata,
    }


def error_output(exc: BaseException) -> dict[str, Any]:
    return {
        "output_type": "error",
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "traceback": [],
    }
