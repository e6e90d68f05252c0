"""A fake Anthropic Messages API on 127.0.0.1 (``POST /v1/messages``, named SSE events), built
on the shared machinery of :mod:`tests.support.native_server`.

Events as the API sends them: ``message_start`` (usage.input_tokens, output_tokens 1),
``content_block_start``, ``ping``, one ``content_block_delta``/``text_delta`` per token,
``content_block_stop``, ``message_delta`` (stop_reason; cumulative usage, sent twice when
``split_usage``: the client must keep the latest, never add), ``message_stop``. Errors use the
API's body ``{"type": "error", "error": {"type", "message"}}``; 529 is ``overloaded_error``.
The key is the ``x-api-key`` header.
"""

from __future__ import annotations

from typing import Any

from tests.support.native_server import Fault, NativeServer, RequestRecord

__all__ = ["AnthropicServer", "Fault"]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
STOP = {"stop": "end_turn", "length": "max_tokens"}


class AnthropicServer(NativeServer):
    key_header = "x-api-key"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.split_usage = False
        self.thinking = False

    def reset(self) -> None:
        super().reset()
        self.split_usage = self.thinking = False

    def route_ok(self, record: RequestRecord) -> bool:
        return record.path.rstrip("/") == "/v1/messages"

    def view(self, record: RequestRecord) -> tuple[dict[str, Any], int | None]:
        body = record.body
        messages = list(body.get("messages") or [])
        system = body.get("system")
        if system:
            text = system if isinstance(system, str) else " ".join(b["text"] for b in system)
            messages.insert(0, {"role": "system", "content": text})
        limit = body.get("max_tokens")
        return {"model": body.get("model"), "messages": messages}, limit

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def opening(self, model: str, prompt_tokens: int) -> list[str]:
        usage = {"input_tokens": prompt_tokens, "output_tokens": 1} if self.send_usage else {}
        message = {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": usage,
        }
        out = [self.frame("message_start", {"type": "message_start", "message": message})]
        if self.thinking:
            out += [
                self.frame(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "thinking", "thinking": ""},
                    },
                ),
                self.frame(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "thinking_delta", "thinking": "hmm, secret"},
                    },
                ),
                self.frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ]
        out += [
            self.frame(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1 if self.thinking else 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            self.frame("ping", {"type": "ping"}),
        ]
        return out

    def chunk(self, text: str) -> list[str]:
        delta = {"type": "text_delta", "text": text}
        return [
            self.frame(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": delta},
            )
        ]

    def end(self, finish: str, prompt_tokens: int, completion_tokens: int) -> list[str]:
        out = [self.frame("content_block_stop", {"type": "content_block_stop", "index": 0})]
        delta = {"stop_reason": STOP.get(finish, finish), "stop_sequence": None}
        if self.split_usage:  # cumulative counts: a first, smaller one, then the final one
            early = {"type": "message_delta", "delta": {"stop_reason": None}}
            early["usage"] = {"output_tokens": max(1, completion_tokens // 2)}
            out.append(self.frame("message_delta", early))
        final: dict[str, Any] = {"type": "message_delta", "delta": delta}
        if self.send_usage:
            final["usage"] = {"output_tokens": completion_tokens}
        out.append(self.frame("message_delta", final))
        out.append(self.frame("some_future_event", {"type": "some_future_event"}))
        out.append(self.frame("message_stop", {"type": "message_stop"}))
        return out

    def in_stream_error(self, message: str, code: str | None) -> list[str]:
        error = {"type": code or "overloaded_error", "message": message}
        return [self.frame("error", {"type": "error", "error": error})]

    def blocked(self, reason: str) -> list[str]:
        return [
            *self.opening("test-model", 1),
            self.frame(
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": {}},
            ),
            self.frame("message_stop", {"type": "message_stop"}),
        ]
