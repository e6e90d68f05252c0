"""The command palette's entries from Textual itself, kept where they help and named the app's way.

Textual offers its own Quit (a second one beside ours, which asks about unsaved changes), a
"Keys" panel (the app has F1 and the key map), "Theme" (the README says "Change theme") and a
Screenshot that writes into ``~/Downloads`` and fails when that folder is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.screen import Screen

from ..core.paths import data_dir
from .markup import escape_markup


def screenshot_dir() -> Path:
    """Where screenshots go: a folder of the app's data directory (made when missing)."""
    folder = data_dir(create=True) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(app: App[Any]) -> Path | None:
    try:
        folder = screenshot_dir()
        name = f"prompt-tui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        written = Path(app.save_screenshot(name, str(folder)))
    except OSError as exc:
        app.notify(f"Cannot save a screenshot: {exc}", severity="error", markup=False)
        return None
    app.notify(f"Screenshot saved: {written}", title="Screenshot", timeout=5, markup=False)
    return written


def system_commands(app: App[Any], screen: Screen[object]) -> Iterator[SystemCommand]:
    yield SystemCommand("Change theme", "Pick a theme from a list", app.action_change_theme)
    if screen.maximized is not None:
        yield SystemCommand("Restore pane", "Back to the normal layout", screen.action_minimize)
    elif screen.focused is not None and screen.focused.allow_maximize:
        yield SystemCommand(
            "Maximize pane", "The focused pane fills the screen", screen.action_maximize
        )
    yield SystemCommand(
        "Save screenshot",
        escape_markup(f"An SVG of the screen, into {data_dir() / 'screenshots'}"),
        lambda: app.set_timer(0.1, lambda: save_screenshot(app)),
    )
