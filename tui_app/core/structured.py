"""JSON answers as data: is an answer JSON, what is its value, does it match the schema asked for.

A prompt asks for JSON with ``response_format`` (``{"type": "json_object"}`` or ``{"type":
"json_schema", "json_schema": {"name", "schema", "strict"}}``, OpenAI's shapes); any answer that
parses as JSON (whole, or as the only fenced ```json block) is JSON too. A tool-call answer is data
as well: its value is the call (see :func:`.toolcalls.value_of`).

Schema verdict: an answer to a prompt with a schema is checked with ``jsonschema``. A mismatch makes
the prompt **failed** (not done-with-a-warning): its answer is kept and shown, the document keeps its
last good output, and what depends on it is blocked, because a downstream prompt reading
``{{p.output.field}}`` from an answer of the wrong shape would send garbage. The error names the
JSON path and what was expected (``$.city: 42 is not of type 'string'``). A schema that cannot be
checked (invalid, or a ``$ref`` that refers to itself without end) is named, never a crash.

Hostile input is bounded: answers over :data:`MAX_JSON_CHARS` are not parsed, values nested deeper
than :data:`MAX_DEPTH` are "too deeply nested" instead of a RecursionError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .config import output_text
from .outputs import call_kind
from .toolcalls import value_of as tool_value_of

__all__ = [
    "MAX_DEPTH",
    "MAX_JSON_CHARS",
    "JsonText",
    "StructuredAnswer",
    "Verdict",
    "answer_of",
    "check",
    "data_of",
    "depth_of",
    "field_value",
    "missing_field",
    "parse_json",
    "schema_of",
    "wants_json",
]

MAX_JSON_CHARS = 5_000_000  # larger answers stay text (parsing and drawing them would stall)
MAX_DEPTH = 200  # deeper values are not checked against a schema (jsonschema recurses)
# Deeper answers stay text: every later step that walks a value (json.dumps for --json and the
# history, copies) recurses, and Python's limit is ~1,000 frames.
MAX_PARSE_DEPTH = 500
_FENCED = re.compile(r"^\s*```(?:json|JSON)?[ \t]*\n(.*?)\n```\s*$", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    """The schema check of one answer. ``ok`` False: ``path`` (``$.items[2].price``) and
    ``expected`` (jsonschema's words) say where and what; no ``path``: ``expected`` is a whole
    sentence about the answer (not JSON at all, not checkable)."""

    ok: bool
    path: str = "$"
    expected: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return "matches the schema"
        if not self.path:
            return self.expected
        return f"the answer does not match the schema at {self.path}: {self.expected}"

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "path": self.path, "expected": self.expected}


@dataclass(frozen=True)
class StructuredAnswer:
    """An answer read as data. ``kind``: "json" (the text parsed) or "tool_calls"."""

    kind: str
    value: Any
    verdict: Verdict | None = None  # None: no schema asked for

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "verdict": self.verdict.to_json() if self.verdict else None,
        }


def _response_format(settings: dict[str, Any]) -> dict[str, Any] | None:
    found = settings.get("response_format")
    return found if isinstance(found, dict) else None


def wants_json(settings: dict[str, Any]) -> bool:
    """The settings ask for a JSON answer (``response_format`` json_object or json_schema)."""
    found = _response_format(settings)
    return found is not None and found.get("type") in ("json_object", "json_schema")


def schema_of(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema the settings ask the answer to match, or None."""
    found = _response_format(settings)
    if not found or found.get("type") != "json_schema":
        return None
    spec = found.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep ``value`` nests (iterative; stops counting past ``limit``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


_NOT_JSON = object()


def parse_json(text: str) -> Any:
    """The JSON value of ``text`` (whole, or the one fenced ```json block); raises ValueError
    when it is not JSON (or too large or too deeply nested to read safely)."""
    if not isinstance(text, str) or len(text) > MAX_JSON_CHARS:
        raise ValueError("not JSON")
    stripped = text.strip()
    if not stripped:
        raise ValueError("not JSON")
    if stripped[0] not in "{[":
        fenced = _FENCED.match(stripped)
        if fenced is None:
            raise ValueError("not JSON")  # a bare number or string is text, not data
        stripped = fenced.group(1).strip()
        if not stripped or stripped[0] not in "{[":
            raise ValueError("not JSON")
    try:
        value = json.loads(stripped)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    except json.JSONDecodeError as exc:  # "Invalid control character at: line 1 column 11"
        msg = exc.msg.removesuffix(" at")
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"{msg[:1].lower()}{msg[1:]} at {where}") from None
    if depth_of(value, MAX_PARSE_DEPTH) > MAX_PARSE_DEPTH:
        raise ValueError(f"nested deeper than {MAX_PARSE_DEPTH} levels: read as text")
    return value


def check(value: Any, schema: dict[str, Any]) -> Verdict:
    """``value`` against ``schema``: the first (most relevant) mismatch, path and expectation."""
    try:
        from jsonschema import SchemaError, validators
        from jsonschema.exceptions import best_match
    except ImportError:  # a broken install: say so rather than pass silently
        return Verdict(False, "", "not checked: the jsonschema package is not installed")
    if depth_of(value) > MAX_DEPTH:
        return Verdict(False, "", f"the answer nests deeper than {MAX_DEPTH} levels: not checked")
    try:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        error = best_match(cls(schema).iter_errors(value))
    except SchemaError as exc:
        return Verdict(False, "", f"the schema itself is invalid: {_one_line(exc.message)}")
    except RecursionError:
        return Verdict(False, "", "the schema refers to itself without end ($ref): not checkable")
    except Exception as exc:  # an unresolvable $ref and the like: named, never a crash
        return Verdict(False, "", f"the schema cannot be checked: {_one_line(str(exc))}")
    if error is None:
        return Verdict(True)
    return Verdict(False, error.json_path, _one_line(error.message))


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def answer_of(
    settings: dict[str, Any], output: dict[str, Any] | None, text: str | None = None
) -> StructuredAnswer | None:
    """The answer as data, with the schema verdict when the settings hold a schema; None when it
    is plain text. ``text``: the answer's text (default: the output's)."""
    if call_kind(output) is not None:
        return StructuredAnswer("tool_calls", tool_value_of(output))
    if text is None:
        text = output_text(output)
    if not text:
        if wants_json(settings):
            return StructuredAnswer(
                "json", None, Verdict(False, "", "the answer is empty: no JSON")
            )
        return None
    try:
        value = parse_json(text)
    except ValueError as exc:
        if wants_json(settings):
            why = str(exc)
            said = "is not JSON" if why == "not JSON" else f"is not valid JSON: {why}"
            return StructuredAnswer("json", None, Verdict(False, "", f"the answer {said}"))
        return None
    schema = schema_of(settings)
    return StructuredAnswer("json", value, check(value, schema) if schema is not None else None)


class JsonText(str):
    """The text of a JSON answer (what ``{{p.output}}`` renders) whose fields a template can read
    too (``{{p.output.city}}``, ``{{p.output.items[0]}}``). A field wins over a str method of the
    same name (``title``, ``count``...): the template asked for the data."""

    _value: Any

    def __new__(cls, text: str, value: Any) -> JsonText:
        obj = super().__new__(cls, text)
        obj._value = value
        return obj

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            value = object.__getattribute__(self, "_value")
            if isinstance(value, dict) and name in value:
                return field_value(value[name])
        return super().__getattribute__(name)

    def __getitem__(self, key: Any) -> Any:
        value = self._value
        if isinstance(value, dict) and isinstance(key, str):
            return field_value(value[key])
        if isinstance(value, list) and isinstance(key, int | str) and str(key).isdigit():
            return field_value(value[int(key)])
        return super().__getitem__(key)


def field_value(value: Any) -> Any:
    """A JSON field as a template sees it: text and numbers as they are, the rest as JSON text
    (objects and lists still readable field by field)."""
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    return JsonText(json.dumps(value, ensure_ascii=False), value)


def data_of(output: dict[str, Any] | None) -> tuple[bool, Any]:
    """(is data, value) of an output: a tool call's value, or the JSON its text parses as."""
    if call_kind(output) is not None:
        return True, tool_value_of(output)
    text = output_text(output)
    if not text:
        return False, None
    try:
        return True, parse_json(text)
    except ValueError:
        return False, None


def missing_field(value: Any, keys: tuple[str, ...]) -> tuple[int, str] | None:
    """Where reading ``keys`` from ``value`` fails: (index of the key, why); None when it is there."""
    current = value
    for index, key in enumerate(keys):
        if isinstance(current, dict):
            if key not in current:
                return index, f"no field '{key}'"
            current = current[key]
        elif isinstance(current, list):
            if not key.isdigit() or int(key) >= len(current):
                return index, f"no item {key} (the list has {len(current)})"
            current = current[int(key)]
        else:
            return index, f"no field '{key}' (the value there is not an object)"
    return None
