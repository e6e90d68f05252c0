"""F1: help for the focused widget, and every key that works right now."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Markdown, Static

from ..markup import plain

GENERAL = """\
### prompt-tui

Three panes: the **prompt tree** (left), the **parameters** of the selected prompt (middle) and its
**output** (right). `p` jumps to the parameters and `escape` back to the tree; `tab` walks every
field of the form before it reaches the next pane. `ctrl+p` opens the command palette: every
action is there by name, and "Run *name*" / "Select *name*" for each prompt. `?` lists every key.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss(None)", "Close")]

    def __init__(self, title: str, help_text: str, keys: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.help_text = help_text
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help") as scroll:
            scroll.border_title = plain(f"Help: {self.title_text}")
            yield Markdown(self.help_text or GENERAL, id="help-text")
            if self.help_text and self._over_main_screen():  # about the three panes only
                yield Markdown(GENERAL)
            yield Static("[b]Keys that work here[/b]", classes="help-keys-title")
            table: DataTable[Text | str] = DataTable(
                id="help-keys", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static("escape closes", classes="dialog-hint")

    def _over_main_screen(self) -> bool:
        stack = self.app.screen_stack
        below = stack[-2] if len(stack) > 1 and stack[-1] is self else stack[-1]
        return below.id == "main"

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", DataTable)
        table.add_columns("key", "action")
        for key, description in self.keys:
            table.add_row(Text(key, style="bold"), description)


class KeyMapScreen(ModalScreen[None]):
    """Every key of every pane (``?`` or the palette's "Key map")."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "Close")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        # not a scroll: the table scrolls itself (a scroll around it drew two scrollbars)
        with Vertical(classes="dialog help") as box:
            box.border_title = "Key map"
            yield Static(
                'Keys can be changed in the settings file ("keymap": binding id -> keys), '
                "see the README.",
                classes="dialog-hint",
            )
            table: DataTable[Text | str] = DataTable(
                id="key-map", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Static("escape closes", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#key-map", DataTable)
        table.add_columns("where", "key", "action")
        for where, key, description in self.rows:
            table.add_row(where, Text(key, style="bold"), description)
        table.focus()
