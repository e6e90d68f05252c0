"""The TUI's one boundary where text meets the terminal: every line every widget renders.

Model answers, prompt names, file text and provider errors reach many widgets (the rendered
Markdown view, the tree, toasts, Info, the request view, the history table, comparison
columns...). Rich keeps ESC, C1 controls and bidirectional overrides in the text it renders, so
one of them in any widget would reach the terminal raw: ``ESC ] 0 ;`` retitles the window,
``ESC [ 2 J`` clears it. Instead of trusting each widget to remember, :class:`InertLines` is a
Textual line filter (``App.get_line_filters``) applied to every rendered line: control
characters become the visible pictures of :func:`tui_app.core.inert.visible_name`. Textual's own
escape sequences are made later, from styles, so they are untouched.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from ..core.inert import visible_name


class InertLines(LineFilter):
    """Shows control characters in rendered text instead of sending them to the terminal."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if all(segment.text.isprintable() for segment in segments):
            return segments  # the common case: one C-level check per segment
        width = sum(segment.cell_length for segment in segments)
        shown = [
            segment
            if segment.text.isprintable()
            else Segment(visible_name(segment.text), segment.style, segment.control)
            for segment in segments
        ]
        # Control characters take no cell and their pictures take one: keep the line's width.
        return Segment.adjust_line_length(shown, width)
