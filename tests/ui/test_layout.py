"""Layout papercuts (issue 13): what is cut or covered at 60, 80 and 160 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import Input, Static

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, wait_for


async def test_tree_pane_fits_model_and_status(write_config: Any) -> None:
    path = write_config(
        chain(
            [
                {"name": "summarize-the-report", "input": "x", "metadata": {"model": "mock"}},
                {"name": "b", "input": "y"},
            ],
            models={"echo": {"delay": 0}, "gpt-3.5-turbo-16k": {}, "mock": {}},
            default_model="gpt-3.5-turbo-16k",
        )
    )
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        tree = main_screen(app).prompt_tree
        for name in ("summarize-the-report", "b"):
            needed = str(tree.label_for(name)).rstrip()
            assert len(needed) + len(" failed") + 2 <= tree.content_region.width, name


async def test_header_keeps_file_name_and_modified_at_80(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.session.dirty)
        await pilot.pause()
        header = main_screen(app).query_one("#header")
        line = str(header.render())
        assert len(line) <= 80
        assert three_step.name in line and "● modified" in line
        assert line.index(three_step.name) < line.index("● modified")  # title left, state right


async def test_validation_message_is_not_cut(write_config: Any) -> None:
    path = write_config(chain([{"name": "q", "input": "question"}]))
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        form = main_screen(app).form
        form.query_one("#setting-0", Input).focus()
        await pilot.press(*"7")
        await pilot.pause()
        error = form.query_one("#setting-0-err", Static)
        message = str(error.render())
        assert "temperature" in message and "between" in message
        assert error.region.height * error.content_region.width >= len(message)


async def test_footer_at_60_columns_has_no_overlapping_palette_key(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(60, 20)) as pilot:
        await ready(pilot)
        await pilot.pause()
        screen = main_screen(app)
        assert screen.has_class("-tiny")
        palette_keys = [k for k in screen.query("FooterKey") if k.has_class("-command-palette")]
        assert all(not key.display for key in palette_keys)
        shown = [k for k in screen.query("FooterKey") if k.display]
        assert all(key.region.right <= 60 for key in shown)
        # the form's values keep a usable width
        field = screen.form.query_one("#param-0", Input) if screen.form.query("#param-0") else None
        if field is not None:
            assert field.region.width >= 20


async def test_a_cut_header_title_keeps_a_gap_before_the_state(write_config: Any) -> None:
    """A long file name is cut with "…", never run into the state ("chain.aic…idle")."""
    path = write_config(chain([{"name": "a", "input": "x"}]), name="a" * 70 + ".aiconfig.json")
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        line = str(main_screen(app).query_one("#header").render())
        assert "…  idle" in line and len(line) <= 80


async def test_compare_setup_keeps_its_keys_and_chain_mode_on_a_small_terminal(
    three_step: Path,
) -> None:
    """At 80x24 and 60x20 the keys line and chain mode are on screen (they were cut off)."""
    app = make_app(three_step)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareSetupScreen")
        for size in ((80, 24), (60, 20)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            screen_region = app.screen.region
            dialog = app.screen.query_one("#compare-setup").region
            for selector in ("#compare-chain", ".dialog-hint"):
                widget = app.screen.query_one(selector).region
                assert widget.height >= 1 and dialog.contains_region(widget), (size, selector)
            assert screen_region.contains_region(dialog), size


async def test_a_long_model_picked_later_moves_nothing(write_config: Any) -> None:
    """A model id picked with `m` is cut to the room its tree line has: the panes keep their
    place at every size (a long id widened the tree and moved the form and output)."""
    path = write_config(
        chain(
            [{"name": "neighbourhoods", "input": "x"}, {"name": "weather", "input": "y"}],
            models={"echo": {"delay": 0}},
        )
    )
    long_id = "openai/gpt-4o-2024-08-06-finetuned-for-travel-planning"
    for size in ((80, 24), (120, 36), (200, 50)):
        app = make_app(path)
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            screen = main_screen(app)
            tree = screen.prompt_tree
            before = {
                pane: screen.query_one(pane).region for pane in ("#tree-pane", "#form", "#output")
            }
            await pilot.press("m")
            await wait_for(pilot, lambda a=app: type(a.screen).__name__ == "ModelPickerScreen")
            await pilot.press(*long_id, "enter")
            await wait_for(
                pilot,
                lambda a=app: a.config.prompt("neighbourhoods").model_name == long_id,
                what="model set",
            )
            await pilot.pause()
            after = {pane: screen.query_one(pane).region for pane in before}
            assert after == before, size
            for name in ("neighbourhoods", "weather"):  # every line fits: none runs under
                label = str(tree.label_for(name))  # the border (the arrow takes 2 cells)
                assert len(label) + 2 <= tree.content_region.width, (size, label)
            label = str(tree.label_for("neighbourhoods"))
            if size[0] >= 120:  # at 80 the pane is capped: the name alone fits
                assert "gpt-4o" in label and label.endswith("…"), (size, label)
                assert len(label) + 2 == tree.label_cells  # cut to the room it has, no less


async def test_the_form_takes_its_shape_from_its_own_width(write_config: Any) -> None:
    """layout.form_width predicts the laid-out form (so the first frame has its final shape),
    and a row's head sits beside its value exactly when the form is GRID_WIDTH wide: at 80
    and 200 columns, where the form is about as wide, the rows look the same (they flipped)."""
    from tui_app.ui import layout
    from tui_app.ui.widgets.param_form import GRID_WIDTH

    path = write_config(
        chain(
            [{"name": "neighbourhoods", "input": "{{city}} in {{travel_style}}"}],
            models={"echo": {"delay": 0}},
        )
    )
    shapes = {}
    for size in ((60, 20), (80, 24), (100, 30), (119, 30), (120, 36), (160, 40), (200, 50)):
        app = make_app(path)
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            screen = main_screen(app)
            form = screen.form
            tree_width = screen.query_one("#tree-pane").outer_size.width
            assert form.outer_size.width == layout.form_width(size[0], tree_width), size
            output = screen.output.outer_size.width
            assert output == layout.output_width(size[0], tree_width), size
            head = form.query(".form-head").first().region
            value = form.query_one("#param-0", Input).region
            beside = head.y == value.y and head.right <= value.x
            assert beside == (form.outer_size.width >= GRID_WIDTH), size
            assert beside or head.y < value.y, size
            title = str(form.border_title)
            assert title == "Parameters · neighbourhoods" or (
                title == "neighbourhoods" and form.outer_size.width - 6 < len(title) + 13
            ), (size, title)
            shapes[size] = beside
    assert shapes[(80, 24)] == shapes[(200, 50)]


async def test_the_first_frame_of_a_long_file_is_complete(write_config: Any) -> None:
    """Before the dependency graph (built in a thread after the first frame) is ready, the
    rows on screen already have their ▶ and the form says "(offline)": a 1,000-prompt file's
    first paint lacked both for as long as the graph took."""
    from tui_app.ui.app import PromptTuiApp

    prompts: list[dict[str, Any]] = [{"name": "paragraph-000", "input": "start"}]
    for i in range(1, 300):
        reads = f"{{{{paragraph-{i - 1:03d}.output}}}} more" if i % 3 else "no reference"
        prompts.append(
            {
                "name": f"paragraph-{i:03d}",
                "input": reads,
                "metadata": {"remember_chat_context": False},
            }
        )
    path = write_config(chain(prompts))
    seen: dict[str, Any] = {}

    class FirstFrame(PromptTuiApp):
        def on_ready(self) -> None:  # the first frame is painted; the engine is not told
            screen = self.main_screen
            assert screen is not None
            tree = screen.prompt_tree
            seen["graph"] = screen.session.graph_ready
            seen["arrows"] = [node.allow_expand for node in tree.root.children[:40]]
            seen["model"] = str(screen.query_one("#model-button", Static).render())

    app = FirstFrame(str(path), preload=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "model" in seen, what="first frame")
    assert seen["graph"] is False  # what follows was drawn without the whole graph
    assert seen["arrows"][:34] == [bool(i % 3) for i in range(34)]
    assert "(offline)" in seen["model"]


async def test_the_first_frame_has_its_final_tab_strip(
    write_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output's tab strip is drawn for the pane's width from the first frame: it was drawn
    whole, cut ("5 " without "History") until the pane's first resize redrew it."""
    from tui_app.ui.widgets.output_pane import TabStrip, tab_strip

    redrawn: list[str] = []
    original = TabStrip.update

    def update(self: TabStrip, content: Any = "", **kwargs: Any) -> None:
        redrawn.append(str(content))
        original(self, content, **kwargs)

    monkeypatch.setattr(TabStrip, "update", update)
    path = write_config(chain([{"name": "neighbourhoods", "input": "x"}]))
    for size in ((80, 24), (120, 36), (200, 50)):
        app = make_app(path)
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            strip = app.screen.query_one(TabStrip)
            assert str(strip.render()) == str(
                Text.from_markup(tab_strip("output", strip.size.width))
            )
    assert redrawn == []


async def test_a_cut_head_keeps_its_source_and_a_note_is_shown_whole(write_config: Any) -> None:
    """A head too long for its room cuts the name, never the source ("neighbourhoods.output
    mi…" said nothing), and why an upstream output is missing wraps instead of being cut."""
    from tui_app.ui.widgets.param_form import HEAD_COLUMN

    refused = {"api_base": "http://127.0.0.1:9/v1", "max_attempts": 1}  # nothing listens there
    path = write_config(
        chain(
            [
                {
                    "name": "neighbourhoods",
                    "input": "x",
                    "metadata": {"model": {"name": "openai/x", "settings": refused}},
                },
                {"name": "itinerary", "input": "{{neighbourhoods.output}} and {{city}}"},
            ],
            parameters={"city": "Lisbon"},
        )
    )
    for size in ((80, 24), (120, 36)):
        app = make_app(path)
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            screen = main_screen(app)
            await pilot.press("down", "R")
            await wait_for(pilot, lambda s=screen: s.session.state("itinerary").status == "blocked")
            await pilot.pause()
            form = screen.form
            head = form.query(".form-head").first()
            text = str(head.render())
            assert text.startswith("neighbourhoods.") and text.endswith("  missing"), text
            assert "…" in text and len(text) <= head.content_region.width, (size, text)
            if form.has_class("-grid"):
                assert head.outer_size.width == HEAD_COLUMN
            # every head's source starts in one column, whatever its name's length
            heads = [str(h.render()).rstrip() for h in form.query(".form-head") if h.display]
            starts = {h.rindex(" ") + 1 for h in heads if h}
            assert len(heads) >= 3 and len(starts) == 1, heads
            note = form.query_one(".form-readonly.-note", Static)
            words = " ".join(str(note.render()).split())
            assert words == "(neighbourhoods failed: fix it and run it again)", words
            assert note.region.height >= 2 and note.content_region.width < len(words)


async def test_the_model_line_drops_its_hint_before_cutting_the_model(write_config: Any) -> None:
    """ "thread-0  (offline)  m: cha…": the hint goes when the line has no room for it, the
    model and "(offline)" stay whole (a scrollbar beside a long form included); with room, the
    hint is there."""
    many = {f"p{i}": f"value {i}" for i in range(12)}  # a form long enough to scroll
    reads = " ".join(f"{{{{{name}}}}}" for name in many)
    path = write_config(
        chain(
            [{"name": "neighbourhoods", "input": reads, "metadata": {"model": "mock-json"}}],
            parameters=many,
        )
    )
    full = "mock-json  (offline)  m: change"
    for size in ((80, 24), (120, 36), (200, 50)):
        app = make_app(path)
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            button = main_screen(app).form.query_one("#model-button", Static)
            text = str(button.render())
            room = button.content_region.width
            assert text.startswith("mock-json  (offline)") and "…" not in text, (size, text)
            assert len(text) <= room * button.region.height, (size, text, room)  # all shown
            assert ("m: change" in text) == (len(full) <= room), (size, text, room)
