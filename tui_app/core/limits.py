"""Hostile and odd files: refused fast, with a message that says what and where.

A config is data from anywhere (a colleague's branch, a downloaded example). Parsing it must not
hang, eat memory or crash with a traceback: YAML aliases are expanded lazily by reference, so a
small "alias bomb" loads instantly and explodes later when rendered, hashed or saved; Python
refuses to convert integers of more than 4,300 digits; a multi-megabyte value freezes the screen.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_VALUE_CHARS = 8 * 1024 * 1024
# Values a document may hold once YAML aliases are expanded (a 5,000-prompt file holds ~100k).
MAX_EXPANDED_VALUES = 2_000_000
# Characters of text a document may hold once YAML aliases are expanded: what the largest file
# accepted could hold without aliases (a file can't hold more than one character per byte).
MAX_EXPANDED_CHARS = MAX_FILE_BYTES

_HUGE_NUMBER = re.compile(r"[-+]?\d{4301,}")
_ALIAS = re.compile(r"(?:^|[\s\[\{,:-])\*[^\s,\[\]\{\}]+", re.MULTILINE)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def huge_number_error(text: str, source: str) -> ConfigError:
    """The error for a number Python will not convert (more than 4,300 digits)."""
    match = _HUGE_NUMBER.search(text)
    line, col = _position(text, match.start()) if match else (None, None)
    digits = len(match.group().lstrip("+-")) if match else 4301
    return ConfigError(
        f"a number with {digits:,} digits: numbers are limited to 4,300 digits (quote it to keep"
        " it as text)",
        source=source,
        line=line,
        col=col,
    )


def file_too_large(size: int, source: str) -> ConfigError:
    return ConfigError(
        f"file too large: {size:,} bytes (limit {MAX_FILE_BYTES:,}); "
        "a config holds prompts, not data",
        source=source,
    )


def check_expansion(data: Any, text: str, source: str) -> None:
    """Refuse YAML whose aliases expand to more than MAX_EXPANDED_VALUES values or more than
    MAX_EXPANDED_CHARS characters of text, or to itself.

    Characters matter as much as values: a 100 KB file of ten aliases to a 10,000-character
    string, nested five deep, is only ~100k values but 10^9 characters once rendered, hashed
    or saved. The loader shares one object per anchor, so this walk costs one visit per
    distinct object.
    """
    if not _ALIAS.search(text):
        return
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def size(value: Any) -> tuple[int, int]:
        if isinstance(value, str):
            return 1, len(value)
        if not isinstance(value, dict | list):
            return 1, 0
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _refuse(text, source, "an alias that contains itself (a recursive YAML alias)")
        active.add(key)
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        values, chars = 1, 0
        for child in children:
            child_values, child_chars = size(child)
            values += child_values
            chars += child_chars
            if values > MAX_EXPANDED_VALUES:
                raise _refuse(
                    text,
                    source,
                    f"YAML aliases expand to more than {MAX_EXPANDED_VALUES:,} values"
                    " (an alias bomb?)",
                )
            if chars > MAX_EXPANDED_CHARS:
                raise _refuse(
                    text,
                    source,
                    f"YAML aliases expand to more than {MAX_EXPANDED_CHARS:,} characters of text"
                    f" from a {len(text):,}-character file (an alias bomb?)",
                )
        active.discard(key)
        sizes[key] = values, chars
        return values, chars

    size(data)


def _refuse(text: str, source: str, message: str) -> ConfigError:
    match = _ALIAS.search(text)
    offset = match.start() + match.group().index("*") if match else 0
    line, col = _position(text, offset)
    return ConfigError(message, source=source, line=line, col=col)


# A YAML integer written in hex, octal or binary is converted without Python's 4,300-digit
# check, and fails later, when rendered as decimal text. Only a long run of such digits can
# hold one, so the walk below runs only when the text has one.
_LONG_RADIX = re.compile(r"0[xXoObB]?[0-9a-fA-F_]{3500,}")
_MAX_INT_BITS = 14_280  # 4,300 decimal digits


def check_big_integers(data: Any, text: str, source: str, locate: Any) -> None:
    """Refuse an integer too large to show as text (more than 4,300 decimal digits), with its
    location: YAML reads ``0x<5,000 hex digits>`` into such an integer without complaint."""
    if not _LONG_RADIX.search(text):
        return
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while todo:
        value, path = todo.pop()
        if isinstance(value, dict):
            todo += [(v, (*path, k)) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, (*path, i)) for i, v in enumerate(value)]
        elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            digits = int(value.bit_length() * 0.30103) + 1
            position = locate(path)
            line, col = position if position else (None, None)
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            raise ConfigError(
                f"a number of about {digits:,} digits: numbers are limited to 4,300 digits"
                " (quote it to keep it as text)",
                source=source,
                line=line,
                col=col,
                location=where.lstrip(".") or None,
            )


def _oversized_value(data: Any) -> tuple[tuple[str | int, ...], int] | None:
    """(path, length) of a string longer than MAX_VALUE_CHARS anywhere in ``data``."""
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while todo:
        value, path = todo.pop()
        if isinstance(value, dict):
            todo += [(v, (*path, k)) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, (*path, i)) for i, v in enumerate(value)]
        elif isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            return path, len(value)
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def check_savable(data: Any, text: str, source: str) -> None:
    """Refuse, before anything is written, a save that prompt-tui could not open again: the
    limits a save checks are the ones a load checks (MAX_FILE_BYTES, MAX_VALUE_CHARS)."""
    size = len(text.encode("utf-8")) if len(text) * 4 > MAX_FILE_BYTES else len(text)
    if size > MAX_FILE_BYTES:
        raise ConfigError(
            f"not saved: the file would be {size:,} bytes, and prompt-tui opens files of up to "
            f"{MAX_FILE_BYTES:,} bytes (it could not open it again)",
            source=source,
        )
    if len(text) <= MAX_VALUE_CHARS:
        return
    found = _oversized_value(data)
    if found is not None:
        path, length = found
        raise ConfigError(
            f"not saved: {_dotted(path)} is {length:,} characters, and prompt-tui opens values of "
            f"up to {MAX_VALUE_CHARS:,} characters (it could not open the file again)",
            source=source,
            location=_dotted(path),
        )


def check_value_sizes(data: Any, text: str, source: str, locate: Any) -> None:
    """Refuse a string longer than MAX_VALUE_CHARS (no file shorter than that can hold one)."""
    if len(text) <= MAX_VALUE_CHARS:
        return
    found = _oversized_value(data)
    if found is None:
        return
    path, length = found
    position = locate(path)
    line, col = position if position else (None, None)
    raise ConfigError(
        f"value too large: {length:,} characters (limit {MAX_VALUE_CHARS:,})",
        source=source,
        line=line,
        col=col,
        location=_dotted(path),
    )


def yaml_problem(problem: str, text: str, line: int | None) -> str:
    """PyYAML's message, made plain for the cases it words obscurely."""
    if "'\\t'" in problem or (line is not None and _has_tab_indent(text, line)):
        return "tab character in indentation: YAML indents with spaces only"
    return problem


def _has_tab_indent(text: str, line: int) -> bool:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return False
    current = lines[line - 1]
    return "\t" in current[: len(current) - len(current.lstrip(" \t"))]
