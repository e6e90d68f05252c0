"""Export (`x`, the palette): output or whole run, Markdown or JSON; copy to the clipboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.ui.helpers import main_screen, make_app, ready, status, wait_for


def exports(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"chain.*{suffix}") if "aiconfig" not in p.name)


async def test_export_run_as_json_and_output_as_markdown(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "draft") == "done", what="run done")
        await wait_for(pilot, lambda: not app.has_active_run)
        await pilot.press("x")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.click("#answer-run-json")
        await wait_for(pilot, lambda: bool(exports(three_step.parent, ".json")), what="json")
        data = json.loads(exports(three_step.parent, ".json")[0].read_text())
        assert [p["name"] for p in data["prompts"]] == ["topic", "outline", "draft"]
        draft = data["prompts"][2]
        assert draft["request"]["messages"][-1]["content"].startswith("Draft from")
        assert draft["output"] == app.config.prompt("draft").output_text
        assert draft["metrics"]["status"] == "done" and draft["metrics"]["model"] == "echo"
        main_screen(app).action_export("output-markdown")
        await wait_for(pilot, lambda: bool(exports(three_step.parent, ".md")), what="markdown")
        text = exports(three_step.parent, ".md")[0].read_text()
        assert "## topic" in text and "Pick a topic about owls" in text


async def test_copy_output_uses_the_clipboard(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "topic") == "done")
        main_screen(app).action_export("copy")
        assert app.clipboard == "Pick a topic about owls"


async def test_palette_names_export(three_step: Path) -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"export run")
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count >= 2, what="export hits")


async def test_a_markdown_export_shows_escape_sequences_instead_of_holding_them(
    write_config: Any,
) -> None:
    """A report is read with `cat`: a model's escape sequences in it are shown (␛), never
    kept raw, for every payload of the shared list (JSON escapes them by itself)."""
    from tests.support.hostile_text import HOSTILE, raw_controls
    from tests.ui.conftest import chain

    path = write_config(
        chain(
            [{"name": "q", "input": "hi", "metadata": {"model": "mock"}}],
            models={"mock": {"response": HOSTILE, "delay": 0}},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "q") == "done")
        for kind in ("output-markdown", "run-markdown", "run-json"):
            main_screen(app).action_export(kind)
        await wait_for(pilot, lambda: len(list(path.parent.glob("chain.*.md"))) == 2)
        await wait_for(pilot, lambda: bool(list(path.parent.glob("chain.*.json"))))
    for written in [*path.parent.glob("chain.*.md"), *path.parent.glob("chain.*.json")]:
        text = written.read_text()
        assert "start " in text and " end" in text, written.name
        assert raw_controls(text) == [], written.name
