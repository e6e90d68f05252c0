"""Layout papercuts (issue 13): what is cut or covered at 60, 80 and 160 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
