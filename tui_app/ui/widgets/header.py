"""The header: config name and path on the left, run state and unsaved marker on the right.

One widget drawing one line (three widgets in a row cost more before the first frame).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static


class AppHeader(Static):
    # Styled in app.tcss like any widget (the theme's colours, blended over the header's own
    # background): ``AppHeader > .header--state``.
    COMPONENT_CLASSES = {"header--state", "header--watch"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._dirty = False
        self._state = ""
        self._watch = ""
        self._title: tuple[str, str] = ("", "")
        self._estimate = ""  # what the next run would send and cost (run_estimate.py)
        self._drawn: tuple[object, ...] | None = None  # what the line shows now

    def show(self, *, name: str, path: str, dirty: bool, state: str, watch: str) -> None:
        """Everything the header says, drawn once and only when something changed: a run
        refreshes the header on each prompt's event."""
        self._title, self._dirty, self._state, self._watch = (name, path), dirty, state, watch
        self._redraw()

    def show_estimate(self, text: str) -> None:
        """The next run's estimate, drawn before the run state when there is room."""
        self._estimate = text
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    @property
    def _width(self) -> int:
        return self.size.width or 80

    @property
    def title_text(self) -> Text:
        """The config's name and file (narrow terminals: the file name without its folders)."""
        name, path = self._title
        shown_path = path if self._width >= 120 else Path(path).name
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" prompt-tui ", "bold")
        text.append(name or "(unnamed config)", "bold")
        text.append(f"  {shown_path}", "dim")
        return text

    @property
    def state_text(self) -> Text:
        """The unsaved marker and the run state: never cut."""
        text = Text(no_wrap=True, style=self.get_component_rich_style("header--state"))
        if self._dirty:
            text.append("● modified  ", "italic")
        text.append(self._state)
        return text

    @property
    def watch_text(self) -> Text:
        state = self._watch
        if not state:
            return Text()
        # narrow terminals keep the file name and the run state: the short form there
        shown = f"⟳ {state} (w) " if self._width >= 100 else f"⟳ {state.split()[-1]} "
        return Text(shown, style=self.get_component_rich_style("header--watch"), no_wrap=True)

    def _redraw(self, *, restyled: bool = False) -> None:
        """Title on the left, cut first (its folders, then its name); state and watch right."""
        drawn = (self._title, self._dirty, self._state, self._watch, self._width, self._estimate)
        if drawn == self._drawn and not restyled:
            return
        self._drawn = drawn
        right = Text.assemble(self.state_text, self.watch_text)
        title = self.title_text
        if self._estimate:  # only when the title keeps a readable width beside it
            figure = Text(self._estimate + "  ", style="dim", no_wrap=True)
            if self._width - right.cell_len - figure.cell_len - 2 >= min(title.cell_len, 24):
                right = Text.assemble(figure, right)
        room = max(0, self._width - right.cell_len - 2)  # two spaces before the state, always
        if title.cell_len > room:
            title.truncate(room, overflow="ellipsis")
        line = Text.assemble(title, " " * (room - title.cell_len + 2), right, no_wrap=True)
        self.update(line, layout=False)

    def notify_style_update(self) -> None:
        """Colours come from the theme (component styles): drawn again when they change."""
        super().notify_style_update()
        if self.is_mounted:  # after the restyle (component styles come after this call)
            self.call_later(self._redraw, restyled=True)
