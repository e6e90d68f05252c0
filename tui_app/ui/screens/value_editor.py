"""A parameter value in a multi-line editor (f2 in the form): a diff, a document, a list of
lines, which a one-line input can only show with \\n for each line break."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from ..markup import styled


class ValueEditorScreen(ModalScreen[str | None]):
    HELP = """\
### Parameter value

Edit the value with its line breaks. `ctrl+s` keeps it as the run-time value (as typing it in the
form does: `ctrl+o` / `ctrl+g` then write it into the file); `escape` leaves it as it was.
"""

    BINDINGS = [
        Binding("ctrl+s", "keep", "Keep", id="value.keep", tooltip="Use this value for the runs"),
        # priority: the TextArea takes escape otherwise
        Binding("escape", "dismiss(None)", "Cancel", id="value.cancel", priority=True),
    ]

    def __init__(self, name: str, value: str) -> None:
        super().__init__(classes="editor-screen")
        self.param = name
        self.original = value

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(
                styled(
                    "Parameter [b]$param[/b]  ·  ctrl+s keeps it, escape cancels", param=self.param
                ),
                id="editor-title",
            )
            yield TextArea(self.original, id="value-text", soft_wrap=True, tab_behavior="indent")
            yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_keep(self) -> None:
        self.dismiss(self.query_one("#value-text", TextArea).text)
