"""The matrix grid: rows x columns of verdicts, drawn line by line (only visible lines are built).

A line-based ScrollView: the widget asks its source for the text of row ``y`` when Textual paints
line ``y``, so 10,000 rows cost what the 30 on screen cost. Moving the cursor repaints the two
lines involved. ``enter`` posts :class:`MatrixGrid.CellChosen`; the cursor moving posts
:class:`MatrixGrid.CursorMoved`. The screen owns the data and the behaviour of a chosen cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..colors import theme_style

ROW_WIDTH = 6
PARAMS_WIDTH = 28
CELL_WIDTH = 12
MARKS = {
    "pass": "✓ pass",
    "fail": "✗ fail",
    "error": "! error",
    "queued": "… queued",
    "running": "⠿ running",
    "": "",
}


class MatrixSource(Protocol):
    """What the grid draws: the screen implements it over its cells."""

    def visible_rows(self) -> int: ...

    def row_label(self, y: int) -> tuple[str, str]:
        """(row number, parameters summary) of visible row ``y``."""
        ...

    def cell_state(self, y: int, x: int) -> str:
        """pass / fail / error / queued / running / "" for visible row ``y``, column ``x``."""
        ...

    def column_count(self) -> int: ...


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def column_header(names: list[str]) -> str:
    """The line above the grid: the columns' names at the grid's widths."""
    return (
        "row".rjust(ROW_WIDTH - 1)
        + " "
        + _fit("parameters", PARAMS_WIDTH)
        + "  "
        + "".join(_fit(name, CELL_WIDTH) + " " for name in names)
    )


class MatrixGrid(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    MatrixGrid { height: 1fr; background: $surface; }
    MatrixGrid:focus { background-tint: $foreground 3%; }
    """

    BINDINGS = [
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First row", show=False),
        Binding("end", "jump(-1)", "Last row", show=False),
        Binding("enter", "choose", "Show cell", show=False),
    ]

    @dataclass
    class CursorMoved(Message):
        row: int  # visible row
        column: int

    @dataclass
    class CellChosen(Message):
        row: int
        column: int

    def __init__(self, source: MatrixSource, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.cursor_row = 0
        self.cursor_column = 0
        self._styles: dict[str, Style] = {}

    def on_mount(self) -> None:
        self.reload()
        self.watch(self.app, "theme", lambda _: self._theme_changed(), init=False)

    def _theme_changed(self) -> None:
        self._styles.clear()
        self.refresh()

    def _style(self, state: str) -> Style:
        if not self._styles:
            app = self.app
            self._styles = {
                "pass": theme_style(app, "success", "text-success"),
                "fail": theme_style(app, "error", "text-error", bold=True),
                "error": theme_style(app, "warning", "text-warning", bold=True),
                "queued": theme_style(app, "foreground-muted", "text-muted"),
                "running": theme_style(app, "accent", "primary"),
                "": Style(),
                "muted": theme_style(app, "foreground-muted", "text-muted"),
            }
        return self._styles.get(state, Style())

    # --- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """The number of rows or columns changed (a filter, a new column): resize and repaint."""
        rows = self.source.visible_rows()
        width = ROW_WIDTH + PARAMS_WIDTH + 2 + (CELL_WIDTH + 1) * self.source.column_count()
        self.virtual_size = Size(width, rows)
        self.cursor_row = min(self.cursor_row, max(0, rows - 1))
        self.cursor_column = min(self.cursor_column, max(0, self.source.column_count() - 1))
        self.refresh()

    def refresh_row(self, y: int) -> None:
        top = self.scroll_offset.y
        if top <= y < top + self.size.height:
            self.refresh_line(y)

    # --- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.size.width
        if row >= self.source.visible_rows():
            return Strip.blank(width)
        number, params = self.source.row_label(row)
        selected = row == self.cursor_row
        muted = self._style("muted")
        segments = [
            Segment(number.rjust(ROW_WIDTH - 1) + " ", muted),
            Segment(_fit(params, PARAMS_WIDTH) + "  ", muted),
        ]
        for x in range(self.source.column_count()):
            state = self.source.cell_state(row, x)
            style = self._style(state)
            if selected and x == self.cursor_column:
                style = style + Style(reverse=True)
            segments.append(Segment(_fit(MARKS.get(state, state), CELL_WIDTH), style))
            segments.append(Segment(" "))
        strip = Strip(segments)
        scroll_x = self.scroll_offset.x
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width)

    # --- moving -------------------------------------------------------------------------------
    def move_to(self, row: int, column: int | None = None) -> None:
        rows = self.source.visible_rows()
        if rows == 0:
            return
        old = self.cursor_row
        self.cursor_row = max(0, min(rows - 1, row))
        if column is not None:
            self.cursor_column = max(0, min(self.source.column_count() - 1, column))
        top, height = self.scroll_offset.y, max(1, self.size.height)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False)
        else:
            self.refresh_row(old)
            self.refresh_row(self.cursor_row)
        self.post_message(self.CursorMoved(self.cursor_row, self.cursor_column))

    def action_move(self, dx: int, dy: int) -> None:
        self.move_to(self.cursor_row + dy, self.cursor_column + dx)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor_row + direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        self.move_to(0 if where == 0 else self.source.visible_rows() - 1)

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        offset = self.scroll_offset.x + event.x - ROW_WIDTH - PARAMS_WIDTH - 2
        column = offset // (CELL_WIDTH + 1) if offset >= 0 else self.cursor_column
        self.move_to(row, column)
        if event.chain >= 2:
            self.action_choose()

    def action_choose(self) -> None:
        if self.source.visible_rows():
            self.post_message(self.CellChosen(self.cursor_row, self.cursor_column))
