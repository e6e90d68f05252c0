"""Answering a prompt's tool call (the TUI's answer screen and ``run --tool-result``).

The results are attached to the prompt's latest output in the document (``metadata.
tool_results``, see :mod:`.toolcalls`); running the prompt again continues its conversation.
A result comes typed in, or from a file (text, at most :data:`MAX_RESULT_BYTES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PromptTuiError
from .toolcalls import attach_results, calls_of, is_answered

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["MAX_RESULT_BYTES", "answer", "pending_calls", "read_result", "waiting_prompts"]

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
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PromptTuiError(f"tool result {file}: {exc.strerror or exc}") from None


def pending_calls(workspace: Workspace, prompt: str) -> list[tuple[str, str, str]]:
    """(call id, function name, arguments) of the prompt's unanswered tool call; [] when its
    latest answer is no tool call or has been answered."""
    output = workspace.document.prompt(prompt).latest_output
    calls, _ = calls_of(output)
    if not calls or is_answered(output):
        return []
    return [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls]


def waiting_prompts(workspace: Workspace, names: list[str] | None = None) -> list[str]:
    """The prompts (of ``names``, default all) whose latest answer is an unanswered call."""
    document = workspace.document
    return [n for n in (names or document.prompt_names) if pending_calls(workspace, n)]


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
