"""Issue 19: text the user or a model wrote is never read as Textual markup, on any screen.

``textual.markup.escape`` leaves ``[2``, ``[WIP]`` and ``[[`` alone, so a prompt named
``hoods [2`` or a column ``mock response="see [2"`` crashed the compare picker (MarkupError),
``[Hi] there`` lost its first word, and ``[@click=app.quit]`` became a clickable action. The
shared corpus (tests/support/hostile_text.MARKUP) goes through a prompt name, a parameter
value, a model's answer, model settings in the compare picker, a file warning (a toast), the
history, the compare columns, the palette and a broken file's name; each screen must draw the
text as written (read back from the exported screenshot) and the app must keep running."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.content import Content
from textual.widgets import Input, Static

from tests.support.hostile_text import MARKUP, MARKUP_NAME, MARKUP_TEXT, shown_text
from tests.ui.helpers import main_screen, make_app, ready, status, wait_for

DUP_KEY = "dup [/dim] [2"  # a key written twice: the warning toast quotes it
HISTORY = "[ [/] see [2 [/dim] [b]x"  # the output column: its lines on one line
PIECES = [text for text in MARKUP.values() if len(text) > 2]  # "[" and "]" show anywhere


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def _config(tmp_path: Path) -> Path:
    prompt = {
        "name": MARKUP_NAME,
        "input": "say {{p}}",
        "metadata": {
            "model": {"name": "mock", "settings": {"response": MARKUP_TEXT}},
            "parameters": {"p": MARKUP_TEXT},
        },
    }
    data = {
        "name": "markup",
        "schema_version": "latest",
        "metadata": {"parameters": {}, "models": {"mock": {"delay": 0}}, "default_model": "mock"},
        "prompts": [prompt],
    }
    dup = json.dumps(DUP_KEY)
    text = json.dumps(data, indent=2)
    text = text.replace('"parameters": {}', f'"parameters": {{{dup}: 1, {dup}: 2}}')
    path = tmp_path / "markup.aiconfig.json"
    path.write_text(text)
    return path


def _screen(app: Any) -> str:
    return shown_text(app.export_screenshot())


def _no_actions(app: Any, what: str) -> None:
    """No drawn text carries an action or a link from the corpus (``[@click=app.quit]``)."""
    for widget in app.screen.query(Static):
        visual = widget.render()
        if isinstance(visual, Content):
            spans = repr(visual.spans)
            assert "app.quit" not in spans and "etc/passwd" not in spans, f"{what}: {widget!r}"


def _shows(app: Any, what: str, *texts: str) -> None:
    assert app.is_running, f"{what}: the app stopped"
    screen = _screen(app)
    for text in texts:
        assert text in screen, f"{what}: {text!r} is not drawn as written"
    _no_actions(app, what)


async def test_every_screen_draws_markup_as_written(tmp_path: Path) -> None:
    app = make_app(_config(tmp_path))
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: bool(app._notifications), what="the file warning")
        await pilot.pause()
        # the tree, the form's title and value, the duplicate key's toast
        _shows(app, "tree, form and toast", MARKUP_NAME, f"─ {MARKUP_NAME} ─", DUP_KEY)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, MARKUP_NAME) == "done", what="the run")
        await pilot.pause()
        _shows(app, "the output", f"Output · {MARKUP_NAME}", *PIECES)
        main_screen(app).select(MARKUP_NAME, force=True)  # drawn again: rendered Markdown
        await pilot.pause()
        assert app.is_running
        for key, tab in (("2", "request"), ("4", "info"), ("5", "history")):
            await pilot.press(key)
            await pilot.pause(0.2)  # the request preview and the history render in a thread
            await pilot.pause()
            _shows(
                app, f"the {tab} tab", *{"request": PIECES, "info": [], "history": [HISTORY]}[tab]
            )
        await pilot.press("1")

        # the model picker's title quotes the prompt; the filter offers `use "…"`
        await pilot.press("m")
        await pilot.pause()
        app.screen.query_one(Input).value = 'mock response="[Hi] there"'
        await pilot.pause()
        _shows(
            app, "the model picker", f"Model for {MARKUP_NAME}", 'use "mock response="[Hi] there""'
        )
        await pilot.press("escape")
        await pilot.pause()

        # the template editor's title quotes the prompt
        await pilot.press("e")
        await pilot.pause()
        _shows(app, "the template editor", f"Template of {MARKUP_NAME}")
        await pilot.press("escape")
        await pilot.pause()

        # the compare picker: one column per payload, then the comparison itself
        from tui_app.ui.screens.compare import CompareScreen
        from tui_app.ui.screens.compare_setup import CompareSetupScreen

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareSetupScreen), what="setup")
        answers = ["see [2", "[Hi] there", "[/dim] [@click=app.quit]x[/]"]
        for answer in answers:
            app.screen.query_one(Input).value = f'mock delay=0 response="{answer}"'
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
        _shows(
            app,
            "the compare picker",
            f"Compare models on {MARKUP_NAME}",
            *[f'mock delay=0 response="{answer}"' for answer in answers],
        )
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: screen.comparison is not None and not screen.comparison.active,  # type: ignore[attr-defined]
            what="the comparison",
        )
        await pilot.pause(0.15)
        _shows(app, "the comparison", f"Compare {MARKUP_NAME}", *answers)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), what="back")

        # the palette: titles and help lines quote prompt names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"WIP")
        await pilot.pause(0.3)
        _shows(app, "the palette", f"Select {MARKUP_NAME}", f"show {MARKUP_NAME}")


@pytest.mark.parametrize("label", sorted(MARKUP))
async def test_a_notification_is_plain_text(tmp_path: Path, label: str) -> None:
    """Every toast is plain text: Textual reads a message (and notify's default) as markup."""
    app = make_app(_config(tmp_path))
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await ready(pilot)
        text = f"<{MARKUP[label]}>"
        main_screen(app).notify(text, title=MARKUP[label], markup=True)
        await pilot.pause()
        _shows(app, label, text)


async def test_a_broken_file_with_markup_in_its_name(tmp_path: Path) -> None:
    path = tmp_path / "[b]x [2 [@click=app.quit]q [link=x]y.json"  # no "/" in a name
    path.write_text('{"name": "x",\n "prompts": [}')
    app = make_app(path)
    async with app.run_test(size=(160, 40)) as pilot:
        from tui_app.ui.screens.load_error import LoadErrorScreen

        await wait_for(pilot, lambda: isinstance(app.screen, LoadErrorScreen), what="the error")
        await pilot.pause()
        _shows(app, "the load error screen", f"Could not open {path}", f"{path}:2")
