"""Providers against the real local server, the retry policy, offline models, routing.

The network contract tests run twice, once per transport (the ``via`` fixture): ``direct`` is the
default route for ``openai/test-model`` with an ``api_base`` (openai_compat.py), ``litellm``
forces litellm with ``call_options["transport"] = "litellm"``. Both must behave and word their
errors the same. tests/test_openai_compat.py covers what is specific to the direct client.

No wall-clock assertions: what happened is read from the server's request records.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest

from tests.helpers import REPO
from tests.support.openai_server import Fault, http_date
from tests.support.provider_calls import (
    FAST,
    closed_port,
    collect,
    collect_until_error,
    make_request,
    text_of,
)
from tui_app.core.events import Usage
from tui_app.core.providers import (
    ProviderError,
    RetryNotice,
    StreamEnd,
    TextChunk,
    base,
    is_offline,
    key_env_var,
    litellm_provider,
    needs_key,
    preload,
    pricing,
    provider_of,
    retry,
    stream_chat,
    uses_direct_openai,
)

# litellm's own pydantic deprecation noise, not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litellm")

KEY = "sk-test-supersecret-0123456789abcdef"


# -- both transports against the local server --------------------------------------------------


@pytest.fixture(params=["direct", "litellm"])
def via(request) -> str:
    return request.param


async def test_streams_text_in_order_with_usage(model_server, via):
    request = make_request(
        model_server.base_url, settings={"temperature": 0.5, "max_tokens": 50}, via=via
    )
    assert uses_direct_openai(request.model, request.call_options) is (via == "direct")
    items = await collect(request, api_key=KEY)
    chunks = [i.text for i in items if isinstance(i, TextChunk)]
    assert "".join(chunks) == "echo: hello big world"
    if via == "litellm":  # one chunk per SSE event
        assert chunks == ["echo: ", "hello ", "big ", "world"]
    else:  # events that arrived in one read are joined (the server wrote them all at once)
        assert chunks == ["echo: hello big world"]
    end = items[-1]
    assert isinstance(end, StreamEnd)
    assert end.finish_reason == "stop"
    # prompt: "be brief" + "hello big world" = 5 words; answer: 4 tokens
    assert end.usage == Usage(prompt_tokens=5, completion_tokens=4, total_tokens=9)
    assert end.attempts == 1 and not end.offline
    assert end.cost is None  # openai/test-model is not in the price table
    assert end.model == "test-model"

    [rec] = model_server.settle()
    assert rec.body["stream"] is True
    assert rec.body["stream_options"] == {"include_usage": True}
    assert rec.body["temperature"] == 0.5 and rec.body["max_tokens"] == 50
    assert rec.body["model"] == "test-model"
    assert "api_base" not in rec.body and "timeout" not in rec.body
    assert "transport" not in rec.body
    assert rec.api_key == KEY
    assert rec.completed and not rec.disconnected


async def test_429_with_retry_after_then_ok(model_server, via):
    model_server.enqueue(Fault.status(429, retry_after=0.05))
    items = await collect(make_request(model_server.base_url, via=via), api_key=KEY, **FAST)
    notices = [i for i in items if isinstance(i, RetryNotice)]
    assert len(notices) == 1
    assert notices[0].attempt == 1
    assert notices[0].delay == pytest.approx(0.05)  # the server's Retry-After, not the backoff
    assert "429" in notices[0].reason
    assert text_of(items) == "echo: hello big world"
    assert items[-1].attempts == 2
    assert [r.status for r in model_server.chat_requests] == [429, 200]
    assert isinstance(items[0], RetryNotice)  # the notice comes before any text


async def test_retry_after_as_http_date_is_honoured(model_server, via):
    model_server.enqueue(Fault.status(503, retry_after=http_date(1)))
    items = await collect(make_request(model_server.base_url, via=via), api_key=KEY, **FAST)
    [notice] = [i for i in items if isinstance(i, RetryNotice)]
    assert 0.0 <= notice.delay <= 1.5  # whole-second resolution of HTTP dates
    assert len(model_server.chat_requests) == 2


async def test_500_twice_then_ok(model_server, via):
    model_server.enqueue(Fault.status(500), Fault.status(500))
    items = await collect(make_request(model_server.base_url, via=via), api_key=KEY, **FAST)
    notices = [i for i in items if isinstance(i, RetryNotice)]
    assert [n.attempt for n in notices] == [1, 2]
    assert all("500" in n.reason for n in notices)
    assert all(0.0 <= n.delay <= 0.01 for n in notices)  # backoff_max caps the jitter
    assert text_of(items) == "echo: hello big world"
    assert items[-1].attempts == 3
    assert [r.status for r in model_server.chat_requests] == [500, 500, 200]


async def test_persistent_429_gives_up_after_max_attempts(model_server, via):
    model_server.enqueue(*[Fault.status(429, retry_after=0)] * 5)
    items, err = await collect_until_error(
        make_request(model_server.base_url, via=via), api_key=KEY, max_attempts=3, **FAST
    )
    assert len([i for i in items if isinstance(i, RetryNotice)]) == 2
    assert err.status == 429 and err.attempts == 3 and err.retryable
    assert str(err) == (
        "openai: 429 Too Many Requests: injected 429 Too Many Requests (gave up after 3 attempts)"
    )
    assert len(model_server.chat_requests) == 3


async def test_max_attempts_from_call_options(model_server, via):
    model_server.enqueue(*[Fault.status(502)] * 5)
    request = make_request(model_server.base_url, max_attempts=2, via=via)
    _, err = await collect_until_error(request, api_key=KEY, **FAST)
    assert err.attempts == 2 and err.status == 502
    assert len(model_server.chat_requests) == 2


async def test_long_retry_after_fails_at_once(model_server, via):
    model_server.enqueue(Fault.status(429, retry_after=3600))
    items, err = await collect_until_error(
        make_request(model_server.base_url, via=via), api_key=KEY
    )
    assert items == []
    assert err.status == 429 and "3600" in str(err)
    assert len(model_server.chat_requests) == 1


async def test_401_is_not_retried(model_server, via):
    model_server.enqueue(Fault.status(401, message=f"Incorrect API key provided: {KEY}"))
    items, err = await collect_until_error(
        make_request(model_server.base_url, via=via), api_key=KEY, **FAST
    )
    assert items == []
    assert err.status == 401 and err.attempts == 1 and not err.retryable
    # the server's own message (scrubbed), then where to look
    assert str(err) == (
        "openai: 401 Unauthorized: Incorrect API key provided: ••••cdef — check OPENAI_API_KEY"
        " (not retried: a key problem)"
    )
    assert len(model_server.chat_requests) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_other_4xx_are_not_retried(model_server, status, via):
    model_server.enqueue(Fault.status(status, message="nope"))
    _, err = await collect_until_error(
        make_request(model_server.base_url, via=via), api_key=KEY, **FAST
    )
    assert err.status == status and err.attempts == 1 and not err.retryable
    assert str(status) in str(err) and "nope" in str(err)
    assert len(model_server.chat_requests) == 1


async def test_key_never_in_error_text(model_server, via):
    leaky = (
        f"bad request for key {KEY}; header Authorization: Bearer {KEY}; other sk-proj-abcdefghijkl"
    )
    model_server.enqueue(Fault.status(400, message=leaky), Fault.drop_after(1))
    _, err = await collect_until_error(make_request(model_server.base_url, via=via), api_key=KEY)
    _, err2 = await collect_until_error(make_request(model_server.base_url, via=via), api_key=KEY)
    for e in (err, err2):
        for text in (str(e), repr(e), e.message, *map(str, e.args)):
            assert KEY not in text and KEY[-12:] not in text
            assert "sk-proj-abcdefghijkl" not in text
            assert "Traceback" not in text and "\n" not in text
        assert e.__cause__ is None


async def test_drop_mid_stream_keeps_partial_text_and_does_not_retry(model_server, via):
    model_server.enqueue(Fault.drop_after(2))
    items, err = await collect_until_error(
        make_request(model_server.base_url, via=via), api_key=KEY, **FAST
    )
    assert all(isinstance(i, TextChunk) for i in items)
    assert text_of(items) == "echo: hello "
    assert err.partial_text == "echo: hello "
    assert err.attempts == 1 and err.status is None
    assert "interrupted" in str(err)
    assert len(model_server.chat_requests) == 1


async def test_drop_before_any_text_is_retried(model_server, via):
    model_server.enqueue(Fault.drop_after(0))
    items = await collect(make_request(model_server.base_url, via=via), api_key=KEY, **FAST)
    assert [type(i) for i in items][0] is RetryNotice
    assert text_of(items) == "echo: hello big world"
    assert len(model_server.chat_requests) == 2


async def test_cancelling_the_consumer_closes_the_connection(model_server, via):
    model_server.tokens_per_response = 10_000
    model_server.chunk_delay = 0.02
    got: list[str] = []
    three = asyncio.Event()

    async def consume():
        async for item in stream_chat(make_request(model_server.base_url, via=via), api_key=KEY):
            if isinstance(item, TextChunk):
                got.append(item.text)
                if len(got) == 3:
                    three.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ok = await asyncio.to_thread(
        model_server.wait_for, lambda rs: rs and rs[-1].ended is not None, 10
    )
    assert ok
    [rec] = model_server.chat_requests
    assert rec.disconnected and not rec.completed
    assert rec.chunks_sent < 10_000


async def test_closing_the_generator_early_closes_the_connection(model_server, via):
    model_server.tokens_per_response = 10_000
    model_server.chunk_delay = 0.02
    agen = stream_chat(make_request(model_server.base_url, via=via), api_key=KEY)
    async for item in agen:
        if isinstance(item, TextChunk):
            break
    await agen.aclose()
    ok = await asyncio.to_thread(
        model_server.wait_for, lambda rs: rs and rs[-1].ended is not None, 10
    )
    assert ok and model_server.chat_requests[0].disconnected


async def test_connection_refused_is_retried_then_reported(via):
    base = f"http://127.0.0.1:{closed_port()}/v1"
    items, err = await collect_until_error(
        make_request(base, via=via), api_key=KEY, max_attempts=3, **FAST
    )
    notices = [i for i in items if isinstance(i, RetryNotice)]
    assert [n.attempt for n in notices] == [1, 2]
    assert all("connection refused" in n.reason for n in notices)
    assert err.attempts == 3 and err.status is None and err.retryable
    assert str(err) == f"openai: connection refused: {base} (gave up after 3 attempts)"


async def test_client_timeout_is_reported_and_not_retried(model_server, via):
    model_server.enqueue(Fault.hang())
    request = make_request(model_server.base_url, timeout=0.3, via=via)
    _, err = await collect_until_error(request, api_key=KEY, **FAST)
    assert "timed out" in str(err) and err.status is None
    assert len(model_server.chat_requests) == 1


async def test_local_server_gets_a_dummy_key_not_the_environment_key(
    model_server, monkeypatch, via
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-environment-key-123456")
    request = make_request(model_server.base_url, via=via)
    assert not needs_key(request)
    await collect(request)
    [rec] = model_server.chat_requests
    assert rec.api_key == litellm_provider.LOCAL_DUMMY_KEY == "sk-local-no-key-needed"


async def test_missing_key_fails_before_any_request(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    request = make_request(None, model="gpt-4o-mini")
    assert needs_key(request)
    items, err = await collect_until_error(request)
    assert items == [] and err.attempts == 0
    assert "OPENAI_API_KEY" in str(err)


def test_cost_from_the_local_price_table():
    usage = Usage(prompt_tokens=1000, completion_tokens=1000, total_tokens=2000)
    assert pricing.cost_of("openai/test-model", usage, "openai") is None
    assert pricing.cost_of("no-such-model-anywhere", usage) is None
    assert pricing.cost_of("gpt-4o-mini", None) is None
    assert pricing.cost_of("gpt-4o-mini", Usage(prompt_tokens=10)) is None
    cost = pricing.cost_of("gpt-4o-mini", usage)
    assert cost is not None and cost > 0
    assert pricing.cost_of("openai/gpt-4o-mini", usage, "openai") == cost


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        "o3-mini",
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-pro",
        "gpt-5.4",  # has long-context (above 272k tokens) rates
        "mistral/mistral-large-latest",
        "ollama/llama3",
    ],
)
@pytest.mark.parametrize("prompt_tokens", [1000, 300_000])
def test_cost_agrees_with_litellm(model, prompt_tokens):
    """One price reader for both transports, without litellm: it must agree with litellm's own
    cost_per_token on the same table."""
    litellm = litellm_provider.load()
    usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=500, total_tokens=None)
    theirs = sum(
        litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens, completion_tokens=500)
    )
    assert pricing.cost_of(model, usage, provider_of(model)) == pytest.approx(theirs, rel=1e-9)


async def test_hosted_vllm_prefix_goes_through_litellm(model_server):
    """A provider other than openai keeps litellm, even for an OpenAI-compatible server."""
    request = make_request(model_server.base_url, model="hosted_vllm/test-model")
    assert not uses_direct_openai(request.model, request.call_options)
    items = await collect(request, api_key=KEY)
    assert [i.text for i in items[:-1]] == ["echo: ", "hello ", "big ", "world"]  # per event
    assert items[-1].usage.completion_tokens == 4
    assert model_server.chat_requests[0].body["model"] == "test-model"


def test_preload_is_idempotent_and_thread_safe():
    import threading

    threads = [threading.Thread(target=preload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    preload()
    import litellm

    assert litellm.suppress_debug_info is True
    assert litellm_provider.is_loaded()


# -- offline models -----------------------------------------------------------------------------


@pytest.fixture
def no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an offline model opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


async def test_echo_streams_the_last_user_message(no_sockets):
    request = make_request(None, "say  this back", model="echo", settings={"delay": 0})
    assert is_offline("echo") and not needs_key(request)
    items = await collect(request)
    assert [i.text for i in items[:-1]] == ["say  ", "this ", "back"]
    end = items[-1]
    assert end == StreamEnd(
        finish_reason="stop",
        usage=Usage(prompt_tokens=5, completion_tokens=3, total_tokens=8),
        cost=0.0,
        model="echo",
        attempts=1,
        offline=True,
    )


async def test_echo_paces_words_with_delay(no_sockets, monkeypatch):
    slept = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds, *a):
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    await collect(make_request(None, "one two three", model="echo"))
    assert slept == [0.03, 0.03]  # the default pace, between words
    slept.clear()
    await collect(make_request(None, "one two", model="echo", settings={"delay": 0.2}))
    assert slept == [0.2]


async def test_mock_streams_the_configured_response(no_sockets):
    request = make_request(
        None, model="mock", settings={"response": "fixed answer here", "delay": 0}
    )
    items = await collect(request)
    assert text_of(items) == "fixed answer here"
    assert items[-1].offline and items[-1].usage.completion_tokens == 3


async def test_offline_models_cut_at_max_tokens_like_a_real_model(no_sockets):
    """max_tokens words, then finish_reason "length" (the app's "cut at max_tokens" note can be
    tried offline); an answer that fits is not marked."""
    settings = {"response": "one two  three four", "delay": 0, "max_tokens": 2}
    items = await collect(make_request(None, model="mock", settings=settings))
    assert text_of(items) == "one two"
    assert items[-1].finish_reason == "length" and items[-1].usage.completion_tokens == 2
    echo = make_request(None, "a b c", model="echo", settings={"delay": 0, "max_tokens": 3})
    items = await collect(echo)
    assert text_of(items) == "a b c" and items[-1].finish_reason == "stop"


async def test_mock_without_response_names_the_setting(no_sockets):
    _, err = await collect_until_error(make_request(None, model="mock"))
    assert "settings.response" in str(err) and "'p'" in str(err)


async def test_offline_bad_delay(no_sockets):
    _, err = await collect_until_error(make_request(None, model="echo", settings={"delay": "x"}))
    assert "settings.delay" in str(err)


def test_offline_stream_never_imports_litellm_nor_opens_a_socket():
    code = """
import asyncio, socket, sys
def refuse(*a, **k): raise AssertionError("socket used")
socket.socket.connect = refuse
socket.create_connection = refuse
from tui_app.core.providers import stream_chat
from tui_app.core.request import ResolvedRequest
async def main():
    for model, settings in (("echo", {"delay": 0}), ("mock", {"response": "ok then", "delay": 0})):
        r = ResolvedRequest(prompt="p", model_name=model, model=model,
                            messages=[{"role": "user", "content": "hi there"}], settings=settings)
        out = [i async for i in stream_chat(r)]
        print(repr(out[-1].offline), "".join(getattr(i, "text", "") for i in out))
asyncio.run(main())
assert "litellm" not in sys.modules, "litellm imported"
assert "openai" not in sys.modules, "openai imported"
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True hi there", "True ok then"]


# -- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "provider"),
    [
        ("echo", {}, "offline"),
        ("mock", {}, "offline"),
        ("gpt-4o-mini", {}, "openai"),
        ("o3-mini", {}, "openai"),
        ("claude-3-5-haiku-latest", {}, "anthropic"),
        ("anthropic/claude-sonnet-4-5", {}, "anthropic"),
        ("ollama/llama3", {}, "ollama"),
        ("openai/test-model", {"api_base": "http://127.0.0.1:1/v1"}, "openai"),
        ("openrouter/anthropic/claude-3", {}, "openrouter"),
        ("gemini-2.0-flash", {}, "gemini"),
        ("my-model", {"custom_llm_provider": "openai"}, "openai"),
        ("some-local-thing", {}, "unknown"),
    ],
)
def test_provider_of(model, options, provider):
    assert provider_of(model, options) == provider


@pytest.mark.parametrize(
    ("model", "options", "settings", "direct"),
    [
        ("gpt-4o-mini", {}, {}, True),
        ("openai/gpt-4o-mini", {}, {}, True),
        ("o3-mini", {}, {}, True),
        ("gpt-5", {}, {"temperature": 1}, True),
        ("openai/test-model", {"api_base": "http://127.0.0.1:1/v1"}, {}, True),
        ("openai/llama3", {"api_base": "http://localhost:11434/v1"}, {}, True),
        ("my-model", {"custom_llm_provider": "openai", "api_base": "http://h/v1"}, {}, True),
        # litellm: other providers, even with an api_base
        ("anthropic/claude-sonnet-4-5", {}, {}, False),
        ("claude-3-5-haiku-latest", {}, {}, False),
        ("gemini/gemini-2.0-flash", {}, {}, False),
        ("ollama/llama3", {"api_base": "http://localhost:11434"}, {}, False),
        ("azure/gpt-4o", {"api_base": "https://x.openai.azure.com"}, {}, False),
        ("hosted_vllm/test-model", {"api_base": "http://127.0.0.1:1/v1"}, {}, False),
        ("bedrock/anthropic.claude-3", {}, {}, False),
        ("echo", {}, {}, False),
        # litellm: openai models it serves through another API than chat completions
        ("o1-pro", {}, {}, False),  # Responses API
        ("gpt-5-pro", {}, {}, False),
        ("openai/responses/gpt-4o", {}, {}, False),
        ("gpt-3.5-turbo-instruct", {}, {}, False),  # text completions
        ("gpt-5", {}, {"tools": [{"type": "function"}]}, False),  # may bridge to Responses
        # forced
        ("openai/test-model", {"api_base": "http://h/v1", "transport": "litellm"}, {}, False),
    ],
)
def test_uses_direct_openai(model, options, settings, direct):
    assert uses_direct_openai(model, options, settings) is direct


def test_key_env_vars_and_needs_key():
    assert key_env_var("openai") == "OPENAI_API_KEY"
    assert key_env_var("anthropic") == "ANTHROPIC_API_KEY"
    assert key_env_var("ollama") is None and key_env_var("offline") is None
    assert needs_key(make_request(None, model="gpt-4o-mini"))
    assert needs_key(make_request(None, model="anthropic/claude-sonnet-4-5"))
    assert not needs_key(make_request(None, model="ollama/llama3"))
    assert not needs_key(make_request("http://localhost:8000/v1"))
    assert not needs_key(make_request("http://127.0.0.1:8000/v1"))
    assert not needs_key(make_request(None, model="openai/x", base_url="http://[::1]:8000/v1"))
    assert needs_key(make_request("https://api.example.com/v1"))


# -- retry policy -------------------------------------------------------------------------------


def test_retry_policy_units():
    assert retry.parse_retry_after("2") == 2.0
    assert retry.parse_retry_after("0.25") == 0.25
    assert retry.parse_retry_after("-3") == 0.0
    assert retry.parse_retry_after("soon") is None
    assert retry.parse_retry_after(None) is None
    assert retry.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert 9 <= retry.parse_retry_after(http_date(10)) <= 10.5
    assert retry.retry_after_from_headers({"Retry-After-Ms": "1500", "retry-after": "9"}) == 1.5
    assert retry.retry_after_from_headers({"Retry-After": "3"}) == 3.0
    assert retry.retry_after_from_headers(None) is None
    for status, ok in (
        (429, True),
        (500, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
    ):
        assert base.is_retryable_status(status) is ok
    for attempt in range(1, 10):
        d = retry.backoff_delay(attempt, 0.5, 4.0)
        assert 0 <= d <= min(4.0, 0.5 * 2 ** (attempt - 1))
    assert retry.next_delay(3, 1.25, 0.5, 20) == 1.25


def test_provider_error_is_one_scrubbed_line():
    err = ProviderError(
        "boom\nwith sk-abcdefghijklmnop and mine", secrets=["mine-secret"], status=500
    )
    assert "\n" not in str(err) and "sk-abcdefghijklmnop" not in str(err)
    err = ProviderError("key mine-secret leaked", secrets=["mine-secret"])
    assert "mine-secret" not in str(err)
    assert json.dumps(str(err))  # plain text


def test_idle_preload_leaves_the_token_encoding_to_a_run_and_shares_the_price_table() -> None:
    """The TUI's idle preload imports litellm but not its tiktoken encoding (~40 MiB, loaded
    when a run that calls litellm is planned), and the price table is litellm's own object,
    not a second parse of the same file (bench/memory.py)."""
    code = (
        "import sys\n"
        "from tui_app.core import providers\n"
        "from tui_app.core.providers import pricing\n"
        "from tui_app.core.providers.routing import transport_for\n"
        "from tui_app.core.request import ResolvedRequest\n"
        "model = 'mistral/mistral-small-latest'\n"
        "assert transport_for(model) == 'litellm'\n"
        "pricing.load()\n"
        "assert providers.preload_for([model])\n"
        "enc = 'litellm.litellm_core_utils.default_encoding'\n"
        "assert enc not in sys.modules, 'the idle preload loaded the encoding'\n"
        "import litellm\n"
        "assert pricing.load() is litellm.model_cost\n"
        "assert pricing.entry_of('gpt-4o-mini') is not None\n"
        "req = ResolvedRequest(prompt='p', model_name=model, model=model, messages=[], settings={})\n"
        "providers.prewarm_check(None, [req])\n"
        "assert enc in sys.modules, 'a litellm run was planned without the encoding'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)
