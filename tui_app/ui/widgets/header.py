"""The header: config name and path on the left, run state and unsaved marker on the right."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class AppHeader(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static("", id="header-title")
        yield Static("", id="header-state")
        yield Static("", id="header-watch")

    def set_title(self, name: str, path: str, dirty: bool) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" prompt-tui ", "bold")
        text.append(name or "(unnamed config)", "bold")
        text.append(f"  {path}", "dim")
        if dirty:
            text.append("  ● modified", "italic")
        self.query_one("#header-title", Static).update(text)

    def set_state(self, state: str) -> None:
        self.query_one("#header-state", Static).update(state)

    def set_watch(self, state: str) -> None:
        """Live reload: whether a save re-runs the last target (``w`` toggles it)."""
        self.query_one("#header-watch", Static).update(f"⟳ {state} (w) ")
