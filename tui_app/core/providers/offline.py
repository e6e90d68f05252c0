"""Built-in offline models: no key, no network, no litellm.

``echo``: answers with the last user message, word by word.
``mock``: answers with ``settings["response"]``, word by word (a fixed answer for demos and CI).
``mock-json``: answers with a JSON object: ``settings["response"]`` when it is an object (or JSON
text), else an example made from the schema in ``response_format`` (every required and listed
property; enums take their first value; a recursive ``$ref`` stops at :data:`_SCHEMA_DEPTH`).
``mock-tool``: answers with a call of the first tool in ``tools`` (or ``functions``), its
arguments ``settings["arguments"]`` or an example made from the tool's parameter schema, streamed
in pieces like a real model's tool-call deltas; once the call has been answered (the request ends
with tool results) it answers in text with those results.

Both take ``settings["delay"]``: seconds between words (default 0.03, a human-visible pace;
0 streams at once). Usage is counted in words: ``prompt_tokens`` over every message's text,
``completion_tokens`` over the answer. Cost is 0.0. ``max_tokens`` cuts the answer after that
many words with ``finish_reason="length"``, as a real model cuts it (so the "cut at max_tokens"
path can be tried offline).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncGenerator
from typing import Any

from ..events import Usage
from ..offline_models import offline_name
from ..request import ResolvedRequest
from ..structured import schema_of
from ..toolcalls import ToolCallPiece
from .base import ProviderError, StreamEnd, TextChunk

DEFAULT_DELAY = 0.03  # seconds per word
_WORDS = re.compile(r"\S+\s*|\s+")
_YIELD_EVERY = 64  # with delay 0, give the event loop a turn this often
_SCHEMA_DEPTH = 6  # an example stops following nested schemas (and $ref cycles) here
_ARGUMENT_PIECE = 12  # characters of tool-call arguments per streamed piece


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type", "text") == "text"
        )
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return "" if content is None else str(content)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            return _text_of(message.get("content"))
    return ""


def _delay_of(request: ResolvedRequest, name: str) -> float:
    raw = request.settings.get("delay", DEFAULT_DELAY)
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or not math.isfinite(raw)
        or raw < 0
    ):
        raise ProviderError(
            f"{name} model (prompt '{request.prompt}'): settings.delay must be a number of "
            f"seconds >= 0, got {raw!r}",
            provider="offline",
            attempts=0,
        )
    return float(raw)


def answer_of(request: ResolvedRequest) -> str:
    """The full text an offline model answers ``request`` with (raises ProviderError)."""
    name = offline_name(request.model)
    if name == "echo":
        return _last_user_text(request.messages)
    if name == "mock":
        response = request.settings.get("response")
        if not isinstance(response, str):
            got = "it is missing" if response is None else f"got {type(response).__name__}"
            raise ProviderError(
                f"mock model (prompt '{request.prompt}'): set settings.response to the text it "
                f"should answer ({got})",
                provider="offline",
                attempts=0,
            )
        return response
    if name == "mock-json":
        return _json_answer(request)
    if name == "mock-tool":
        results = _tool_results(request.messages)
        if results:
            return "Using the tool results: " + "; ".join(results)
        return ""
    raise ProviderError(f"no offline model named '{request.model}'", provider="offline", attempts=0)


def _json_answer(request: ResolvedRequest) -> str:
    response = request.settings.get("response")
    if isinstance(response, dict | list):
        return json.dumps(response, ensure_ascii=False)
    if isinstance(response, str):
        return response  # JSON text (or not: then the schema check says so)
    schema = schema_of(request.settings)
    if schema is None:
        return json.dumps({"answer": _last_user_text(request.messages)}, ensure_ascii=False)
    return json.dumps(example_of(schema), ensure_ascii=False, indent=2)


def _resolve_ref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return schema
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        target = target.get(part) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def example_of(
    schema: Any, root: dict[str, Any] | None = None, depth: int = 0, name: str = ""
) -> Any:
    """A value matching ``schema`` (the common keywords), bounded in depth."""
    if not isinstance(schema, dict):
        return None
    root = root if root is not None else schema
    schema = _resolve_ref(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return example_of(options[0], root, depth + 1, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        if depth >= _SCHEMA_DEPTH:
            return {}
        properties = schema.get("properties")
        out: dict[str, Any] = {}
        if isinstance(properties, dict):
            for key, sub in properties.items():
                out[key] = example_of(sub, root, depth + 1, key)
        return out
    if kind == "array":
        if depth >= _SCHEMA_DEPTH:
            return []
        count = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 1
        return [example_of(schema.get("items"), root, depth + 1, name) for _ in range(count)]
    if kind == "integer":
        low = schema.get("minimum")
        return int(low) if isinstance(low, int | float) else 1
    if kind == "number":
        low = schema.get("minimum")
        return float(low) if isinstance(low, int | float) else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") == "date":
        return "2025-01-01"
    return f"example {name}".strip() if name else "example"


def _tools_of(request: ResolvedRequest) -> list[tuple[str, dict[str, Any]]]:
    """(name, parameter schema) of each tool or legacy function the request offers."""
    out: list[tuple[str, dict[str, Any]]] = []
    for tool in request.settings.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            out.append((function["name"], params if isinstance(params, dict) else {}))
    for function in request.settings.get("functions") or []:
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            out.append((function["name"], params if isinstance(params, dict) else {}))
    return out


def _tool_results(messages: list[dict[str, Any]]) -> list[str]:
    """The tool results that end the conversation (a call that has been answered)."""
    results: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") not in ("tool", "function"):
            break
        results.append(_text_of(message.get("content")))
    return list(reversed(results))


def _tool_call(request: ResolvedRequest) -> tuple[str, str, bool]:
    """(function name, arguments JSON, legacy) the mock-tool model calls."""
    tools = _tools_of(request)
    if not tools:
        raise ProviderError(
            f"mock-tool model (prompt '{request.prompt}'): the prompt offers no tools (set "
            "settings.tools or settings.functions)",
            provider="offline",
            attempts=0,
        )
    name, params = tools[0]
    legacy = not request.settings.get("tools")
    arguments = request.settings.get("arguments")
    if not isinstance(arguments, dict):
        arguments = example_of(params) if params else {}
    return name, json.dumps(arguments, ensure_ascii=False), legacy


async def _stream_tool_call(
    request: ResolvedRequest, delay: float
) -> AsyncGenerator[ToolCallPiece | StreamEnd, None]:
    name, arguments, legacy = _tool_call(request)
    call_id = None if legacy else "call_offline_0"
    yield ToolCallPiece(index=0, id=call_id, name=name, legacy=legacy)
    for start in range(0, len(arguments), _ARGUMENT_PIECE):
        if delay > 0:
            await asyncio.sleep(delay)
        piece = arguments[start : start + _ARGUMENT_PIECE]
        yield ToolCallPiece(index=0, arguments=piece, legacy=legacy)
    prompt_words = sum(
        len(_text_of(m.get("content")).split()) for m in request.messages if isinstance(m, dict)
    )
    completion = max(1, len(arguments.split()))
    yield StreamEnd(
        finish_reason="function_call" if legacy else "tool_calls",
        usage=Usage(prompt_words, completion, prompt_words + completion),
        cost=0.0,
        model=request.model,
        attempts=1,
        offline=True,
    )


async def stream(
    request: ResolvedRequest,
) -> AsyncGenerator[TextChunk | ToolCallPiece | StreamEnd, None]:
    name = offline_name(request.model)
    delay = _delay_of(request, name)
    if name == "mock-tool" and not _tool_results(request.messages):
        async for item in _stream_tool_call(request, delay):
            yield item
        return
    text = answer_of(request)
    words = _WORDS.findall(text)
    words, cut = _cut_at(words, request.settings.get("max_tokens"))
    text = "".join(words)
    for i, word in enumerate(words):
        if i and delay > 0:
            await asyncio.sleep(delay)
        elif i % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        yield TextChunk(word)
    prompt_words = sum(
        len(_text_of(m.get("content")).split()) for m in request.messages if isinstance(m, dict)
    )
    completion_words = len(text.split())
    yield StreamEnd(
        finish_reason="length" if cut else "stop",
        usage=Usage(
            prompt_tokens=prompt_words,
            completion_tokens=completion_words,
            total_tokens=prompt_words + completion_words,
        ),
        cost=0.0,
        model=request.model,
        attempts=1,
        offline=True,
    )


def _cut_at(pieces: list[str], max_tokens: Any) -> tuple[list[str], bool]:
    """The answer's pieces up to ``max_tokens`` words (a word is a token here); True when cut."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        return pieces, False
    kept: list[str] = []
    count = 0
    for piece in pieces:
        if not piece.isspace():
            if count == max_tokens:
                if kept:
                    kept[-1] = kept[-1].rstrip()
                return kept, True
            count += 1
        kept.append(piece)
    return pieces, False
