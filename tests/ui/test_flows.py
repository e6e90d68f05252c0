"""Pilot tests for each user flow, asserting on widgets, on the file and on the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.notifications import Notify
from textual.widgets import Input, TextArea

from tests.support.openai_server import Fault
from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, stream_text, wait_for
from tui_app.ui.screens.load_error import LoadErrorScreen


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


async def test_run_selected_prompt(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert main_screen(app).selected == "topic"
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done", what="topic done")
        screen = main_screen(app)
        assert "Pick a topic about owls" in screen.output.stream.text
        assert app.config.prompt("topic").output_text == "Pick a topic about owls"
        assert status(app, "outline") == "idle"  # `r` runs only the selected prompt
        assert "✓" in str(screen.prompt_tree.label_for("topic"))
        assert "1✓" in str(screen.query_one("#header").state_text)


async def test_run_with_dependencies_streams_every_prompt(three_step: Path) -> None:
    app = make_app(three_step)
    seen: list[str] = []
    async with app.run_test(
        size=(120, 36), message_hook=lambda m: seen.append(type(m).__name__)
    ) as pilot:
        await select(pilot, "draft")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "draft") == "done", what="draft done")
        assert [status(app, n) for n in ("topic", "outline", "draft")] == ["done"] * 3
        draft = app.config.prompt("draft").output_text
        assert draft == "Draft from Outline: Pick a topic about owls in a dry tone"
        assert stream_text(app) == draft
        assert "RunUpdate" in seen and "RunFinished" in seen


async def test_run_refused_when_values_are_missing(write_config: Any) -> None:
    path = write_config(chain([{"name": "ask", "input": "Tell me about {{thing}} and {{place}}"}]))
    app = make_app(path)
    notes: list[str] = []
    hook = lambda m: notes.append(str(m.notification.message)) if isinstance(m, Notify) else None  # noqa: E731
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        missing = [w for w in screen.form.query(".form-head.missing")]
        assert len(missing) == 2  # both flagged in the form
        await pilot.press("r")
        await wait_for(pilot, lambda: any("missing" in n for n in notes), what="refusal")
        refusal = next(n for n in notes if "missing" in n)
        assert "thing" in refusal and "place" in refusal
        assert status(app, "ask") == "idle"
        assert app.config.prompt("ask").output_text is None


async def test_cancel_one_prompt(write_config: Any) -> None:
    words = " ".join(f"w{i}" for i in range(400))
    path = write_config(chain([{"name": "long", "input": words}], models={"echo": {"delay": 0.01}}))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(stream_text(app)) > 20, what="some streamed text")
        await pilot.press("escape")
        await wait_for(pilot, lambda: status(app, "long") == "cancelled", what="cancelled")
        partial = stream_text(app)
        assert partial and len(partial) < len(words)
        assert app.config.prompt("long").output_text is None  # nothing half-written into the file
        assert "cancelled" in str(main_screen(app).query_one("#output-note").render())
        await pilot.press("j")  # still alive and responsive
        assert not app.has_active_run


async def test_edit_parameter_marks_stale_and_next_run_uses_it(write_config: Any) -> None:
    path = write_config(
        chain(
            [
                {"name": "greet", "input": "Hello {{who}}"},
                {"name": "shout", "input": "{{greet.output}}!"},
            ],
            parameters={"who": "World"},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "shout") == "done", what="first run")
        await select(pilot, "greet")
        await pilot.press("p")  # into the form: the first parameter
        field = app.focused
        assert isinstance(field, Input) and field.value == "World"
        await pilot.press("ctrl+u", *"Ada")
        await wait_for(pilot, lambda: status(app, "greet") == "stale", what="greet stale")
        await wait_for(
            pilot, lambda: status(app, "shout") == "stale", what="shout stale (downstream)"
        )
        assert app.session.params == {"who": "Ada"}
        assert "run-time" in str(main_screen(app).form.query_one("#param-0-src").render())
        await pilot.press("escape", "R")  # back to the tree, run with dependencies
        await wait_for(pilot, lambda: status(app, "greet") == "done", what="second run")
        assert app.config.prompt("greet").output_text == "Hello Ada"
        assert read(path)["metadata"]["parameters"]["who"] == "World"  # an override, not an edit


async def test_write_parameter_into_file(write_config: Any) -> None:
    path = write_config(chain([{"name": "greet", "input": "Hello {{who}}"}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("p", *"Ada", "ctrl+o")
        await wait_for(
            pilot,
            # until the save lands, the prompt has no metadata at all (a loaded machine)
            lambda: "who" in read(path)["prompts"][0].get("metadata", {}).get("parameters", {}),
            what="parameter written",
        )
        assert read(path)["prompts"][0]["metadata"]["parameters"]["who"] == "Ada"
        await pilot.press("ctrl+g")
        await wait_for(
            pilot,
            lambda: read(path)["metadata"]["parameters"].get("who") == "Ada",
            what="global parameter written",
        )


async def test_change_model_then_run_and_save(write_config: Any) -> None:
    path = write_config(
        chain(
            [{"name": "q", "input": "question"}],
            models={"echo": {"delay": 0}, "mock": {"response": "canned answer", "delay": 0}},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ModelPickerScreen")
        await pilot.press(*"mock", "enter")
        await wait_for(pilot, lambda: app.config.prompt("q").model_name == "mock", what="model set")
        assert "mock" in str(main_screen(app).prompt_tree.label_for("q"))
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "q") == "done")
        assert app.config.prompt("q").output_text == "canned answer"
        assert app.session.state("q").request.model == "mock"
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: read(path)["prompts"][0]["metadata"].get("model") == "mock", what="saved"
        )
        saved = read(path)["prompts"][0]
        assert saved["outputs"][0]["data"] == "canned answer"


async def test_edit_setting_is_validated(write_config: Any) -> None:
    path = write_config(chain([{"name": "q", "input": "question"}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        form = main_screen(app).form
        temperature = form.query_one("#setting-0", Input)
        temperature.focus()
        await pilot.press(*"7")
        await pilot.pause()
        assert "between" in str(form.query_one("#setting-0-err").render())
        assert "temperature" not in app.config.prompt("q").model_settings
        await pilot.press("backspace", *"0.5")
        await wait_for(
            pilot, lambda: app.config.prompt("q").model_settings.get("temperature") == 0.5
        )
        assert app.session.dirty


async def test_edit_template_and_save_writes_the_file(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TemplateEditorScreen")
        assert isinstance(app.focused, TextArea)
        await pilot.press("end", *" briefly")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: read(three_step)["prompts"][0]["input"].endswith("briefly"),
            what="template saved",
        )
        assert read(three_step)["prompts"][0]["input"] == "Pick a topic about {{subject}} briefly"
        assert not app.session.dirty
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        assert app.config.prompt("topic").output_text == "Pick a topic about owls briefly"


async def test_new_and_delete_prompt(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("n", *"extra", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TemplateEditorScreen")
        await pilot.press(*"More about {{topic.output}}", "ctrl+s")
        await wait_for(
            pilot, lambda: [p["name"] for p in read(three_step)["prompts"]][1] == "extra"
        )
        screen = main_screen(app)
        assert screen.selected == "extra"
        assert ("topic", False) in __import__("tui_app.ui.view_models", fromlist=["x"]).tree_deps(
            app.session, "extra"
        )
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("enter")  # the focused answer is "Delete"
        await wait_for(pilot, lambda: "extra" not in app.config.prompt_names)
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: "extra" not in [p["name"] for p in read(three_step)["prompts"]]
        )


async def test_load_error_is_shown_with_its_location(tmp_path: Path) -> None:
    path = tmp_path / "broken.aiconfig.json"
    path.write_text('{\n  "name": "x",\n  "prompts": [\n    {"name": "a", "input": }\n  ]\n}\n')
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, LoadErrorScreen)
        message = str(app.screen.query_one("#load-error-message").render())
        assert f"{path}:4" in message
        snippet = "".join(str(w.render()) for w in app.screen.query(".load-error-snippet"))
        assert '"input": }' in snippet and "^" in snippet
        path.write_text(json.dumps(chain([{"name": "a", "input": "fixed"}])))
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "MainScreen", what="reloaded")
        await ready(pilot)
        assert main_screen(app).selected == "a"


async def test_provider_error_is_shown_and_app_survives(
    write_config: Any, model_server: Any
) -> None:
    path = write_config(
        chain(
            [{"name": "ask", "input": "hello there"}],
            models={"openai/test-model": {"api_base": model_server.base_url, "max_attempts": 1}},
            default_model="openai/test-model",
        )
    )
    # More failures than the runner's attempts (it retries 5xx with a short backoff).
    model_server.enqueue(*[Fault.status(500, message="the server is on fire")] * 8)
    app = make_app(path)
    notes: list[str] = []
    hook = lambda m: notes.append(str(m.notification.title)) if isinstance(m, Notify) else None  # noqa: E731
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "ask") == "failed", timeout=60, what="failure")
        await wait_for(pilot, lambda: "ask failed" in notes, what="the notification")
        note = str(main_screen(app).query_one("#output-note").render())
        assert "500" in note or "fire" in note
        assert len(model_server.chat_requests) >= 1
        assert app.config.prompt("ask").output_text is None
        model_server.reset()
        await pilot.press("r")  # the server answers normally now: the app still runs prompts
        await wait_for(pilot, lambda: status(app, "ask") == "done", timeout=30, what="second run")
        assert app.config.prompt("ask").output_text == "echo: hello there"


async def test_save_asks_when_file_changed_on_disk(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        theirs = read(three_step)
        theirs["description"] = "edited elsewhere"
        three_step.write_text(json.dumps(theirs, indent=2))
        await pilot.press("ctrl+s")
        await wait_for(
            pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question"
        )
        await pilot.click("#answer-copy")
        await wait_for(
            pilot, lambda: len(list(three_step.parent.glob("chain.mine-*"))) == 1, what="copy"
        )
        assert read(three_step)["description"] == "edited elsewhere"  # theirs is kept
        copy = next(three_step.parent.glob("chain.mine-*"))
        assert read(copy)["prompts"][0]["outputs"][0]["data"] == "Pick a topic about owls"


async def test_quit_with_unsaved_changes_asks(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        await pilot.press("q")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.click("#answer-save")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert read(three_step)["prompts"][0]["outputs"][0]["data"] == "Pick a topic about owls"


async def test_output_views_and_history(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        screen = main_screen(app)
        await pilot.press("2")
        assert "Pick a topic about owls" in screen.query_one("#request-view", TextArea).text
        await pilot.press("3")
        assert json.loads(screen.query_one("#json-view", TextArea).text)["model"] == "echo"
        await pilot.press("4")
        info = str(screen.query_one("#info-view").render())
        assert "ttft" in info and "tokens out" in info and "echo" in info
        await pilot.press("r")  # same request again: answered from the cache
        await wait_for(pilot, lambda: status(app, "topic") == "cached")
        await pilot.press("5")
        await wait_for(
            pilot, lambda: screen.query_one("#history-table").row_count >= 1, what="history rows"
        )
        await pilot.press("1", "v")
        assert screen.output.mode == "raw"


async def test_command_palette_runs_a_prompt(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"Run outline with", "down", "enter")
        await wait_for(pilot, lambda: status(app, "outline") == "done", what="palette run")
        assert status(app, "topic") == "done"


async def test_help_and_theme(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        assert "Prompt tree" in app.screen.help_text
        await pilot.press("escape")
        before = app.theme
        await pilot.press("t")
        assert app.theme != before and app.theme.startswith("prompt-")


async def test_selecting_another_running_prompt_shows_its_stream(write_config: Any) -> None:
    slow = {"model": {"name": "echo", "settings": {"delay": 0.01}}, "remember_chat_context": False}
    path = write_config(
        chain(
            [
                {"name": "left", "input": " ".join(f"l{i}" for i in range(1000)), "metadata": slow},
                {
                    "name": "right",
                    "input": " ".join(f"r{i}" for i in range(1000)),
                    "metadata": slow,
                },
            ]
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(
            pilot, lambda: status(app, "right") == "running" and len(stream_text(app)) > 10
        )
        assert stream_text(app).startswith("l0 l1")
        await pilot.press("down")  # select "right" while both stream
        await wait_for(pilot, lambda: stream_text(app).startswith("r0 r1"), what="right's stream")
        before = len(stream_text(app))
        await wait_for(pilot, lambda: len(stream_text(app)) > before, what="it keeps streaming")
        assert "l1" not in stream_text(app)
        await wait_for(pilot, lambda: status(app, "right") == "done", timeout=90)
        # the screen draws the end of the stream when it handles the Finished event
        await wait_for(
            pilot,
            lambda: stream_text(app) == app.config.prompt("right").output_text,
            what="the whole answer shown",
        )


async def test_history_row_shows_an_earlier_output(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        await pilot.press("p", "ctrl+u", *"bats", "escape", "r")
        await wait_for(
            pilot, lambda: app.config.prompt("topic").output_text == "Pick a topic about bats"
        )
        await pilot.press("5")
        table = main_screen(app).query_one("#history-table")
        await wait_for(pilot, lambda: table.row_count == 2, what="two runs in the history")
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["done", "done"]  # as the tree
        table.focus()
        await pilot.press("down", "enter")  # the older run
        await wait_for(pilot, lambda: main_screen(app).output.active_tab == "output")
        assert "owls" in main_screen(app).output.stream.text
        assert "history:" in str(main_screen(app).query_one("#output-note").render())


async def test_a_broken_file_loads_when_it_is_saved_fixed(tmp_path: Path) -> None:
    """No key needed: the error screen watches the file, as the main screen does; a save that
    is still broken shows the new error, a save that parses opens the main screen."""
    path = tmp_path / "broken.aiconfig.json"
    path.write_text('{\n  "name": "x",\n  "prompts": [\n    {"name": "a", "input": }\n  ]\n}\n')
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, LoadErrorScreen)
        await pilot.pause(0.3)  # the watcher is up
        path.write_text('{\n  "name": "x",\n  "prompts": [\n    {"name": "a"\n  ]\n}\n')

        def message() -> str:  # "" while the screen recomposes with the new error
            return "".join(str(w.render()) for w in app.screen.query("#load-error-message"))

        await wait_for(pilot, lambda: f"{path}:5" in message(), what="the new error shown")
        path.write_text(json.dumps(chain([{"name": "a", "input": "fixed"}])))
        await wait_for(pilot, lambda: type(app.screen).__name__ == "MainScreen", what="reloaded")
        await ready(pilot)
        assert main_screen(app).selected == "a"
        watching = [w for w in app.workers if w.group == "watch" and not w.is_finished]
        assert [w.node for w in watching] == [app.screen]  # the main screen only
