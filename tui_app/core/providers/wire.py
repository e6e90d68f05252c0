"""What the native streaming clients (Anthropic, Gemini, Ollama) share: line readers for SSE and
NDJSON bodies, one streaming attempt over httpx, error-body reading, message-content helpers.

A native client supplies a *decoder*: an object that is fed each network read's complete lines
and collects text pieces, raising :class:`~.base.AttemptFailed` for an error the stream carries,
and whose ``end()`` says how the stream ended (or raises the truncation failure when the
provider's stop event never came). :func:`attempt` does the rest the same way for every
provider: the POST (on the pooled client of :mod:`.openai_compat`), HTTP error statuses with the
server's own message, joining the pieces of one network read into one :class:`TextChunk`, and
classifying transport errors. The retry loop (:mod:`.retry`) is the same as everyone's.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from . import openai_compat, retry
from .base import (
    AttemptEnd,
    AttemptFailed,
    Call,
    Failure,
    ProviderError,
    TextChunk,
    detail_from_error_body,
    failure_for_status,
    is_quota_failure,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Decoder",
    "NDJSONLines",
    "SSEEvents",
    "attempt",
    "bad_data",
    "detail_from_error_body",
    "dumps",
    "image_part",
    "in_stream_failure",
    "is_quota_failure",
    "text_of",
]


class SSEEvents:
    """Server-sent events from decoded text, split anywhere: ``feed(text)`` returns the events
    completed so far as ``(event name, data)``; ``end()`` those a body ended without a blank
    line. Tolerates CRLF and CR line ends, comments (``: keep-alive``), ``data:`` with or without
    the space, multi-line data (joined with "\\n") and ``id:``/``retry:`` fields."""

    __slots__ = ("_buf", "_data", "_event")

    def __init__(self) -> None:
        self._buf = ""
        self._data: str | None = None
        self._event = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        lines = (self._buf + text).split("\n")
        self._buf = lines.pop()
        return self._lines(lines)

    def end(self) -> list[tuple[str, str]]:
        lines = [self._buf, ""] if self._buf else [""]
        self._buf = ""
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for line in lines:
            if line[-1:] == "\r":
                line = line[:-1]
            if "\r" in line:  # a lone CR ends a line too (the SSE spec allows it)
                *head, line = line.split("\r")
                out += self._lines(head)
            if not line:
                if self._data is not None:
                    out.append((self._event or "message", self._data))
                self._data, self._event = None, ""
                continue
            name, colon, value = line.partition(":")
            if not colon or not name:
                if not name and colon:
                    continue  # a comment
                value = ""
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data = value if self._data is None else self._data + "\n" + value
            elif name == "event":
                self._event = value.strip()
        return out


class NDJSONLines:
    """Newline-delimited JSON from decoded text, split anywhere: ``feed(text)`` returns the
    complete non-blank lines (CRLF tolerated); ``end()`` a last line without a newline."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = ""

    def feed(self, text: str) -> list[str]:
        lines = (self._buf + text).split("\n")
        self._buf = lines.pop()
        return [line.strip() for line in lines if line.strip()]

    def end(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []


class Decoder(Protocol):
    """One attempt's protocol state (see the module docstring): ``feed`` gets decoded text (never
    empty) and appends answer text to ``pieces``; ``end`` flushes what is left and says how the
    stream ended, or raises the truncation failure."""

    pieces: list[str]

    def feed(self, text: str) -> None: ...

    def end(self) -> AttemptEnd: ...


def bad_data(call: Call, data: str) -> Failure:
    sample = " ".join(data[:80].split())
    msg = f"{call.provider}: {call.where} sent data that is not JSON: {sample!r}"
    return Failure(msg, "invalid data", None, False, kind="other", no_retry="a malformed answer")


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # C scanner: ~2x json.loads


def loads(data: str, call: Call) -> Any:
    """One event's JSON (a stream's hot path: json's C scanner, json.loads for what it leaves)."""
    try:
        value, end = _scan(data, 0)
        if end == len(data) or not data[end:].strip():
            return value
    except (StopIteration, ValueError):
        pass
    try:
        return json.loads(data)
    except ValueError:
        raise AttemptFailed(bad_data(call, data)) from None


def in_stream_failure(call: Call, kind: str, detail: str, transient: bool) -> Failure:
    """An error the provider sent inside a 200 stream (Anthropic's ``overloaded_error`` event,
    Ollama's ``{"error": ...}`` line): named, with the server's words; retried before any text
    when the provider says it is transient."""
    said = f": {detail}" if detail else ""
    msg = f"{call.provider}: {kind} in the stream{said}"
    why = "" if transient else "the provider reported a permanent error"
    return Failure(msg, f"{kind} in the stream", None, transient, kind="other", no_retry=why)


def dumps(body: dict[str, Any], prompt: str, provider: str) -> bytes:
    try:
        return json.dumps(body, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ProviderError(
            f"prompt '{prompt}': the request cannot be sent as JSON ({exc})",
            provider=provider,
            attempts=0,
        ) from None


# -- canonical (OpenAI-shaped) message content ------------------------------------------------


def text_of(content: Any) -> str:
    """The text of an OpenAI-shaped content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") in ("text", "input_text")
        )
    return str(content)


def image_part(part: dict[str, Any]) -> tuple[str, str] | tuple[None, str]:
    """``(mime type, base64 data)`` for a ``data:`` URL image part, ``(None, url)`` for a remote
    URL."""
    image = part.get("image_url")
    url = str(image.get("url") if isinstance(image, dict) else image or "")
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return head or "application/octet-stream", data
    return None, url


def tool_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments as an object (OpenAI sends a JSON string)."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            value = json.loads(raw)
        except ValueError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_value": value}
    return {}


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


# -- one attempt ------------------------------------------------------------------------------

ErrorReader = Callable[[bytes], tuple[str, str | None]]


async def attempt(
    call: Call,
    *,
    url: str,
    content: bytes,
    headers: dict[str, str],
    decoder: Decoder,
    model: str,
    error_detail: ErrorReader = detail_from_error_body,
) -> AsyncGenerator[TextChunk | AttemptEnd, None]:
    """POST ``content`` to ``url`` and stream the answer through ``decoder`` (one attempt)."""
    if not openai_compat.is_prepared():
        await asyncio.to_thread(openai_compat.prepare)
    httpx_mod = openai_compat.httpx_module()
    connect = min(openai_compat.CONNECT_TIMEOUT, call.timeout)
    timeouts = httpx_mod.Timeout(call.timeout, connect=connect)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + call.timeout
    response: httpx.Response | None = None
    pieces = decoder.pieces
    try:
        client = await openai_compat.shared_client()
        async with asyncio.timeout_at(deadline):
            response = await client.send(
                client.build_request(
                    "POST",
                    url,
                    content=content,
                    headers=httpx_mod.Headers(headers),  # its repr masks auth headers
                    timeout=timeouts,
                ),
                stream=True,
            )
            if response.status_code >= 300:
                detail, code = error_detail(await openai_compat.read_error_body(response))
                raise AttemptFailed(
                    failure_for_status(
                        response.status_code,
                        detail,
                        provider=call.provider,
                        model=model,
                        where=call.where,
                        retry_after=retry.retry_after_from_headers(response.headers),
                        code=code,
                        placeholder_key=call.placeholder_key,
                    )
                )
            decode = codecs.getincrementaldecoder("utf-8")("replace").decode
            reads = response.aiter_bytes()
            async for raw in reads:
                try:
                    text = decode(raw)
                    if text:
                        decoder.feed(text)
                finally:
                    if pieces:  # what came before an error in the same read is still shown
                        text = "".join(pieces)
                        pieces.clear()
                        yield TextChunk(text)
            try:
                text = decode(b"", final=True)
                if text:
                    decoder.feed(text)
                end = decoder.end()
            finally:
                if pieces:
                    text = "".join(pieces)
                    pieces.clear()
                    yield TextChunk(text)
    except AttemptFailed:
        raise
    except Exception as exc:  # every failure becomes a classified Failure
        failure = openai_compat.classify_exception(exc, call, connect, response is not None)
        raise AttemptFailed(failure) from None
    finally:
        if response is not None:
            await response.aclose()  # at once, also on cancel: never leave it open
    yield end


def extra_headers(value: Any) -> dict[str, str]:
    """A model's ``extra_headers`` setting as HTTP headers (names lower-cased); {} for none."""
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in value.items()}


async def retried(
    call: Call,
    *,
    url: str,
    content: bytes,
    headers: dict[str, str],
    decoder: Callable[[], Decoder],
    model: str,
    price_model: str,
    backoff_base: float,
    backoff_max: float,
    sleep: Callable[[float], Awaitable[object]] | None,
) -> AsyncGenerator[Any, None]:
    """The native clients' stream: attempts of :func:`attempt` (a fresh ``decoder()`` each)
    through the one retry loop; the attempt in flight is closed when the caller stops."""

    def one() -> AsyncGenerator[TextChunk | AttemptEnd, None]:
        return attempt(
            call, url=url, content=content, headers=headers, decoder=decoder(), model=model
        )

    inner = retry.run(
        one,
        call,
        model=price_model,
        price_model=price_model,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        sleep=sleep,
    )
    try:
        async for item in inner:
            yield item
    finally:
        await inner.aclose()
