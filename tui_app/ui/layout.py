"""Small layout and wording decisions of the main screen, kept apart so it stays readable."""

from __future__ import annotations

from typing import Any

from ..core.runs import PromptStatus


def breakpoint_classes(app: Any) -> str:
    """The horizontal breakpoint class Textual gives a screen of the app's current width.

    Textual sets it when the screen first gets its size, after every widget is styled: a change
    of class then restyles the whole screen. Starting with the
    right class makes that a no-op; a wrong guess is corrected by Textual as before.
    """
    try:
        breakpoints = app.HORIZONTAL_BREAKPOINTS or []
        width = app.size.width
    except Exception:  # no running app (a screen built outside one): let Textual decide
        return ""
    for minimum, class_name in sorted(breakpoints, reverse=True):
        if width >= minimum:
            return class_name
    return ""


def waiting_note(status: PromptStatus, workspace: Any, name: str) -> str:
    """The line above an empty output while a prompt waits or starts in a run."""
    if status is PromptStatus.QUEUED:
        run = workspace.run_of(name)
        what = f" ({run.describe()})" if run is not None else ""
        return f"queued in a run{what}: it starts when what it depends on is done"
    if status is PromptStatus.RUNNING:
        return "running: waiting for the first words of the answer"
    return ""


def tree_pane_width(widest_label: int, screen_width: int) -> int:
    """The tree pane as wide as its widest label (name, model, status word), up to 35-40% of
    the screen: a fixed width cut ``gpt-3.5-`` and ``mock faile`` even at 160 columns."""
    low = 20 if screen_width < 80 else 26
    high = max(low, int(screen_width * (0.35 if screen_width < 120 else 0.4)))
    return max(low, min(high, widest_label + 6))  # borders, scrollbar and a margin


def label_cells(pane_width: int) -> int:
    """The cells a top-level label and its arrow have in a tree pane ``pane_width`` wide:
    all but the borders and the scrollbar."""
    return pane_width - 3


WIDE = 120  # app.HORIZONTAL_BREAKPOINTS' "-wide": the form and output side by side


def form_width(screen_width: int, tree_width: int) -> int:
    """The form pane's width as app.tcss lays it out beside a tree pane ``tree_width`` wide:
    the rest of the screen below WIDE columns (the output goes under it), else 2fr of 5 (a test
    checks this against the laid-out screen at many sizes). Known before the first frame, so
    the form starts in its final shape."""
    work = max(0, screen_width - tree_width)
    return work if screen_width < WIDE else work * 2 // 5


def output_width(screen_width: int, tree_width: int) -> int:
    """The output pane's width, as :func:`form_width` says the form's."""
    work = max(0, screen_width - tree_width)
    return work if screen_width < WIDE else work - form_width(screen_width, tree_width)


def model_label(config: Any, name: str) -> str:
    """The model name the tree shows beside a prompt."""
    prompt = config.get(name)
    return (config.model_name_of(prompt) or "") if prompt is not None else ""
