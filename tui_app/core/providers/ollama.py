"""Native streaming client for Ollama's ``POST /api/chat`` (NDJSON).

Request: ``{model, messages, stream: true, options?, format?, tools?, keep_alive?, think?}``.
Converted from the canonical OpenAI-shaped messages: text parts are joined into ``content``,
base64 images go to the message's ``images`` list (Ollama takes no image URLs: such a part is
refused with a clear error rather than dropped), an assistant's ``tool_calls`` keep their shape
with ``arguments`` as an object, ``tool`` answers stay ``tool`` messages (with ``tool_name``).
Settings go under ``options``: max_tokens -> ``num_predict``, temperature, top_p, top_k, stop,
seed, presence/frequency penalties, and Ollama's own (num_ctx, repeat_penalty, ...); a JSON
``response_format`` becomes ``format``. An ``Authorization: Bearer`` header is sent only for a
key the model's settings name (``api_key_env``/``api_key_keyring``): a plain Ollama checks none.

Stream: one JSON object per line: ``{message: {role, content}, done: false}`` ...
``{done: true, done_reason, prompt_eval_count, eval_count, *_duration}``. An ``{"error": ...}``
line is a provider error (retried before any text: it is how Ollama reports a model that failed
to load or ran out of memory). A body that ends without ``done: true`` is truncated.
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
    LOCAL_DUMMY_KEY,
    AttemptEnd,
    AttemptFailed,
    Call,
    ProviderError,
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

DEFAULT_API_BASE = "http://localhost:11434"
FINISH = {"stop": "stop", "length": "length"}
_OPTIONS = {
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    # Ollama's own names, accepted as settings as they are
    "num_predict": "num_predict",
    "num_ctx": "num_ctx",
    "repeat_penalty": "repeat_penalty",
    "repeat_last_n": "repeat_last_n",
    "min_p": "min_p",
    "mirostat": "mirostat",
    "num_gpu": "num_gpu",
    "num_thread": "num_thread",
    "typical_p": "typical_p",
}
_TOP_LEVEL = ("keep_alive", "think", "format", "tools")


def model_id(model: str) -> str:
    name = model.strip()
    lowered = name.lower()
    for prefix in ("ollama_chat/", "ollama/"):
        if lowered.startswith(prefix):
            return name[len(prefix) :]
    return name


def url_for(call_options: dict[str, Any] | None) -> str:
    """``{api_base}/api/chat`` (an api_base ending in /api or /v1 is trimmed back to the
    server); else ``OLLAMA_API_BASE`` / ``OLLAMA_HOST``, else localhost:11434."""
    base = (
        api_base_of(call_options)
        or os.environ.get("OLLAMA_API_BASE")
        or os.environ.get("OLLAMA_HOST")
        or DEFAULT_API_BASE
    ).rstrip("/")
    if "://" not in base:
        base = "http://" + base
    for tail in ("/api/chat", "/api", "/v1"):
        if base.endswith(tail):
            base = base[: -len(tail)]
            break
    return base + "/api/chat"


# -- messages ---------------------------------------------------------------------------------


def convert_messages(messages: list[dict[str, Any]], prompt: str = "") -> list[dict[str, Any]]:
    """Ollama chat messages from canonical OpenAI-shaped messages."""
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in messages:
        role = str(message.get("role") or "user")
        content = message.get("content")
        images: list[str] = []
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    mime, data = wire.image_part(part)
                    if mime is None:
                        raise ProviderError(
                            f"prompt '{prompt}': Ollama takes images as data, not URLs "
                            f"({data[:60]}): attach the file instead",
                            provider="ollama",
                            attempts=0,
                        )
                    images.append(data)
        converted: dict[str, Any] = {
            "role": "tool" if role == "function" else role,
            "content": wire.text_of(content),
        }
        if images:
            converted["images"] = images
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                name = str(function.get("name") or "")
                names[str(call.get("id") or "")] = name
                arguments = wire.tool_arguments(function.get("arguments"))
                calls.append({"function": {"name": name, "arguments": arguments}})
            converted["tool_calls"] = calls
        if role in ("tool", "function"):
            tool_name = names.get(str(message.get("tool_call_id") or "")) or message.get("name")
            if tool_name:
                converted["tool_name"] = str(tool_name)
        out.append(converted)
    return out


def request_body(request: ResolvedRequest) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and the extra headers the settings ask for."""
    settings = {k: v for k, v in request.settings.items() if v is not None}
    extra_headers = settings.pop("extra_headers", None)
    extra_body = settings.pop("extra_body", None)
    body: dict[str, Any] = {
        "model": model_id(request.model),
        "messages": convert_messages(request.messages, request.prompt),
        "stream": True,
    }
    options: dict[str, Any] = dict(settings.pop("options", None) or {})
    for name, wire_name in _OPTIONS.items():
        if name in settings:
            value = settings.pop(name)
            if name == "stop" and isinstance(value, str):
                value = [value]
            options.setdefault(wire_name, value)
    if options:
        body["options"] = options
    response_format = settings.pop("response_format", None)
    if isinstance(response_format, dict):
        if response_format.get("type") == "json_object":
            body["format"] = "json"
        elif response_format.get("type") == "json_schema":
            body["format"] = (response_format.get("json_schema") or {}).get("schema") or "json"
    for key in _TOP_LEVEL:
        if key in settings:
            body[key] = settings.pop(key)
    if isinstance(extra_body, dict):
        body.update(extra_body)
    headers = wire.extra_headers(extra_headers)
    return body, headers


# -- the stream -------------------------------------------------------------------------------


class _Decoder:
    """One attempt's NDJSON stream state."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.pieces: list[str] = []
        self.lines = wire.NDJSONLines()
        self.done = False
        self.reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.tool_calls: list[dict[str, Any]] = []

    def feed(self, text: str) -> None:
        for line in self.lines.feed(text):
            self._line(line)

    def _line(self, line: str) -> None:
        obj = wire.loads(line, self.call)
        if not isinstance(obj, dict):
            return
        if "error" in obj:
            detail, _code = wire.detail_from_error_body(obj)
            raise AttemptFailed(wire.in_stream_failure(self.call, "error", detail, True))
        self.model = self.model or obj.get("model") or None
        message = obj.get("message")
        if isinstance(message, dict):
            piece = message.get("content")
            if piece and isinstance(piece, str):
                self.pieces.append(piece)
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    self.tool_calls.append(call)
        if obj.get("done"):
            self.done = True
            reason = obj.get("done_reason")
            self.reason = str(reason) if reason else None
            prompt = wire.int_or_none(obj.get("prompt_eval_count"))
            completion = wire.int_or_none(obj.get("eval_count"))
            if prompt is not None or completion is not None:
                total = None if prompt is None or completion is None else prompt + completion
                self.usage = Usage(prompt, completion, total)

    def end(self) -> AttemptEnd:
        for line in self.lines.end():
            self._line(line)
        if not self.done:
            raise AttemptFailed(ended_early(self.call.where))
        normal = FINISH.get(self.reason or "stop", self.reason)
        if self.tool_calls and normal == "stop":
            normal = "tool_calls"
        calls = tuple(
            tool_call(
                c.get("id"),
                str((c.get("function") or {}).get("name") or ""),
                (c.get("function") or {}).get("arguments"),
                i,
            )
            for i, c in enumerate(self.tool_calls)
        )
        return AttemptEnd(
            normal, self.usage, self.model, raw_finish_reason=self.reason, tool_calls=calls
        )


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
    key = call.api_key if call.api_key != LOCAL_DUMMY_KEY else None
    call.placeholder_key = key is None  # a 401 then means: name a key with api_key_env
    url = url_for(request.call_options)
    call.where = split_userinfo(url)[0] or url
    body, extra = request_body(request)
    content = wire.dumps(body, request.prompt, call.provider)
    headers = {"content-type": "application/json", "accept": "application/x-ndjson"}
    if key:
        headers["authorization"] = f"Bearer {key}"
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
