"""Edit a prompt's template in a TextArea; ctrl+s hands the text back to be written to the file.

Only the template is written (not the session's other unsaved changes); a template that does not
parse is saved only after the user says so; escape closes without writing (asks about edits).
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from ..markup import styled
from .confirm import ConfirmScreen


class TemplateEditorScreen(ModalScreen[str | None]):
    HELP = """\
### Template editor

Edit the prompt's input template. `{{name}}` reads a parameter, `{{other.output}}` another
prompt's output (Handlebars-style; Jinja syntax works too).

`ctrl+s` writes this template (and nothing else) into the file; a template with a syntax error
asks first. `escape` closes without writing (asks if you changed it).
"""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="editor.save",
            tooltip="Write the template into the config file",
        ),
        # priority: the TextArea otherwise takes escape to move the focus (tab_behavior="indent")
        Binding(
            "escape",
            "close",
            "Close",
            id="editor.close",
            priority=True,
            tooltip="Close without writing (asks if the template changed)",
        ),
    ]

    def __init__(self, prompt: str, template: str, prompt_names: Iterable[str] = ()) -> None:
        super().__init__(classes="editor-screen")
        self.prompt = prompt
        self.original = template
        self.prompt_names = frozenset(prompt_names)

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static(
                styled(
                    "Template of [b]$prompt[/b]  ·  ctrl+s saves to the file", prompt=self.prompt
                ),
                id="editor-title",
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

    def syntax_error(self, text: str) -> str | None:
        """The template's syntax error (one line with its position), or None when it parses."""
        from ...core.errors import PromptTuiError
        from ...core.templates.engine import default_engine

        try:
            default_engine().compile(text, self.prompt_names, prompt=self.prompt)
        except PromptTuiError as exc:
            return str(exc)
        return None

    def action_save(self) -> None:
        text = self.text
        error = self.syntax_error(text)
        if error is None:
            self.dismiss(text)
            return

        def answered(answer: str | None) -> None:
            if answer == "save":
                self.dismiss(text)

        self.app.push_screen(
            ConfirmScreen(
                "The template has a syntax error",
                f"{error}\nRunning this prompt will fail until it is fixed.",
                [
                    ("keep", "Keep editing", "primary"),
                    ("save", "Save anyway", "error"),
                ],
            ),
            answered,
        )

    def action_close(self) -> None:
        if self.text == self.original:
            self.dismiss(None)
            return

        def answered(answer: str | None) -> None:
            if answer == "save":
                self.action_save()
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
