"""The papercuts a newcomer hit (issue 13): each test fails on the behaviour they reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import TextArea

from tests.ui.helpers import main_screen, make_app, ready, status, wait_for


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def screen_name(app: Any) -> str:
    return type(app.screen).__name__


async def test_editor_escape_closes_without_writing(three_step: Path) -> None:
    before = three_step.read_text()
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        await pilot.press("escape")  # unchanged: closes at once
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen", what="editor closed")
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        await pilot.press(*" more")
        await pilot.press("escape")  # changed: asks
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the question")
        await pilot.click("#answer-discard")
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen")
        assert three_step.read_text() == before
        assert app.config.prompt("topic").template == "Pick a topic about {{subject}}"


async def test_editor_warns_before_saving_a_syntax_error(three_step: Path) -> None:
    before = three_step.read_text()
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        await pilot.press(*" {{#if x}} never closed", "ctrl+s")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen", what="the warning")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "topic" in body or "line" in body
        await pilot.press("enter")  # the focused answer: keep editing
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        assert three_step.read_text() == before
        assert isinstance(app.focused, TextArea)


async def test_editor_save_writes_only_the_template(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")  # an output: an unsaved change of the session
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        assert app.session.dirty
        await pilot.press("down")
        await wait_for(pilot, lambda: main_screen(app).selected == "outline")
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        await pilot.press(*" please", "ctrl+s")
        await wait_for(
            pilot,
            lambda: read(three_step)["prompts"][1]["input"] == "Outline: {{topic.output}} please",
            what="template written",
        )
        on_disk = read(three_step)
        assert "outputs" not in on_disk["prompts"][0] or not on_disk["prompts"][0]["outputs"]
        assert app.session.dirty  # the output is still unsaved
        assert not app.config.changed_on_disk()  # ctrl+s later does not ask "changed on disk"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(read(three_step)["prompts"][0].get("outputs")))
        assert screen_name(app) == "MainScreen"


async def test_new_save_delete_keeps_tree_and_panes_on_the_same_prompt(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        await pilot.press("n", *"extra", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "TemplateEditorScreen")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen")
        await pilot.pause()
        assert screen.selected == "extra"
        assert screen.prompt_tree.selected_prompt == "extra"
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "extra" not in app.config.prompt_names)
        await pilot.pause()
        assert screen.selected == screen.prompt_tree.selected_prompt == "outline"
        assert "extra" not in str(screen.form.border_title)
        assert "extra" not in str(screen.output.border_title)


async def test_deleting_the_last_prompt_clears_the_pane_titles(write_config: Any) -> None:
    from tests.ui.conftest import chain

    path = write_config(chain([{"name": "only", "input": "hi"}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.config.prompt_names)
        screen = main_screen(app)
        assert "only" not in str(screen.form.border_title)
        assert "only" not in str(screen.output.border_title)


async def test_multiline_parameter_stays_on_its_row_and_survives_an_edit(
    write_config: Any,
) -> None:
    from textual.widgets import Input

    from tests.ui.conftest import chain

    path = write_config(
        chain([{"name": "a", "input": "Say {{notes}}"}], parameters={"notes": "one\ntwo"})
    )
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        field = main_screen(app).form.query_one("#param-0", Input)
        assert "\n" not in field.value and field.value == "one\\ntwo"
        # drawn on one line inside the form pane: the row is one line high
        assert field.region.height == 1
        form = main_screen(app).form.region
        assert form.x <= field.region.x and field.region.right <= form.right
        field.focus()
        await pilot.press("end", *"\\nthree")
        await wait_for(pilot, lambda: app.session.params.get("notes") == "one\ntwo\nthree")


async def test_choosing_mock_without_a_response_asks_for_one(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: screen_name(app) == "ModelPickerScreen")
        await pilot.press(*"mock", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "AskTextScreen", what="the question")
        await pilot.press("ctrl+a", "ctrl+k", *"Owls all the way", "enter")
        await wait_for(pilot, lambda: app.config.prompt("topic").model_name == "mock")
        assert app.config.prompt("topic").model_settings["response"] == "Owls all the way"
        await wait_for(pilot, lambda: main_screen(app).form.data.model == "mock")
        assert "response" in [key for key, _, _ in main_screen(app).form.data.settings]
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done", what="mock answered")
        assert app.config.prompt("topic").output_text == "Owls all the way"


async def test_recent_models_keep_only_models_that_answered(
    write_config: Any, model_server: Any
) -> None:
    from tests.support.openai_server import Fault
    from tests.ui.conftest import chain
    from tui_app.ui.recent import load_recent

    path = write_config(
        chain(
            [{"name": "ask", "input": "hello"}],
            models={
                "echo": {"delay": 0},
                "openai/flaky": {"api_base": model_server.base_url, "max_attempts": 1},
            },
        )
    )
    model_server.enqueue(*[Fault.status(400, message="no such model")] * 8)
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: screen_name(app) == "ModelPickerScreen")
        await pilot.press(*"openai/flaky", "enter")
        await wait_for(pilot, lambda: app.config.prompt("ask").model_name == "openai/flaky")
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "ask") == "failed", timeout=60)
        await wait_for(pilot, lambda: not app.has_active_run)
        assert "openai/flaky" not in load_recent()
        model_server.reset()
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "ask") == "done", timeout=30)
        await wait_for(pilot, lambda: "openai/flaky" in load_recent(), what="remembered")
