"""The header: config name and path on the left, run state and unsaved marker on the right."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class AppHeader(Horizontal):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._dirty = False
        self._state = ""
        self._title: tuple[str, str] = ("", "")

    def compose(self) -> ComposeResult:
        yield Static("", id="header-title")
        yield Static("", id="header-state")
        yield Static("", id="header-watch")

    def set_title(self, name: str, path: str, dirty: bool) -> None:
        """The config's name and file on the left (cut first: the path's folders, then the
        name); the unsaved marker sits with the run state on the right, never cut."""
        from pathlib import Path

        width = self.size.width or 80
        shown_path = path if width >= 120 else Path(path).name
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" prompt-tui ", "bold")
        text.append(name or "(unnamed config)", "bold")
        text.append(f"  {shown_path}", "dim")
        self.query_one("#header-title", Static).update(text)
        self._title = (name, path)
        self._dirty = dirty
        self._show_state()

    def set_state(self, state: str) -> None:
        self._state = state
        self._show_state()

    def _show_state(self) -> None:
        text = Text(no_wrap=True)
        if self._dirty:
            text.append("● modified  ", "italic")
        text.append(self._state)
        self.query_one("#header-state", Static).update(text)

    def on_resize(self) -> None:
        if self._title != ("", ""):
            self.set_title(*self._title, self._dirty)

    def set_watch(self, state: str) -> None:
        """Live reload: whether a save re-runs the last target (``w`` toggles it)."""
        # narrow terminals keep the file name and the run state: the short form there
        shown = f"⟳ {state} (w) " if (self.size.width or 80) >= 100 else f"⟳ {state.split()[-1]} "
        self.query_one("#header-watch", Static).update(shown)
