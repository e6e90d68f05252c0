"""Round 3, the TUI: with the shared payload list in a prompt's name, its template, the model's
answer, a file warning and a broken file, no screen sends a control character to the terminal:
what is checked is the rendered screen (the exported SVG of every line Textual draws), not a
helper. Each screen also shows the payload (its pictures), so a screen that hid the text would
not pass for an inert one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.support.hostile_text import HOSTILE, HOSTILE_NAME, raw_controls
from tests.ui.helpers import main_screen, make_app, ready, status, wait_for

SHOWN = "\u241b"  # ␛: the picture of ESC, proof that the text was shown


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def _config(tmp_path: Path) -> Path:
    prompt = {
        "name": HOSTILE_NAME,
        "input": "say: " + HOSTILE,
        "metadata": {"model": {"name": "mock", "settings": {"response": "# T\n\n" + HOSTILE}}},
    }
    data = {
        "name": "hostile",
        "schema_version": "latest",
        "metadata": {"parameters": {}, "models": {"mock": {"delay": 0}}, "default_model": "mock"},
        "prompts": [prompt],
    }
    text = json.dumps(data, indent=2)
    # a key written twice: its warning (a toast) quotes the key, escapes included
    dup = json.dumps("key\x1b]0;pwned\x07")
    text = text.replace('"parameters": {}', f'"parameters": {{{dup}: 1, {dup}: 2}}')
    path = tmp_path / "hostile.json"
    path.write_text(text)
    return path


def _inert(app: Any, what: str, *, shown: bool = True) -> None:
    svg = app.export_screenshot()
    assert raw_controls(svg) == [], f"{what}: raw control characters reached the screen"
    if shown:
        assert SHOWN in svg, f"{what}: the hostile text was not shown at all"


async def test_no_screen_sends_a_control_character(tmp_path: Path) -> None:
    app = make_app(_config(tmp_path))
    async with app.run_test(size=(140, 44)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: bool(app._notifications), what="the file warning")
        await pilot.pause()
        _inert(app, "the tree and the file-warning toast")
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, HOSTILE_NAME) == "done", what="the run")
        await pilot.pause()
        _inert(app, "the streamed output")
        main_screen(app).select(HOSTILE_NAME, force=True)  # drawn again: rendered Markdown
        await pilot.pause()
        _inert(app, "the rendered Markdown view")
        await pilot.press("v")
        await pilot.pause()
        _inert(app, "the output view toggled")
        for key, tab in (("2", "request"), ("3", "json"), ("4", "info"), ("5", "history")):
            await pilot.press(key)
            await pilot.pause(0.2)  # the request preview and the history render in a thread
            await pilot.pause()
            _inert(app, f"the {tab} tab", shown=tab != "json")  # JSON escapes them itself
        await pilot.press("1")
        await pilot.press("c")
        from tui_app.ui.screens.compare import CompareScreen
        from tui_app.ui.screens.compare_setup import CompareSetupScreen

        await wait_for(pilot, lambda: isinstance(app.screen, CompareSetupScreen), what="setup")
        field = app.screen.query_one(Input)
        field.value = "echo delay=0"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: screen.comparison is not None and not screen.comparison.active,  # type: ignore[attr-defined]
            what="the comparison",
        )
        await pilot.pause(0.15)
        _inert(app, "the comparison columns")


async def test_the_load_error_screen_shows_a_broken_file_inertly(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    # raw control characters inside a JSON string: invalid, and the snippet quotes the line
    path.write_text('{"name": "x",\n "prompts": [{"name": "' + HOSTILE.replace("\\", "") + '"}]}')
    app = make_app(path)
    async with app.run_test(size=(140, 40)) as pilot:
        from tui_app.ui.screens.load_error import LoadErrorScreen

        await wait_for(pilot, lambda: isinstance(app.screen, LoadErrorScreen), what="the error")
        await pilot.pause()
        _inert(app, "the load error screen")
