"""Answer a prompt's tool call: one result per call, typed in or read from a file.

Dismissed with ``{call id: result text}`` (None when cancelled); the main screen attaches the
results to the prompt's answer and runs the prompt again, which continues its conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

from ...core.errors import PromptTuiError
from ...core.inert import visible, visible_name
from ...core.tool_answer import answer, pending_calls, read_result
from ...core.toolcalls import pretty_arguments
from ..widgets.line_input import LineInput

if TYPE_CHECKING:
    from textual.app import App

    from ...core.workspace import Workspace

__all__ = ["ToolAnswerScreen", "ask_tool_results"]


def ask_tool_results(
    app: App[object], workspace: Workspace, prompt: str | None, then: Callable[[], None]
) -> None:
    """Ask for the results of ``prompt``'s waiting tool call; once given, attach them to its
    answer in the document and call ``then`` (the main screen runs the prompt again)."""
    calls = pending_calls(workspace, prompt) if prompt is not None else []
    if prompt is None or not calls:
        app.notify("No tool call waiting for a result here.", severity="warning")
        return

    def answered(results: dict[str, str] | None) -> None:
        if results:
            answer(workspace, prompt, results)
            then()

    base = workspace.document.path.parent if workspace.document.path else None
    app.push_screen(ToolAnswerScreen(prompt, calls, base), answered)


class ToolAnswerScreen(ModalScreen[dict[str, str] | None]):
    """``calls``: (call id, function name, arguments JSON) of the unanswered call."""

    DEFAULT_CSS = """
    #tool-calls { height: auto; max-height: 24; }
    .tool-call { text-style: bold; margin-top: 1; }
    .tool-result { height: 5; }
    """

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "send", "Send and continue", priority=True),
    ]

    def __init__(self, prompt: str, calls: list[tuple[str, str, str]], base: Path | None) -> None:
        super().__init__(classes="dialog-screen")
        self.prompt = prompt
        self.calls = calls
        self.base = base

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="tool-answer"):
            yield Static(
                f"Answer the tool call of {visible_name(self.prompt)}",
                classes="dialog-title",
                markup=False,
            )
            with VerticalScroll(id="tool-calls"):
                for index, (_, name, arguments) in enumerate(self.calls):
                    yield Static(
                        f"{visible_name(name)}\n{visible(pretty_arguments(arguments))}",
                        markup=False,
                        classes="tool-call",
                    )
                    yield TextArea("", id=f"tool-result-{index}", classes="tool-result")
                    yield LineInput(
                        placeholder="… or the result from a file: its path",
                        id=f"tool-file-{index}",
                    )
            yield Static(
                "ctrl+s: send the results and continue   escape: cancel",
                classes="dialog-hint",
                id="tool-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#tool-result-0", TextArea).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def action_send(self) -> None:
        results: dict[str, str] = {}
        for index, (call_id, name, _) in enumerate(self.calls):
            path = self.query_one(f"#tool-file-{index}", Input).value.strip()
            typed = self.query_one(f"#tool-result-{index}", TextArea).text
            try:
                text = read_result(path, self.base) if path else typed
            except PromptTuiError as exc:
                self._say(str(exc))
                return
            if not text.strip():
                self._say(f"{name}: type its result or give a file")
                return
            results[call_id] = text
        self.dismiss(results)

    def _say(self, problem: str) -> None:
        hint = self.query_one("#tool-hint", Static)
        hint.update(problem)
        hint.add_class("dialog-error")
