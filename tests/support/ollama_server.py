"""A fake Ollama server on 127.0.0.1 (``POST /api/chat``, NDJSON), built on
:mod:`tests.support.native_server`.

Lines ``{"model", "created_at", "message": {"role": "assistant", "content"}, "done": false}``,
then ``{"done": true, "done_reason": "stop"|"length", "prompt_eval_count", "eval_count",
"total_duration", ...}``. ``options.num_predict`` limits the tokens. An error is
``{"error": "..."}`` (as the HTTP body, and as a line inside a 200 stream). No key by default;
``required_key`` checks ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Any

from tests.support.native_server import Fault, NativeServer, RequestRecord

__all__ = ["Fault", "OllamaServer"]


class OllamaServer(NativeServer):
    key_header = "authorization"
    content_type = "application/x-ndjson"
    sse = False

    def route_ok(self, record: RequestRecord) -> bool:
        return record.path.rstrip("/") == "/api/chat"

    def view(self, record: RequestRecord) -> tuple[dict[str, Any], int | None]:
        body = record.body
        limit = (body.get("options") or {}).get("num_predict")
        return {"model": body.get("model"), "messages": body.get("messages") or []}, limit

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"error": message}

    def opening(self, model: str, prompt_tokens: int) -> list[str]:
        self._model = model
        return []

    def chunk(self, text: str) -> list[str]:
        line = {
            "model": self._model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": text},
            "done": False,
        }
        return [self.frame(None, line)]

    def end(self, finish: str, prompt_tokens: int, completion_tokens: int) -> list[str]:
        line: dict[str, Any] = {
            "model": self._model,
            "created_at": "2026-01-01T00:00:01Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": finish,
            "total_duration": 123456789,
            "load_duration": 1000,
            "prompt_eval_duration": 2000,
            "eval_duration": 3000,
        }
        if self.send_usage:
            line["prompt_eval_count"] = prompt_tokens
            line["eval_count"] = completion_tokens
        return [self.frame(None, line)]

    def in_stream_error(self, message: str, code: str | None) -> list[str]:
        return [self.frame(None, {"error": message})]

    def blocked(self, reason: str) -> list[str]:
        return self.in_stream_error(f"blocked: {reason}", None)
