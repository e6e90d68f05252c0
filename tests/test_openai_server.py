"""The local OpenAI-compatible test server, exercised with plain httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading

import httpx
import pytest

from tests.support.openai_server import Fault, OpenAIServer, http_date


def _body(content: str = "hello big world", **extra):
    return {"model": "test-model", "messages": [{"role": "user", "content": content}], **extra}


def _events(lines):
    out = []
    for line in lines:
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def _stream(server, body, **kw):
    with (
        httpx.Client(base_url=server.base_url, timeout=10) as client,
        client.stream("POST", "/chat/completions", json=body, **kw) as response,
    ):
        return response.status_code, _events(response.iter_lines())


def _text(events):
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e["choices"]
    )


def test_non_streaming_echo_with_usage(model_server):
    r = httpx.post(
        model_server.base_url + "/chat/completions",
        json=_body(),
        headers={"Authorization": "Bearer sk-test-123"},
    )
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {
        "role": "assistant",
        "content": "echo: hello big world",
    }
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    [rec] = model_server.settle()
    assert rec.body["messages"][0]["content"] == "hello big world"
    assert rec.api_key == "sk-test-123"
    assert rec.completed and not rec.disconnected and rec.status == 200
    assert rec.ended is not None and rec.ended >= rec.arrived


def test_streaming_chunks_usage_and_done(model_server):
    status, events = _stream(
        model_server, _body(stream=True, stream_options={"include_usage": True})
    )
    assert status == 200
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    contents = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert [c for c in contents if c] == ["echo: ", "hello ", "big ", "world"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    [rec] = model_server.settle()
    assert rec.stream and rec.completed and rec.chunks_sent == 4


def test_streaming_without_include_usage_has_no_usage_chunk(model_server):
    _, events = _stream(model_server, _body(stream=True))
    assert all(e == "[DONE]" or e["choices"] for e in events)
    assert all(e == "[DONE]" or "usage" not in e for e in events)


def test_reply_with_text_function_and_one_off(model_server):
    model_server.reply_with("fixed answer")
    _, events = _stream(model_server, _body(stream=True))
    assert _text(events) == "fixed answer"
    model_server.reply_with(lambda body: body["messages"][-1]["content"].upper())
    _, events = _stream(model_server, _body("shout this", stream=True))
    assert _text(events) == "SHOUT THIS"
    model_server.enqueue(Fault.reply("just once"))
    _, events = _stream(model_server, _body(stream=True))
    assert _text(events) == "just once"
    _, events = _stream(model_server, _body("x", stream=True))
    assert _text(events) == "X"
    model_server.reply_with(None)
    _, events = _stream(model_server, _body("back", stream=True))
    assert _text(events) == "echo: back"


def test_max_tokens_truncates_with_length(model_server):
    model_server.tokens_per_response = 50
    _, events = _stream(
        model_server, _body(stream=True, max_tokens=5, stream_options={"include_usage": True})
    )
    assert _text(events) == "w0 w1 w2 w3 w4 "
    assert events[-3]["choices"][0]["finish_reason"] == "length"
    assert events[-2]["usage"]["completion_tokens"] == 5


def test_status_faults_are_consumed_in_order(model_server):
    model_server.enqueue(Fault.status(429, retry_after=0.2), Fault.status(500), Fault.status(401))
    with httpx.Client(base_url=model_server.base_url) as c:
        r1 = c.post("/chat/completions", json=_body())
        r2 = c.post("/chat/completions", json=_body())
        r3 = c.post("/chat/completions", json=_body())
        r4 = c.post("/chat/completions", json=_body())
    assert [r.status_code for r in (r1, r2, r3, r4)] == [429, 500, 401, 200]
    assert r1.headers["retry-after"] == "0.2"
    assert "retry-after" not in r2.headers
    assert r1.json()["error"]["code"] == "429"
    assert [rec.status for rec in model_server.requests] == [429, 500, 401, 200]
    assert model_server.requests[0].fault == Fault.status(429, retry_after=0.2)


def test_retry_after_http_date_is_sent_verbatim(model_server):
    when = http_date(2)
    model_server.enqueue(Fault.status(503, retry_after=when))
    r = httpx.post(model_server.base_url + "/chat/completions", json=_body())
    assert r.status_code == 503 and r.headers["retry-after"] == when


def test_drop_after_cuts_the_stream(model_server):
    model_server.enqueue(Fault.drop_after(2))
    seen = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.Client(base_url=model_server.base_url) as c,
        c.stream("POST", "/chat/completions", json=_body(stream=True)) as r,
    ):
        for line in r.iter_lines():
            seen.append(line)
    events = _events(seen)
    assert "[DONE]" not in events
    assert _text(events) == "echo: hello "
    [rec] = model_server.requests
    assert rec.chunks_sent == 2 and not rec.completed and not rec.disconnected
    # the next request is normal again
    _, events = _stream(model_server, _body(stream=True))
    assert _text(events) == "echo: hello big world"


def test_slow_first_byte_and_delay_knobs(model_server):
    model_server.enqueue(Fault.slow_first_byte(0.2))
    _, events = _stream(model_server, _body(stream=True))
    assert _text(events) == "echo: hello big world"
    rec = model_server.settle()[-1]  # the server marks the end a moment after the client has it
    assert rec.first_byte - rec.arrived >= 0.19  # lower bound only: sleeping never ends early

    model_server.delay_per_request = 0.3
    _, events = _stream(model_server, _body(stream=True))
    rec = model_server.settle()[-1]
    assert rec.first_byte - rec.arrived < rec.ended - rec.arrived  # headers first, then paced
    assert rec.ended - rec.arrived >= 0.29


def test_client_disconnect_is_recorded(model_server):
    model_server.chunk_delay = 0.05
    model_server.tokens_per_response = 1000
    with (
        httpx.Client(base_url=model_server.base_url) as c,
        c.stream("POST", "/chat/completions", json=_body(stream=True)) as r,
    ):
        for n, _line in enumerate(r.iter_lines()):
            if n > 4:
                break
    assert model_server.wait_for(lambda rs: rs and rs[0].ended is not None)
    [rec] = model_server.requests
    assert rec.disconnected and not rec.completed
    assert 0 < rec.chunks_sent < 1000


def test_hundred_thousand_token_stream(model_server):
    model_server.tokens_per_response = 100_000
    _, events = _stream(model_server, _body(stream=True, stream_options={"include_usage": True}))
    contents = [e["choices"][0]["delta"].get("content") for e in events[:-1] if e["choices"]]
    assert len([c for c in contents if c]) == 100_000
    assert events[-2]["usage"]["completion_tokens"] == 100_000
    assert model_server.settle()[0].completed


async def test_many_concurrent_streams(model_server):
    model_server.tokens_per_response = 200
    model_server.chunk_delay = 0.002
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=model_server.base_url, limits=limits, timeout=30) as c:

        async def one(i):
            async with c.stream("POST", "/chat/completions", json=_body(str(i), stream=True)) as r:
                return _text(_events([line async for line in r.aiter_lines()]))

        texts = await asyncio.gather(*(one(i) for i in range(100)))
    assert all(t.startswith("w0 w1 ") and t.endswith("w199") for t in texts)
    recs = model_server.settle()
    assert len(recs) == 100 and all(r.completed for r in recs)
    # they really overlapped (each stream lasts >= 0.4 s; counted from the server's records)
    peak = max(sum(1 for o in recs if o.arrived <= r.arrived < o.ended) for r in recs)
    assert peak >= 10


def test_unknown_route_and_bad_body(model_server):
    r = httpx.post(model_server.base_url + "/completions", json={})
    assert r.status_code == 404 and "no route" in r.json()["error"]["message"]
    r = httpx.post(model_server.base_url + "/chat/completions", content=b"not json")
    assert r.status_code == 400
    r = httpx.get(model_server.base_url + "/models")
    assert r.status_code == 200 and r.json()["data"][0]["id"] == "test-model"


def test_stop_aborts_hanging_requests_promptly():
    server = OpenAIServer().start()
    server.enqueue(Fault.hang())
    errors = []

    def client():
        try:
            httpx.post(server.base_url + "/chat/completions", json=_body(), timeout=30)
        except httpx.HTTPError as e:
            errors.append(e)

    t = threading.Thread(target=client)
    t.start()
    assert server.wait_for(lambda rs: len(rs) == 1)
    server.stop()
    t.join(timeout=10)
    assert not t.is_alive() and len(errors) == 1
    server.stop()  # idempotent


def test_server_errors_list_stays_empty(model_server):
    model_server.enqueue(Fault.drop_after(0), Fault.stall_after(1, 0.01))
    for _ in range(2):
        with contextlib.suppress(httpx.HTTPError):
            _stream(model_server, _body(stream=True))
    _stream(model_server, _body(stream=True))
    assert model_server.errors == []
