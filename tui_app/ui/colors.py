"""Theme variables -> Rich styles for text built in Python (tree labels, form heads)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rich.style import Style
from textual.color import Color, ColorParseError


def theme_style(app: Any, *names: str, bold: bool = False) -> Style:
    """The first of the theme variables ``names`` that is a colour, as a Rich style.

    Theme colours may carry alpha ("#d8dee999"), which Rich cannot parse: Textual's Color can,
    and gives the equivalent solid colour.
    """
    variables = getattr(app, "theme_variables", {}) or {}
    for name in names:
        value = variables.get(name)
        if not value:
            continue
        style = _style(value, bold)
        if style is not None:
            return style
    return Style(bold=bold or None)


@lru_cache(maxsize=256)
def _style(value: str, bold: bool) -> Style | None:
    """A colour value as a style, parsed once (a 1,000-prompt tree asks for a few, 1,000 times)."""
    try:
        return Style(color=Color.parse(value).rich_color, bold=bold or None)
    except ColorParseError:
        return None
