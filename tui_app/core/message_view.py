"""A chat message for people (the request view, ``prompt-tui resolve``): never a base64 wall.

Text parts as they are; an attachment as where it goes (file, type, size); an assistant's tool
calls as the function name and pretty arguments; a tool result with the call it answers.
"""

from __future__ import annotations

import json
from typing import Any

from .attachments import describe_part, elide
from .toolcalls import pretty_arguments

__all__ = ["content_text", "elide", "message_text"]


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            describe_part(part) if isinstance(part, dict) else str(part) for part in content
        )
    if content is None:
        return ""
    return json.dumps(elide(content), indent=2, ensure_ascii=False)


def message_text(message: dict[str, Any]) -> str:
    """The body of one message as the request view shows it (the role is the caller's header)."""
    lines = []
    text = content_text(message.get("content"))
    if text:
        lines.append(text)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                args = pretty_arguments(str(function.get("arguments") or ""))
                lines.append(f"tool call: {function.get('name')}\n{args}")
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        args = pretty_arguments(str(legacy.get("arguments") or ""))
        lines.append(f"function call: {legacy.get('name')}\n{args}")
    if message.get("role") == "tool" and message.get("tool_call_id"):
        lines.insert(0, f"(result of {message['tool_call_id']})")
    return "\n".join(lines)
