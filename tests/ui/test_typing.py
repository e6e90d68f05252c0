"""What is typed into the form is what the form holds, in the order it was typed.

Keys here arrive the way a terminal delivers a fast burst (a paste-like run of keys, a held key):
posted to the app together, not one at a time with a pause for the app to settle as Pilot's
``press`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input

from tests.ui.conftest import chain
from tests.ui.helpers import make_app, ready, wait_for


def burst(app: Any, *keys: str) -> None:
    """Keys posted to the app at once, as the terminal driver posts a fast burst."""
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


async def test_a_fast_burst_of_edits_keeps_its_order(write_config: Any) -> None:
    """Textual runs an input's backspace only after the key bubbled up to the app, and inserts
    letters at once: "backspace x6, Porto" typed fast into "Lisbon" became "Lisbo"."""
    path = write_config(
        chain([{"name": "a", "input": "Trip to {{city}}"}], parameters={"city": "Lisbon"})
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("p", "end")
        field = app.screen.focused
        assert isinstance(field, Input) and field.value == "Lisbon"
        burst(app, *["backspace"] * 6, *"Porto", "left", "left", "delete", "R")
        await wait_for(pilot, lambda: field.value == "PorRo", what=f"PorRo (is {field.value!r})")
        await pilot.pause(0.2)
        assert field.value == "PorRo" and app.session.params["city"] == "PorRo"


async def test_a_setting_with_line_breaks_stays_on_its_row(tmp_path: Path) -> None:
    """A model setting's text with line breaks (a mock response) is shown as ``\\n`` like a
    parameter's, starts at its beginning, and an edit keeps its line breaks."""
    import json

    reply = "Line one of the reply.\nLine two.\nLine three is here."
    data = chain(
        [
            {
                "name": "long",
                "input": "hi",
                "metadata": {"model": {"name": "mock", "settings": {"response": "x" * 80}}},
            },
            {
                "name": "multi",
                "input": "hi",
                "metadata": {"model": {"name": "mock", "settings": {"response": reply}}},
            },
        ]
    )
    path = tmp_path / "mock.aiconfig.json"
    path.write_text(json.dumps(data))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        from tests.ui.helpers import main_screen, select

        await select(pilot, "multi")

        def response_field() -> Input:
            form = main_screen(app).form
            for field in form.query(Input):
                if field.display and "\\n" in field.value:
                    return field
            raise AssertionError("no setting shows the reply on one line")

        field = response_field()
        assert field.value == reply.replace("\n", "\\n")
        assert field.cursor_position == 0  # its start is what shows, not the end of "xxx..."
        field.focus()
        await pilot.pause()
        await pilot.press("end", *"!")
        await wait_for(
            pilot,
            lambda: app.config.prompt("multi").model_settings.get("response") == reply + "!",
            what="the edit with its line breaks",
        )
