"""`/`: find a prompt by name. Typing jumps the tree to the best match; enter keeps it."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from ..messages import PromptSelected
from .line_input import LineInput


def best_match(query: str, names: list[str]) -> str | None:
    """Exact, then prefix, then substring, then in-order letters (case-insensitive)."""
    needle = query.strip().lower()
    if not needle:
        return None
    lowered = [(name, name.lower()) for name in names]
    for test in (
        lambda n: n == needle,
        lambda n: n.startswith(needle),
        lambda n: needle in n,
        lambda n: _letters_in_order(needle, n),
    ):
        for name, low in lowered:
            if test(low):
                return name
    return None


def _letters_in_order(needle: str, text: str) -> bool:
    position = 0
    for char in needle:
        position = text.find(char, position)
        if position < 0:
            return False
        position += 1
    return True


class FindBar(LineInput):
    HELP = """\
### Find a prompt

Type part of a prompt's name: the tree jumps to the best match (exact, prefix, substring, then
letters in order). `enter` keeps the selection, `escape` goes back to where you were.
"""

    BINDINGS = [Binding("escape", "close(True)", "Close", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="find prompt…", id=id, compact=True)
        self.names: list[str] = []
        self.origin: str | None = None
        self.display = False

    def open(self, names: list[str], origin: str | None) -> None:
        self.names = names
        self.origin = origin
        self.value = ""
        self.display = True
        self.focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        found = best_match(event.value, self.names)
        self.set_class(bool(event.value.strip()) and found is None, "-no-match")
        if found is not None:
            self.post_message(PromptSelected(found))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        found = best_match(event.value, self.names)
        if event.value.strip() and found is None:
            self.notify(f"No prompt matches '{event.value}'", severity="warning")
        self.action_close(restore=False)

    def action_close(self, restore: bool = True) -> None:
        self.display = False
        if restore and self.origin is not None:
            self.post_message(PromptSelected(self.origin))
        focus_tree = getattr(self.screen, "action_focus_tree", None)
        if callable(focus_tree):
            focus_tree()
