"""Helpers for Pilot tests: wait for a condition instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from tui_app.ui.app import PromptTuiApp


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def make_app(path: Any, **kwargs: Any) -> PromptTuiApp:
    kwargs.setdefault("preload", False)  # tests that need litellm import it on first use
    return PromptTuiApp(str(path), **kwargs)


def status(app: PromptTuiApp, name: str) -> str:
    return app.session.state(name).status  # type: ignore[union-attr]


def main_screen(app: PromptTuiApp) -> Any:
    from tui_app.ui.screens.main import MainScreen

    screen = app.screen
    assert isinstance(screen, MainScreen), f"expected the main screen, got {screen!r}"
    return screen


def stream_text(app: PromptTuiApp) -> str:
    return main_screen(app).output.stream.text


async def select(pilot: Pilot[Any], name: str) -> None:
    """Select a prompt the way a user does: `/`, its name, enter."""
    await pilot.press("slash", *name, "enter")
    await wait_for(pilot, lambda: main_screen(pilot.app).selected == name, what=f"{name} selected")


async def ready(pilot: Pilot[Any]) -> None:
    """Wait for the main screen to finish loading the engine after its first frame."""
    await wait_for(
        pilot, lambda: getattr(pilot.app.screen, "engine_ready", False), what="engine ready"
    )
    await pilot.pause()
