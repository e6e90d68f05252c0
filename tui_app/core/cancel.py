"""Stopping work that runs in threads Python cannot interrupt from outside.

A template render is pure Python in whatever thread asked for it; a thread still rendering keeps
the interpreter from exiting (Ctrl+C and ``q`` would seem ignored). Renders check
:func:`generation` at every call, loop iteration and output piece (see
:mod:`.templates.budget`); :func:`stop_renders` makes each render in progress stop at its next
check. Kept apart from the template package so the CLI can call it without importing Jinja.
"""

from __future__ import annotations

_generation = 0


def generation() -> int:
    """The current generation: a render started under an older one has been stopped."""
    return _generation


def stop_renders() -> None:
    """Stop every template render in progress, on every thread, at its next check. Renders
    started afterwards run normally."""
    global _generation
    _generation += 1
