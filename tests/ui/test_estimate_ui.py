"""The next run's estimate in the TUI: the header figure follows what the user types, Info shows
the steps and, after a run, estimate vs actual; a threshold in the settings asks first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_server import OpenAIServer
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tui_app.ui.widgets.header import AppHeader


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        srv.tokenizer = "o200k_base"
        yield srv


def _config(write_config: Any, base_url: str) -> Path:
    local = {"model": "gpt-4o-mini", "api_base": base_url, "max_tokens": 30}
    off = {"remember_chat_context": False}
    return write_config(
        {
            "name": "priced",
            "schema_version": "latest",
            "metadata": {
                "parameters": {"topic": "tides"},
                "models": {"local": local},
                "default_model": "local",
            },
            "prompts": [
                {"name": "facts", "input": "Facts on {{topic}}", "metadata": off},
                {"name": "title", "input": "Title for {{facts.output}}", "metadata": off},
            ],
        }
    )


def _header(app: Any) -> str:
    return app.screen.query_one(AppHeader)._estimate  # what the header was told to draw


async def test_header_estimate_follows_typing_and_info_shows_estimate_vs_actual(
    write_config: Any, server: OpenAIServer
) -> None:
    app = make_app(_config(write_config, server.base_url))
    async with app.run_test(size=(140, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "facts")
        await wait_for(pilot, lambda: "R: 1 request" in _header(app), what="estimate")
        # at 140 columns r and a are priced beside R (the issue: what r / R / a would send)
        assert _header(app).startswith("r ") and " │ a " in _header(app)
        first = main_screen(app).estimates.current["with_deps"]
        # a longer parameter: more input tokens, a higher estimate (no run needed)
        await pilot.press("p")  # the form, as a user gets there
        await pilot.press(*" and the moon that pulls them")
        await wait_for(
            pilot,
            lambda: (
                main_screen(app).estimates.current["with_deps"].steps[0].input_low
                > first.steps[0].input_low
            ),
            what="estimate after typing",
        )
        assert server.chat_requests == []  # estimating sends nothing
        await pilot.press("escape")
        await select(pilot, "title")
        await wait_for(pilot, lambda: "R: 2 requests" in _header(app), what="estimate")
        assert main_screen(app).estimates.current["with_deps"].steps[1].depends_on == ("facts",)
        await pilot.press("4")  # Info
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "title") == "done", what="the run")
        info = main_screen(app).output._views["estimate-view"]
        await wait_for(pilot, lambda: "estimate vs actual" in str(info.render()), what="info")
        text = str(info.render())
        result = app.session.state("title").result
        assert result is not None and result.usage is not None
        actual = result.usage.prompt_tokens
        assert f"→ {actual}" in text
        await wait_for(pilot, lambda: "R: 0 requests, 2 cached" in _header(app))


async def test_a_run_above_the_confirm_threshold_asks_first(
    write_config: Any, server: OpenAIServer, ui_home: Path
) -> None:
    ui_home.mkdir(parents=True, exist_ok=True)
    (ui_home / "settings.json").write_text(json.dumps({"confirm_cost_above": 0.0}))
    app = make_app(_config(write_config, server.base_url))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "facts")
        await wait_for(pilot, lambda: "R: 1 request" in _header(app), what="estimate")
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("escape")  # no: nothing is sent
        await wait_for(pilot, lambda: type(app.screen).__name__ == "MainScreen")
        assert server.chat_requests == []
        await pilot.press("r")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("enter")  # the first answer: Run
        await wait_for(pilot, lambda: status(app, "facts") == "done", what="the run")
        assert len(server.chat_requests) == 1


async def test_compare_setup_shows_each_columns_estimate_before_it_starts(
    write_config: Any, server: OpenAIServer
) -> None:
    app = make_app(_config(write_config, server.base_url))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "title")
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareSetupScreen")
        await pilot.press(*"gpt-4o max_tokens=10", "enter")
        setup = app.screen
        await wait_for(pilot, lambda: setup.estimates is not None, what="column estimates")
        lines = setup.estimates[1]
        assert lines[0].startswith("upstream first: 1 request")  # facts runs once for all
        assert lines[1].startswith("1 request") and lines[2].startswith("1 request")
        assert "≤" in lines[2] or "–" in lines[2]  # a priced range, never a bare $0
        assert server.chat_requests == []


async def test_rapid_selections_make_one_estimate_of_the_last_prompt(
    write_config: Any, server: OpenAIServer
) -> None:
    """A selection only notes that an estimate is wanted: selections in a row share one pause
    and one estimate, of the prompt the cursor stopped on; it still comes without a key."""
    app = make_app(_config(write_config, server.base_url))
    async with app.run_test(size=(140, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        estimates = screen.estimates
        await wait_for(
            pilot,
            lambda: not any(w.group == "baselines" and not w.is_finished for w in screen.workers),
            what="staleness read (it asks for an estimate too)",
        )
        await wait_for(pilot, lambda: "R: 1 request" in _header(app), what="the first estimate")
        await wait_for(pilot, lambda: not estimates.waiting, what="its pause over")
        before = estimates.started
        for name in ("title", "facts", "title", "facts", "title"):
            screen.select(name)
        assert estimates.waiting and estimates.started == before  # nothing computed yet
        await wait_for(pilot, lambda: "R: 2 requests" in _header(app), what="title's estimate")
        assert estimates.started == before + 1 and estimates.prompt == "title"
