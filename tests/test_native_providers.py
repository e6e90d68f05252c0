"""Conformance of every streaming client against a local server speaking its real protocol.

``proto`` runs each case through the native clients (Anthropic Messages SSE, Gemini
streamGenerateContent SSE, Ollama /api/chat NDJSON) and, where the case applies, the
OpenAI-compatible client: exact text with hard characters, usage and finish reasons, max-tokens
stops, in-stream errors, cuts with and without text, safety blocks, HTTP errors, keep-alive
comments, CRLF, split UTF-8, a password in the api_base, and the key header each request carried.
Retries never really wait: the retry loop takes a ``sleep`` that records the delays.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import chain
from tests.support.anthropic_server import AnthropicServer
from tests.support.gemini_server import GeminiServer
from tests.support.native_server import NativeServer
from tests.support.ollama_server import OllamaServer
from tests.support.openai_server import Fault, OpenAIServer
from tests.support.provider_calls import collect, collect_until_error, text_of
from tui_app.core.config import loads
from tui_app.core.events import Finished, Usage
from tui_app.core.providers import (
    ProviderError,
    RequestSent,
    RetryNotice,
    StreamEnd,
    transport_for,
)
from tui_app.core.request import ResolvedRequest
from tui_app.core.workspace import Workspace

KEY = "sk-conformance-secret-0123456789"
HARD = "naïve café 👋🏽 tab\there 日本語 — done"


@dataclass
class Proto:
    name: str
    server: OpenAIServer
    model: str
    key_header: str | None  # where the key goes (None: not sent)

    @property
    def base(self) -> str:
        return self.server.base_url

    def request(self, content: str = "hello big world", **settings: Any) -> ResolvedRequest:
        return ResolvedRequest(
            prompt="p",
            model_name=self.model,
            model=self.model,
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": content},
            ],
            settings=settings,
            call_options={"api_base": self.base, "timeout": 20},
        )

    def sent_key(self, index: int = -1) -> str | None:
        record = self.server.requests[index]
        if isinstance(self.server, NativeServer):
            return self.server.key_of(record)
        return record.api_key


class Sleeps(list):
    """The retry loop's ``sleep``: records each delay, waits for none."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, OpenAIServer]]:
    made = {
        "openai": OpenAIServer(),
        "anthropic": AnthropicServer(),
        "gemini": GeminiServer(),
        "ollama": OllamaServer(),
    }
    for server in made.values():
        server.start()
    yield made
    for server in made.values():
        server.stop()


MODELS = {
    "openai": ("openai/test-model", "authorization"),
    "anthropic": ("anthropic/claude-test", "x-api-key"),
    "gemini": ("gemini/gemini-test", "x-goog-api-key"),
    "ollama": ("ollama/llama-test", "authorization"),
}
NATIVE = ["anthropic", "gemini", "ollama"]


def _proto(servers: dict[str, OpenAIServer], name: str) -> Proto:
    server = servers[name]
    server.reset()
    model, header = MODELS[name]
    return Proto(name, server, model, header)


@pytest.fixture(params=["openai", *NATIVE])
def proto(request, servers) -> Proto:
    return _proto(servers, request.param)


@pytest.fixture(params=NATIVE)
def native(request, servers) -> Proto:
    return _proto(servers, request.param)


# -- routing ------------------------------------------------------------------------------------


def test_each_model_takes_its_native_client(proto):
    assert transport_for(proto.model, {"api_base": proto.base}) == proto.name
    assert transport_for(proto.model, {"api_base": proto.base, "transport": "litellm"}) == (
        "litellm"
    )


# -- the happy path -----------------------------------------------------------------------------


async def test_exact_text_split_utf8_usage_finish_and_the_key(proto):
    proto.server.reply_with(HARD)
    if isinstance(proto.server, NativeServer):
        proto.server.split_bytes = True  # every event cut inside a multi-byte character
    items = await collect(proto.request(), api_key=KEY, sent=True)
    assert isinstance(items[0], RequestSent)
    assert text_of(items) == HARD
    end = items[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop" and end.attempts == 1
    words = len(HARD.split())
    assert end.usage is not None
    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (5, words)
    assert end.usage.total_tokens == 5 + words and not end.usage.estimated
    assert proto.sent_key() == KEY


async def test_max_tokens_is_a_length_stop_with_the_raw_reason_kept(proto):
    items = await collect(proto.request(max_tokens=2), api_key=KEY)
    assert text_of(items) == "echo: hello "
    end = items[-1]
    assert end.finish_reason == "length"
    assert (
        end.raw_finish_reason
        == {
            "openai": "length",
            "anthropic": "max_tokens",
            "gemini": "MAX_TOKENS",
            "ollama": "length",
        }[proto.name]
    )
    assert end.usage.completion_tokens == 2


async def test_keepalive_comments_and_crlf(native):
    native.server.keepalive = True
    native.server.crlf = True
    items = await collect(native.request(), api_key=KEY)
    assert text_of(items) == "echo: hello big world"
    assert items[-1].finish_reason == "stop"


async def test_settings_reach_the_server_in_its_own_words(native):
    await collect(
        native.request(max_tokens=50, temperature=0.25, top_p=0.5, stop=["END"], seed=7),
        api_key=KEY,
    )
    body = native.server.requests[-1].body
    if native.name == "anthropic":
        assert body["max_tokens"] == 50 and body["temperature"] == 0.25 and body["top_p"] == 0.5
        assert body["stop_sequences"] == ["END"] and "seed" not in body
        assert body["system"] == "be brief" and body["stream"] is True
        assert native.server.requests[-1].headers["anthropic-version"] == "2023-06-01"
    elif native.name == "gemini":
        assert body["generationConfig"] == {
            "maxOutputTokens": 50,
            "temperature": 0.25,
            "topP": 0.5,
            "seed": 7,
            "stopSequences": ["END"],
        }
        assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
        assert native.server.requests[-1].path.endswith(":streamGenerateContent")
    else:
        assert body["options"] == {
            "num_predict": 50,
            "temperature": 0.25,
            "top_p": 0.5,
            "seed": 7,
            "stop": ["END"],
        }
        assert body["messages"][0] == {"role": "system", "content": "be brief"}


async def test_anthropic_usage_is_cumulative_and_thinking_is_not_text(servers):
    p = _proto(servers, "anthropic")
    p.server.split_usage = True  # two message_delta events: 2 then 4 output tokens
    p.server.thinking = True
    items = await collect(p.request(), api_key=KEY)
    assert text_of(items) == "echo: hello big world"
    assert items[-1].usage == Usage(5, 4, 9)  # the latest count, never 2 + 4


async def test_gemini_cached_and_thinking_tokens(servers):
    p = _proto(servers, "gemini")
    p.server.cached, p.server.thoughts = 3, 7
    p.server.model_version = "gemini-test-001"
    items = await collect(p.request(), api_key=KEY)
    assert text_of(items) == "echo: hello big world"  # the thought part is not shown
    end = items[-1]
    assert end.usage == Usage(8, 4 + 7, 19, cached_tokens=3, reasoning_tokens=7)
    assert end.model == "gemini-test-001"


async def test_no_usage_from_the_server_is_unknown_not_estimated(native):
    native.server.send_usage = False
    items = await collect(native.request(), api_key=KEY)
    assert text_of(items) == "echo: hello big world" and items[-1].usage is None


# -- cuts, in-stream errors, blocks --------------------------------------------------------------


async def test_a_cut_without_text_is_retried(proto):
    proto.server.enqueue(Fault.end_after(0))
    sleeps = Sleeps()
    items = await collect(proto.request(), api_key=KEY, sleep=sleeps)
    assert text_of(items) == "echo: hello big world" and items[-1].attempts == 2
    assert len(sleeps) == 1


async def test_a_cut_after_text_is_a_truncated_failure_never_an_answer(proto):
    proto.server.enqueue(Fault.end_after(2))
    items, err = await collect_until_error(proto.request(), api_key=KEY, sleep=Sleeps())
    assert text_of(items) == "echo: hello " == err.partial_text
    assert "the stream ended before the answer was complete" in str(err)
    assert str(err).startswith(f"{proto.name}: stream interrupted after 12 characters")
    assert "not retried: text had already streamed" in str(err)
    assert len(proto.server.requests) == 1


async def test_a_cut_every_time_fails_as_truncated(proto):
    proto.server.enqueue(*[Fault.end_after(0)] * 2)
    _, err = await collect_until_error(proto.request(), api_key=KEY, max_attempts=2, sleep=Sleeps())
    assert "the stream ended before the answer was complete" in str(err)
    assert "gave up after 2 attempts" in str(err)


async def test_a_connection_drop_mid_answer_keeps_the_text(proto):
    proto.server.enqueue(Fault.drop_after(1))
    items, err = await collect_until_error(proto.request(), api_key=KEY, sleep=Sleeps())
    assert text_of(items) == "echo: " and "closed before the answer finished" in str(err)


IN_STREAM = {
    "anthropic": (Fault.error_after(0, "Overloaded", "overloaded_error"), "overloaded_error"),
    "gemini": (Fault.error_after(0, "The model is overloaded.", "503"), "UNAVAILABLE"),
    "ollama": (Fault.error_after(0, "model runner has unexpectedly stopped"), "error"),
}


async def test_an_in_stream_error_before_text_is_retried(native):
    fault, _ = IN_STREAM[native.name]
    native.server.enqueue(fault)
    sleeps = Sleeps()
    items = await collect(native.request(), api_key=KEY, sleep=sleeps)
    notices = [i for i in items if isinstance(i, RetryNotice)]
    assert len(notices) == 1 and "in the stream" in notices[0].reason
    assert text_of(items) == "echo: hello big world" and items[-1].attempts == 2


async def test_an_in_stream_error_after_text_is_named_with_the_servers_words(native):
    fault, kind = IN_STREAM[native.name]
    native.server.enqueue(
        Fault.error_after(2, fault.message or "", fault.text)  # after two tokens
    )
    items, err = await collect_until_error(native.request(), api_key=KEY, sleep=Sleeps())
    assert text_of(items) == "echo: hello "
    message = str(err)
    assert message.startswith(f"{native.name}: stream interrupted after 12 characters")
    assert f"{kind} in the stream: {fault.message}" in message
    assert "connection" not in message


async def test_safety_blocks_are_named_refusals_not_answers(servers):
    for name, words in (
        ("gemini", "the prompt was blocked (SAFETY)"),
        ("anthropic", "refused to answer"),
    ):
        p = _proto(servers, name)
        p.server.enqueue(Fault.blocked("SAFETY"))
        items, err = await collect_until_error(p.request(), api_key=KEY, sleep=Sleeps())
        assert text_of(items) == ""
        assert words in str(err) and "not retried: a refusal" in str(err)
        assert len(p.server.requests) == 1


async def test_gemini_safety_finish_reason_is_a_refusal(servers):
    p = _proto(servers, "gemini")
    body = (
        'data: {"candidates": [{"content": {"parts": [{"text": "Sure, "}]}}]}\n\n'
        'data: {"candidates": [{"content": {"parts": []}, "finishReason": "SAFETY"}]}\n\n'
    )
    p.server.enqueue(Fault.raw(body, content_type="text/event-stream"))
    items, err = await collect_until_error(p.request(), api_key=KEY)
    assert text_of(items) == "Sure, " and "the answer was blocked (finishReason SAFETY)" in str(err)


# -- HTTP errors --------------------------------------------------------------------------------

STATUSES = [401, 403, 404, 429, 500, 503, 529]


@pytest.mark.parametrize("status", STATUSES)
async def test_http_errors_name_provider_status_message_and_retry(proto, status):
    proto.server.enqueue(*[Fault.status(status, message=f"nope {status}", retry_after=0)] * 3)
    sleeps = Sleeps()
    items, err = await collect_until_error(
        proto.request(), api_key=KEY, max_attempts=3, sleep=sleeps
    )
    message = str(err)
    assert err.status == status and err.provider == proto.name
    assert message.startswith(f"{proto.name}: {status} ")
    assert f"nope {status}" in message
    if status in (401, 403, 404):
        assert "not retried" in message and err.attempts == 1 and sleeps == []
    else:
        assert "gave up after 3 attempts" in message and err.attempts == 3
        assert sleeps == [0.0, 0.0]  # Retry-After: 0 honoured
    assert KEY not in message


async def test_retry_after_is_honoured(native):
    native.server.enqueue(Fault.status(429, retry_after=7))
    sleeps = Sleeps()
    items = await collect(native.request(), api_key=KEY, sleep=sleeps)
    assert sleeps == [7.0] and text_of(items) == "echo: hello big world"


async def test_gemini_quota_429_is_not_retried(servers):
    p = _proto(servers, "gemini")
    quota = "You exceeded your current quota, please check your plan and billing details."
    p.server.enqueue(Fault.status(429, message=quota, retry_after=0))
    _, err = await collect_until_error(p.request(), api_key=KEY, sleep=Sleeps())
    assert err.attempts == 1 and err.status == 429
    assert str(err) == (
        f"gemini: 429 Too Many Requests: {quota} "
        "(not retried: a quota or billing limit, waiting will not help)"
    )


async def test_a_local_server_that_wants_a_key_points_to_api_key_env(proto, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent-to-a-local-server")
    proto.server.required_key = "the-real-one"
    _, err = await collect_until_error(proto.request())  # no key: the placeholder (or none)
    assert err.status == 401 and "api_key_env" in str(err)
    assert "_API_KEY" not in str(err)
    assert proto.sent_key() != "sk-never-sent-to-a-local-server"


# -- keys and api_base ---------------------------------------------------------------------------


async def test_a_password_in_api_base_is_sent_as_basic_auth_and_never_shown(proto):
    base = proto.base.replace("http://", "http://alice:pa55word@")
    request = proto.request()
    request.call_options["api_base"] = base
    items = await collect(request, api_key=KEY)
    assert text_of(items) == "echo: hello big world"
    auth = proto.server.requests[-1].headers.get("authorization", "")
    assert auth == "Basic " + base64.b64encode(b"alice:pa55word").decode()
    proto.server.enqueue(Fault.status(500, message="down"))
    _, err = await collect_until_error(request, api_key=KEY, max_attempts=1)
    assert "pa55word" not in str(err) and "alice" not in str(err).replace("alice@", "")


async def test_ollama_sends_no_key_unless_one_is_named(servers):
    p = _proto(servers, "ollama")
    await collect(p.request())
    assert "authorization" not in p.server.requests[-1].headers
    await collect(p.request(), api_key=KEY)
    assert p.server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


# -- one chain, every provider ------------------------------------------------------------------


async def test_the_same_chain_gives_the_same_text_status_and_usage(servers, tmp_path):
    results = {}
    for name in ["openai", *NATIVE]:
        p = _proto(servers, name)
        models = {"m": {"model": p.model, "api_base": p.base, "max_attempts": 2}}
        config = chain(
            [
                {"name": "a", "input": "tides 🌊 and\tmoons", "metadata": {"model": "m"}},
                {"name": "b", "input": "more about {{a.output}}", "metadata": {"model": "m"}},
            ],
            models=models,
            default_model="m",
        )
        ws = Workspace.for_document(loads(json.dumps(config)), history=False)
        run = ws.new_run(None, "all")
        events = [event async for event in ws.execute(run)]
        finished = {e.prompt: e for e in events if isinstance(e, Finished)}
        results[name] = {
            n: (r.status.value, r.text, r.usage.prompt_tokens, r.usage.completion_tokens)
            for n, r in run.results.items()
        }
        assert set(finished) == {"a", "b"}
        assert all(e.ttft is not None and e.latency >= e.ttft for e in finished.values())
    assert results["openai"]["b"][1] == "echo: more about echo: tides 🌊 and\tmoons"
    assert results["anthropic"] == results["openai"]
    assert results["gemini"] == results["openai"]
    assert results["ollama"] == results["openai"]


def test_a_bad_key_never_reaches_a_message():
    err = ProviderError(f"anthropic: 401 Unauthorized: bad key {KEY}", secrets=[KEY])
    assert KEY not in str(err)


async def test_a_price_stated_in_the_settings_is_used_and_never_sent(servers, tmp_path):
    p = _proto(servers, "gemini")
    models = {
        "m": {
            "model": "gemini/gemini-2.0-flash",  # not in the price table: cost unknown
            "api_base": p.base,
            "input_cost_per_token": 0.001,
            "output_cost_per_token": 0.002,
        }
    }
    config = chain([{"name": "a", "input": "hi there", "metadata": {"model": "m"}}], models=models)
    ws = Workspace.for_document(loads(json.dumps(config)), history=False)
    run = ws.new_run("a", "one")
    _ = [event async for event in ws.execute(run)]
    result = run.results["a"]
    assert result.usage.prompt_tokens == 2 and result.usage.completion_tokens == 3
    assert result.cost == pytest.approx(2 * 0.001 + 3 * 0.002)
    body = p.server.requests[-1].body
    assert "input_cost_per_token" not in json.dumps(body)


def _sse(*events: tuple[str | None, dict]) -> str:
    return "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
        for name, data in events
    )


TOOL_ANSWERS = {
    "anthropic": _sse(
        ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 9}}}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"q": "ti'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": 'des"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ),
    "gemini": _sse(
        (
            None,
            {
                "candidates": [
                    {
                        "content": {
                            "parts": [{"functionCall": {"name": "lookup", "args": {"q": "tides"}}}]
                        },
                        "finishReason": "STOP",
                    }
                ]
            },
        )
    ),
    "ollama": json.dumps(
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "lookup", "arguments": {"q": "tides"}}}],
            },
            "done": True,
            "done_reason": "stop",
        }
    )
    + "\n",
}


async def test_tool_calls_come_back_in_the_canonical_shape(native):
    content_type = "application/x-ndjson" if native.name == "ollama" else "text/event-stream"
    native.server.enqueue(Fault.raw(TOOL_ANSWERS[native.name], content_type=content_type))
    items = await collect(native.request(), api_key=KEY)
    end = items[-1]
    assert end.finish_reason == "tool_calls" and text_of(items) == ""
    assert [
        (c["type"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in end.tool_calls
    ] == [("function", "lookup", {"q": "tides"})]
    assert end.tool_calls[0]["id"] == ("toolu_1" if native.name == "anthropic" else "call_0")
