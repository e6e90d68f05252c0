"""The parameter form is filled in place when another prompt is selected.

Recomposing it on every selection cost most of the 170-430 ms a selection took (issue 13): its
widgets are reused, rows a prompt does not need are hidden and keep nothing of the prompt they
showed, and an edit always lands on the prompt on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label, Static

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, wait_for


def _config(write_config: Any) -> Path:
    return write_config(
        chain(
            [
                {
                    "name": "plan",
                    "input": "Plan {{days}} days in {{city}}",
                    "metadata": {"model": {"name": "echo", "settings": {"temperature": 0.2}}},
                },
                {"name": "expand", "input": "Expand {{plan.output}} in {{style}}"},
                {"name": "fixed", "input": "No parameters here"},
            ],
            parameters={"city": "Lisbon", "days": "3", "style": "prose"},
        )
    )


async def test_selecting_another_prompt_fills_the_same_widgets(write_config: Any) -> None:
    app = make_app(_config(write_config))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        form = screen.form
        before = {widget.id: widget for widget in form.query(Input)}
        assert form.query_one("#param-0", Input).value in ("3", "Lisbon")

        await select(pilot, "expand")
        await wait_for(pilot, lambda: form.drawn and form.data.prompt == "expand")
        # the very same inputs: filled in place, not composed again
        for widget in form.query(Input):
            if widget.id in before:
                assert widget is before[widget.id]
        heads = [str(w.render()) for w in form.query(Label) if w.display and w.id]
        assert any("plan" in head and "output" in head for head in heads)
        readonly = [w for w in form.query(".form-readonly").results(Static) if w.display]
        assert readonly and "not run yet" in str(readonly[0].render())
        style = next(
            w
            for w in form.query(Input)
            if w.display and w.parent is not None and w.parent.display and w.value == "prose"
        )
        assert style.id is not None and style.id.startswith("param-")

        await select(pilot, "fixed")
        await wait_for(pilot, lambda: form.drawn and form.data.prompt == "fixed")
        shown_params = [w for w in form.query(".form-head") if w.display and "param" in str(w.id)]
        assert not shown_params  # no parameter row is shown for a prompt that reads none
        assert any("reads no parameters" in str(w.render()) for w in form.query(".form-empty"))
        # hidden rows keep nothing of the prompts they showed
        for widget in form.query(Input):
            if widget.id and widget.id.startswith("param-"):
                assert widget.value == ""


async def test_an_edit_after_switching_prompts_lands_on_the_prompt_shown(
    write_config: Any,
) -> None:
    app = make_app(_config(write_config))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        await select(pilot, "expand")
        await wait_for(pilot, lambda: screen.form.drawn and screen.form.data.prompt == "expand")
        style = next(w for w in screen.form.query(Input) if w.value == "prose")
        style.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"haiku")
        await wait_for(pilot, lambda: app.session.params.get("style") == "haiku")
        assert "city" not in app.session.params and "days" not in app.session.params

        await pilot.press("escape")  # back to the tree
        await select(pilot, "plan")
        await wait_for(pilot, lambda: screen.form.drawn and screen.form.data.prompt == "plan")
        values = {w.value for w in screen.form.query(Input) if w.display}
        assert {"3", "Lisbon", "0.2"} <= values and "haiku" not in values
        # a setting edited here belongs to plan, never to the prompt the row showed before
        temperature = next(w for w in screen.form.query(Input) if w.value == "0.2")
        temperature.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"0.7")
        await wait_for(
            pilot,
            lambda: app.config.prompt("plan").model_settings.get("temperature") == 0.7,
            what="temperature written to plan",
        )
        assert "temperature" not in app.config.prompt("expand").model_settings


async def test_narrow_form_rows_are_one_line_each_whatever_their_length(write_config: Any) -> None:
    """Below 120 columns the form is a grid of head | value lines: a head longer than its
    column (an upstream output's dotted name) is cut, never a second, blank grid row."""
    path = write_config(
        chain(
            [
                {"name": "neighbourhoods-of-the-city", "input": "Name three in {{city}}"},
                {"name": "plan", "input": "{{neighbourhoods-of-the-city.output}} in {{city}}"},
            ],
            parameters={"city": "Lisbon"},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await select(pilot, "plan")
        form = main_screen(app).form
        await wait_for(pilot, lambda: form.drawn and form.data.prompt == "plan")
        await pilot.pause()
        heads = [w for w in form.query(".form-head") if w.display]
        rows = [w.region.y for w in heads]
        params = rows[: len(form.data.params)]
        assert params == list(range(params[0], params[0] + len(params))), rows
        settings = rows[len(form.data.params) + 1 :]  # after the model's own row
        assert settings == list(range(settings[0], settings[0] + len(settings))), rows
        assert rows[len(form.data.params) + 1] == rows[len(form.data.params)] + 1, rows


async def test_keys_are_answered_while_a_big_file_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dependency graph of a 1,000-prompt file is built in a thread after the first frame:
    moving through the tree works before it is done. The build is held until the keys have been
    answered, so the test does not depend on how fast the machine builds it."""
    import sys
    import threading

    from tui_app.ui.state import Session

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from scale import generate

    keys_answered = threading.Event()
    build = Session.ensure_graph

    def held_build(self: Session) -> object:
        keys_answered.wait(timeout=60)
        return build(self)

    monkeypatch.setattr(Session, "ensure_graph", held_build)
    path = tmp_path / "big.aiconfig.json"
    path.write_text(generate(1000), encoding="utf-8")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = main_screen(app)
        await wait_for(pilot, lambda: screen.selected == "step-0", what="the first frame")
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: screen.selected == "step-2", what="two keys answered")
        assert screen.form.data is not None and screen.form.data.prompt == "step-2"
        assert not screen.engine_ready  # answered while the graph was still being built
        keys_answered.set()
        await wait_for(pilot, lambda: screen.engine_ready, timeout=120, what="the graph")


async def test_an_invalid_setting_stays_shown_and_holds_the_run_back(write_config: Any) -> None:
    """ "abc" typed for temperature: the error stays on screen after leaving the field and
    coming back to the prompt, and `r` says what to fix instead of running with the old value."""
    from textual.notifications import Notify

    seen: list[Any] = []
    app = make_app(_config(write_config))
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        await select(pilot, "plan")
        field = next(f for f in main_screen(app).form.query(Input) if f.value == "0.2")
        field.focus()
        await pilot.press("ctrl+u", *"abc", "escape")
        await select(pilot, "expand")
        await select(pilot, "plan")
        assert field.value == "abc" and field.has_class("-invalid")
        await pilot.press("r")
        await pilot.pause(0.2)
        said = [m.notification for m in seen if isinstance(m, Notify)]
        assert any("temperature = 'abc'" in n.message and "Not run" in str(n.title) for n in said)
        assert app.session.state("plan").status == "idle"
        field.focus()
        await pilot.press("ctrl+u", *"0.5", "escape", "r")
        await wait_for(pilot, lambda: app.session.state("plan").status == "done", what="ran")
