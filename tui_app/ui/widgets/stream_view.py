"""A cheap, soft-wrapping view for streamed text.

Appending costs O(new text): lines are wrapped greedily and a finished row never changes when
text is added after it, so only the last (open) row is re-wrapped. Rendering is virtual (only the
visible rows are drawn). A TextArea re-wraps the whole logical line on every insert, which makes
a long single-line stream quadratic (measured: 20,000 tokens on one line took 14 s).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from ...core.inert import visible

# Texts longer than this keep their wrapped rows for the next time they are shown.
WRAP_CACHE_MIN = 2_000


def _clean(text: str) -> str:
    # control characters (escape sequences in a model's answer) shown as placeholders: ␛[2J
    return visible(text.replace("\r\n", "\n").replace("\r", "\n")).expandtabs(4)


def _cut(text: str, start: int, width: int) -> int:
    """Index of the first character from ``start`` that does not fit in ``width`` cells."""
    cells = 0
    for index in range(start, len(text)):
        cells += cell_len(text[index])
        if cells > width:
            return max(index, start + 1)
    return len(text)


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap of one logical line; the last row is the open one (may grow).

    Works with indices (no slicing of the remainder), so a 500,000-character line wraps in
    linear time.
    """
    if width <= 0:
        return [text]
    ascii_only = text.isascii()
    rows: list[str] = []
    start, end = 0, len(text)
    while True:
        if ascii_only:
            if end - start <= width:
                break
            cut = start + width
        else:
            cut = _cut(text, start, width)
            if cut >= end:
                break
        space = text.rfind(" ", start, cut + 1)
        stop = space + 1 if space > start else cut  # after the space, else break the word
        rows.append(text[start:stop])
        start = stop
    rows.append(text[start:])
    return rows


class StreamView(ScrollView, can_focus=True):
    """Read-only wrapped text that follows its end while text arrives (unless scrolled away)."""

    ALLOW_SELECT = True
    DEFAULT_CSS = """
    StreamView {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._paragraphs: list[str] = [""]  # logical lines; the last one is open
        # long texts shown lately -> (wrap width, paragraphs, rows)
        self._wrapped: LRUCache[str, tuple[int, list[str], list[str]]] = LRUCache(4)
        self._rows: list[str] = [""]  # display rows at the current wrap width
        self._wrap_width = 0
        self._cache: LRUCache[int, Strip] = LRUCache(512)
        self._style: Style | None = None  # rich_style, cached (it walks the DOM)
        self._selection: Selection | None = None

    # --- content ------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return "\n".join(self._paragraphs)

    @property
    def wrap_width(self) -> int:
        return self._wrap_width

    @property
    def rows(self) -> list[str]:
        """The display rows at the current wrap width."""
        return list(self._rows)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def set_text(self, text: str) -> None:
        cached = self._wrapped.get(text) if len(text) > WRAP_CACHE_MIN else None
        if cached is not None and cached[0] == self._wrap_width:
            # Selecting a prompt again: its rows are kept (a 53k-character output is ~1,000 rows
            # to wrap, and their garbage costs collections later). Copies: append() edits them.
            self._paragraphs, self._rows = list(cached[1]), list(cached[2])
            self._cache.clear()
            self.virtual_size = Size(self._wrap_width, len(self._rows))
            self.refresh()
        else:
            self._paragraphs = _clean(text).split("\n")
            self._rewrap()
            if len(text) > WRAP_CACHE_MIN:
                self._wrapped[text] = (self._wrap_width, list(self._paragraphs), list(self._rows))
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def clear(self) -> None:
        self.set_text("")

    def append(self, text: str) -> None:
        if not text:
            return
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        parts = _clean(text).split("\n")
        width = self._wrap_width
        first_changed = len(self._rows) - 1
        tail = self._rows.pop()
        self._paragraphs[-1] += parts[0]
        self._rows += wrap(tail + parts[0], width)
        for part in parts[1:]:
            self._paragraphs.append(part)
            self._rows += wrap(part, width)
        for y in range(first_changed, len(self._rows)):
            self._cache.discard(y)
        self._grow(Size(width, len(self._rows)))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _grow(self, size: Size) -> None:
        """Set the virtual size after an append without a layout pass when nothing else moves.

        ``virtual_size`` is a layout reactive: setting it reflows (and repaints) the whole screen,
        20 times a second while streaming. Only the appearance of the scrollbar needs a layout;
        otherwise the scrollbar's window is updated in place.
        """
        height = self.scrollable_content_region.height
        scrollbar_needed = size.height > height
        if scrollbar_needed and not self.show_vertical_scrollbar:
            self.virtual_size = size  # the scrollbar appears: a real layout change
            return
        self.set_reactive(Widget.virtual_size, size)
        if self.show_vertical_scrollbar:
            scrollbar = self.vertical_scrollbar
            scrollbar.window_virtual_size = size.height
            scrollbar.window_size = height
            scrollbar.refresh()

    def _rewrap(self) -> None:
        width = self._wrap_width
        rows: list[str] = []
        for paragraph in self._paragraphs:
            rows += wrap(paragraph, width)
        self._rows = rows or [""]
        self._cache.clear()
        self.virtual_size = Size(width, len(self._rows))
        self.refresh()

    # --- layout -------------------------------------------------------------------------------
    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width < 2:
            return  # hidden (display: none): keep the wrap until it is shown again
        if width != self._wrap_width:
            at_end = self.is_vertical_scroll_end
            self._wrap_width = width
            self._rewrap()
            if at_end:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_show_vertical_scrollbar(self) -> None:
        """The scrollbar takes a column without resizing the widget (no resize event): wrap to
        the narrower width once laid out, or the last character of long rows hides under it."""
        self.call_after_refresh(self.on_resize)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        self._cache.clear()

    # --- rendering ----------------------------------------------------------------------------
    # render_line runs for every visible row of every frame: it uses values cached here (the
    # style, the width, the selection) rather than Textual's properties, which walk the DOM.
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self._wrap_width
        style = self._style
        if style is None:
            style = self._style = self.rich_style
        if row >= len(self._rows):
            return Strip.blank(width, style)
        selection = self._selection
        strip = self._cache.get(row) if selection is None else None
        if strip is None:
            line = self._rows[row]
            if selection is None:
                strip = Strip([Segment(line, style)], cell_len(line))
                self._cache[row] = strip
            else:
                text = Text(line, style=style, no_wrap=True, end="")
                span = selection.get_span(row)
                if span is not None:
                    start, end = span
                    text.stylize(
                        self.screen.get_component_rich_style("screen--selection"),
                        start,
                        len(line) if end == -1 else end,
                    )
                strip = Strip(text.render(self.app.console), cell_len(line))
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, row)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self._rows)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._selection = selection
        self._cache.clear()
        self.refresh()
