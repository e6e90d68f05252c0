"""The native clients' pieces one by one: message conversion from the canonical OpenAI shape
(text and image parts, assistant tool calls, tool answers), settings mapping, URLs, the SSE and
NDJSON readers, routing (which client, which ids are refused before litellm), the runner's clock
starting at RequestSent, and the OpenAI client's tolerance of ``data:   [DONE]  ``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import REPO, chain
from tests.support.provider_calls import collect, make_request, text_of
from tui_app.core.config import loads
from tui_app.core.events import Finished, Usage
from tui_app.core.providers import (
    RequestSent,
    StreamEnd,
    TextChunk,
    anthropic,
    gemini,
    needs_litellm,
    ollama,
    openai_compat,
    transport_for,
    unknown_model_reason,
    wire,
)
from tui_app.core.providers.base import split_userinfo
from tui_app.core.request import ResolvedRequest
from tui_app.core.workspace import Workspace

PNG = "data:image/png;base64,iVBORw0KGgo="
CANONICAL = [
    {"role": "system", "content": "be brief"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": PNG}},
        ],
    },
    {
        "role": "assistant",
        "content": "let me look",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "png"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "a tiny image"},
    {"role": "user", "content": "thanks"},
]


def req(messages=CANONICAL, model="anthropic/claude-x", **settings) -> ResolvedRequest:
    return ResolvedRequest(
        prompt="p", model_name=model, model=model, messages=messages, settings=settings
    )


# -- conversion ---------------------------------------------------------------------------------


def test_anthropic_messages_blocks_tools_and_alternation():
    system, messages = anthropic.convert_messages(CANONICAL)
    assert system == "be brief"
    assert messages == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "let me look"},
                {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "png"}},
            ],
        },
        {  # the tool answer and the next user turn are one user turn
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "a tiny image"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]
    remote = [{"type": "image_url", "image_url": {"url": "https://x/y.jpg"}}]
    _, converted = anthropic.convert_messages([{"role": "user", "content": remote}])
    assert converted[0]["content"] == [
        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}}
    ]


def test_anthropic_settings_and_tools():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    body, headers = anthropic.request_body(
        req(
            stop="END",
            seed=3,
            presence_penalty=0.1,
            user="u1",
            tools=tools,
            tool_choice="required",
            top_k=5,
            extra_headers={"anthropic-beta": "x"},
        )
    )
    assert body["max_tokens"] == anthropic.DEFAULT_MAX_TOKENS  # required by the API
    assert body["stop_sequences"] == ["END"] and body["metadata"] == {"user_id": "u1"}
    assert "seed" not in body and "presence_penalty" not in body and body["top_k"] == 5
    assert body["tools"] == [{"name": "f", "description": "", "input_schema": {"type": "object"}}]
    assert body["tool_choice"] == {"type": "any"} and headers == {"anthropic-beta": "x"}
    assert body["model"] == "claude-x"


def test_gemini_contents_roles_images_and_function_calls():
    system, contents = gemini.convert_messages(CANONICAL)
    assert system == {"parts": [{"text": "be brief"}]}
    assert contents == [
        {
            "role": "user",
            "parts": [
                {"text": "what is this?"},
                {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"text": "let me look"},
                {"functionCall": {"name": "lookup", "args": {"q": "png"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "lookup", "response": {"content": "a tiny image"}}},
                {"text": "thanks"},
            ],
        },
    ]
    body, _ = gemini.request_body(
        req(
            model="gemini-2.0-flash",
            response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
            n=2,
        )
    )
    assert body["generationConfig"] == {
        "candidateCount": 2,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


def test_ollama_messages_images_tool_calls_and_options():
    messages = ollama.convert_messages(CANONICAL)
    assert messages[1] == {"role": "user", "content": "what is this?", "images": ["iVBORw0KGgo="]}
    assert messages[2]["tool_calls"] == [
        {"function": {"name": "lookup", "arguments": {"q": "png"}}}  # an object, not a string
    ]
    assert messages[3] == {"role": "tool", "content": "a tiny image", "tool_name": "lookup"}
    body, _ = ollama.request_body(
        req(
            model="ollama/llama3",
            max_tokens=9,
            num_ctx=4096,
            response_format={"type": "json_object"},
        )
    )
    assert body["options"] == {"num_predict": 9, "num_ctx": 4096} and body["format"] == "json"
    assert body["model"] == "llama3"


def test_ollama_refuses_image_urls_clearly():
    remote = [{"type": "image_url", "image_url": {"url": "https://x/y.jpg"}}]
    with pytest.raises(Exception, match="Ollama takes images as data"):
        ollama.convert_messages([{"role": "user", "content": remote}], "p")


def test_urls():
    assert anthropic.url_for({"api_base": "http://h:1"}) == "http://h:1/v1/messages"
    assert anthropic.url_for({"api_base": "http://h:1/v1"}) == "http://h:1/v1/messages"
    assert gemini.url_for({"api_base": "http://h:1"}, "gemini-x") == (
        "http://h:1/v1beta/models/gemini-x:streamGenerateContent?alt=sse"
    )
    assert gemini.url_for({}, "g").startswith("https://generativelanguage.googleapis.com/v1beta/")
    assert ollama.url_for({"api_base": "http://h:11434/v1"}) == "http://h:11434/api/chat"
    assert split_userinfo("http://u:pw@h:1/v1") == ("http://h:1/v1", "pw")


# -- readers -------------------------------------------------------------------------------------


def test_sse_reader_split_anywhere_crlf_comments_multiline():
    text = ': keep-alive\r\nevent: a\r\ndata: {"x":\r\ndata:1}\r\n\r\ndata:   [DONE]  \n\n'
    for cut in range(len(text)):
        reader = wire.SSEEvents()
        events = reader.feed(text[:cut]) + reader.feed(text[cut:]) + reader.end()
        assert events == [("a", '{"x":\n1}'), ("message", "  [DONE]  ")], cut


def test_ndjson_reader():
    reader = wire.NDJSONLines()
    assert reader.feed('{"a":1}\r\n\n{"b"') == ['{"a":1}']
    assert reader.feed(":2}") == [] and reader.end() == ['{"b":2}']


# -- routing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "route"),
    [
        ("claude-3-5-haiku-latest", {}, "anthropic"),
        ("anthropic/claude-sonnet-4-5", {"api_base": "http://127.0.0.1:9"}, "anthropic"),
        ("gemini-2.0-flash", {}, "gemini"),
        ("gemini/gemini-2.5-pro", {}, "gemini"),
        ("ollama/llama3", {}, "ollama"),
        ("ollama_chat/llama3", {"api_base": "http://gpu:11434"}, "ollama"),
        ("gpt-4o-mini", {}, "openai"),
        ("echo", {}, "offline"),
        ("bedrock/anthropic.claude-3", {}, "litellm"),
        ("vertex_ai/gemini-2.0-flash", {}, "litellm"),
        ("azure/gpt-4o", {}, "litellm"),
        ("cohere/command-r", {}, "litellm"),
        ("claude-3-5-haiku-latest", {"transport": "litellm"}, "litellm"),
    ],
)
def test_transport_for(model, options, route):
    assert transport_for(model, options) == route


def test_native_files_do_not_need_litellm():
    assert not needs_litellm(["claude-3-5-haiku-latest", "gemini/gemini-2.0-flash", "ollama/x"])
    assert needs_litellm(["bedrock/anthropic.claude-3"])


def test_unknown_model_ids_are_refused_from_the_id_alone():
    assert "cannot tell the provider of model 'my-model'" in unknown_model_reason("my-model")
    assert "did you mean 'openai'" in unknown_model_reason("opneai/gpt-4o")
    assert unknown_model_reason("groq/llama3-70b") is None
    assert unknown_model_reason("openrouter/anthropic/claude-3") is None
    assert unknown_model_reason("my-model", {"custom_llm_provider": "openai"}) is None


def test_an_unknown_model_is_refused_without_importing_litellm():
    code = """
import asyncio, sys
from tui_app.core.providers import stream_chat, ProviderError
from tui_app.core.request import ResolvedRequest
r = ResolvedRequest(prompt="p", model_name="opneai/gpt-4o", model="opneai/gpt-4o",
                    messages=[{"role": "user", "content": "hi"}], settings={})
async def main():
    try:
        [i async for i in stream_chat(r, api_key="k")]
    except ProviderError as e:
        print(e)
asyncio.run(main())
assert "litellm" not in sys.modules
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "unknown provider 'opneai'" in out.stdout and "did you mean 'openai'" in out.stdout


# -- the runner's clock --------------------------------------------------------------------------


async def test_ttft_and_latency_count_from_request_sent():
    """A transport that took ~100 s to load (litellm's import, say) before sending: the
    prompt's latency is the request's, not the load's."""
    sent_at: list[float] = []

    async def stream(request, **_kw):
        sent_at.append(time.time())
        yield RequestSent(sent_at[0] + 100.0)  # "sent" 100 s after the runner's start
        yield TextChunk("hi")
        yield StreamEnd("stop", Usage(1, 1, 2), None, "m", 1, False)

    doc = loads(json.dumps(chain([{"name": "a", "input": "x", "metadata": {"model": "mock"}}])))
    ws = Workspace.for_document(doc, history=False)
    ws.runner._stream = stream
    run = ws.new_run("a", "one")
    events = [e async for e in ws.execute(run)]
    finished = next(e for e in events if isinstance(e, Finished))
    assert finished.latency < 0  # measured from the marker (in the future here), not before
    assert finished.ttft is not None and finished.ttft < 0


# -- the OpenAI-compatible client ----------------------------------------------------------------


async def test_done_with_odd_whitespace_after_stop_is_a_complete_answer(monkeypatch):
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data:   [DONE]  \n\n"
    )

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async def client():
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    monkeypatch.setattr(openai_compat, "_client", client)
    items = await collect(make_request("http://127.0.0.1:9/v1"), api_key="k")
    assert text_of(items) == "ok" and items[-1].finish_reason == "stop"
