"""Ask for one line of text (a new prompt's name...), with validation."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..widgets.line_input import LineInput


class AskTextScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        title: str,
        *,
        placeholder: str = "",
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield LineInput(self.value, placeholder=self.placeholder, id="ask-input")
            yield Static(
                "enter: OK   escape: cancel", classes="dialog-hint", id="ask-hint", markup=False
            )

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        problem = self.check(value) if self.check else (None if value else "type something")
        if problem:
            hint = self.query_one("#ask-hint", Static)
            hint.update(problem)
            hint.add_class("dialog-error")
            return
        self.dismiss(value)
