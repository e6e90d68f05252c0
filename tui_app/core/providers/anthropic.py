"""Native streaming client for the Anthropic Messages API (``POST /v1/messages``, SSE).

Request: ``{model, messages, system?, max_tokens, stream: true, temperature?, top_p?, top_k?,
stop_sequences?, tools?, tool_choice?, thinking?, metadata?}`` with headers ``x-api-key`` and
``anthropic-version: 2023-06-01``. Converted from the canonical OpenAI-shaped messages: system
messages become ``system``; content parts become blocks (text, base64 or URL images); an
assistant's ``tool_calls`` become ``tool_use`` blocks and ``tool`` answers ``tool_result``
blocks in a user turn; consecutive turns of one role are merged (the API wants them to
alternate). ``max_tokens`` is required by the API: 4096 when the prompt sets none (litellm's
default too). ``stop`` becomes ``stop_sequences``; ``user`` becomes ``metadata.user_id``;
OpenAI-only settings the API rejects (seed, penalties, n, logprobs, logit_bias) are not sent.

Stream: named events ``message_start`` (usage.input_tokens and cache counts) -> per block
``content_block_start`` / ``content_block_delta`` (``text_delta`` is the answer; ``thinking_delta``
and ``input_json_delta`` are collected, not shown as text) / ``content_block_stop`` -> one or
more ``message_delta`` (stop_reason; its usage is cumulative: the latest value of each count
wins, never a sum) -> ``message_stop``. ``ping`` and unknown events are ignored; an ``error``
event (``overloaded_error``, ``api_error``, ...) fails the attempt with the server's message,
retried before any text when it is transient. A body that ends without ``message_stop`` is a
truncated answer, never a success. stop_reason is normalized (end_turn/stop_sequence -> stop,
max_tokens -> length, tool_use -> tool_calls) and the raw one kept; ``refusal`` is a named
failure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from ..events import Usage
from ..request import ResolvedRequest
from ..toolcalls import ToolCallPiece
from . import wire
from .base import (
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    RequestSent,
    RetryNotice,
    StreamEnd,
    TextChunk,
    ended_early,
    split_userinfo,
    tool_call,
)
from .routing import api_base_of

__all__ = ["DEFAULT_API_BASE", "convert_messages", "request_body", "stream", "url_for"]

DEFAULT_API_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
}
# Error types the API itself calls transient (overloaded = its HTTP 529).
TRANSIENT_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})
# OpenAI settings the Messages API rejects ("extra inputs are not permitted").
_NOT_SENT = frozenset(
    {
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "response_format",
        "parallel_tool_calls",
        "stream_options",
    }
)


def model_id(model: str) -> str:
    name = model.strip()
    return name.split("/", 1)[1] if name.lower().startswith("anthropic/") else name


def url_for(call_options: dict[str, Any] | None) -> str:
    """``{api_base}/v1/messages`` (an api_base that already ends in /v1 or /v1/messages is kept,
    as litellm does); else ``ANTHROPIC_BASE_URL`` / ``ANTHROPIC_API_BASE``, else Anthropic."""
    base = (
        api_base_of(call_options)
        or os.environ.get("ANTHROPIC_BASE_URL")
        or os.environ.get("ANTHROPIC_API_BASE")
        or DEFAULT_API_BASE
    ).rstrip("/")
    if base.endswith("/v1/messages"):
        return base
    if base.endswith("/v1"):
        return base + "/messages"
    return base + "/v1/messages"


# -- messages ---------------------------------------------------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if not isinstance(part, dict):
            blocks.append({"type": "text", "text": str(part)})
            continue
        kind = part.get("type")
        if kind in ("text", "input_text"):
            blocks.append({"type": "text", "text": str(part.get("text") or "")})
        elif kind == "image_url":
            mime, data = wire.image_part(part)
            if mime is None:
                blocks.append({"type": "image", "source": {"type": "url", "url": data}})
            else:
                source = {"type": "base64", "media_type": mime, "data": data}
                blocks.append({"type": "image", "source": source})
        else:  # already an Anthropic block (document, image with source, ...): as given
            blocks.append(part)
    return blocks


def convert_messages(
    messages: list[dict[str, Any]],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """``(system, messages)`` for the Messages API from canonical OpenAI-shaped messages."""
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system += _blocks(content)
        elif role == "assistant":
            blocks = _blocks(content)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": str(call.get("id") or ""),
                        "name": str(function.get("name") or ""),
                        "input": wire.tool_arguments(function.get("arguments")),
                    }
                )
            add("assistant", blocks)
        elif role in ("tool", "function"):
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": str(message.get("tool_call_id") or message.get("name") or ""),
                "content": _blocks(content) if isinstance(content, list) else wire.text_of(content),
            }
            add("user", [result])
        else:
            add("user", _blocks(content))
    if not system:
        return None, out
    if all(b.get("type") == "text" and set(b) == {"type", "text"} for b in system):
        return "\n\n".join(b["text"] for b in system), out
    return system, out


def _tools(tools: Any) -> Any:
    if not isinstance(tools, list):
        return tools
    out = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") == "function" and isinstance(function, dict):
            out.append(
                {
                    "name": function.get("name"),
                    "description": function.get("description") or "",
                    "input_schema": function.get("parameters") or {"type": "object"},
                }
            )
        else:
            out.append(tool)
    return out


def _tool_choice(choice: Any) -> Any:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    return choice


def request_body(request: ResolvedRequest) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and the extra headers the settings ask for."""
    settings = {k: v for k, v in request.settings.items() if v is not None}
    extra_headers = settings.pop("extra_headers", None)
    extra_body = settings.pop("extra_body", None)
    system, messages = convert_messages(request.messages)
    body: dict[str, Any] = {"model": model_id(request.model), "messages": messages}
    if system is not None:
        body["system"] = system
    max_tokens = settings.pop("max_tokens", None) or settings.pop("max_completion_tokens", None)
    body["max_tokens"] = max_tokens or DEFAULT_MAX_TOKENS
    settings.pop("max_completion_tokens", None)
    stop = settings.pop("stop", None)
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    user = settings.pop("user", None)
    if user:
        body["metadata"] = {"user_id": str(user)}
    if "tools" in settings:
        body["tools"] = _tools(settings.pop("tools"))
    if "tool_choice" in settings:
        body["tool_choice"] = _tool_choice(settings.pop("tool_choice"))
    for key, value in settings.items():
        if key not in _NOT_SENT:
            body.setdefault(key, value)
    body["stream"] = True
    if isinstance(extra_body, dict):
        body.update(extra_body)
    headers = wire.extra_headers(extra_headers)
    return body, headers


# -- the stream -------------------------------------------------------------------------------


class _Decoder:
    """One attempt's Messages-API stream state."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.pieces: list[str] = []
        self.events = wire.SSEEvents()
        self.usage: dict[str, int] = {}
        self.stop_reason: str | None = None
        self.model: str | None = None
        self.stopped = False
        self.started = False
        self.thinking: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []

    def feed(self, text: str) -> None:
        for name, data in self.events.feed(text):
            self._event(name, data)

    def _event(self, name: str, data: str) -> None:
        obj = wire.loads(data, self.call)
        if not isinstance(obj, dict):
            return
        kind = obj.get("type") or name
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                piece = delta.get("text")
                if piece and isinstance(piece, str):
                    self.pieces.append(piece)
            elif dtype == "thinking_delta":
                self.thinking.append(str(delta.get("thinking") or ""))
            elif dtype == "input_json_delta" and self.tool_calls:
                self.tool_calls[-1]["arguments"] += str(delta.get("partial_json") or "")
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") == "text" and block.get("text"):
                self.pieces.append(str(block["text"]))
            elif block.get("type") == "tool_use":
                self.tool_calls.append(
                    {"id": block.get("id"), "name": block.get("name"), "arguments": ""}
                )
        elif kind == "message_start":
            self.started = True
            message = obj.get("message") or {}
            self.model = message.get("model") or None
            self._usage(message.get("usage"))
        elif kind == "message_delta":
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                self.stop_reason = str(reason)
            self._usage(obj.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            error = obj.get("error") or {}
            etype = str(error.get("type") or "error")
            detail = " ".join(str(error.get("message") or "").split())
            failure = wire.in_stream_failure(self.call, etype, detail, etype in TRANSIENT_ERRORS)
            raise AttemptFailed(failure)
        # ping, content_block_stop and event types this client does not know: nothing to do

    def _usage(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        for name, value in raw.items():  # cumulative: the latest count of each kind wins
            number = wire.int_or_none(value)
            if number is not None:
                self.usage[name] = number

    def end(self) -> AttemptEnd:
        for name, data in self.events.end():
            self._event(name, data)
        if not self.stopped:
            raise AttemptFailed(ended_early(self.call.where))
        if self.stop_reason == "refusal":
            msg = f"{self.call.provider}: the model refused to answer (stop_reason refusal)"
            raise AttemptFailed(
                Failure(msg, "refusal", None, False, kind="other", no_retry="a refusal")
            )
        return AttemptEnd(
            FINISH.get(self.stop_reason or "", self.stop_reason),
            usage_of(self.usage),
            self.model,
            raw_finish_reason=self.stop_reason,
            tool_calls=tuple(
                tool_call(c["id"], c["name"] or "", c["arguments"] or "{}", i)
                for i, c in enumerate(self.tool_calls)
            ),
        )


def usage_of(counts: dict[str, int]) -> Usage | None:
    """Usage from the Messages API's counts: its ``input_tokens`` leaves out the tokens read
    from or written to the prompt cache, which are prompt tokens all the same."""
    if "input_tokens" not in counts and "output_tokens" not in counts:
        return None
    read = counts.get("cache_read_input_tokens")
    written = counts.get("cache_creation_input_tokens")
    prompt = (
        None
        if "input_tokens" not in counts
        else counts["input_tokens"] + (read or 0) + (written or 0)
    )
    completion = counts.get("output_tokens")
    total = None if prompt is None or completion is None else prompt + completion
    return Usage(prompt, completion, total, cached_tokens=read)


async def stream(
    request: ResolvedRequest,
    *,
    api_key: str | None = None,
    max_attempts: int | None = None,
    backoff_base: float = 0.5,
    backoff_max: float = 20.0,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> AsyncGenerator[TextChunk | ToolCallPiece | RequestSent | RetryNotice | StreamEnd, None]:
    call = Call.of(request, api_key, max_attempts)
    key = call.api_key or os.environ.get("ANTHROPIC_API_KEY") or None
    call.secrets.append(key)
    url = url_for(request.call_options)
    call.where = split_userinfo(url)[0] or url
    body, extra = request_body(request)
    content = wire.dumps(body, request.prompt, call.provider)
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream",
        "anthropic-version": API_VERSION,
    }
    if key:
        headers["x-api-key"] = key
    headers.update(extra)

    retried = wire.retried(
        call,
        url=url,
        content=content,
        headers=headers,
        decoder=lambda: _Decoder(call),
        model=request.model,
        price_model=body["model"],
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        sleep=sleep,
    )
    async with contextlib.aclosing(retried) as items:  # a stop closes the attempt at once
        async for item in items:
            yield item
