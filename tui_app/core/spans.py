"""Where each value of a JSON or YAML document sits in its text (the save path's map of the file).

A save edits only the parts of the file whose values changed (:mod:`roundtrip`); to do so it needs
the character span of every mapping entry and sequence item. JSON spans come from a small scanner
over text already known to be valid; YAML spans from PyYAML's composer (C-accelerated), whose
marks count characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Span:
    """One node: ``start``/``end`` are character offsets of its content in the text.

    ``entries`` (mappings) hold (key, key_start, value span); ``items`` (sequences) the items.
    ``flow`` is YAML's flow style (``{a: 1}``, ``[]``); every JSON node is flow. ``shared`` marks
    a YAML node reached through an alias or a merge key: editing it in place would change every
    place that reads it.
    """

    kind: str  # "map" | "seq" | "scalar"
    start: int
    end: int
    flow: bool = True
    block_scalar: bool = False  # YAML `|` / `>`: its end mark is past the trailing newlines
    quote: str = ""  # YAML scalars: "'" or '"' when the text is quoted
    entries: list[tuple[Any, int, Span]] = field(default_factory=list)
    items: list[Span] = field(default_factory=list)
    shared: bool = False

    def entry(self, key: Any) -> tuple[int, Span] | None:
        for entry_key, key_start, value in self.entries:
            if entry_key == key:
                return key_start, value
        return None


class SpanError(Exception):
    """The text cannot be mapped (never expected for text that parsed): save by re-dumping."""


# --- JSON --------------------------------------------------------------------------------------

# The string scanner json itself uses (not in typeshed's stubs).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


def json_spans(text: str) -> Span:
    pos = _skip_ws(text, 0)
    span, _ = _json_value(text, pos)
    return span


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _json_value(text: str, pos: int) -> tuple[Span, int]:
    char = text[pos : pos + 1]
    if char == "{":
        span = Span("map", pos, pos)
        pos = _skip_ws(text, pos + 1)
        while text[pos] != "}":
            key_start = pos
            key, pos = _scanstring(text, pos + 1)
            pos = _skip_ws(text, _skip_ws(text, pos) + 1)  # past ':'
            value, pos = _json_value(text, pos)
            span.entries.append((key, key_start, value))
            pos = _skip_ws(text, pos)
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
        span.end = pos + 1
        return span, pos + 1
    if char == "[":
        span = Span("seq", pos, pos)
        pos = _skip_ws(text, pos + 1)
        while text[pos] != "]":
            item, pos = _json_value(text, pos)
            span.items.append(item)
            pos = _skip_ws(text, pos)
            if text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
        span.end = pos + 1
        return span, pos + 1
    if char == '"':
        end = json.decoder.scanstring(text, pos + 1)[1]  # type: ignore[attr-defined]
        return Span("scalar", pos, end), end
    match = _SCALAR.match(text, pos)
    if match is None:
        raise SpanError(f"unexpected JSON at offset {pos}")
    return Span("scalar", pos, match.end()), match.end()


# --- YAML --------------------------------------------------------------------------------------


def yaml_spans(text: str) -> Span:
    return yaml_document(text)[1]


def yaml_document(text: str) -> tuple[Any, Span]:
    """The document's data and its span map, from one parse."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    node = yaml.compose(text, Loader=loader)  # noqa: S506 - a SafeLoader
    if node is None:
        raise SpanError("empty YAML document")
    constructor = yaml.constructor.SafeConstructor()
    span = _yaml_span(node, yaml, constructor, _aliased(node, yaml), {})
    return constructor.construct_document(node), span


def _aliased(root: Any, yaml: Any) -> set[int]:
    """Ids of nodes reached more than once (an anchor and its aliases): each is walked once."""
    seen: set[int] = set()
    again: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            again.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
    return again


def _yaml_span(
    node: Any, yaml: Any, constructor: Any, aliased: set[int], built: dict[int, Span]
) -> Span:
    """The span of ``node``; an anchored node and its aliases share one span marked ``shared``
    (an alias's own position is not kept by the composer, and editing one edits them all)."""
    if id(node) in built:
        return built[id(node)]
    shared = id(node) in aliased
    start, end = node.start_mark.index, node.end_mark.index
    if isinstance(node, yaml.MappingNode):
        span = Span("map", start, end, flow=bool(node.flow_style), shared=shared)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                span.shared = True  # merge keys (<<) and complex keys: no in-place edits
                continue
            key = constructor.construct_object(key_node, deep=True)
            value = _yaml_span(value_node, yaml, constructor, aliased, built)
            span.entries.append((key, key_node.start_mark.index, value))
        built[id(node)] = span
        return span
    if isinstance(node, yaml.SequenceNode):
        span = Span("seq", start, end, flow=bool(node.flow_style), shared=shared)
        span.items = [_yaml_span(item, yaml, constructor, aliased, built) for item in node.value]
        built[id(node)] = span
        return span
    block = node.style in ("|", ">")
    quote = node.style if node.style in ("'", '"') else ""
    built[id(node)] = Span("scalar", start, end, False, block, quote, shared=shared)
    return built[id(node)]


def content_end(span: Span, text: str) -> int:
    """Where the node's own text ends: block nodes' end marks run into trailing blank lines and
    comments that belong to whatever follows."""
    if span.shared:  # an alias: its marks are the anchor's, somewhere else in the file
        raise SpanError("an alias has no place of its own")
    if span.kind == "map" and not span.flow and span.entries:
        return content_end(span.entries[-1][2], text)
    if span.kind == "seq" and not span.flow and span.items:
        return content_end(span.items[-1], text)
    if span.block_scalar:
        if "+" in text[span.start : span.start + 3]:  # `|+`: its trailing blank lines are text
            raise SpanError("a keep-chomped block scalar ends where the next node starts")
        end = span.end
        while end > span.start and text[end - 1] in " \t\r\n":
            end -= 1
        return end
    return span.end


def duplicate_keys(text: str, fmt: str) -> list[tuple[Any, tuple[Any, ...], int, int]]:
    """(key, path of its mapping, first offset, repeated offset) for each key written twice."""
    root = json_spans(text) if fmt == "json" else yaml_spans(text)
    found: list[tuple[Any, tuple[Any, ...], int, int]] = []
    todo: list[tuple[Span, tuple[Any, ...]]] = [(root, ())]
    while todo:
        span, path = todo.pop()
        first: dict[Any, int] = {}
        for key, key_start, value in span.entries:
            try:
                if key in first:
                    found.append((key, path, first[key], key_start))
                else:
                    first[key] = key_start
            except TypeError:  # an unhashable key: not a duplicate we can name
                pass
            todo.append((value, (*path, key)))
        todo += [(item, (*path, index)) for index, item in enumerate(span.items)]
    return sorted(found, key=lambda entry: entry[3])
