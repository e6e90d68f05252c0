"""Native streaming client for the Gemini API (``streamGenerateContent?alt=sse``).

Request: ``POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`` with header
``x-goog-api-key`` and ``{contents, systemInstruction?, generationConfig?, tools?, toolConfig?,
safetySettings?}``. Converted from the canonical OpenAI-shaped messages: system messages become
``systemInstruction``; roles user -> ``user``, assistant -> ``model``; content parts become parts
(text, ``inline_data`` for base64 images, ``file_data`` for URLs); an assistant's ``tool_calls``
become ``functionCall`` parts and ``tool`` answers ``functionResponse`` parts (named after the
call they answer); consecutive turns of one role are merged. Settings: max_tokens ->
``maxOutputTokens``, temperature, top_p -> ``topP``, top_k -> ``topK``, stop ->
``stopSequences``, seed, presence/frequency penalties, n -> ``candidateCount``, a JSON
``response_format`` -> ``responseMimeType``/``responseSchema``.

Stream: ``data:`` frames, each shaped like a whole response; text from
``candidates[0].content.parts[].text`` (parts marked ``thought`` are thinking, not answer);
``finishReason`` on the candidate; ``usageMetadata`` (promptTokenCount includes the cached
tokens; thoughtsTokenCount is billed as output and added to completion_tokens). There is no
``[DONE]``: a stream that ends without a finishReason is truncated. ``promptFeedback.blockReason``
with no candidates, and a SAFETY/RECITATION/... finishReason, are named refusals (not retried).
finishReason is normalized (STOP -> stop, MAX_TOKENS -> length) and the raw one kept.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

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

DEFAULT_API_BASE = "https://generativelanguage.googleapis.com"
FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
# Finish reasons that mean the answer was withheld: a refusal, not an answer.
BLOCKED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "LANGUAGE",
        "OTHER",
    }
)
_CONFIG = {
    "max_tokens": "maxOutputTokens",
    "max_completion_tokens": "maxOutputTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "n": "candidateCount",
    "response_logprobs": "responseLogprobs",
    "logprobs": "responseLogprobs",
    "top_logprobs": "logprobs",
}
_PASSED = ("safetySettings", "safety_settings", "cachedContent", "cached_content", "labels")


def model_id(model: str) -> str:
    name = model.strip()
    if name.lower().startswith("gemini/"):
        name = name.split("/", 1)[1]
    return name[len("models/") :] if name.startswith("models/") else name


def url_for(call_options: dict[str, Any] | None, model: str) -> str:
    """``{base}/v1beta/models/{model}:streamGenerateContent?alt=sse``; an api_base that already
    ends in a version (``/v1beta``, ``/v1``) keeps it. Else ``GEMINI_API_BASE``, else Google."""
    base = (
        api_base_of(call_options) or os.environ.get("GEMINI_API_BASE") or DEFAULT_API_BASE
    ).rstrip("/")
    last = base.rsplit("/", 1)[-1]
    if not (last.startswith("v1") and "." not in last):
        base += "/v1beta"
    return f"{base}/models/{quote(model, safe='-._~')}:streamGenerateContent?alt=sse"


# -- messages ---------------------------------------------------------------------------------


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else [content]:
        if not isinstance(part, dict):
            parts.append({"text": str(part)})
            continue
        kind = part.get("type")
        if kind in ("text", "input_text"):
            parts.append({"text": str(part.get("text") or "")})
        elif kind == "image_url":
            mime, data = wire.image_part(part)
            if mime is None:
                guessed = "image/png" if data.lower().endswith(".png") else "image/jpeg"
                parts.append({"file_data": {"mime_type": guessed, "file_uri": data}})
            else:
                parts.append({"inline_data": {"mime_type": mime, "data": data}})
        else:  # already a Gemini part (inline_data, file_data, ...): as given
            parts.append({k: v for k, v in part.items() if k != "type"} or part)
    return parts


def convert_messages(
    messages: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(systemInstruction, contents)`` from canonical OpenAI-shaped messages."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call id -> function name, for the answers

    def add(role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system += _parts(content)
        elif role == "assistant":
            parts = _parts(content)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                name = str(function.get("name") or "")
                names[str(call.get("id") or "")] = name
                args = wire.tool_arguments(function.get("arguments"))
                parts.append({"functionCall": {"name": name, "args": args}})
            add("model", parts)
        elif role in ("tool", "function"):
            name = names.get(str(message.get("tool_call_id") or ""), str(message.get("name") or ""))
            text = wire.text_of(content)
            add("user", [{"functionResponse": {"name": name, "response": {"content": text}}}])
        else:
            add("user", _parts(content))
    return ({"parts": system} if system else None), contents


def _tools(tools: Any) -> Any:
    if not isinstance(tools, list):
        return tools
    declarations = []
    others = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(function, dict):
            declaration = {"name": function.get("name")}
            if function.get("description"):
                declaration["description"] = function["description"]
            if function.get("parameters"):
                declaration["parameters"] = function["parameters"]
            declarations.append(declaration)
        else:
            others.append(tool)
    return ([{"functionDeclarations": declarations}] if declarations else []) + others


def _tool_config(choice: Any) -> Any:
    modes = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    return choice


def request_body(request: ResolvedRequest) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON body and the extra headers the settings ask for."""
    settings = {k: v for k, v in request.settings.items() if v is not None}
    extra_headers = settings.pop("extra_headers", None)
    extra_body = settings.pop("extra_body", None)
    system, contents = convert_messages(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system is not None:
        body["systemInstruction"] = system
    config: dict[str, Any] = dict(settings.pop("generationConfig", None) or {})
    for name, wire_name in _CONFIG.items():
        if name in settings:
            config.setdefault(wire_name, settings.pop(name))
    stop = settings.pop("stop", None)
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = settings.pop("response_format", None)
    if isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    ):
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if schema:
            config["responseJsonSchema"] = schema
    thinking = settings.pop("thinking", None) or settings.pop("thinkingConfig", None)
    if isinstance(thinking, dict):
        budget = thinking.get("budget_tokens", thinking.get("thinkingBudget"))
        config["thinkingConfig"] = (
            {"thinkingBudget": budget, "includeThoughts": False} if budget is not None else thinking
        )
    if config:
        body["generationConfig"] = config
    if "tools" in settings:
        body["tools"] = _tools(settings.pop("tools"))
    if "tool_choice" in settings:
        body["toolConfig"] = _tool_config(settings.pop("tool_choice"))
    for key in _PASSED:
        if key in settings:
            camel = {"safety_settings": "safetySettings", "cached_content": "cachedContent"}
            body[camel.get(key, key)] = settings.pop(key)
    if isinstance(extra_body, dict):
        body.update(extra_body)
    headers = wire.extra_headers(extra_headers)
    return body, headers


# -- the stream -------------------------------------------------------------------------------


class _Decoder:
    """One attempt's Gemini stream state."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.pieces: list[str] = []
        self.events = wire.SSEEvents()
        self.finish: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.block: str | None = None
        self.tool_calls: list[dict[str, Any]] = []

    def feed(self, text: str) -> None:
        for _name, data in self.events.feed(text):
            self._frame(data)

    def _frame(self, data: str) -> None:
        if data.strip() == "[DONE]":  # not Gemini's, but a proxy in between may add it
            return
        obj = wire.loads(data, self.call)
        if not isinstance(obj, dict):
            return
        if "error" in obj:
            detail, code = wire.detail_from_error_body(obj)
            error = obj["error"] if isinstance(obj["error"], dict) else {}
            status = str(error.get("status") or code or "error")
            transient = status in ("UNAVAILABLE", "INTERNAL", "RESOURCE_EXHAUSTED") and not (
                wire.is_quota_failure(code, detail)
            )
            raise AttemptFailed(wire.in_stream_failure(self.call, status, detail, transient))
        self.model = obj.get("modelVersion") or self.model
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage_of(usage) or self.usage
        candidates = obj.get("candidates")
        if not candidates:
            feedback = obj.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.block = str(feedback["blockReason"])
                message = feedback.get("blockReasonMessage")
                said = f": {message}" if message else ""
                msg = f"{self.call.provider}: the prompt was blocked ({self.block}){said}"
                raise AttemptFailed(
                    Failure(msg, "prompt blocked", None, False, kind="other", no_retry="a refusal")
                )
            return
        candidate = candidates[0]
        if not isinstance(candidate, dict):
            return
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts or ():
            if not isinstance(part, dict) or part.get("thought"):
                continue
            piece = part.get("text")
            if piece and isinstance(piece, str):
                self.pieces.append(piece)
            elif isinstance(part.get("functionCall"), dict):
                self.tool_calls.append(part["functionCall"])
        reason = candidate.get("finishReason")
        if reason and isinstance(reason, str) and reason != "FINISH_REASON_UNSPECIFIED":
            self.finish = reason

    def end(self) -> AttemptEnd:
        for _name, data in self.events.end():
            self._frame(data)
        if self.finish is None:
            raise AttemptFailed(ended_early(self.call.where))
        if self.finish in BLOCKED:
            msg = f"{self.call.provider}: the answer was blocked (finishReason {self.finish})"
            raise AttemptFailed(
                Failure(msg, "answer blocked", None, False, kind="other", no_retry="a refusal")
            )
        normal = FINISH.get(self.finish) or (
            "tool_calls" if self.tool_calls else self.finish.lower()
        )
        if self.tool_calls and normal == "stop":
            normal = "tool_calls"
        calls = tuple(
            tool_call(c.get("id"), str(c.get("name") or ""), c.get("args"), i)
            for i, c in enumerate(self.tool_calls)
        )
        return AttemptEnd(
            normal, self.usage, self.model, raw_finish_reason=self.finish, tool_calls=calls
        )


def usage_of(raw: dict[str, Any]) -> Usage | None:
    prompt = wire.int_or_none(raw.get("promptTokenCount"))
    answer = wire.int_or_none(raw.get("candidatesTokenCount"))
    thoughts = wire.int_or_none(raw.get("thoughtsTokenCount"))
    if prompt is None and answer is None:
        return None
    completion = None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)
    total = wire.int_or_none(raw.get("totalTokenCount"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    cached = wire.int_or_none(raw.get("cachedContentTokenCount"))
    return Usage(prompt, completion, total, cached_tokens=cached, reasoning_tokens=thoughts)


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
    key = (
        call.api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or None
    )
    call.secrets.append(key)
    name = model_id(request.model)
    url = url_for(request.call_options, name)
    call.where = split_userinfo(url)[0] or url
    body, extra = request_body(request)
    content = wire.dumps(body, request.prompt, call.provider)
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if key:
        headers["x-goog-api-key"] = key
    headers.update(extra)

    retried = wire.retried(
        call,
        url=url,
        content=content,
        headers=headers,
        decoder=lambda: _Decoder(call),
        model=request.model,
        price_model=name,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        sleep=sleep,
    )
    async with contextlib.aclosing(retried) as items:  # a stop closes the attempt at once
        async for item in items:
            yield item
