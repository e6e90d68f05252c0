"""AIConfig output records the runner stores on prompts (so `{{p.output}}` and saving work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def call_kind(output: dict[str, Any] | None) -> str | None:
    """ "function call" / "tool call" when a result is the model calling a function, else None.

    The shapes found in files: the OpenAI message itself (``{role, content: null,
    function_call | tool_calls}``, older SDKs) and ``{kind: "tool_calls", value: [...]}``.
    """
    if not output or output.get("output_type") != "execute_result":
        return None
    data = output.get("data")
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "tool_calls" or (data.get("tool_calls") and not data.get("content")):
        return "tool call"
    if data.get("function_call") and not data.get("content"):
        return "function call"
    return None
