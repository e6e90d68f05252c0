"""The file changed on disk while the app holds unsaved edits: the user picks what survives.

Nothing is written before an answer; escape keeps the app's version (the file stays as it is,
and a later ctrl+s asks before overwriting it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .confirm import ConfirmScreen

if TYPE_CHECKING:
    from ...core.reload import ReloadResult

KEEP, TAKE, COPY = "keep", "take", "copy"


class ReloadConflictScreen(ConfirmScreen):
    def __init__(self, result: ReloadResult) -> None:
        changes = [f"  • {c}" for c in result.changes[:8]]
        if len(result.changes) > 8:
            changes.append(f"  • … and {len(result.changes) - 8} more")
        question = (
            f"{result.source} was saved by another program, and this session has edits it has "
            "not saved.\n\nThe file's version changes:\n"
            + ("\n".join(changes) or "  (nothing the chain reads)")
            + "\n\nKeep mine: stay on this session's version (the file is left as it is).\n"
            "Take the file's: drop this session's edits.\n"
            "Save mine as a copy: write this session's version beside the file, then take the "
            "file's."
        )
        super().__init__(
            "The file changed on disk",
            question,
            [
                (KEEP, "Keep mine", "primary"),
                (TAKE, "Take the file's", "error"),
                (COPY, "Save mine as a copy", "default"),
            ],
        )
