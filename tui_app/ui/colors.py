"""Theme variables -> Rich styles for text built in Python (tree labels, form heads)."""

from __future__ import annotations

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
        try:
            return Style(color=Color.parse(value).rich_color, bold=bold or None)
        except ColorParseError:
            continue
    return Style(bold=bold or None)
