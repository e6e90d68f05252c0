"""Answering a prompt's tool call (the TUI's answer screen and ``run --tool-result``).

The results are attached to the prompt's latest output in the document (``metadata.
tool_results``, see :mod:`.toolcalls`); running the prompt again continues its conversation.
A result comes typed in, or from a file (text, at most :data:`MAX_RESULT_BYTES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PromptTuiError
from .fileio import read_bytes
from .toolcalls import attach_results, calls_of, is_answered

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = [
    "MAX_RESULT_BYTES",
    "answer",
    "answered_output",
    "pending_calls",
    "read_result",
]

MAX_RESULT_BYTES = 1024 * 1024  # a tool result is sent as message text: 1 MB is plenty


def read_result(path: str | Path, base: Path | None = None) -> str:
    """A tool result from a file (relative to ``base``, else the working directory)."""
    file = Path(path).expanduser()
    if not file.is_absolute() and base is not None and not file.exists():
        file = base / file
    try:
        size = file.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise PromptTuiError(
                f"tool result {file}: {size:,} bytes, over the {MAX_RESULT_BYTES:,}-byte limit"
            )
        # the one reader: a FIFO or /dev/zero is refused, a file growing past the limit stops
        raw = read_bytes(file, limit=MAX_RESULT_BYTES)
        return raw.decode("utf-8", errors="replace")
    except OSError as exc:
        raise PromptTuiError(f"tool result {file}: {exc.strerror or exc}") from None


def answered_output(
    output: dict[str, Any] | None, results: Mapping[str, str]
) -> dict[str, Any] | None:
    """``output`` with its tool call answered, when it is an unanswered call and ``results``
    (by call id or function name) cover every call of it; else None."""
    calls, _ = calls_of(output)
    if output is None or not calls or is_answered(output):
        return None
    if not all(c["id"] in results or c["function"]["name"] in results for c in calls):
        return None
    new, _ = attach_results(output, results)
    return new


def pending_calls(workspace: Workspace, prompt: str) -> list[tuple[str, str, str]]:
    """(call id, function name, arguments) of the prompt's unanswered tool call; [] when its
    latest answer is no tool call or has been answered."""
    output = workspace.document.prompt(prompt).latest_output
    calls, _ = calls_of(output)
    if not calls or is_answered(output):
        return []
    return [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls]


def answer(workspace: Workspace, prompt: str, results: Mapping[str, str]) -> list[str]:
    """Attach ``results`` (keyed by call id or function name) to the prompt's tool call in the
    document. Returns the keys that matched no call. Raises PromptTuiError when the prompt's
    latest answer is not a tool call."""
    target = workspace.document.prompt(prompt)
    output = target.latest_output
    calls, _ = calls_of(output)
    if output is None or not calls:
        raise PromptTuiError(f"prompt '{prompt}': its latest answer is not a tool call")
    new, unmatched = attach_results(output, results)
    if len(unmatched) < len(results):
        target.set_outputs([*target.outputs[:-1], new])
        workspace.changed(edit=False)  # like a run's output: data, not an edit of the prompt
    return unmatched
