"""The direct OpenAI-compatible client (providers/openai_compat.py).

Against the real local server (``model_server``): what is sent, what comes back, retries,
cancellation, keys, cost, and that litellm stays unimported. Against an ``httpx.MockTransport``:
SSE framing edge cases the server never produces (events split across reads, CRLF, multi-line
data, comments, a missing [DONE], error events, a non-streamed answer).
The contract shared with litellm (every retry case, wording) runs for both transports in
tests/test_providers.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import REPO
from tests.support.openai_server import Fault
from tests.support.provider_calls import FAST, closed_port, collect, collect_until_error, text_of
from tests.support.provider_calls import make_request as shared_request
from tui_app.core.events import Usage
from tui_app.core.providers import (
    ProviderError,
    RetryNotice,
    StreamEnd,
    TextChunk,
    openai_compat,
    pricing,
    stream_chat,
    uses_direct_openai,
)
from tui_app.core.providers.base import Call
from tui_app.core.request import ResolvedRequest

KEY = "sk-test-direct-0123456789abcdef"


def make_request(api_base: str | None, content: str = "hello big world", **kw) -> ResolvedRequest:
    """A request that must take the direct route (the point of this file)."""
    request = shared_request(api_base, content, **kw)
    assert uses_direct_openai(request.model, request.call_options, request.settings)
    return request


def all_text(err: ProviderError, items=()) -> list[str]:
    notes = [i.reason for i in items if isinstance(i, RetryNotice)]
    return [str(err), repr(err), err.message, *map(str, err.args), err.partial_text, *notes]


# -- the real server ----------------------------------------------------------------------------


async def test_text_usage_finish_reason_and_model(model_server):
    model_server.model_name = "test-model-2024"
    request = make_request(model_server.base_url, settings={"max_tokens": 3})
    items = await collect(request, api_key=KEY)
    assert text_of(items) == "echo: hello big "
    end = items[-1]
    assert isinstance(end, StreamEnd) and len([i for i in items if isinstance(i, StreamEnd)]) == 1
    assert end.finish_reason == "length"  # max_tokens cut the answer
    assert end.usage == Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8)
    assert end.model == "test-model-2024"  # as the chunks name it
    assert end.attempts == 1 and not end.offline and end.cost is None


async def test_request_body_and_headers(model_server):
    settings = {
        "temperature": 0.25,
        "top_p": 0.5,
        "max_tokens": 40,
        "seed": None,  # None settings are not sent
        "response_format": {"type": "text"},
        "extra_headers": {"X-Trace": "t-1"},
        "extra_body": {"custom": True},
    }
    await collect(make_request(model_server.base_url, settings=settings), api_key=KEY)
    [rec] = model_server.settle()
    assert rec.method == "POST" and rec.path == "/v1/chat/completions"
    assert rec.body == {
        "model": "test-model",  # without the "openai/" prefix
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello big world"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.25,
        "top_p": 0.5,
        "max_tokens": 40,
        "response_format": {"type": "text"},
        "custom": True,
    }
    assert rec.headers["authorization"] == f"Bearer {KEY}"
    assert rec.headers["content-type"] == "application/json"
    assert rec.headers["x-trace"] == "t-1"
    assert rec.completed and not rec.disconnected


async def test_reasoning_models_get_max_completion_tokens(model_server):
    request = make_request(
        model_server.base_url, model="openai/o3-mini", settings={"max_tokens": 9}
    )
    await collect(request, api_key=KEY)
    body = model_server.chat_requests[0].body
    assert body["model"] == "o3-mini"
    assert body["max_completion_tokens"] == 9 and "max_tokens" not in body


async def test_429_with_retry_after_then_ok(model_server):
    model_server.enqueue(Fault.status(429, retry_after=0.05))
    items = await collect(make_request(model_server.base_url), api_key=KEY, **FAST)
    assert isinstance(items[0], RetryNotice)
    assert items[0].attempt == 1 and items[0].delay == pytest.approx(0.05)
    assert "429" in items[0].reason
    assert text_of(items) == "echo: hello big world" and items[-1].attempts == 2
    assert [r.status for r in model_server.chat_requests] == [429, 200]


async def test_500_is_retried(model_server):
    model_server.enqueue(Fault.status(500), Fault.status(503))
    items = await collect(make_request(model_server.base_url), api_key=KEY, **FAST)
    assert [n.attempt for n in items if isinstance(n, RetryNotice)] == [1, 2]
    assert text_of(items) == "echo: hello big world" and items[-1].attempts == 3
    assert [r.status for r in model_server.chat_requests] == [500, 503, 200]


async def test_persistent_500_reports_the_server_message(model_server):
    model_server.enqueue(*[Fault.status(500, message="the server is on fire")] * 3)
    _, err = await collect_until_error(
        make_request(model_server.base_url), api_key=KEY, max_attempts=3, **FAST
    )
    assert str(err) == (
        "openai: 500 Internal Server Error: the server is on fire (gave up after 3 attempts)"
    )
    assert err.status == 500 and err.retryable and err.attempts == 3
    assert len(model_server.chat_requests) == 3


async def test_401_is_not_retried_and_says_what_the_server_said(model_server):
    model_server.enqueue(Fault.status(401, message="Incorrect API key provided: sk-te****cdef."))
    items, err = await collect_until_error(make_request(model_server.base_url), api_key=KEY, **FAST)
    assert items == []
    assert len(model_server.chat_requests) == 1
    assert err.status == 401 and err.attempts == 1 and not err.retryable
    assert "Incorrect API key provided" in str(err) and "check OPENAI_API_KEY" in str(err)


async def test_drop_mid_stream_keeps_partial_text_and_does_not_retry(model_server):
    model_server.enqueue(Fault.drop_after(3))
    items, err = await collect_until_error(make_request(model_server.base_url), api_key=KEY, **FAST)
    assert text_of(items) == err.partial_text == "echo: hello big "
    assert not any(isinstance(i, RetryNotice) for i in items)
    assert err.attempts == 1 and err.status is None and err.retryable
    assert "interrupted" in str(err) and "closed before the answer finished" in str(err)
    assert len(model_server.chat_requests) == 1


async def test_total_timeout_covers_the_stream(model_server):
    model_server.enqueue(Fault.stall_after(1, 5.0))
    request = make_request(model_server.base_url, timeout=0.5)
    items, err = await collect_until_error(request, api_key=KEY, **FAST)
    assert text_of(items) == err.partial_text == "echo: "
    assert "timed out after 0.5 s" in str(err) and err.status is None
    assert len(model_server.chat_requests) == 1


async def test_cancel_mid_stream_closes_the_connection_at_once(model_server):
    model_server.tokens_per_response = 10_000
    model_server.chunk_delay = 0.02
    got: list[str] = []
    three = asyncio.Event()

    async def consume():
        async for item in stream_chat(make_request(model_server.base_url), api_key=KEY):
            if isinstance(item, TextChunk):
                got.append(item.text)
                if len(got) == 3:
                    three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 30)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(
        model_server.wait_for, lambda rs: rs and rs[-1].ended is not None, 10
    )
    [rec] = model_server.chat_requests
    assert rec.disconnected and not rec.completed and rec.chunks_sent < 10_000
    # the server saw the close right away, not at its next chunk or at the end of the answer
    assert rec.ended - cancelled_at < 1.0


async def test_connection_refused_is_a_clear_error_after_max_attempts():
    base = f"http://127.0.0.1:{closed_port()}/v1"
    items, err = await collect_until_error(make_request(base), max_attempts=3, **FAST)
    assert [n.attempt for n in items if isinstance(n, RetryNotice)] == [1, 2]
    assert str(err) == f"openai: connection refused: {base} (gave up after 3 attempts)"
    assert err.attempts == 3 and err.retryable and err.status is None


async def test_the_key_never_shows_in_errors_or_notices(model_server):
    leaky = f"key {KEY} rejected; Authorization: Bearer {KEY}"
    model_server.enqueue(Fault.status(500, message=leaky), Fault.status(400, message=leaky))
    refused = f"http://127.0.0.1:{closed_port()}/v1"
    runs = [
        await collect_until_error(make_request(model_server.base_url), api_key=KEY, **FAST),
        await collect_until_error(make_request(refused), api_key=KEY, max_attempts=2, **FAST),
    ]
    for items, err in runs:
        assert any(isinstance(i, RetryNotice) for i in items)
        for text in all_text(err, items):
            assert KEY not in text and KEY[-10:] not in text and "\n" not in text
        assert err.__cause__ is None and err.__context__ is None
    assert "rejected" in str(runs[0][1])  # the message itself is kept, only the key goes


def test_the_key_is_not_in_reprs():
    request = make_request("http://127.0.0.1:1/v1")
    call = Call.of(request, KEY, None)
    assert call.api_key == KEY and KEY not in repr(call)
    openai_compat.prepare()
    headers = openai_compat._headers(KEY, {})
    assert headers["authorization"] == f"Bearer {KEY}" and KEY not in repr(headers)


async def test_cost_for_a_known_openai_model(model_server, monkeypatch):
    # gpt-4o-mini normally goes to api.openai.com; OPENAI_BASE_URL points it here (as litellm).
    monkeypatch.setenv("OPENAI_BASE_URL", model_server.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    model_server.tokens_per_response = 1234
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    items = await collect(make_request(None, model="gpt-4o-mini"))  # the key from the environment
    assert model_server.chat_requests[0].api_key == KEY
    end = items[-1]
    assert end.model == "gpt-4o-mini"
    assert end.usage == Usage(prompt_tokens=5, completion_tokens=1234, total_tokens=1239)
    row = json.loads(pricing.table_path().read_text())["gpt-4o-mini"]
    expected = 5 * row["input_cost_per_token"] + 1234 * row["output_cost_per_token"]
    assert end.cost == pytest.approx(expected, rel=1e-12) and end.cost > 0
    # the same model behind an api_base, spelled openai/...
    model_server.reset()
    model_server.tokens_per_response = 1234
    items = await collect(
        make_request(model_server.base_url, model="openai/gpt-4o-mini"), api_key=KEY
    )
    assert items[-1].cost == pytest.approx(expected, rel=1e-12)


def test_cost_is_none_for_unknown_models():
    usage = Usage(prompt_tokens=10, completion_tokens=10, total_tokens=20)
    assert pricing.cost_of("test-model", usage, "openai") is None
    assert pricing.cost_of("llama3.1:8b", usage, "openai") is None


def test_api_base_precedence(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    assert openai_compat.api_base_for({}) == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_API_BASE", "http://b/v1")
    assert openai_compat.api_base_for({}) == "http://b/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://a/v1")
    assert openai_compat.api_base_for({}) == "http://a/v1"
    assert openai_compat.api_base_for({"api_base": "http://c/v1"}) == "http://c/v1"
    assert openai_compat.api_base_for({"base_url": "http://d/v1"}) == "http://d/v1"


def test_streaming_directly_never_imports_litellm():
    code = """
import asyncio, gc, sys, warnings
warnings.simplefilter("error", ResourceWarning)
from tests.support.openai_server import OpenAIServer
from tui_app.core.providers import stream_chat
from tui_app.core.request import ResolvedRequest

async def main(base):
    r = ResolvedRequest(prompt="p", model_name="openai/test-model", model="openai/test-model",
                        messages=[{"role": "user", "content": "hi there"}], settings={},
                        call_options={"api_base": base})
    out = [i async for i in stream_chat(r)]
    return "".join(getattr(i, "text", "") for i in out), out[-1].usage.completion_tokens

with OpenAIServer() as server:
    print(asyncio.run(main(server.base_url)))
    print(asyncio.run(main(server.base_url)))  # a second event loop gets its own client
gc.collect()
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai"))
assert not bad, bad[:5]
"""
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["('echo: hi there', 3)"] * 2
    # each loop's pooled connection was closed with its loop (no "unclosed" warnings)
    assert "ResourceWarning" not in result.stderr and "unclosed" not in result.stderr


# -- SSE framing, against a mock transport ------------------------------------------------------


def event(content: str | None = None, *, finish: str | None = None, **extra) -> bytes:
    delta = {} if content is None else {"content": content}
    obj = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "mock-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


USAGE = (
    b'data: {"choices":[],"model":"mock-model","usage":'
    b'{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}\n\n'
)


@pytest.fixture
def mock_server(monkeypatch):
    """Serve the given body pieces (each one network read) for every request."""
    state: dict = {"requests": []}

    def serve(*pieces: bytes, status: int = 200, content_type: str = "text/event-stream"):
        async def body():
            for piece in pieces:
                await asyncio.sleep(0)
                yield piece

        async def handler(request: httpx.Request) -> httpx.Response:
            state["requests"].append(request)
            return httpx.Response(status, headers={"content-type": content_type}, content=body())

        async def client():
            return httpx.AsyncClient(transport=httpx.MockTransport(handler))

        monkeypatch.setattr(openai_compat, "_client", client)
        return state["requests"]

    return serve


async def test_events_split_anywhere_across_reads(mock_server):
    stream = (
        event("héllo ") + event('"quoted"\n') + event(finish="stop") + USAGE + b"data: [DONE]\n\n"
    )
    # every byte its own read: lines, JSON and UTF-8 sequences are all cut
    mock_server(*[stream[i : i + 1] for i in range(len(stream))])
    items = await collect(make_request("http://mock/v1"), api_key=KEY)
    assert text_of(items) == 'héllo "quoted"\n'
    end = items[-1]
    assert end.finish_reason == "stop" and end.model == "mock-model"
    assert end.usage == Usage(prompt_tokens=2, completion_tokens=3, total_tokens=5)


async def test_deltas_in_one_read_become_one_chunk(mock_server):
    mock_server(event("a") + event("b") + event("c"), event("d"), b"data: [DONE]\n\n")
    items = await collect(make_request("http://mock/v1"), api_key=KEY)
    assert [i.text for i in items if isinstance(i, TextChunk)] == ["abc", "d"]


async def test_crlf_comments_multiline_data_and_no_done(mock_server):
    mock_server(
        b": keep-alive comment\r\n\r\n",
        b"event: message\r\nid: 1\r\n" + event("one ").replace(b"\n\n", b"\r\n\r\n"),
        b'data: {"choices":[{"index":0,\ndata: "delta":{"content":"two"}}]}\n\n',
        event(finish="stop").rstrip(b"\n"),  # the body ends without a newline nor [DONE]
    )
    items = await collect(make_request("http://mock/v1"), api_key=KEY)
    assert text_of(items) == "one two"
    assert items[-1].finish_reason == "stop" and items[-1].usage is None


async def test_other_choices_are_ignored(mock_server):
    second = b'data: {"choices":[{"index":1,"delta":{"content":"NO"}}]}\n\n'
    mock_server(event("yes"), second, b"data: [DONE]\n\n")
    assert text_of(await collect(make_request("http://mock/v1"), api_key=KEY)) == "yes"


async def test_error_event_mid_stream_keeps_the_partial_text(mock_server):
    error = (
        b'data: {"error": {"message": "model overloaded, sorry", "type": "invalid_request"}}\n\n'
    )
    requests = mock_server(event("part "), error)
    items, err = await collect_until_error(make_request("http://mock/v1"), api_key=KEY, **FAST)
    assert text_of(items) == err.partial_text == "part "
    assert "model overloaded, sorry" in str(err) and "interrupted" in str(err)
    assert len(requests) == 1


async def test_error_typed_event(mock_server):
    error = b'event: error\ndata: {"message": "bad things"}\n\n'
    mock_server(b"event: ping\ndata: {}\n\n" + event("ok "), error + event("never"))
    items, err = await collect_until_error(make_request("http://mock/v1"), api_key=KEY, **FAST)
    assert text_of(items) == err.partial_text == "ok "  # "event: ping" did not stick
    assert "bad things" in str(err)


async def test_invalid_json_is_an_error_not_a_crash(mock_server):
    mock_server(event("kept ") + b"data: {not json\n\n")
    items, err = await collect_until_error(make_request("http://mock/v1"), api_key=KEY, **FAST)
    assert "not JSON" in str(err) and not err.retryable
    assert text_of(items) == err.partial_text == "kept "


async def test_insufficient_quota_429_is_not_retried(mock_server):
    body = json.dumps(
        {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    ).encode()
    requests = mock_server(body, status=429, content_type="application/json")
    _, err = await collect_until_error(make_request("http://mock/v1"), api_key=KEY, **FAST)
    assert len(requests) == 1 and err.status == 429 and not err.retryable
    assert "You exceeded your current quota" in str(err)


async def test_a_server_that_ignores_stream_is_still_read(mock_server):
    whole = {
        "model": "mock-model",
        "choices": [{"index": 0, "message": {"content": "all at once"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
    }
    mock_server(json.dumps(whole).encode(), content_type="application/json")
    items = await collect(make_request("http://mock/v1"), api_key=KEY)
    assert text_of(items) == "all at once"
    assert items[-1].usage == Usage(1, 3, 4) and items[-1].finish_reason == "stop"
