"""Every Textual message the UI defines, in one place.

Widgets never change the engine's state themselves: they post one of these and the app decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from ..core.events import RunEvent
    from ..core.runs import Run


@dataclass
class PromptSelected(Message):
    """The cursor moved to a prompt (in the tree, the finder or the command palette)."""

    name: str
    from_tree: bool = False  # the tree's own cursor: it must not be moved back


@dataclass
class ParameterEdited(Message):
    """A value was typed into the parameter form: a run-time override (None: drop the override)."""

    name: str
    value: Any


@dataclass
class ParameterWriteRequested(Message):
    """Write a parameter's current value into the file, as a prompt or a global parameter."""

    name: str
    scope: str  # "prompt" | "global"


@dataclass
class SettingEdited(Message):
    """A model setting of the selected prompt changed (None: remove the prompt's own value)."""

    prompt: str
    key: str
    value: Any


@dataclass
class HistoryRunChosen(Message):
    """An earlier run of the selected prompt was picked in the history view."""

    prompt: str
    index: int


@dataclass
class HistoryDiffClosed(Message):
    """The diff of an earlier run was left (escape, or another view's key): the output view
    shows the prompt's current output again, and ``tab`` is the view wanted."""

    prompt: str
    tab: str


@dataclass
class RunUpdate(Message, bubble=False):
    """A runner event other than a text delta (deltas go straight into the stream buffers).
    For the main screen only: bubbling to the app dispatched every event twice (3,000 extra
    dispatches for a 1,000-prompt run; bench/run_all_tui.py)."""

    event: RunEvent


@dataclass
class RunFinished(Message):
    """A run worker ended (normally, cancelled, refused or with an error)."""

    run: Run
    error: str | None = None
    refused: bool = False


@dataclass
class FileChanged(Message):
    """The config file changed on disk (the watcher saw a save, a move or a deletion). The
    newest event waits in the screen: a burst of saves is handled once, for the last one."""


@dataclass
class AppReady(Message):
    """The app painted its first frame: the main screen may load the rest of the engine."""


@dataclass
class FileSaved(Message):
    """The app wrote the config file (the header's "unsaved" mark goes)."""


@dataclass
class BaselineRequested(Message):
    """Make the run of this history row the config's baseline (the history tab's `b`)."""

    prompt: str
    index: int


@dataclass
class RateRequested(Message):
    """Rate the answer of this history row (score 0..1; the history tab's `+` / `-`)."""

    prompt: str
    index: int
    score: float
