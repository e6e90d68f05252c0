"""The papercuts a newcomer hit (issue 13): each test fails on the behaviour they reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import TextArea

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for


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
    """...and keeps the prompt's own settings, as a switch to any other model does (a
    max_tokens written in the file went)."""
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        app.workspace.set_setting("topic", "max_tokens", 9)
        await pilot.press("m")
        await wait_for(pilot, lambda: screen_name(app) == "ModelPickerScreen")
        await pilot.press(*"mock", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "AskTextScreen", what="the question")
        await pilot.press("ctrl+a", "ctrl+k", *"Owls all the way", "enter")
        await wait_for(pilot, lambda: app.config.prompt("topic").model_name == "mock")
        assert app.config.prompt("topic").model_settings == {
            "max_tokens": 9,
            "response": "Owls all the way",
        }
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
        assert not [m for m in load_recent() if m.startswith("openai/flaky")]
        model_server.reset()
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "ask") == "done", timeout=30)
        flaky = f"openai/flaky api_base={model_server.base_url}"  # where it answered
        await wait_for(pilot, lambda: flaky in load_recent(), what="remembered")


async def test_palette_finds_the_force_actions_by_that_word(three_step: Path) -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"force")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count >= 3, what="force hits")
        titles = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Run all prompts, force" in t for t in titles)


async def test_help_title_is_words_and_toasts_do_not_cover_it(three_step: Path) -> None:
    from textual.containers import VerticalScroll

    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        app.notify("a toast", timeout=30)
        await pilot.press("p")  # the parameter form
        await pilot.press("f1")
        await wait_for(pilot, lambda: screen_name(app) == "HelpScreen")
        title = str(app.screen.query_one(VerticalScroll).border_title)
        assert title == "Help: Parameters"
        await pilot.pause()
        assert not app.screen.query("Toast")  # the toasts are gone while help shows

    from tui_app.ui.screens.help import GENERAL

    assert "moves between them" not in GENERAL and "walks every" in GENERAL


async def test_key_map_lists_every_pane(three_step: Path) -> None:
    from textual.widgets import DataTable

    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: screen_name(app) == "KeyMapScreen")
        table = app.screen.query_one("#key-map", DataTable)
        wheres = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert {"Main screen", "Prompt tree", "Parameters", "Template editor"} <= wheres
        # the screens reached from the main one too (they were missing)
        assert {"Comparison", "Compare setup (c)", "Keys (k)", "Find (/)"} <= wheres
        keys = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert "ctrl+x" in keys or "^x" in keys
        actions = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        assert any("history view" in a for a in actions)
        # every action reads whole: the table is no wider than its dialog
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_failed_upstream_is_not_labelled_not_run_yet(write_config: Any) -> None:
    from tests.ui.conftest import chain

    path = write_config(
        chain(
            [
                {"name": "up", "input": "x", "metadata": {"model": "mock"}},
                {"name": "down", "input": "use {{up.output}}"},
            ],
            models={"echo": {"delay": 0}, "mock": {}},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")  # mock with no response fails
        await wait_for(pilot, lambda: status(app, "up") == "failed")
        await pilot.press("down")
        await wait_for(pilot, lambda: main_screen(app).selected == "down")
        await pilot.pause()
        text = " ".join(str(w.render()) for w in main_screen(app).form.query(".form-readonly"))
        assert "not run yet" not in text and "up failed" in text


async def test_error_text_is_shown_whole_in_the_output_view(write_config: Any) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import chain

    path = write_config(
        chain([{"name": "up", "input": "x", "metadata": {"model": "mock"}}], models={"mock": {}})
    )
    app = make_app(path)
    async with app.run_test(size=(80, 40)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "up") == "failed")
        await pilot.pause()
        note = main_screen(app).output.query_one("#output-note", Static)
        words = str(note.render()).split()
        # the note's widget is tall enough for its wrapped text
        needed = sum(len(w) + 1 for w in words) // max(1, note.content_region.width - 1) + 1
        assert note.region.height >= min(needed, 3) and note.region.height > 3 or needed <= 3


async def test_a_stream_that_ends_is_not_reflowed(write_config: Any) -> None:
    from tests.ui.conftest import chain

    path = write_config(
        chain(
            [{"name": "poem", "input": "line one\nline two\n" + "and more words " * 30}],
            models={"echo": {"delay": 0.05}},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: main_screen(app)._live_shown == "poem", what="live")  # noqa: SLF001
        await wait_for(pilot, lambda: status(app, "poem") == "done")
        await pilot.pause()
        assert main_screen(app).output.mode == "raw"  # as it streamed: single newlines kept


async def test_a_prompt_queued_in_a_run_says_so(write_config: Any) -> None:
    """The selected prompt's pane says it is queued, then that it waits for the first words;
    never "No output yet: r runs this prompt" while a run holds it."""
    slow = {
        "model": {"name": "mock", "settings": {"response": "first words then more", "delay": 1}}
    }
    path = write_config(
        chain(
            [
                {"name": "up", "input": "go", "metadata": slow},
                {"name": "down", "input": "after {{up.output}}", "metadata": slow},
            ]
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "down")

        def note() -> str:
            return str(main_screen(app).query_one("#output-note").render())

        assert note().startswith("No output yet")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "up") == "running", what="up running")
        assert status(app, "down") == "queued"
        await wait_for(pilot, lambda: note().startswith("queued in a run"), what="queued note")
        await wait_for(pilot, lambda: status(app, "down") == "running", timeout=20)
        await pilot.pause(0.1)
        assert not note().startswith(("No output yet", "queued"))  # running, or its words shown
        await pilot.press("escape")


async def test_rendered_output_keeps_single_line_breaks(write_config: Any) -> None:
    """An answer's lines stay lines when rendered as Markdown, as chat tools show them
    (CommonMark would join "Day one: ...\\nDay two: ..." into one line)."""
    answer = "Day one: Alfama.\nDay two: Belem.\n\n- a list\n- stays a list"
    output = {"output_type": "execute_result", "data": answer, "metadata": {"role": "assistant"}}
    path = write_config(chain([{"name": "plan", "input": "go", "outputs": [output]}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        await wait_for(pilot, lambda: screen.output.mode == "rendered", what="rendered")

        def shown() -> str:
            return "\n".join(str(p.render()) for p in screen.output.query("MarkdownParagraph"))

        await wait_for(pilot, lambda: "Day two" in shown(), what="the paragraph drawn")
        assert "Day one: Alfama.\nDay two: Belem." in shown()
        assert len(screen.output.query("MarkdownBullet")) == 2  # still a list


async def test_the_json_view_wraps_a_long_message(write_config: Any) -> None:
    """The request's message is one long JSON string: wrapped, all of it is in the pane
    (it was cut at the pane's edge, with no way to scroll to the rest)."""
    from textual.widgets import TextArea

    long_input = " ".join(f"word{n}" for n in range(80))
    app = make_app(write_config(chain([{"name": "a", "input": long_input}])))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        view = main_screen(app).query_one("#json-view", TextArea)
        await wait_for(pilot, lambda: "word79" in view.text, what="the request JSON")
        await pilot.pause()
        assert view.virtual_size.width <= view.scrollable_content_region.width
        assert view.wrapped_document.height > view.document.line_count


async def test_the_delete_dialog_tells_readers_from_prompts_further_down(three_step: Path) -> None:
    """topic -> outline -> draft: deleting topic, outline reads its output; draft only depends
    on it through outline (it said both "read its output")."""
    from tui_app.ui.screens.confirm import ConfirmScreen

    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "topic")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
        question = app.screen.question  # type: ignore[attr-defined]
        assert "outline reads its output; draft depends on it through them." in question
        await pilot.press("escape")


async def test_a_misspelt_prompt_reference_is_named_not_offered_as_a_parameter(
    write_config: Any,
) -> None:
    """`{{plann.output}}` when the prompt is `plan`: the form says no prompt has that name and
    which one was meant (it offered a "plann" parameter to type), and `r` says the same."""
    from textual.notifications import Notify
    from textual.widgets import Input, Static

    prompts = [{"name": "plan", "input": "go"}, {"name": "use", "input": "from {{plann.output}}"}]
    seen: list[Any] = []
    app = make_app(write_config(chain(prompts)))
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        await select(pilot, "use")
        form = main_screen(app).form
        shown = [str(w.render()) for w in form.query(".form-readonly").results(Static) if w.display]
        assert "no prompt is named 'plann'; did you mean 'plan'?" in shown
        params = [f for f in form.query(Input) if f.display and (f.id or "").startswith("param")]
        assert not params  # nothing to type a value into
        await pilot.press("r")
        await pilot.pause(0.3)
        said = " ".join(m.notification.message for m in seen if isinstance(m, Notify))
        assert "did you mean 'plan'?" in said


async def test_a_model_change_keeps_the_tree_as_the_user_opened_it(three_step: Path) -> None:
    """An expanded prompt stays expanded when another prompt's model changes (it collapsed)."""
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        tree = main_screen(app).prompt_tree
        await select(pilot, "draft")
        await pilot.press("right")  # expand draft: what it reads
        await wait_for(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.is_expanded)
        await select(pilot, "topic")
        main_screen(app).set_model("topic", "mock", {"response": "owls"})
        await pilot.pause(0.2)
        draft = next(n for n in tree.root.children if n.data == "draft")
        assert draft.is_expanded and main_screen(app).selected == "topic"
