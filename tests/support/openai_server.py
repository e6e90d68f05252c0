"""A real OpenAI-compatible chat completions server on 127.0.0.1, for tests and benchmarks.

It runs an asyncio event loop in a daemon thread and speaks just enough HTTP/1.1 (keep-alive,
chunked SSE) for httpx, the OpenAI SDK and litellm::

    with OpenAIServer() as server:
        server.enqueue(Fault.status(429, retry_after=0.2))   # first request: 429
        ...  # point a client at server.base_url ("http://127.0.0.1:PORT/v1")
        assert len(server.requests) == 2

Endpoints: ``POST /v1/chat/completions`` (non-streaming, and streaming SSE when ``stream`` is
true, with a final usage chunk when ``stream_options.include_usage`` is true) and
``GET /v1/models``. Anything else answers 404 in the OpenAI error format.

Replies
    Default: ``"echo: <last user message>"``. ``reply_with(text)`` or ``reply_with(fn)``
    (``fn(body) -> str``) replaces it; ``tokens_per_response = N`` replaces it with N generated
    tokens (``"w0 w1 w2 ..."``, one token per chunk) for throughput benchmarks. The reply is split
    into word tokens (each token keeps its trailing whitespace) and each token is one SSE chunk.
    ``per_model = True`` makes the default ``"<model> says: <last user message>"`` (comparison
    columns get their own model's text); ``model_delays[name]`` slows one model's first byte.
    ``max_tokens`` / ``max_completion_tokens`` in the body truncate the reply
    (``finish_reason="length"``).

Usage
    ``prompt_tokens`` = whitespace-separated words in every message's text content,
    ``completion_tokens`` = tokens sent, ``total_tokens`` = their sum.
    ``tokenizer = "o200k_base"`` (or another tiktoken encoding) counts like OpenAI instead:
    ``prompt_tokens`` with that encoding and OpenAI's chat framing (3 tokens per message, 1 per
    name, 3 to prime the reply), and the reply is split into that encoding's tokens (one per
    chunk; ``max_tokens`` cuts at that many), so usage is what OpenAI would bill.

Timing knobs (server-wide, may be changed while running)
    ``first_byte_delay``: seconds before the response headers (every request).
    ``delay_per_request``: total latency of a request. Streaming: headers and the first chunk go
        out at once and the remaining chunks are paced evenly so the last one leaves
        ``delay_per_request`` seconds after the request arrived (a realistic stream: small TTFT,
        fixed duration). Non-streaming: the whole body is sent after that delay. For "everything
        at the end" streaming, use ``first_byte_delay`` instead.
    ``chunk_delay``: seconds slept between content chunks (added to any pacing).
    With all of them 0 (the default) chunks are written as fast as the socket accepts them.

Keys: ``required_key = "..."`` answers 401 to every request without that bearer key (a vLLM
started with ``--api-key``); ``RequestRecord.api_key`` is the key a request carried.

Faults: ``enqueue(Fault...)`` queues behaviours (errors, drops, clean early ends, stalls, raw
bodies); each chat request consumes the next one (FIFO),
and requests with an empty queue behave normally. See :class:`Fault`.

Records: ``server.requests`` is a snapshot list of :class:`RequestRecord` (one per HTTP request,
in arrival order). ``disconnected`` is true when the client closed the connection before the
server finished the response. ``wait_for(predicate)`` waits for a condition on the records.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

__all__ = ["Fault", "OpenAIServer", "RequestRecord"]

_WORDS = re.compile(r"\S+\s*|\s+")


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Status"


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}
# Batch this many SSE events per socket write when no pacing is asked for.
_BATCH = 256


@dataclass(frozen=True)
class Fault:
    """One scripted behaviour for one request. Build with the class methods."""

    kind: str
    status_code: int = 0
    retry_after: float | str | None = None
    message: str | None = None
    n_chunks: int = 0
    seconds: float = 0.0
    text: str | None = None

    @classmethod
    def status(
        cls, code: int, *, retry_after: float | str | None = None, message: str | None = None
    ) -> Fault:
        """Answer with HTTP ``code`` and an OpenAI-style error body.

        ``retry_after`` is sent verbatim as the ``Retry-After`` header: a number of seconds
        (floats allowed, e.g. 0.2) or a string such as an HTTP date (see :func:`http_date`).
        """
        return cls("status", status_code=code, retry_after=retry_after, message=message)

    @classmethod
    def drop_after(cls, n_chunks: int) -> Fault:
        """Stream ``n_chunks`` content chunks, then abort the connection (no [DONE], no end of
        the chunked body). ``drop_after(0)``: headers and the role chunk only. A non-streaming
        request gets its headers and then the abort."""
        return cls("drop", n_chunks=n_chunks)

    @classmethod
    def slow_first_byte(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before sending anything, then reply normally."""
        return cls("slow", seconds=seconds)

    @classmethod
    def stall_after(cls, n_chunks: int, seconds: float) -> Fault:
        """Stream ``n_chunks`` content chunks, stall ``seconds``, then finish normally."""
        return cls("stall", n_chunks=n_chunks, seconds=seconds)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer (until the client gives up or the server stops)."""
        return cls("hang")

    @classmethod
    def end_after(cls, n_chunks: int) -> Fault:
        """Stream ``n_chunks`` content chunks, then end the body cleanly: no finish_reason, no
        [DONE] (a truncated answer that looks like a normal close). ``end_after(0)``: a 200
        with the role chunk only."""
        return cls("end", n_chunks=n_chunks)

    @classmethod
    def raw(cls, body: str, *, content_type: str = "application/json") -> Fault:
        """Answer 200 with exactly ``body`` (e.g. malformed JSON or a hand-written SSE
        stream)."""
        return cls("raw", text=body, message=content_type)

    @classmethod
    def error_after(cls, n_chunks: int, message: str, code: str | None = None) -> Fault:
        """Native servers: stream ``n_chunks`` chunks, then the protocol's in-stream error
        (Anthropic's ``error`` event of type ``code``, Gemini's error frame, Ollama's
        ``{"error": ...}`` line) and end the body."""
        return cls("error", n_chunks=n_chunks, message=message, text=code)

    @classmethod
    def blocked(cls, reason: str = "SAFETY") -> Fault:
        """Native servers: a safety block instead of an answer (Gemini's
        ``promptFeedback.blockReason`` with no candidates, Anthropic's ``refusal``)."""
        return cls("blocked", message=reason)

    @classmethod
    def reply(cls, text: str) -> Fault:
        """Reply with ``text`` for this one request."""
        return cls("reply", text=text)

    @classmethod
    def tool_calls(
        cls, *calls: tuple[str, str], piece: int = 4, model: str = "test-model"
    ) -> Fault:
        """Answer with tool calls, streamed as a real server streams them: the first delta of
        each call carries its index, id and name, then its JSON ``arguments`` arrive in pieces of
        ``piece`` characters; ``finish_reason`` "tool_calls", a usage chunk, ``[DONE]``.
        ``calls``: (function name, arguments JSON text)."""
        events: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
        ]
        for index, (name, arguments) in enumerate(calls):
            first = {"index": index, "id": f"call_{index}_x", "type": "function"}
            first["function"] = {"name": name, "arguments": ""}
            events.append({"choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
            for start in range(0, len(arguments), max(1, piece)):
                fragment = {
                    "index": index,
                    "function": {"arguments": arguments[start : start + piece]},
                }
                events.append({"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}]})
        events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        events.append(
            {
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            }
        )
        body = "".join(
            "data: " + json.dumps({"id": "chatcmpl-t", "model": model, **e}) + "\n\n"
            for e in events
        )
        return cls.raw(body + "data: [DONE]\n\n", content_type="text/event-stream")


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (for ``Retry-After``) ``seconds_from_now`` in the future."""
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclass
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when absent / not JSON
    arrived: float  # time.monotonic() when the request was fully read
    ended: float | None = None  # time.monotonic() when the response ended (or the client left)
    status: int | None = None
    fault: Fault | None = None
    stream: bool = False
    chunks_sent: int = 0  # content chunks written
    completed: bool = False  # the full response was written
    disconnected: bool = False  # the client closed the connection before the response ended
    first_byte: float | None = None  # time.monotonic() when the response headers were written

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def api_key(self) -> str | None:
        auth = self.authorization or ""
        return auth[7:] if auth.lower().startswith("bearer ") else None

    @property
    def content_parts(self) -> list[dict[str, Any]]:
        """Every non-text content part of every message received (image_url, file...)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [
            part
            for message in messages or []
            if isinstance(message, dict) and isinstance(message.get("content"), list)
            for part in message["content"]
            if isinstance(part, dict) and part.get("type") != "text"
        ]

    @property
    def image_urls(self) -> list[str]:
        """The ``image_url`` parts received, as their URLs (``data:`` URLs for local files)."""
        return [
            str(part.get("image_url", {}).get("url"))
            for part in self.content_parts
            if part.get("type") == "image_url"
        ]

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else self.ended - self.arrived


class _ClientGone(Exception):
    pass


class _Connection(asyncio.Protocol):
    """One TCP connection: buffers input, tracks close, and supports flow control."""

    def __init__(self, server: OpenAIServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.closed_event = asyncio.Event()
        self._data = asyncio.Event()
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused = False
        self.task: asyncio.Task[None] | None = None

    # -- protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._conns.add(self)
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._data.set()

    def eof_received(self) -> bool:
        self._mark_closed()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_closed()
        self.server._conns.discard(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        w, self._drain_waiter = self._drain_waiter, None
        if w is not None and not w.done():
            w.set_result(None)

    def _mark_closed(self) -> None:
        if not self.closed:
            self.closed = True
            self.closed_event.set()
            self._data.set()
            w, self._drain_waiter = self._drain_waiter, None
            if w is not None and not w.done():
                w.set_result(None)

    # -- helpers used by the handler
    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            raise _ClientGone
        self.transport.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise _ClientGone
        if self._paused:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter
            if self.closed:
                raise _ClientGone

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise _ClientGone as soon as the client goes away."""
        if self.closed:
            raise _ClientGone
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.closed_event.wait()
        if self.closed:
            raise _ClientGone

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def flush_and_abort(self) -> None:
        """Let the written bytes reach the socket, then drop the connection without a clean end."""
        for _ in range(200):
            if self.closed or self.transport is None:
                break
            if self.transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.005)
        self.abort()

    async def _read_until(self, marker: bytes, limit: int = 1 << 20) -> bytes | None:
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[: i + len(marker)]
                return out
            if self.closed or len(self.buf) > limit:
                return None
            self._data.clear()
            await self._data.wait()

    async def _read_exact(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if self.closed:
                return None
            self._data.clear()
            await self._data.wait()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def _read_request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        head = await self._read_until(b"\r\n\r\n")
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await self._read_until(b"\r\n")
                if size_line is None:
                    return None
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await self._read_until(b"\r\n")
                    break
                part = await self._read_exact(size + 2)
                if part is None:
                    return None
                parts.append(part[:-2])
            body = b"".join(parts)
        elif "content-length" in headers:
            got = await self._read_exact(int(headers["content-length"]))
            if got is None:
                return None
            body = got
        return method, target, headers, body

    async def _serve(self) -> None:
        try:
            while not self.closed:
                req = await self._read_request()
                if req is None:
                    break
                method, target, headers, raw = req
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                record = RequestRecord(
                    method=method,
                    path=target.split("?", 1)[0],
                    headers=headers,
                    body=body,
                    arrived=time.monotonic(),
                )
                self.server._add_record(record)
                keep = await self.server._handle(self, record, raw)
                if record.ended is None:
                    record.ended = time.monotonic()
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except _ClientGone:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the test server must not hang the client
            self.server.errors.append(repr(sys.exc_info()[1]))
        finally:
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()


class OpenAIServer:
    """See the module docstring. Start with ``start()`` or ``with OpenAIServer() as server:``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.delay_per_request: float = 0.0
        self.first_byte_delay: float = 0.0
        self.chunk_delay: float = 0.0
        self.tokens_per_response: int | None = None
        self.model_name: str | None = None  # echo the request's model when None
        # When set, every request whose bearer key differs gets 401 (like vLLM's --api-key).
        self.required_key: str | None = None
        # per_model: the default reply names the model ("<model> says: <last user message>"), so
        # a comparison's columns get different texts; model_delays: extra first-byte delay
        # (seconds) for requests of a model name (one slow column among fast ones)
        self.per_model: bool = False
        self.model_delays: dict[str, float] = {}
        self.tokenizer: str | None = None  # a tiktoken encoding: count usage like OpenAI
        self.errors: list[str] = []  # unexpected exceptions inside the server (should stay empty)
        self._reply: str | Callable[[Any], str] | None = None
        self._faults: deque[Fault] = deque()
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[_Connection] = set()
        self._token_cache: tuple[int, list[str]] | None = None

    # -- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> OpenAIServer:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(
                        lambda: _Connection(self), self.host, self.port, backlog=2048
                    )
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="openai-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.abort()
        tasks = [c.task for c in list(self._conns) if c.task is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            if self._server is not None:
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def stop(self) -> None:
        """Abort every connection and stop the thread (returns within about a second)."""
        if self._thread is None or self._loop is None:
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._thread = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming
    def reply_with(self, reply: str | Callable[[Any], str] | None) -> None:
        """Reply text for every later request: a string, a function ``body -> str``, or None for
        the default echo."""
        self._reply = reply

    def enqueue(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Forget records, queued faults, reply and knobs."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
        self._reply = None
        self.delay_per_request = self.first_byte_delay = self.chunk_delay = 0.0
        self.tokens_per_response = None
        self.required_key = None
        self.per_model = False
        self.model_delays = {}

    # -- records
    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    @property
    def chat_requests(self) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if r.path.endswith("/chat/completions")]

    def settle(self, timeout: float = 5.0) -> list[RequestRecord]:
        """The records once every response has ended: a client can hold the whole stream a
        moment before the server has marked the record completed."""
        self.wait_for(lambda records: all(r.ended is not None for r in records), timeout)
        return self.requests

    def wait_for(
        self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 5.0
    ) -> bool:
        """Block until ``predicate(records)`` is true (checked whenever a record changes)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._records)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def _add_record(self, record: RequestRecord) -> None:
        with self._cond:
            self._records.append(record)
            self._cond.notify_all()

    def _touch(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- reply text
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _encoding(self) -> Any:
        from tui_app.core.tokenize import encoding  # the shipped BPE file: no download

        enc = encoding(self.tokenizer or "")
        if enc is None:
            raise RuntimeError(f"no local tiktoken file for {self.tokenizer}")
        return enc

    def _tokens_for(self, body: Any, fault: Fault | None) -> list[str]:
        words = self._words_for(body, fault)
        if self.tokenizer is None:
            return words
        enc = self._encoding()
        return [enc.decode([t]) for t in enc.encode("".join(words), disallowed_special=())]

    def _count_prompt(self, body: Any) -> int:
        if self.tokenizer is None:
            return _count_prompt_tokens(body)
        enc = self._encoding()
        total = 3  # every reply is primed with <|start|>assistant<|message|>
        for message in body.get("messages") or []:
            total += 3
            for key, value in message.items():
                text = _text_of(value) if key == "content" else value
                if isinstance(text, str):
                    total += len(enc.encode(text, disallowed_special=()))
                    total += 1 if key == "name" else 0
        return total

    def _words_for(self, body: Any, fault: Fault | None) -> list[str]:
        if fault is not None and fault.kind == "reply":
            return _WORDS.findall(fault.text or "")
        reply = self._reply
        if reply is not None:
            text = reply(body) if callable(reply) else reply
            return _WORDS.findall(text)
        n = self.tokens_per_response
        if n is not None:
            cached = self._token_cache
            if cached is None or cached[0] != n:
                toks = [f"w{i % 1000} " for i in range(n)]
                if toks:
                    toks[-1] = toks[-1].rstrip()
                cached = (n, toks)
                self._token_cache = cached
            return cached[1]
        if self.per_model:
            model = str(body.get("model") or "test-model")
            return _WORDS.findall(f"{model} says: " + _last_user_text(body))
        return _WORDS.findall("echo: " + _last_user_text(body))

    # -- HTTP
    async def _handle(self, conn: _Connection, rec: RequestRecord, raw: bytes) -> bool:
        """Answer one request. Returns whether the connection may be reused."""
        try:
            if self.required_key is not None and rec.api_key != self.required_key:
                self._send_error(conn, rec, 401, "Incorrect API key provided")
                rec.completed = True
                return True
            if rec.method == "GET" and rec.path.rstrip("/").endswith("/models"):
                data = {"object": "list", "data": [{"id": "test-model", "object": "model"}]}
                self._send_json(conn, rec, 200, data)
                rec.completed = True
                return True
            if rec.method != "POST" or not rec.path.rstrip("/").endswith("/chat/completions"):
                self._send_error(conn, rec, 404, f"no route for {rec.method} {rec.path}")
                rec.completed = True
                return True
            if not isinstance(rec.body, dict) or not isinstance(rec.body.get("messages"), list):
                self._send_error(conn, rec, 400, "body must be JSON with a 'messages' list")
                rec.completed = True
                return True
            return await self._chat(conn, rec)
        except _ClientGone:
            rec.disconnected = not rec.completed
            rec.ended = time.monotonic()
            self._touch()
            return False
        finally:
            if rec.ended is None:
                rec.ended = time.monotonic()
            self._touch()

    def _write_head(
        self, conn: _Connection, rec: RequestRecord, status: int, headers: dict[str, str]
    ) -> None:
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        conn.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        rec.status = status
        rec.first_byte = time.monotonic()

    def _send_json(
        self,
        conn: _Connection,
        rec: RequestRecord,
        status: int,
        data: Any,
        extra: dict[str, str] | None = None,
    ) -> None:
        payload = json.dumps(data).encode()
        headers = {
            "content-type": "application/json",
            "content-length": str(len(payload)),
            "x-request-id": f"req_{uuid.uuid4().hex[:12]}",
        }
        headers.update(extra or {})
        self._write_head(conn, rec, status, headers)
        conn.write(payload)

    def _send_error(
        self,
        conn: _Connection,
        rec: RequestRecord,
        status: int,
        message: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        err = {
            "error": {
                "message": message,
                "type": _ERROR_TYPES.get(status, "server_error"),
                "param": None,
                "code": str(status),
            }
        }
        self._send_json(conn, rec, status, err, extra)

    async def _chat(self, conn: _Connection, rec: RequestRecord) -> bool:
        body: dict[str, Any] = rec.body
        fault = self._next_fault()
        rec.fault = fault
        stream = bool(body.get("stream"))
        rec.stream = stream

        delay = self.first_byte_delay + self.model_delays.get(str(body.get("model")), 0.0)
        if fault is not None and fault.kind == "slow":
            delay += fault.seconds
        if fault is not None and fault.kind == "hang":
            await conn.closed_event.wait()
            raise _ClientGone
        await conn.sleep(delay)

        if fault is not None and fault.kind == "raw":
            payload = (fault.text or "").encode()
            self._write_head(
                conn,
                rec,
                200,
                {"content-type": fault.message or "", "content-length": str(len(payload))},
            )
            conn.write(payload)
            rec.completed = True
            return True

        if fault is not None and fault.kind == "status":
            extra = {}
            if fault.retry_after is not None:
                extra["retry-after"] = str(fault.retry_after)
            code = fault.status_code
            self._send_error(
                conn,
                rec,
                code,
                fault.message or f"injected {code} {_reason(code)}".strip(),
                extra,
            )
            rec.completed = True
            return True

        tokens = self._tokens_for(body, fault)
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and 0 < limit < len(tokens):
            tokens = tokens[:limit]
            finish = "length"
        model = self.model_name or str(body.get("model") or "test-model")
        prompt_tokens = self._count_prompt(body)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        if not stream:
            await conn.sleep(self.delay_per_request - (time.monotonic() - rec.arrived))
            if fault is not None and fault.kind == "drop":
                self._write_head(
                    conn, rec, 200, {"content-type": "application/json", "content-length": "100000"}
                )
                await conn.flush_and_abort()
                return False
            data = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens)},
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
            self._send_json(conn, rec, 200, data)
            rec.chunks_sent = len(tokens)
            rec.completed = True
            return True

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._write_head(
            conn,
            rec,
            200,
            {
                "content-type": "text/event-stream",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
                "x-request-id": f"req_{uuid.uuid4().hex[:12]}",
            },
        )
        usage_null = ',"usage":null' if include_usage else ""
        prefix = (
            f'data: {{"id":"{cid}","object":"chat.completion.chunk","created":{created},'
            f'"model":{json.dumps(model)},"system_fingerprint":null,"choices":[{{"index":0,'
        ).encode()
        mid = b'"delta":{"content":'
        suffix = ('},"logprobs":null,"finish_reason":null}]' + usage_null + "}\n\n").encode()
        role = (
            prefix
            + b'"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]'
            + usage_null.encode()
            + b"}\n\n"
        )

        drop_at = fault.n_chunks if fault is not None and fault.kind in ("drop", "end") else None
        clean_end = fault is not None and fault.kind == "end"
        stall_at = fault.n_chunks if fault is not None and fault.kind == "stall" else None
        pending: list[bytes] = [role]

        async def flush() -> None:
            if pending:
                data = b"".join(pending)
                pending.clear()
                conn.write(b"%x\r\n%s\r\n" % (len(data), data))
                await conn.drain()
                # give other connections (and close notifications) a turn
                await asyncio.sleep(0)
                if conn.closed:
                    raise _ClientGone

        n = len(tokens)
        total = self.delay_per_request
        chunk_delay = self.chunk_delay
        paced = total > 0 or chunk_delay > 0
        t0 = rec.arrived
        dumps = json.dumps
        for i, tok in enumerate(tokens):
            if drop_at is not None and i >= drop_at:
                break
            if stall_at is not None and i == stall_at:
                await flush()
                await conn.sleep(fault.seconds)  # type: ignore[union-attr]
            pending.append(prefix + mid + dumps(tok).encode() + suffix)
            rec.chunks_sent = i + 1
            if paced:
                await flush()
                if i + 1 < n:
                    wait = chunk_delay
                    if total > 0:
                        target = t0 + total * (i + 1) / max(n - 1, 1)
                        wait += target - time.monotonic()
                    if wait > 0.0005:
                        await conn.sleep(wait)
            elif len(pending) >= _BATCH:
                await flush()
        if clean_end:  # end the chunked body properly, without finish_reason or [DONE]
            await flush()
            conn.write(b"0\r\n\r\n")
            await conn.drain()
            rec.completed = True
            return True
        if drop_at is not None:
            await flush()
            await conn.flush_and_abort()
            return False
        if total > 0:
            await conn.sleep(t0 + total - time.monotonic())
        pending.append(
            prefix
            + b'"delta":{},"logprobs":null,"finish_reason":"'
            + finish.encode()
            + b'"}]'
            + usage_null.encode()
            + b"}\n\n"
        )
        if include_usage:
            pending.append(
                (
                    f'data: {{"id":"{cid}","object":"chat.completion.chunk","created":{created},'
                    f'"model":{dumps(model)},"system_fingerprint":null,"choices":[],'
                    f'"usage":{dumps(usage)}}}\n\n'
                ).encode()
            )
        pending.append(b"data: [DONE]\n\n")
        await flush()
        conn.write(b"0\r\n\r\n")
        await conn.drain()
        rec.completed = True
        rec.ended = time.monotonic()
        return True


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _last_user_text(body: Any) -> str:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return _text_of(msg.get("content"))
    return ""


def _count_prompt_tokens(body: Any) -> int:
    return sum(
        len(_text_of(m.get("content")).split())
        for m in body.get("messages") or []
        if isinstance(m, dict)
    )
