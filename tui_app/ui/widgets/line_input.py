"""A one-line input that keeps the order of the keys typed into it, however busy the screen.

Textual inserts a printable key in the Input's own handler, but runs the Input's editing bindings
(backspace, delete, arrows, home/end, ctrl+w ...) only once the key has bubbled up through every
ancestor to the app. On a screen busy with a run or a redraw those hops wait: "backspace x6,
Porto" typed quickly into "Lisbon" became "LisbP" (the backspaces ran after the letters, deleting
them). Here the editing keys run where they arrive, in the order they came.
"""

from __future__ import annotations

from functools import cache

from textual import events
from textual.binding import Binding
from textual.widgets import Input


@cache
def editing_keys() -> dict[str, str]:
    """Input's own bindings: key -> action (``"home,ctrl+a"`` is two keys)."""
    keys: dict[str, str] = {}
    for binding in Input.BINDINGS:
        if isinstance(binding, Binding):
            for key in binding.key.split(","):
                keys[key.strip()] = binding.action
    return keys


class LineInput(Input):
    async def on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # inserted by Input itself
        action = editing_keys().get(event.key)
        if action is not None:
            event.stop()
            event.prevent_default()
            await self.run_action(action)
