"""Direct streaming client for OpenAI-compatible chat completions: httpx plus a small SSE parser.

Serves OpenAI itself and any ``openai/<name>`` model with an ``api_base`` (Ollama's /v1, vLLM,
LM Studio, llama.cpp, the test server); :func:`.routing.uses_direct_openai` decides, and explains
why (litellm costs ~1 ms of CPU per chunk). Same contract as the litellm transport: this module
makes one attempt at a time and the shared loop in :mod:`.retry` retries, so errors, retries and
costs read the same whichever transport ran.

Request: ``POST {api_base}/chat/completions`` with ``{**settings, "model": <id without
"openai/">, "messages": ..., "stream": true, "stream_options": {"include_usage": true}}`` and
``Authorization: Bearer <key>``. Like litellm: ``max_tokens`` becomes ``max_completion_tokens``
for reasoning models (o1/o3/o4..., gpt-5...), settings that are None are not sent,
``extra_headers``/``extra_body`` settings are merged into the headers/body, and
``OPENAI_ORGANIZATION`` (or ``OPENAI_ORG_ID``) and ``OPENAI_PROJECT_ID`` are sent when set.
The api_base is ``call_options["api_base"]`` (or ``base_url``), else ``OPENAI_BASE_URL``, else
``OPENAI_API_BASE``, else https://api.openai.com/v1 (litellm's order).

Response: SSE ``data:`` events (multi-line data joined per the SSE rules; ``[DONE]`` ends),
text from ``choices[0].delta.content``; the deltas that arrive in one network read are joined
into one :class:`TextChunk` (fewer, larger chunks; no added wait). ``finish_reason`` and ``model``
from the chunks, usage from the final usage chunk. A server that ignores ``stream`` and answers
with one JSON completion is read too. ``{"error": ...}`` events fail the attempt.

Timeouts: ``call_options["timeout"]`` (default 600 s) bounds each whole attempt (connect,
headers, and the stream); connecting alone gives up after :data:`CONNECT_TIMEOUT`.
Connections: one pooled ``httpx.AsyncClient`` per event loop, closed when the loop shuts down its
async generators (``asyncio.run`` and ``asyncio.Runner`` do). Measured on localhost: a request
on a new client took ~83 ms (building its TLS context), ~5.3 ms with a shared TLS context, and
~2.8 ms on a pooled client; against a remote https server a new connection also pays a TLS
handshake (a round trip or two), so clients are shared. Cancelling the consumer closes the HTTP
connection at once (the response is closed in a ``finally``).

httpx (~0.2 s to import) and the TLS context (~0.1 s to build) are prepared once, off the event
loop (:func:`prepare` in a thread); litellm is never imported here.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import importlib
import json
import os
import re
import sys
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..request import ResolvedRequest
from ..toolcalls import ToolCallPiece, pieces_of_delta
from . import retry
from .base import (
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    ProviderError,
    RequestSent,
    RetryNotice,
    StreamEnd,
    TextChunk,
    detail_from_error_body,
    ended_early,
    failure_for_status,
    url_problem,
    usage_from,
)
from .routing import api_base_of, openai_model_id

if TYPE_CHECKING:
    import httpx

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_API_BASE", "api_base_for", "prepare", "stream"]

DEFAULT_API_BASE = "https://api.openai.com/v1"
CONNECT_TIMEOUT = 10.0  # seconds; a server that does not accept a connection by then is not up
DONE_GRACE = 2.0  # seconds to wait for the end of the body after [DONE] (keeps the connection)
_ERROR_BODY_LIMIT = 64 * 1024
# Reasoning models reject max_tokens (litellm renames it the same way).
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)

# Imported by the first client and the first connection (~0.25 s, on the event loop otherwise).
_WARM_MODULES = ("httpcore", "httpcore._backends.anyio", "anyio._backends._asyncio", "h11")

_lock = threading.Lock()
_httpx: Any = None
_ssl_context: Any = None
_scan: Any = None  # json's C scanner: ~2x faster than json.loads on small objects
# One client per running event loop, and the async generator that closes it at loop shutdown.
_clients: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}


def prepare() -> None:
    """Import httpx (and what its first connection imports) and build the TLS context, once
    (thread-safe; ~0.5 s: call from a thread)."""
    global _httpx, _ssl_context, _scan
    if _httpx is not None:
        return
    with _lock:
        if _httpx is None:
            _skip_httpx_cli()
            import httpx

            for name in _WARM_MODULES:
                with contextlib.suppress(ImportError):  # optional warm-up
                    importlib.import_module(name)
            _ssl_context = httpx.create_ssl_context(trust_env=True)
            _scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
            _httpx = httpx


def _skip_httpx_cli() -> None:
    """``import httpx`` also imports its command-line tool (``httpx._main``: click, rich,
    pygments), ~130 ms of a fresh ``prompt-tui run`` for a tool we never call. httpx imports it
    in a ``try``/``except ImportError`` and falls back to a stub ``main``; a module that raises
    ImportError when imported takes that path. Only before httpx's first import, and only when
    nobody has loaded the real one."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    import importlib.abc
    import importlib.machinery

    class _NoHttpxCli(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "httpx._main":
                raise ImportError("prompt-tui does not load httpx's command-line tool")
            return None

    finder = _NoHttpxCli()
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module("httpx")
    finally:
        sys.meta_path.remove(finder)


def is_prepared() -> bool:
    return _httpx is not None


def api_base_for(call_options: dict[str, Any] | None) -> str:
    """The base URL a call goes to, in litellm's order of precedence."""
    return (
        api_base_of(call_options)
        or os.environ.get("OPENAI_BASE_URL")
        or os.environ.get("OPENAI_API_BASE")
        or DEFAULT_API_BASE
    )


# -- the shared client --------------------------------------------------------------------------


async def _close_at_shutdown(
    loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient
) -> AsyncGenerator[None, None]:
    # Started once and left suspended: the loop tracks it, and loop.shutdown_asyncgens() (run by
    # asyncio.run / asyncio.Runner at exit) closes it, which closes the client on its own loop.
    try:
        yield
    finally:
        if _clients.get(loop, (None,))[0] is client:
            del _clients[loop]
        if not loop.is_closed():
            await client.aclose()


async def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    entry = _clients.get(loop)
    if entry is not None and not entry[0].is_closed:
        return entry[0]
    # Forget clients whose loop closed without shutting down its async generators.
    for other in [lp for lp in list(_clients) if lp.is_closed()]:
        _clients.pop(other, None)
    if _httpx is None:
        await asyncio.to_thread(prepare)
    client = _httpx.AsyncClient(verify=_ssl_context, timeout=None, trust_env=True)
    keeper = _close_at_shutdown(loop, client)
    _clients[loop] = (client, keeper)
    await keeper.asend(None)
    return client


# -- errors -------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in out and len(out) < 20:
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _oserror_detail(exc: BaseException) -> str:
    for e in reversed(_chain(exc)):
        if isinstance(e, OSError) and (e.strerror or str(e)):
            return e.strerror or str(e)
    return str(exc) or type(exc).__name__


def _classify(exc: Exception, call: Call, connect: float, responded: bool) -> Failure:
    """A Failure for an exception from httpx or asyncio during one attempt."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:  # anyio's task groups wrap
        exc = exc.exceptions[0]
    httpx = _httpx
    where = call.where
    if isinstance(exc, httpx.ConnectTimeout):
        msg = f"timed out after {connect:g} s connecting to {where}"
        return Failure(msg, "timeout", None, False, kind="timeout")
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        msg = f"timed out after {call.timeout:g} s waiting for {where}"
        return Failure(msg, "timeout", None, False, kind="timeout")
    if any(isinstance(e, ConnectionRefusedError) for e in _chain(exc)):
        msg = f"connection refused: {where}"
        return Failure(msg, msg, None, True, kind="connection")
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        msg = f"invalid api_base {where}: {exc}"
        return Failure(msg, msg, None, False, kind="other")
    if responded and isinstance(exc, (httpx.TransportError, OSError)):
        msg = f"connection to {where} closed before the answer finished"
        return Failure(msg, "connection closed", None, True, kind="dropped")
    if isinstance(exc, (httpx.TransportError, OSError)):
        msg = f"connection failed: {where}: {_oserror_detail(exc)}"
        return Failure(msg, f"connection failed: {where}", None, True, kind="connection")
    # Never a bare Python exception name: say what failed, and the reason when there is one.
    said = " ".join(str(exc).split())
    detail = f"unexpected failure talking to {where}" + (f": {said}" if said else "")
    return Failure(f"{call.provider}: {detail}", detail, None, False, kind="other")


def _stream_error(obj: dict[str, Any], call: Call) -> Failure:
    """An ``{"error": ...}`` event inside a 200 stream."""
    detail, code = detail_from_error_body(obj)
    transient = code in ("server_error", "rate_limit_exceeded", "overloaded_error")
    msg = f"{call.provider}: error from {call.where}: {detail or 'unspecified error'}"
    return Failure(msg, "error in the stream", None, transient, kind="other")


def _malformed(call: Call, what: str) -> Failure:
    """A response that is JSON but not a chat completion: say what was wrong with it."""
    msg = f"{call.provider}: {call.where} sent a malformed response: {what}"
    return Failure(msg, "malformed response", None, False, kind="other")


def _malformed_chunk(obj: dict[str, Any], call: Call) -> Failure | None:
    """Why a stream chunk's ``choices`` cannot be read (None: a list of objects, maybe empty)."""
    choices = obj.get("choices")
    if choices is None:
        return None
    if not isinstance(choices, list):
        return _malformed(call, "choices is not a list")
    if choices and not isinstance(choices[0], dict):
        return _malformed(call, "choices[0] is not an object")
    return None


def _bad_data(call: Call, data: str) -> Failure:
    sample = " ".join(data[:80].split())
    msg = f"{call.provider}: {call.where} sent data that is not JSON: {sample!r}"
    return Failure(msg, "invalid data", None, False, kind="other")


async def _read_limited(response: httpx.Response, limit: int = _ERROR_BODY_LIMIT) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_bytes():
        parts.append(raw)
        size += len(raw)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


# -- the request --------------------------------------------------------------------------------


def _body(request: ResolvedRequest, model_id: str) -> tuple[bytes, dict[str, str]]:
    """The JSON body and the extra headers the settings ask for."""
    settings = {k: v for k, v in request.settings.items() if v is not None}
    extra_headers = settings.pop("extra_headers", None)
    extra_body = settings.pop("extra_body", None)
    if (
        _REASONING_MODEL.match(model_id)
        and "max_tokens" in settings
        and "max_completion_tokens" not in settings
    ):
        settings["max_completion_tokens"] = settings.pop("max_tokens")
    stream_options = settings.pop("stream_options", None)
    body: dict[str, Any] = {
        "model": model_id,
        "messages": request.messages,
        "stream": True,
        "stream_options": {
            **(stream_options if isinstance(stream_options, dict) else {}),
            "include_usage": True,
        },
    }
    for key, value in settings.items():
        body.setdefault(key, value)
    if isinstance(extra_body, dict):
        body.update(extra_body)
    try:
        content = json.dumps(body, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ProviderError(
            f"prompt '{request.prompt}': the request cannot be sent as JSON ({exc})",
            provider="openai",
            attempts=0,
        ) from None
    headers = (
        {str(k): str(v) for k, v in extra_headers.items()}
        if isinstance(extra_headers, dict)
        else {}
    )
    return content, headers


def _headers(api_key: str | None, extra: dict[str, str]) -> httpx.Headers:
    """Request headers; an ``httpx.Headers`` so that its repr masks the key."""
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    organization = os.environ.get("OPENAI_ORGANIZATION") or os.environ.get("OPENAI_ORG_ID")
    if organization:
        headers["openai-organization"] = organization
    project = os.environ.get("OPENAI_PROJECT_ID")
    if project:
        headers["openai-project"] = project
    headers.update({k.lower(): v for k, v in extra.items()})
    return _httpx.Headers(headers)


# -- streaming ----------------------------------------------------------------------------------


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
    base = api_base_for(request.call_options)
    call.where = call.api_base or base
    key = call.api_key or os.environ.get("OPENAI_API_KEY") or None
    call.secrets.append(key)
    model_id = openai_model_id(request.model)
    problem = url_problem(base)
    if problem:
        raise ProviderError(
            f"invalid api_base {call.where}: {problem}",
            provider=call.provider,
            attempts=0,
            secrets=call.secrets,
        )
    content, extra_headers = _body(request, model_id)
    if _httpx is None:
        await asyncio.to_thread(prepare)
    headers = _headers(key, extra_headers)
    url = base.rstrip("/") + "/chat/completions"
    connect = min(CONNECT_TIMEOUT, call.timeout)
    timeouts = _httpx.Timeout(call.timeout, connect=connect)

    async def attempt() -> AsyncGenerator[TextChunk | ToolCallPiece | AttemptEnd, None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + call.timeout
        response: httpx.Response | None = None
        finish: str | None = None
        usage = None
        answered_by: str | None = None
        try:
            client = await _client()
            async with asyncio.timeout_at(deadline):
                response = await client.send(
                    client.build_request(
                        "POST", url, content=content, headers=headers, timeout=timeouts
                    ),
                    stream=True,
                )
                if response.status_code >= 300:
                    detail, code = detail_from_error_body(await _read_limited(response))
                    raise AttemptFailed(
                        failure_for_status(
                            response.status_code,
                            detail,
                            provider=call.provider,
                            model=request.model,
                            where=call.where,
                            retry_after=retry.retry_after_from_headers(response.headers),
                            code=code,
                            placeholder_key=call.placeholder_key,
                        )
                    )
                sse = "event-stream" in response.headers.get("content-type", "")
                if not sse:  # the server ignored "stream": one JSON completion
                    whole = await response.aread()
            if not sse:
                text, finish, usage, answered_by, pieces = _whole_answer(whole, call)
                if text:
                    yield TextChunk(text)
                for whole_piece in pieces:
                    yield whole_piece
            else:
                scan = _scan
                decode = codecs.getincrementaldecoder("utf-8")("replace").decode
                reads = response.aiter_bytes().__aiter__()
                read_deadline = deadline
                buf = ""
                data: str | None = None  # the pending event's data lines
                event = ""
                done = False
                raw: bytes | None
                while True:
                    try:
                        async with asyncio.timeout_at(read_deadline):
                            raw = await reads.__anext__()
                    except StopAsyncIteration:
                        raw = None
                    except TimeoutError:
                        if done:  # [DONE] came but the body did not end: enough
                            break
                        raise
                    if raw is None:  # end of body: a last line without "\n" still counts
                        lines = [buf, ""] if buf else [""]
                        buf = ""
                    else:
                        lines = (buf + decode(raw)).split("\n")
                        buf = lines.pop()
                    if done:
                        if raw is None:
                            break
                        continue
                    out: list[str] = []
                    calls: list[ToolCallPiece] = []  # tool-call pieces of this read, in order
                    for line in lines:
                        if line.startswith("data:"):
                            payload = line[6:] if line[5:6] == " " else line[5:]
                            if payload[-1:] == "\r":
                                payload = payload[:-1]
                            data = payload if data is None else data + "\n" + payload
                            continue
                        if line and line != "\r":
                            if line.startswith("event:"):
                                event = line[6:].strip()
                            continue  # comments, id:, retry:
                        if data is None:  # a blank line ends an event (none pending)
                            event = ""
                            continue
                        # "[DONE]", also with odd whitespace ("data:   [DONE]  ")
                        if data == "[DONE]" or (data[:1] != "{" and data.strip() == "[DONE]"):
                            done = True
                            read_deadline = min(deadline, loop.time() + DONE_GRACE)
                            break
                        try:
                            obj = scan(data, 0)[0]
                        except (StopIteration, ValueError):
                            try:
                                obj = json.loads(data)
                            except ValueError:
                                if out:
                                    yield TextChunk("".join(out))
                                raise AttemptFailed(_bad_data(call, data)) from None
                        data = None
                        kind, event = event, ""
                        if not isinstance(obj, dict):
                            continue
                        bad = _malformed_chunk(obj, call)
                        if bad is not None:
                            if out:
                                yield TextChunk("".join(out))
                            raise AttemptFailed(bad)
                        if kind == "error" or ("error" in obj and not obj.get("choices")):
                            if out:
                                yield TextChunk("".join(out))
                            raise AttemptFailed(_stream_error(obj, call))
                        choices = obj.get("choices")
                        if choices:
                            choice = choices[0]
                            if choice.get("index", 0) == 0:
                                delta = choice.get("delta")
                                if isinstance(delta, dict):
                                    piece = delta.get("content")
                                    if piece and isinstance(piece, str):
                                        out.append(piece)
                                    if "tool_calls" in delta or "function_call" in delta:
                                        calls += pieces_of_delta(delta)
                                reason = choice.get("finish_reason")
                                if reason and isinstance(reason, str):
                                    finish = reason
                        raw_usage = obj.get("usage")
                        if raw_usage:
                            usage = usage_from(raw_usage) or usage
                        if answered_by is None:
                            answered_by = obj.get("model") or None
                    if out:
                        yield TextChunk("".join(out))
                    for call_piece in calls:
                        yield call_piece
                    if raw is None:
                        break
                if not done and finish is None:
                    # The body ended without a finish_reason and without [DONE]: a clean close
                    # mid-answer, or a 200 with no events. Never pass that off as an answer.
                    raise AttemptFailed(ended_early(call.where))
        except AttemptFailed:
            raise
        except Exception as exc:  # every failure becomes a classified Failure
            raise AttemptFailed(_classify(exc, call, connect, response is not None)) from None
        finally:
            if response is not None:
                await response.aclose()  # at once, also on cancel: never leave it open
        yield AttemptEnd(finish, usage, answered_by)

    inner = retry.run(
        attempt,
        call,
        model=model_id,
        price_model=model_id,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        sleep=sleep,
    )
    try:
        async for item in inner:
            yield item
    finally:
        await inner.aclose()


def _whole_answer(
    raw: bytes, call: Call
) -> tuple[str, str | None, Any, str | None, list[ToolCallPiece]]:
    """Text, finish_reason, usage, model and tool calls of a non-streamed chat completion."""
    try:
        obj = json.loads(raw)
    except ValueError:
        raise AttemptFailed(_bad_data(call, raw.decode("utf-8", "replace"))) from None
    if not isinstance(obj, dict):
        raise AttemptFailed(_malformed(call, "the answer is not a JSON object"))
    if "error" in obj and not obj.get("choices"):
        raise AttemptFailed(_stream_error(obj, call))
    choices = obj.get("choices")
    if choices is None:
        raise AttemptFailed(_malformed(call, "no choices"))
    if not isinstance(choices, list):
        raise AttemptFailed(_malformed(call, "choices is not a list"))
    if not choices:
        raise AttemptFailed(_malformed(call, "no choices"))
    choice = choices[0]
    if not isinstance(choice, dict):
        raise AttemptFailed(_malformed(call, "choices[0] is not an object"))
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    pieces = pieces_of_delta(message) if isinstance(message, dict) else []
    if not isinstance(text, str):
        text = ""
    reason = choice.get("finish_reason")
    model = obj.get("model")
    return (
        text,
        reason if isinstance(reason, str) else None,
        usage_from(obj.get("usage")) if isinstance(obj.get("usage"), dict) else None,
        model if isinstance(model, str) else None,
        pieces,
    )


# -- shared with the native clients (wire.py): one pooled client per loop, one classification of
# transport errors, one bounded read of an error body.
shared_client = _client
classify_exception = _classify
read_error_body = _read_limited


def httpx_module() -> Any:
    """httpx, imported by :func:`prepare` (None before)."""
    return _httpx
