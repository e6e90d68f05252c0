"""The part every native-protocol fake server shares (Anthropic, Gemini, Ollama): the HTTP
machinery of :class:`~tests.support.openai_server.OpenAIServer` (connections, keep-alive, chunked
bodies, request records, faults, reply text) with the protocol left to a subclass, which says how
to read a request (``view``: the messages and the token limit) and how to write the events
(``opening``, ``chunk``, ``end``, ``in_stream_error``, ``blocked``, ``error_body``).

Knobs (server-wide): ``crlf`` ends lines with CRLF; ``keepalive`` writes a keep-alive comment (SSE)
or a blank line (NDJSON) before every event; ``split_bytes`` writes each event in two network
writes cut inside a multi-byte character when it has one (a few ms apart, so that the client
reads them apart); ``send_usage = False`` leaves usage out; ``required_key`` answers 401 to a
request whose key header differs. ``RequestRecord.headers`` holds every header each request
carried (the key header included).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from tests.support.openai_server import (
    _BATCH,
    _WORDS,
    Fault,
    OpenAIServer,
    RequestRecord,
    _ClientGone,
    _Connection,
    _count_prompt_tokens,
)

__all__ = ["Fault", "NativeServer", "RequestRecord"]


class NativeServer(OpenAIServer):
    key_header = "authorization"
    content_type = "text/event-stream"
    sse = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.crlf = False
        self.keepalive = False
        self.split_bytes = False
        self.send_usage = True

    @property
    def base_url(self) -> str:  # native clients take the server's root
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        super().reset()
        self.crlf = self.keepalive = self.split_bytes = False
        self.send_usage = True

    def key_of(self, record: RequestRecord) -> str | None:
        value = record.headers.get(self.key_header)
        if value is not None and value.lower().startswith("bearer "):
            return value[7:]
        return value

    # -- the protocol (subclasses)
    def route_ok(self, record: RequestRecord) -> bool:
        raise NotImplementedError

    def view(self, record: RequestRecord) -> tuple[dict[str, Any], int | None]:
        """``({"model", "messages"} in the OpenAI shape, max tokens or None)``."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        raise NotImplementedError

    def opening(self, model: str, prompt_tokens: int) -> list[str]:
        return []

    def chunk(self, text: str) -> list[str]:
        raise NotImplementedError

    def end(self, finish: str, prompt_tokens: int, completion_tokens: int) -> list[str]:
        raise NotImplementedError

    def in_stream_error(self, message: str, code: str | None) -> list[str]:
        raise NotImplementedError

    def blocked(self, reason: str) -> list[str]:
        raise NotImplementedError

    # -- framing
    def frame(self, event: str | None, data: Any) -> str:
        """One SSE event (or, for NDJSON servers, one line)."""
        payload = data if isinstance(data, str) else json.dumps(data)
        if not self.sse:
            return payload + "\n"
        head = f"event: {event}\n" if event else ""
        return f"{head}data: {payload}\n\n"

    def _bytes(self, text: str) -> bytes:
        if self.crlf:
            text = text.replace("\n", "\r\n")
        if self.keepalive:
            text = (": keep-alive\n\n" if self.sse else "\n") + text
        return text.encode()

    # -- HTTP
    async def _handle(self, conn: _Connection, rec: RequestRecord, raw: bytes) -> bool:
        try:
            if self.required_key is not None and self.key_of(rec) != self.required_key:
                self._send_json(conn, rec, 401, self.error_body(401, "invalid x-api-key"))
                rec.completed = True
                return True
            if rec.method != "POST" or not self.route_ok(rec):
                message = f"no route for {rec.method} {rec.path}"
                self._send_json(conn, rec, 404, self.error_body(404, message))
                rec.completed = True
                return True
            if not isinstance(rec.body, dict):
                self._send_json(conn, rec, 400, self.error_body(400, "body must be JSON"))
                rec.completed = True
                return True
            return await self._stream(conn, rec)
        except _ClientGone:
            rec.disconnected = not rec.completed
            rec.ended = time.monotonic()
            self._touch()
            return False
        finally:
            if rec.ended is None:
                rec.ended = time.monotonic()
            self._touch()

    async def _stream(self, conn: _Connection, rec: RequestRecord) -> bool:
        fault = self._next_fault()
        rec.fault = fault
        rec.stream = True
        chat, limit = self.view(rec)
        delay = self.first_byte_delay
        if fault is not None and fault.kind == "slow":
            delay += fault.seconds
        if fault is not None and fault.kind == "hang":
            await conn.closed_event.wait()
            raise _ClientGone
        await conn.sleep(delay)
        if fault is not None and fault.kind == "raw":
            payload = (fault.text or "").encode()
            headers = {"content-type": fault.message or "", "content-length": str(len(payload))}
            self._write_head(conn, rec, 200, headers)
            conn.write(payload)
            rec.completed = True
            return True
        if fault is not None and fault.kind == "status":
            extra = {}
            if fault.retry_after is not None:
                extra["retry-after"] = str(fault.retry_after)
            code = fault.status_code
            message = fault.message or f"injected {code}"
            self._send_json(conn, rec, code, self.error_body(code, message), extra)
            rec.completed = True
            return True

        tokens = (
            _WORDS.findall(fault.text or "")
            if fault is not None and fault.kind == "reply"
            else self._tokens_for(chat, None)
        )
        finish = "stop"
        if isinstance(limit, int) and 0 < limit < len(tokens):
            tokens, finish = tokens[:limit], "length"
        prompt_tokens = _count_prompt_tokens(chat)
        model = self.model_name or str(chat.get("model") or "test-model")
        self._write_head(
            conn,
            rec,
            200,
            {
                "content-type": self.content_type,
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
                "request-id": f"req_{uuid.uuid4().hex[:12]}",
            },
        )

        pending: list[bytes] = []
        batched = not (self.split_bytes or self.chunk_delay)

        async def send(data: bytes) -> None:
            conn.write(b"%x\r\n%s\r\n" % (len(data), data))
            await conn.drain()
            await asyncio.sleep(0)  # give other connections (and close notifications) a turn
            if conn.closed:
                raise _ClientGone

        async def flush() -> None:
            if pending:
                data = b"".join(pending)
                pending.clear()
                await send(data)

        async def write(parts: list[str], *, last: bool = False) -> None:
            for part in parts:
                data = self._bytes(part)
                if batched:  # as fast as the socket takes them, many events per write
                    pending.append(data)
                    continue
                cut = len(data) // 2
                if self.split_bytes:
                    for i, byte in enumerate(data):
                        if byte >= 0xC0:  # the first byte of a multi-byte character
                            cut = i + 1
                            break
                for piece in (data[:cut], data[cut:]) if self.split_bytes else (data,):
                    if piece:
                        await send(piece)
                        if self.split_bytes:
                            await asyncio.sleep(0.002)  # read apart by the client
            if len(pending) >= _BATCH or last:
                await flush()
            if self.chunk_delay:
                await conn.sleep(self.chunk_delay)

        kind = fault.kind if fault is not None else ""
        n = fault.n_chunks if fault is not None else 0
        if kind == "blocked":
            await write(self.blocked(fault.message or "SAFETY"), last=True)  # type: ignore[union-attr]
            return await self._finish_body(conn, rec)
        await write(self.opening(model, prompt_tokens))
        for i, token in enumerate(tokens):
            if kind in ("drop", "end", "error") and i >= n:
                break
            await write(self.chunk(token))
            rec.chunks_sent = i + 1
        if kind == "error":
            await write(self.in_stream_error(fault.message or "Overloaded", fault.text), last=True)  # type: ignore[union-attr]
            return await self._finish_body(conn, rec)
        if kind == "drop":
            await flush()
            await conn.flush_and_abort()
            return False
        if kind == "end":
            await flush()
            return await self._finish_body(conn, rec)
        await write(self.end(finish, prompt_tokens, len(tokens)), last=True)
        return await self._finish_body(conn, rec)

    async def _finish_body(self, conn: _Connection, rec: RequestRecord) -> bool:
        conn.write(b"0\r\n\r\n")
        await conn.drain()
        rec.completed = True
        rec.ended = time.monotonic()
        return True
