"""Issue 19 (tried as a new user), the TUI side: each test fails without its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.notifications import Notification, Notify
from textual.widgets import Input

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tests.ui.test_compare import finished, start_compare

NO_CONTEXT = {"remember_chat_context": False}


def notices(messages: list[Any]) -> list[Notification]:
    return [m.notification for m in messages if isinstance(m, Notify)]


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def names(path: Path) -> list[str]:
    return [p["name"] for p in read(path)["prompts"]]


def three(**extra: Any) -> dict[str, Any]:
    return chain(
        [
            {"name": "greet", "input": "Hello {{who}}", "metadata": NO_CONTEXT},
            {"name": "shout", "input": "Loud: {{greet.output}}", "metadata": NO_CONTEXT},
            {"name": "spare", "input": "spare prompt", "metadata": NO_CONTEXT},
        ],
        parameters={"who": "World"},
        **extra,
    )


async def test_ctrl_o_and_ctrl_g_write_only_the_parameter(write_config: Any) -> None:
    """A pending delete and the run's unsaved outputs stay out of the file; the delete can be
    undone with u until a save."""
    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "spare") == "done", what="the run")
        await select(pilot, "spare")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")  # the dialog's first answer: delete
        await wait_for(pilot, lambda: "spare" not in app.config.prompt_names, what="delete")
        await select(pilot, "greet")
        await pilot.press("p", "ctrl+u", *"Ada", "ctrl+o")
        await wait_for(
            pilot,
            lambda: read(path)["prompts"][0]["metadata"].get("parameters", {}).get("who") == "Ada",
            what="the prompt parameter written",
        )
        await pilot.press("ctrl+g")
        await wait_for(
            pilot,
            lambda: read(path)["metadata"]["parameters"]["who"] == "Ada",
            what="the global parameter written",
        )
        on_disk = read(path)
        assert names(path) == ["greet", "shout", "spare"]  # the delete is not saved
        assert all(not p.get("outputs") for p in on_disk["prompts"])  # nor the outputs
        assert app.session.dirty  # both still wait for ctrl+s
        # the delete is undone where it was
        await pilot.press("escape", "u")
        await wait_for(pilot, lambda: "spare" in app.config.prompt_names, what="undo")
        assert app.config.prompt_names == ["greet", "shout", "spare"]
        assert main_screen(app).selected == "spare"
        await pilot.press("u")  # nothing left to undo: a word, no change
        await pilot.pause()
        assert app.config.prompt_names == ["greet", "shout", "spare"]


async def test_compare_adopt_writes_only_the_adopted_prompt_and_shows_it(
    write_config: Any,
) -> None:
    """Adopt writes its prompt only (a pending delete stays unsaved), and the output pane and
    Info show the adopted answer at once, not the session's earlier run."""
    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "spare") == "done", what="the run")
        await select(pilot, "spare")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "spare" not in app.config.prompt_names, what="delete")
        screen = await start_compare(pilot, "greet", ['mock response="Adopted words."'])
        await finished(pilot, screen)
        await pilot.press("right", "A")
        await wait_for(
            pilot,
            lambda: (
                (read(path)["prompts"][0].get("outputs") or [{}])[0].get("data") == "Adopted words."
            ),
            what="the adopted answer in the file",
        )
        assert names(path) == ["greet", "shout", "spare"]
        assert not read(path)["prompts"][1].get("outputs")  # shout's unsaved output stays out
        main = main_screen(app)
        await wait_for(pilot, lambda: main.selected == "greet", what="back on greet")
        await pilot.pause()
        assert main.output.stream.text == "Adopted words."
        await pilot.press("4")  # Info
        await pilot.pause()
        info = str(main.output.query_one("#info-view").render())
        assert "mock" in info, info


async def test_escape_in_the_form_leaves_the_field_and_never_cancels(write_config: Any) -> None:
    path = write_config(
        chain(
            [{"name": "slow", "input": "Hello {{who}}"}],
            parameters={"who": "World"},
            models={"echo": {"delay": 30}},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "slow") == "running", what="running")
        await pilot.press("p")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        await pilot.pause()
        assert status(app, "slow") == "running"  # still running
        assert app.focused is main_screen(app).prompt_tree
        await pilot.press("escape")  # from the tree: cancel
        await wait_for(pilot, lambda: status(app, "slow") == "cancelled", what="cancelled")


def exports(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"chain.*{suffix}") if "aiconfig" not in p.name)


async def test_export_of_cached_prompts_has_their_request_and_no_output_writes_nothing(
    write_config: Any,
) -> None:
    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        main = main_screen(app)
        await select(pilot, "greet")
        assert main.export("output-json") is None  # no output yet: no file
        assert exports(path.parent, ".json") == []
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.has_active_run and status(app, "spare") == "done")
        await pilot.press("a")  # the same requests: every answer from the cache
        await wait_for(pilot, lambda: status(app, "spare") == "cached", what="cached")
        await wait_for(pilot, lambda: not app.has_active_run)
        target = main.export("run-json")
        assert target is not None
        data = json.loads(target.read_text())
        for prompt in data["prompts"]:
            assert prompt["metrics"]["status"] == "cached"
            assert prompt["request"]["messages"], prompt  # the request is known
            assert prompt["metrics"]["latency"] is not None  # the answer's own timings
        assert data["prompts"][0]["request"]["messages"][-1]["content"] == "Hello World"


async def test_f1_lists_every_active_key_with_one_scrollbar(write_config: Any) -> None:
    """F1 on the tree lists every key that works there (the table is not cut to 8 rows in a
    scroll inside the scroll); compare's F1 lists X, R, ←/→ and not the three-pane paragraph."""
    from textual.widgets import DataTable, Markdown

    from tui_app.ui.screens.help import HelpScreen

    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        table = app.screen.query_one("#help-keys", DataTable)
        keys = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert {"r", "R", "a", "m", "e", "n", "d", "u", "x", "c", "1", "5"} <= set(keys), keys
        words = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        for noise in ("Copy selected text", "Focus Next", "Quit the app"):  # Textual's own
            assert not [w for w in words if noise.lower() in w.lower()], words
        assert len([w for w in words if "quit" in w.lower()]) == 1, words  # one Quit
        assert table.size.height >= table.row_count + 1  # every row drawn: no inner scroll
        assert not table.show_vertical_scrollbar
        await pilot.press("escape")
        screen = await start_compare(pilot, "greet", ["echo"])
        await finished(pilot, screen)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="compare help")
        await pilot.pause()
        table = app.screen.query_one("#help-keys", DataTable)
        rows = {
            str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1]) for i in range(table.row_count)
        }
        assert {"X", "R", "A", "←", "→"} <= set(rows), rows
        assert "Focus the column on the left" in rows.values()
        texts = " ".join(m.source for m in app.screen.query(Markdown))
        assert "Three panes" not in texts


async def test_history_tab_puts_the_cursor_in_the_list_and_escape_leaves(
    write_config: Any,
) -> None:
    from textual.widgets import DataTable

    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "spare")
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "spare") == "done" and not app.has_active_run)
        await pilot.press("5")
        main = main_screen(app)
        await wait_for(
            pilot, lambda: isinstance(app.focused, DataTable), what="the history list focused"
        )
        note = str(main.output.query_one("#history-note").render())
        assert "shift+tab" not in note and "enter: its diff" in note and "escape goes back" in note
        await pilot.press("enter")  # shows that run, never a re-run
        await pilot.pause()
        assert app.session.workspace.runs and len(app.session.workspace.runs) == 1
        await pilot.press("escape")  # from the run's diff back to the list
        await wait_for(pilot, lambda: isinstance(app.focused, DataTable), what="the list")
        await pilot.press("escape")  # and from the list to the tree
        await pilot.pause()
        assert app.focused is main.prompt_tree


async def test_palette_keeps_what_helps_named_the_apps_way(
    write_config: Any, ui_home: Path
) -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" not in titles and "Keys" not in titles and "Theme" not in titles
        assert "Change theme" in titles and "Save screenshot" in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"quit")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count >= 1, what="quit hits")
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert sum("Quit" in p for p in prompts) == 1, prompts
        await pilot.press("escape")
        await pilot.pause()
        from tui_app.ui.system_commands import save_screenshot

        written = save_screenshot(app)  # into the app's data folder, made when missing
        assert written is not None and written.exists() and ui_home in written.parents


async def test_a_typo_in_the_keymap_is_named(write_config: Any) -> None:
    from tui_app.core import settings as user_settings

    user_settings.save(user_settings.Settings(keymap={"main.rnu": "f5", "main.run_all": "f6"}))
    path = write_config(three())
    app = make_app(path)
    seen: list[Any] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        await pilot.pause()
        notes = [n.message for n in notices(seen)]
        assert any("'main.rnu'" in n and "did you mean 'main.run'" in n for n in notes), notes


async def test_a_typoed_parameter_says_which_one_was_meant(write_config: Any) -> None:
    path = write_config(
        chain([{"name": "w", "input": "Weather in {{cty}}"}], parameters={"city": "Lisbon"})
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("p")
        field = app.focused
        assert isinstance(field, Input)
        assert "did you mean 'city'?" in field.placeholder


async def test_compare_columns_wrap_inside_the_scrollbar(write_config: Any) -> None:
    """A long answer gets a scrollbar: its rows are wrapped to the width left beside it, so no
    character hides under it."""
    from tui_app.ui.widgets.compare_column import CompareColumn
    from tui_app.ui.widgets.stream_view import StreamView

    words = " ".join(f"word{i:03d}" for i in range(120))
    path = write_config(three())
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        screen = await start_compare(pilot, "greet", [f'mock response="{words}"'])
        await finished(pilot, screen)
        await pilot.pause()
        view = screen.query_one("#column-1", CompareColumn).query_one(StreamView)
        assert view.show_vertical_scrollbar
        width = view.scrollable_content_region.width
        rows = [view.render_line(y).text for y in range(view.size.height)]
        assert view.wrap_width == width
        assert all(len(row.rstrip()) <= width for row in view.rows)
        assert " ".join(view.rows).split() == words.split()  # every word whole
        assert any(row.strip() for row in rows)
        metrics = str(screen.query_one("#column-1", CompareColumn).query_one(".metrics").render())
        assert "\ncost     $0" in metrics and "?" not in metrics  # offline: costs nothing
        width = view.scrollable_content_region.width  # every figure on one line at 80 columns
        assert all(len(line) <= width for line in metrics.splitlines()), metrics


async def test_new_prompt_takes_the_files_chat_context_choice_and_says_so(
    write_config: Any,
) -> None:
    from tui_app.ui.screens.template_editor import TemplateEditorScreen

    path = write_config(three())  # every prompt has chat context off
    app = make_app(path)
    seen: list[Any] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        await pilot.press("n", *"extra", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TemplateEditorScreen), what="editor")
        assert app.config.prompt("extra").remember_chat_context is False
        notes = [n.message for n in notices(seen)]
        assert any("chat context is off on extra" in n for n in notes), notes


async def test_a_template_that_closes_a_cycle_is_saved_with_a_warning(write_config: Any) -> None:
    path = write_config(three())
    app = make_app(path)
    seen: list[Any] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        main_screen(app).write_template("greet", "Hello {{shout.output}}")
        await pilot.pause()
        assert "shout.output" in read(path)["prompts"][0]["input"]
        warnings = [n for n in notices(seen) if n.title == "Dependency cycle"]
        assert warnings and "greet -> shout -> greet" in warnings[0].message


async def test_custom_key_entries_are_listed_by_name(
    write_config: Any, ui_home: Path, capsys: Any, monkeypatch: Any
) -> None:
    """`keys set NAME --custom` remembers the name (never the key): `keys list` and the keys
    screen show it."""
    import io
    import sys

    import keyring

    from tests.support.memory_keyring import MemoryKeyring
    from tui_app.cli import main
    from tui_app.core.keys import KeyStore
    from tui_app.ui.screens.keys import KeysScreen

    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    monkeypatch.setattr(sys, "stdin", io.StringIO("sk-custom-0123456789-WXYZ\n"))
    assert main(["keys", "set", "my-vllm", "--custom", "--stdin"]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "my-vllm" in listed and "WXYZ" in listed and "sk-custom" not in listed
    remembered = (ui_home / "custom-keys.json").read_text()
    assert "my-vllm" in remembered and "sk-custom" not in remembered
    app = make_app(write_config(three()), keys=KeyStore(environ={}, backend=backend))
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(pilot)
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, KeysScreen), what="keys")
        screen = app.screen
        await wait_for(pilot, lambda: bool(screen.rows), what="rows")
        assert "my-vllm" in [row.need.label for row in screen.rows]
    assert main(["keys", "delete", "my-vllm"]) == 0
    assert "my-vllm" not in (ui_home / "custom-keys.json").read_text()


async def test_recent_models_hold_what_any_file_can_run(write_config: Any) -> None:
    """The recent list is shared by every file: it keeps the model id each run sent, never a
    file's alias (with or without its own "model" key: "thread-0" from a 1,000-prompt file was
    offered in another, where it failed), and a list written by an earlier version offers only
    what this file can run."""
    from tui_app.ui.recent import FILE, load_recent
    from tui_app.ui.screens.model_picker import ModelPickerScreen

    first = write_config(
        chain(
            [
                {
                    "name": "a",
                    "input": "hi",
                    "metadata": {"model": {"name": "thread-0", "settings": {"model": "echo"}}},
                },
                {"name": "b", "input": "there", "metadata": {"model": "fast"}},
            ],
            models={
                "thread-0": {"max_tokens": 100},
                "fast": {"model": "mock", "response": "ok", "delay": 0},
            },
        ),
        name="first.aiconfig.json",
    )
    app = make_app(first)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "b") == "done" and status(app, "a") == "done")
        await wait_for(pilot, lambda: bool(load_recent()), what="remembered")
    assert sorted(load_recent()) == ["echo", "mock"]
    # a list an earlier version wrote, with another file's aliases in it
    from tui_app.core.paths import data_dir

    (data_dir() / FILE).write_text('["thread-0", "gpt-4o-mini", "fast", "echo"]')
    second = write_config(chain([{"name": "q", "input": "hi"}]), name="second.aiconfig.json")
    app = make_app(second)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen), what="picker")
        recent = dict(app.screen.groups)["recent"]
        assert recent == ["gpt-4o-mini", "echo"]


async def test_model_picker_takes_settings_so_a_custom_openai_id_reaches_its_server(
    write_config: Any, model_server: Any
) -> None:
    from tui_app.ui.screens.model_picker import ModelPickerScreen

    path = write_config(chain([{"name": "q", "input": "hello there"}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen), what="picker")
        field = app.screen.query_one(Input)
        field.value = f"openai/test-model api_base={model_server.base_url}"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.config.prompt("q").model_name == "openai/test-model")
        assert app.config.prompt("q").model_settings["api_base"] == model_server.base_url
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "q") in ("done", "failed"), what="the run")
        assert status(app, "q") == "done"
        assert model_server.requests and model_server.requests[-1].body["model"] == "test-model"
        # the recent list keeps where it answered: picked in another file, it goes there too
        from tui_app.ui.recent import load_recent

        await wait_for(pilot, lambda: bool(load_recent()), what="remembered")
        assert load_recent()[0] == f"openai/test-model api_base={model_server.base_url}"


async def test_a_multi_line_parameter_is_edited_in_a_multi_line_editor(write_config: Any) -> None:
    from textual.widgets import TextArea

    from tui_app.ui.screens.value_editor import ValueEditorScreen

    diff = "--- a/pay.py\n+++ b/pay.py\n-    check(amount)\n+    log(card)"
    path = write_config(
        chain([{"name": "review", "input": "Review {{diff}}"}], parameters={"diff": diff})
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("p", "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ValueEditorScreen), what="editor")
        area = app.screen.query_one(TextArea)
        assert area.text == diff  # line breaks as lines, not \n
        area.insert("\n+    test_amount()", area.document.end)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ValueEditorScreen))
        await wait_for(pilot, lambda: "diff" in app.session.params, what="the override")
        assert app.session.params["diff"] == diff + "\n+    test_amount()"


async def test_chain_mode_says_on_or_off_in_words(write_config: Any) -> None:
    from textual.widgets import Checkbox

    from tui_app.ui.screens.compare_setup import CompareSetupScreen

    app = make_app(write_config(three()))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "greet")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareSetupScreen), what="setup")
        box = app.screen.query_one(Checkbox)
        assert str(box.label).startswith("chain mode: off")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert str(box.label).startswith("chain mode: ON") and "shout" in str(box.label)


async def test_the_form_title_keeps_the_prompt_name_whole(write_config: Any) -> None:
    long = "neighbourhoods_worth_a_day"
    app = make_app(
        write_config(chain([{"name": long, "input": "hi"}, {"name": "b", "input": "x"}]))
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        form = main_screen(app).form
        width = form.outer_size.width
        # the first frame's title too: it was drawn before the form had a width
        assert str(form.border_title) == long, width
        await select(pilot, "b")
        await select(pilot, long)
        title = str(form.border_title)
        assert title == (f"Parameters · {long}" if len(long) + 13 <= width - 6 else long), width
        await select(pilot, "b")
        assert str(form.border_title) == "Parameters · b"


@pytest.mark.parametrize("width", [28, 33])
def test_narrow_tab_strips_still_name_each_view(width: int) -> None:
    import re

    from tui_app.ui.widgets.output_pane import tab_strip

    shown = re.sub(r"\[[^\]]*\]", "", tab_strip("output", width))
    assert len(shown) <= width
    assert all(word in shown for word in ("Out", "Req", "JSON", "Info", "Hist")), shown


async def test_t_says_which_theme_is_on(write_config: Any) -> None:
    app = make_app(write_config(three()))
    seen: list[Any] = []
    async with app.run_test(size=(120, 36), message_hook=seen.append) as pilot:
        await ready(pilot)
        await pilot.press("t")
        await pilot.pause()
        said = [n.message for n in notices(seen) if n.message.startswith("Theme:")]
        assert said and app.theme in said[-1] and " of " in said[-1], said


async def test_a_long_model_id_keeps_the_tree_width(write_config: Any) -> None:
    """The tree shows a model id without its provider path, cut to its line's room: a long id
    picked with `m` moved the whole layout by its full length (test_layout covers every size)."""
    app = make_app(write_config(three()))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        pane = main_screen(app).query_one("#tree-pane")
        before = pane.size.width
        await select(pilot, "greet")
        main_screen(app).set_model("greet", "openrouter/some-vendor/an-extremely-long-model-id-v2")
        await pilot.pause()
        assert pane.size.width == before
        label = str(main_screen(app).prompt_tree.label_for("greet"))
        assert "an-extr" in label and "openrouter/" not in label
