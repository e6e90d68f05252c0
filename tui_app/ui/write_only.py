"""Keys that write one named thing into the file (ctrl+o / ctrl+g, compare's adopt, the template
editor's ctrl+s) write only that: a pending delete or the session's unsaved outputs never ride
along. When the file changed on disk since it was loaded, the change stays in the session and
ctrl+s asks how to save it (as for any save over someone else's change)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from ..core.config import AIConfig
from ..core.errors import PromptTuiError


def write_only(
    app: App[Any],
    config: AIConfig,
    *,
    write: Callable[[], Path],
    keep: Callable[[], None],
    done: str,
) -> bool:
    """``write`` the one change, or ``keep`` it in the session when the file changed on disk.
    Says what happened; True when the file was written."""
    if config.changed_on_disk():
        try:
            keep()
        except PromptTuiError as exc:
            app.notify(str(exc), title="Not changed", severity="error", markup=False)
            return False
        app.notify(
            f"{done} in this session only: the file changed on disk (ctrl+s asks how to save it).",
            severity="warning",
            markup=False,
        )
        return False
    try:
        written = write()
    except (PromptTuiError, OSError) as exc:
        app.notify(str(exc), title="Save failed", severity="error", markup=False)
        return False
    app.notify(f"{done}: written to {written}", title="Saved", timeout=3, markup=False)
    return True
