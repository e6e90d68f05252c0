"""A fake Gemini API on 127.0.0.1 (``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``),
built on :mod:`tests.support.native_server`.

Each ``data:`` frame is shaped like a whole response (``candidates[0].content.parts[].text``);
the last one carries ``finishReason`` (STOP, MAX_TOKENS) and ``usageMetadata``; there is no
``[DONE]``. ``cached`` / ``thoughts`` add ``cachedContentTokenCount`` / ``thoughtsTokenCount``
(and a ``thought`` part the client must not show). Errors use Google's body
``{"error": {"code", "message", "status"}}``; ``Fault.blocked(reason)`` answers
``promptFeedback.blockReason`` with no candidates. The key is the ``x-goog-api-key`` header.
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.native_server import Fault, NativeServer, RequestRecord

__all__ = ["Fault", "GeminiServer"]

_ROUTE = re.compile(r"^/v1beta/models/([^/:]+):streamGenerateContent$")
STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}


def _text(parts: Any) -> str:
    return " ".join(str(p.get("text", "")) for p in parts or [] if isinstance(p, dict))


class GeminiServer(NativeServer):
    key_header = "x-goog-api-key"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.cached = 0
        self.thoughts = 0
        self.model_version: str | None = None

    def reset(self) -> None:
        super().reset()
        self.cached = self.thoughts = 0
        self.model_version = None

    def route_ok(self, record: RequestRecord) -> bool:
        return _ROUTE.match(record.path) is not None

    def view(self, record: RequestRecord) -> tuple[dict[str, Any], int | None]:
        body = record.body
        match = _ROUTE.match(record.path)
        messages = []
        system = body.get("systemInstruction")
        if isinstance(system, dict):
            messages.append({"role": "system", "content": _text(system.get("parts"))})
        for content in body.get("contents") or []:
            role = "assistant" if content.get("role") == "model" else "user"
            messages.append({"role": role, "content": _text(content.get("parts"))})
        limit = (body.get("generationConfig") or {}).get("maxOutputTokens")
        return {"model": match.group(1) if match else "", "messages": messages}, limit

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {
            "error": {"code": status, "message": message, "status": STATUSES.get(status, "UNKNOWN")}
        }

    def _usage(self, prompt: int, completion: int) -> dict[str, Any]:
        usage = {
            "promptTokenCount": prompt + self.cached,
            "candidatesTokenCount": completion,
            "totalTokenCount": prompt + self.cached + completion + self.thoughts,
        }
        if self.cached:
            usage["cachedContentTokenCount"] = self.cached
        if self.thoughts:
            usage["thoughtsTokenCount"] = self.thoughts
        return usage

    def opening(self, model: str, prompt_tokens: int) -> list[str]:
        self._model = model
        self._prompt = prompt_tokens
        if not self.thoughts:
            return []
        part = {"text": "thinking it over", "thought": True}
        return [self.frame(None, {"candidates": [{"content": {"parts": [part], "role": "model"}}]})]

    def chunk(self, text: str) -> list[str]:
        candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        frame: dict[str, Any] = {"candidates": [candidate]}
        if self.send_usage:
            frame["usageMetadata"] = {"promptTokenCount": self._prompt + self.cached}
        frame["modelVersion"] = self.model_version or self._model
        return [self.frame(None, frame)]

    def end(self, finish: str, prompt_tokens: int, completion_tokens: int) -> list[str]:
        candidate = {
            "content": {"parts": [{"text": ""}], "role": "model"},
            "finishReason": FINISH.get(finish, finish),
            "index": 0,
        }
        frame: dict[str, Any] = {"candidates": [candidate]}
        if self.send_usage:
            frame["usageMetadata"] = self._usage(prompt_tokens, completion_tokens)
        frame["modelVersion"] = self.model_version or self._model
        return [self.frame(None, frame)]

    def in_stream_error(self, message: str, code: str | None) -> list[str]:
        return [self.frame(None, self.error_body(int(code or 503), message))]

    def blocked(self, reason: str) -> list[str]:
        frame = {"promptFeedback": {"blockReason": reason}, "usageMetadata": self._usage(1, 0)}
        return [self.frame(None, frame)]
