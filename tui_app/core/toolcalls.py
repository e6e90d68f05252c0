"""Tool calls: assembled from streamed pieces, stored in AIConfig's shape, answered, carried on.

Stored as the AIConfig SDK stores them: an ``execute_result`` whose data is ``{"kind":
"tool_calls", "value": [{"id", "type": "function", "function": {"name", "arguments"}}]}`` (legacy
``functions`` answers: ``{"role": "assistant", "function_call": {"name", "arguments"}}``, as in the
cookbook's function-calling file). The calls are in the canonical (OpenAI chat) shape.

Answering a call: its results go into the output's ``metadata.tool_results`` (``[{tool_call_id,
name, content}]``; a key other AIConfig tools keep and ignore). Running the prompt again then
continues the same conversation: the request is the prompt's messages, the assistant's call and
the tool results. The answer to that keeps the exchange in ``metadata.tool_exchange`` (so the
prompt's request stays the same: not stale, same cache key), and later prompts with chat context
get the whole exchange as structured messages. A call nobody answered is left out of later
prompts' history, as the SDK leaves it out: providers refuse an assistant tool call that no
result follows.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Assembler",
    "ToolCallPiece",
    "answer_messages",
    "attach_results",
    "calls_of",
    "continuation",
    "describe_calls",
    "is_answered",
    "keep_exchange",
    "pieces_of_delta",
    "pretty_arguments",
    "tool_calls_output",
    "value_of",
]

LEGACY_ID = "function_call"  # the one call of a legacy `functions` answer has no id of its own


@dataclass(frozen=True)
class ToolCallPiece:
    """A streamed piece of a tool call (a stream item next to TextChunk). ``index`` says which
    call; ``id`` and ``name`` come with the first piece, ``arguments`` is a fragment of JSON text.
    ``legacy``: a ``function_call`` (the ``functions`` API) rather than ``tool_calls``."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    legacy: bool = False


def pieces_of_delta(delta: dict[str, Any]) -> list[ToolCallPiece]:
    """The tool-call pieces of one delta (or of a whole message): ``tool_calls`` items (index,
    id and name on the first piece of a call, argument fragments after), or a legacy
    ``function_call``. Items that are not objects are skipped."""
    pieces: list[ToolCallPiece] = []
    raw_calls = delta.get("tool_calls")
    if isinstance(raw_calls, list):
        for position, item in enumerate(raw_calls):
            if not isinstance(item, dict):
                continue
            found = item.get("function")
            function: dict[str, Any] = found if isinstance(found, dict) else {}
            index = item.get("index", position)
            name, arguments = function.get("name"), function.get("arguments")
            if not isinstance(arguments, str) and arguments is not None:
                arguments = json.dumps(arguments)  # a server that sends an object
            pieces.append(
                ToolCallPiece(
                    index=index if isinstance(index, int) else position,
                    id=item.get("id") if isinstance(item.get("id"), str) else None,
                    name=name if isinstance(name, str) else None,
                    arguments=arguments or "",
                )
            )
    legacy = delta.get("function_call")
    if isinstance(legacy, dict):
        name, arguments = legacy.get("name"), legacy.get("arguments")
        pieces.append(
            ToolCallPiece(
                index=0,
                name=name if isinstance(name, str) else None,
                arguments=arguments if isinstance(arguments, str) else "",
                legacy=True,
            )
        )
    return pieces


class Assembler:
    """Joins pieces into calls; ``feed`` returns the text to show for each piece as it arrives."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}
        self.legacy = False

    def feed(self, piece: ToolCallPiece) -> str:
        shown = ""
        call = self._calls.get(piece.index)
        if call is None:
            call = self._calls[piece.index] = {"id": piece.id, "name": "", "arguments": ""}
            shown = ("\n\n" if len(self._calls) > 1 else "") + "tool call: "
        if piece.legacy:
            self.legacy = True
        if piece.id and not call["id"]:
            call["id"] = piece.id
        if piece.name:
            call["name"] += piece.name
            shown += piece.name
        if piece.arguments:
            if not call["arguments"]:
                shown += "\n"
            call["arguments"] += piece.arguments
            shown += piece.arguments
        return shown

    def __bool__(self) -> bool:
        return bool(self._calls)

    @property
    def calls(self) -> list[dict[str, Any]]:
        out = []
        for position, index in enumerate(sorted(self._calls)):
            call = self._calls[index]
            out.append(
                {
                    "id": call["id"] or (LEGACY_ID if self.legacy else f"call_{position}"),
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            )
        return out


def tool_calls_output(
    calls: list[dict[str, Any]], *, legacy: bool, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The AIConfig output for a tool-call answer (``metadata``: as for a text answer)."""
    if legacy and calls:
        data: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "function_call": dict(calls[0]["function"]),
        }
    else:
        data = {"kind": "tool_calls", "value": calls}
    return {
        "output_type": "execute_result",
        "execution_count": 0,
        "data": data,
        "metadata": {**metadata, "role": "assistant"},
    }


def _as_call(raw: Any, position: int) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    inner = raw.get("function")
    function: dict[str, Any] = inner if isinstance(inner, dict) else raw
    name = function.get("name")
    if not isinstance(name, str):
        return None
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):  # some files (and Ollama) hold an object
        arguments = json.dumps(arguments)
    call_id = raw.get("id")
    return {
        "id": call_id if isinstance(call_id, str) and call_id else f"call_{position}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def calls_of(output: dict[str, Any] | None) -> tuple[list[dict[str, Any]], bool]:
    """The calls of a tool-call output in the canonical shape, and whether it is a legacy
    ``function_call``; ``([], False)`` for any other output."""
    if not output or output.get("output_type") != "execute_result":
        return [], False
    data = output.get("data")
    if not isinstance(data, dict):
        return [], False
    if data.get("kind") == "tool_calls":
        raw = data.get("value")
    elif data.get("tool_calls") and not data.get("content"):
        raw = data.get("tool_calls")
    elif isinstance(data.get("function_call"), dict) and not data.get("content"):
        call = _as_call(data["function_call"], 0)
        if call is None:
            return [], False
        call["id"] = LEGACY_ID
        return [call], True
    else:
        return [], False
    if not isinstance(raw, list):
        return [], False
    calls = [c for c in (_as_call(r, i) for i, r in enumerate(raw)) if c is not None]
    return calls, False


def _arguments_value(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        return text


def value_of(output: dict[str, Any] | None) -> Any:
    """A tool-call answer as data: one call is ``{"name", "arguments", "id"}`` with the arguments
    parsed; several are a list of those (``{{p.output.arguments.city}}`` reads a field)."""
    calls, _ = calls_of(output)
    values = [
        {
            "name": c["function"]["name"],
            "arguments": _arguments_value(c["function"]["arguments"]),
            "id": c["id"],
        }
        for c in calls
    ]
    return values[0] if len(values) == 1 else values


def pretty_arguments(arguments: str) -> str:
    value = _arguments_value(arguments)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def describe_calls(output: dict[str, Any] | None) -> str:
    """The calls for people: each function's name, then its arguments pretty-printed, then its
    result when it has been answered."""
    calls, _ = calls_of(output)
    results = _results(output)
    parts = []
    for call in calls:
        block = f"tool call: {call['function']['name']}\n"
        block += pretty_arguments(call["function"]["arguments"])
        if call["id"] in results:
            block += f"\nresult: {results[call['id']]}"
        parts.append(block)
    return "\n\n".join(parts)


def _results(output: dict[str, Any] | None) -> dict[str, str]:
    meta = output.get("metadata") if output else None
    found = meta.get("tool_results") if isinstance(meta, dict) else None
    out: dict[str, str] = {}
    if isinstance(found, list):
        for item in found:
            if isinstance(item, dict) and isinstance(item.get("tool_call_id"), str):
                content = item.get("content")
                out[item["tool_call_id"]] = content if isinstance(content, str) else ""
    return out


def is_answered(output: dict[str, Any] | None) -> bool:
    calls, _ = calls_of(output)
    results = _results(output)
    return bool(calls) and all(c["id"] in results for c in calls)


def answer_messages(output: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The call and its results as chat messages (canonical shape), None when not answered."""
    calls, legacy = calls_of(output)
    if not calls or not is_answered(output):
        return None
    results = _results(output)
    if legacy:
        function = calls[0]["function"]
        return [
            {"role": "assistant", "content": None, "function_call": dict(function)},
            {"role": "function", "name": function["name"], "content": results[LEGACY_ID]},
        ]
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": None, "tool_calls": calls}]
    messages += [
        {"role": "tool", "tool_call_id": c["id"], "content": results[c["id"]]} for c in calls
    ]
    return messages


def _exchange(output: dict[str, Any] | None) -> list[dict[str, Any]]:
    meta = output.get("metadata") if output else None
    found = meta.get("tool_exchange") if isinstance(meta, dict) else None
    if not isinstance(found, list):
        return []
    return [dict(m) for m in found if isinstance(m, dict) and isinstance(m.get("role"), str)]


def continuation(output: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What follows a prompt's own user message when it runs: the tool exchange its latest
    answer came from, and that answer's call with its results once answered."""
    return _exchange(output) + (answer_messages(output) or [])


def _is_exchange(message: dict[str, Any]) -> bool:
    role = message.get("role")
    if role in ("tool", "function"):
        return True
    return role == "assistant" and bool(message.get("tool_calls") or message.get("function_call"))


def keep_exchange(output: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """``output`` with the tool exchange that ends ``messages`` (the request it answered) kept in
    its metadata, so the prompt's request is the same when resolved again."""
    start = len(messages)
    while start > 0 and _is_exchange(messages[start - 1]):
        start -= 1
    if start < len(messages):
        meta = output.setdefault("metadata", {})
        meta["tool_exchange"] = copy.deepcopy(messages[start:])
    return output


def attach_results(
    output: dict[str, Any], results: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``output`` with tool results attached, keyed by call id or function name.
    Returns it and the keys that matched no call (for a clear message)."""
    calls, _ = calls_of(output)
    new = copy.deepcopy(output)
    known = dict(_results(output))
    used: set[str] = set()
    for call in calls:
        for key in (call["id"], call["function"]["name"]):
            if key in results:
                known[call["id"]] = results[key]
                used.add(key)
                break
    meta = new.setdefault("metadata", {})
    by_id = {c["id"]: c["function"]["name"] for c in calls}
    meta["tool_results"] = [
        {"tool_call_id": cid, "name": by_id.get(cid, ""), "content": content}
        for cid, content in known.items()
        if cid in by_id
    ]
    return new, [key for key in results if key not in used]
