"""What changed, in one type and one wording: a reload's differences between two versions of the
file, and the reasons an output is stale (its request would differ now), both read as
"setting temperature changed (0.2 → 0.9)".

A value too long for one line is shown around where the two sides differ, so two long values
never read the same ("…the Alfama district in the m…" → "…the Alfama district at nig…").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

PREVIEW_WIDTH = 24


class ChangeKind(enum.StrEnum):
    # a version of the file against another (reload)
    PROMPT_ADDED = "prompt-added"
    PROMPT_REMOVED = "prompt-removed"
    ORDER = "order"
    CHAT_CONTEXT = "chat-context"
    OUTPUT = "output"
    DEFAULT_MODEL = "default-model"
    OTHER = "other"
    # both: what a prompt's request is made of
    MODEL = "model"
    SETTING = "setting"
    TEMPLATE = "template"
    PARAMETER = "parameter"
    # an output against the request the prompt would send now (staleness)
    UPSTREAM_OUTPUT = "upstream-output"
    UPSTREAM_INPUT = "upstream-input"  # an earlier prompt's input, sent as chat context
    UPSTREAM_STALE = "upstream-stale"
    REQUEST = "request"  # the request differs in a way none of the above explains
    UNRESOLVABLE = "unresolvable"


@dataclass(frozen=True)
class Change:
    """One difference. ``prompt`` names the prompt it is about when that is not already clear
    (a reload's list; None for file-wide changes and for a prompt's own stale reasons);
    ``name`` is the setting, parameter or upstream prompt (``model.setting`` for a file-wide
    setting); ``before``/``after`` are short texts of the values (None: unset)."""

    kind: ChangeKind
    name: str = ""
    before: str | None = None
    after: str | None = None
    prompt: str | None = None
    file_wide: bool = False  # a global parameter, a setting in metadata.models

    def __str__(self) -> str:
        where = f"{self.prompt}: " if self.prompt else ""
        change = ""
        if self.before is not None or self.after is not None:
            old, new = previews(self.before, self.after)
            change = f" ({old} → {new})"
        match self.kind:
            case ChangeKind.PROMPT_ADDED:
                return f"prompt {self.prompt} added"
            case ChangeKind.PROMPT_REMOVED:
                return f"prompt {self.prompt} removed"
            case ChangeKind.ORDER:
                return "prompts reordered"
            case ChangeKind.TEMPLATE:
                return f"{where}{self.name or 'template'} changed"
            case ChangeKind.MODEL:
                return f"{where}model changed{change}"
            case ChangeKind.SETTING:
                scope = "model " if self.file_wide else ""
                return f"{where}{scope}setting {self.name} changed{change}"
            case ChangeKind.PARAMETER:
                scope = "global " if self.file_wide else ""
                return f"{where}{scope}parameter {self.name} changed{change}"
            case ChangeKind.CHAT_CONTEXT:
                return f"{where}remember_chat_context changed{change}"
            case ChangeKind.OUTPUT:
                return f"{where}output changed in the file"
            case ChangeKind.DEFAULT_MODEL:
                return f"default model changed{change}"
            case ChangeKind.UPSTREAM_OUTPUT:
                return f"{where}output of {self.name} changed"
            case ChangeKind.UPSTREAM_INPUT:
                return f"{where}input of {self.name} changed (sent as chat context)"
            case ChangeKind.UPSTREAM_STALE:
                return f"{where}upstream {self.name} is stale"
            case ChangeKind.UNRESOLVABLE:
                return f"{where}cannot build its request: {self.name}"
            case ChangeKind.REQUEST:
                return f"{where}its request changed"
        return f"{where}{self.name or 'metadata'} changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "prompt": self.prompt,
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "text": str(self),
        }


def short_value(value: str | None, width: int = PREVIEW_WIDTH) -> str:
    """A value in a one-line text: "unset", line breaks as ⏎, cut with …."""
    if value is None:
        return "unset"
    text = value.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"


def previews(before: str | None, after: str | None, width: int = PREVIEW_WIDTH) -> tuple[str, str]:
    """Both sides of a change for one line. When both are too long, each is cut around the first
    place they differ, so the previews show the difference instead of the same first words."""
    if before is None or after is None:
        return short_value(before, width), short_value(after, width)
    old, new = before.replace("\n", "⏎"), after.replace("\n", "⏎")
    if len(old) <= width and len(new) <= width:
        return old, new
    at = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    start = max(0, at - width // 3)
    return _window(old, start, width), _window(new, start, width)


def _window(text: str, start: int, width: int) -> str:
    if start == 0:
        return text if len(text) <= width else text[: width - 1] + "…"
    body = text[start : start + width - 2]
    return "…" + body + ("…" if start + width - 2 < len(text) else "")
