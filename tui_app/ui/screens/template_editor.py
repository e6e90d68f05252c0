"""Edit a prompt's template in a TextArea; ctrl+s hands the text back to be written to the file."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from .confirm import ConfirmScreen


class TemplateEditorScreen(ModalScreen[str | None]):
    HELP = """\
### Template editor

Edit the prompt's input template. `{{name}}` reads a parameter, `{{other.output}}` another
prompt's output (Handlebars-style; Jinja syntax works too).

`ctrl+s` saves: the template is written to the file. `escape` closes (asks if you changed it).
"""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="editor.save",
            tooltip="Write the template into the config file",
        ),
        Binding("escape", "close", "Close", id="editor.close"),
    ]

    def __init__(self, prompt: str, template: str) -> None:
        super().__init__(classes="editor-screen")
        self.prompt = prompt
        self.original = template

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(
                f"Template of [b]{self.prompt}[/b]  ·  ctrl+s saves to the file", id="editor-title"
            )
            yield TextArea(self.original, id="template-text", soft_wrap=True, tab_behavior="indent")
            yield Footer()

    def on_mount(self) -> None:
        editor = self.query_one(TextArea)
        editor.move_cursor(editor.document.end)  # most edits append to the prompt
        editor.focus()

    @property
    def text(self) -> str:
        return self.query_one("#template-text", TextArea).text

    def action_save(self) -> None:
        self.dismiss(self.text)

    def action_close(self) -> None:
        if self.text == self.original:
            self.dismiss(None)
            return

        def answered(answer: str | None) -> None:
            if answer == "save":
                self.dismiss(self.text)
            elif answer == "discard":
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(
                "Unsaved template",
                f"The template of '{self.prompt}' has changes.",
                [
                    ("save", "Save", "primary"),
                    ("discard", "Discard", "error"),
                    ("keep", "Keep editing", "default"),
                ],
            ),
            answered,
        )
