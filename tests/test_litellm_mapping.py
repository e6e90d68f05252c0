"""What the litellm route (``transport: litellm``) reports, against the same local servers as the
native clients: a 529 stays 529, an in-stream ``overloaded_error`` is named (never "connection
closed"), usage litellm counted itself is marked estimated, a password in the api_base reaches
the server, and a model that repeats one chunk is not cut off by litellm's repetition guard."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from tests.support.anthropic_server import AnthropicServer
from tests.support.gemini_server import GeminiServer
from tests.support.openai_server import Fault, OpenAIServer
from tests.support.provider_calls import collect, collect_until_error, make_request, text_of
from tui_app.core.events import Usage
from tui_app.core.request import ResolvedRequest
from tui_app.core.runs import PromptResult

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KEY = "sk-ant-test-0123456789abcdef"


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def claude() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server


def claude_request(server: AnthropicServer) -> ResolvedRequest:
    return ResolvedRequest(
        prompt="p",
        model_name="anthropic/claude-test",
        model="anthropic/claude-test",
        messages=[{"role": "user", "content": "hello big world"}],
        settings={"max_tokens": 50},
        call_options={"api_base": server.base_url, "transport": "litellm", "timeout": 20},
    )


async def test_anthropic_through_litellm_streams(claude):
    claude.reset()
    items = await collect(claude_request(claude), api_key=KEY)
    assert text_of(items) == "echo: hello big world"
    assert claude.requests[-1].headers["x-api-key"] == KEY


async def test_529_stays_529_through_litellm(claude):
    claude.reset()
    claude.enqueue(*[Fault.status(529, message="Overloaded", retry_after=0)] * 2)
    _, err = await collect_until_error(
        claude_request(claude), api_key=KEY, max_attempts=2, sleep=Sleeps()
    )
    assert err.status == 529
    assert str(err).startswith("anthropic: 529 Overloaded: ")
    assert "Overloaded" in str(err) and "gave up after 2 attempts" in str(err)


async def test_in_stream_overloaded_error_is_named_through_litellm(claude):
    claude.reset()
    claude.enqueue(Fault.error_after(0, "Overloaded", "overloaded_error"))
    items = await collect(claude_request(claude), api_key=KEY, sleep=Sleeps())
    notices = [getattr(i, "reason", "") for i in items if hasattr(i, "reason")]
    assert notices and not any("connection" in n for n in notices), notices
    assert text_of(items) == "echo: hello big world"


def _no_usage_body() -> str:
    chunk = '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":'
    return (
        f'data: {chunk}[{{"index":0,"delta":{{"content":"hi there"}},"finish_reason":null}}]}}\n\n'
        f'data: {chunk}[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}\n\n'
        "data: [DONE]\n\n"
    )


async def test_usage_litellm_estimated_is_marked_estimated(model_server: OpenAIServer):
    model_server.enqueue(Fault.raw(_no_usage_body(), content_type="text/event-stream"))
    items = await collect(make_request(model_server.base_url, via="litellm"), api_key=KEY)
    assert text_of(items) == "hi there"
    assert items[-1].usage is not None and items[-1].usage.estimated
    # a server that sends usage: not estimated
    items = await collect(make_request(model_server.base_url, via="litellm"), api_key=KEY)
    assert not items[-1].usage.estimated


async def test_a_password_in_api_base_reaches_the_server_through_litellm(model_server):
    base = model_server.base_url.replace("http://", "http://bob:s3cr3t@")
    items = await collect(make_request(base, via="litellm"), api_key=KEY)
    assert text_of(items) == "echo: hello big world"
    auth = model_server.requests[-1].headers["authorization"]
    assert auth == "Basic " + base64.b64encode(b"bob:s3cr3t").decode()


async def test_a_repeating_model_is_not_cut_off(model_server):
    model_server.reply_with("same " * 120)
    items = await collect(make_request(model_server.base_url, via="litellm"), api_key=KEY)
    assert text_of(items) == "same " * 120


def test_estimated_usage_reaches_the_json_record():
    result = PromptResult()
    result.usage = Usage(3, 4, 7, estimated=True)
    assert result.to_json()["tokens_estimated"] is True
    result.usage = Usage(3, 4, 7)
    assert result.to_json()["tokens_estimated"] is False


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[GeminiServer]:
    with GeminiServer() as server:
        yield server


def gemini_request(server: GeminiServer) -> ResolvedRequest:
    return ResolvedRequest(
        prompt="p",
        model_name="gemini/gemini-test",
        model="gemini/gemini-test",
        messages=[{"role": "user", "content": "hello big world"}],
        settings={},
        # litellm asks {api_base}/models/...: the version goes in the api_base (the native
        # client keeps a version the api_base names)
        call_options={
            "api_base": server.base_url + "/v1beta",
            "transport": "litellm",
            "timeout": 20,
        },
    )


async def test_gemini_503_stays_503_through_litellm(gemini_server):
    gemini_server.reset()
    gemini_server.enqueue(*[Fault.status(503, message="The model is overloaded.")] * 2)
    _, err = await collect_until_error(
        gemini_request(gemini_server), api_key=KEY, max_attempts=2, sleep=Sleeps()
    )
    assert err.status == 503
    assert str(err) == (
        "gemini: 503 Service Unavailable: The model is overloaded. (gave up after 2 attempts)"
    )


async def test_a_gemini_safety_block_through_litellm_is_a_refusal(gemini_server):
    gemini_server.reset()
    gemini_server.enqueue(Fault.blocked("SAFETY"))
    items, err = await collect_until_error(gemini_request(gemini_server), api_key=KEY)
    assert text_of(items) == "" and "blocked by the provider's content filter" in str(err)
    assert err.attempts == 1
