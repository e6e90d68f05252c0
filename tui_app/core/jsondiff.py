"""Two JSON answers compared by path, not by words: what was added, removed or changed where.

``diff(a, b)`` walks both values together (iteratively: no recursion limit, whatever the depth)
and lists :class:`PathChange` items in document order, ``$.items[2].price`` style paths. Objects are
compared key by key; arrays index by index (an item inserted at the front shows as changes down
the list: positional, as the paths say). At most ``limit`` changes are listed; ``truncated`` says
when there were more.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .structured import parse_json

__all__ = ["JsonDiff", "PathChange", "diff", "diff_answers", "path_join"]

ChangeKind = Literal["added", "removed", "changed"]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHOWN = 60  # characters of a value in a change's text


def path_join(path: str, key: str | int) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; odd keys are quoted (``$["a b"]``); indexes ``$.a[0]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


@dataclass(frozen=True)
class PathChange:
    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.before)}"
        return f"~ {self.path}: {_short(self.before)} -> {_short(self.after)}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}


@dataclass
class JsonDiff:
    changes: list[PathChange] = field(default_factory=list)
    truncated: bool = False

    @property
    def same(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        out = [str(c) for c in self.changes]
        if self.truncated:
            out.append("… more changes not listed")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes], "truncated": self.truncated}


def _same_scalar(a: Any, b: Any) -> bool:
    # 1 and 1.0 are the same JSON number; True and 1 are not the same JSON value
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


def diff(before: Any, after: Any, *, limit: int = 500) -> JsonDiff:
    """The structural differences from ``before`` to ``after`` (at most ``limit``)."""
    out = JsonDiff()
    stack: list[tuple[str, Any, Any]] = [("$", before, after)]
    while stack:
        path, a, b = stack.pop()
        if len(out.changes) >= limit:
            out.truncated = True
            break
        if isinstance(a, dict) and isinstance(b, dict):
            todo: list[tuple[str, Any, Any]] = []
            for key in a:
                if key not in b:
                    out.changes.append(PathChange(path_join(path, key), "removed", before=a[key]))
                else:
                    todo.append((path_join(path, key), a[key], b[key]))
            for key in b:
                if key not in a:
                    out.changes.append(PathChange(path_join(path, key), "added", after=b[key]))
            stack.extend(reversed(todo))
        elif isinstance(a, list) and isinstance(b, list):
            common = min(len(a), len(b))
            for index in range(common, len(a)):
                out.changes.append(PathChange(path_join(path, index), "removed", before=a[index]))
            for index in range(common, len(b)):
                out.changes.append(PathChange(path_join(path, index), "added", after=b[index]))
            stack.extend(reversed([(path_join(path, i), a[i], b[i]) for i in range(common)]))
        elif isinstance(a, dict | list) or isinstance(b, dict | list):
            if a != b:
                out.changes.append(PathChange(path, "changed", before=a, after=b))
        elif not _same_scalar(a, b):
            out.changes.append(PathChange(path, "changed", before=a, after=b))
    if len(out.changes) > limit:
        out.changes = out.changes[:limit]
        out.truncated = True
    return out


def diff_answers(before: str, after: str, *, limit: int = 500) -> JsonDiff | None:
    """Two answers compared by path when both are JSON (a comparison's columns); None when
    either is plain text (compare those by words)."""
    try:
        return diff(parse_json(before), parse_json(after), limit=limit)
    except ValueError:
        return None
