"""The comparison screen: `c` on a prompt, columns streaming side by side, diff, cancel one
column, adopt with a save, chain mode, reopening a past comparison; SVG snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Checkbox, Input

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, wait_for
from tui_app.core.runs import PromptStatus
from tui_app.ui.screens.compare import CompareScreen
from tui_app.ui.screens.compare_setup import CompareSetupScreen, PastComparisonsScreen
from tui_app.ui.widgets.compare_column import CompareColumn

FIXTURES = Path(__file__).parent / "fixtures"
NO_CONTEXT = {"remember_chat_context": False}


def talk() -> dict[str, Any]:
    """plan -> draft -> title; the file has a plan output so draft's upstream is fresh."""
    return chain(
        [
            {
                "name": "plan",
                "input": "Plan a talk about owls",
                "metadata": NO_CONTEXT,
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "data": "Owls hunt at night and fly silently.",
                        "metadata": {"role": "assistant"},
                    }
                ],
            },
            {"name": "draft", "input": "Draft: {{plan.output}}", "metadata": NO_CONTEXT},
            {"name": "title", "input": "Title for {{draft.output}}", "metadata": NO_CONTEXT},
        ]
    )


async def start_compare(
    pilot: Any, prompt: str, specs: list[str], *, chain_mode: bool = False
) -> CompareScreen:
    app = pilot.app
    await select(pilot, prompt)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareSetupScreen), what="setup")
    setup = app.screen
    field = setup.query_one(Input)
    for spec in specs:
        field.value = spec
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
    if chain_mode:
        await pilot.press("ctrl+t")
        assert setup.query_one(Checkbox).value
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="compare screen")
    return app.screen


async def finished(pilot: Any, screen: CompareScreen) -> None:
    await wait_for(
        pilot,
        lambda: screen.comparison is not None and not screen.comparison.active,
        what="the comparison to end",
    )
    await pilot.pause(0.15)  # a redraw tick


def texts(screen: CompareScreen) -> list[str]:
    return [column.text for column in screen.query(CompareColumn)]


async def test_c_compares_models_side_by_side_and_adopt_saves(write_config: Any) -> None:
    path = write_config(talk())
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        screen = await start_compare(
            pilot, "draft", ['mock response="Owls: silent night hunters."', "echo delay=0"]
        )
        # the prompt's own model is the first column, prefilled
        assert [c.label for c in screen.query(CompareColumn)] == [
            "echo",
            'mock response="Owls: silent night hunters."',
            "echo delay=0",
        ]
        await finished(pilot, screen)
        shown = texts(screen)
        assert shown == [
            "Draft: Owls hunt at night and fly silently.",
            "Owls: silent night hunters.",
            "Draft: Owls hunt at night and fly silently.",
        ]
        assert not app.session.dirty and app.config.prompt("draft").output_text is None
        # the diff against column 2 highlights the differing words in the others
        await pilot.press("right", "b")
        assert screen.diff and screen.base == 1
        first = screen.query_one("#column-0", CompareColumn)
        assert first.highlighted == ["Draft: Owls hunt at", "and fly silently."]  # not "night"
        assert screen.query_one("#column-1", CompareColumn).highlighted == []  # the base
        # adopt column 2: its model and settings and its answer, saved to the file
        await pilot.press("A")
        await wait_for(pilot, lambda: not app.session.dirty, what="the save")
        saved = json.loads(path.read_text())
        draft = saved["prompts"][1]
        assert draft["metadata"]["model"] == {
            "name": "mock",
            "settings": {"response": "Owls: silent night hunters."},
        }
        assert draft["outputs"][0]["data"] == "Owls: silent night hunters."
        assert main_screen(app).selected == "draft"


async def test_cancel_one_column_the_others_finish(write_config: Any) -> None:
    path = write_config(talk())
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        screen = await start_compare(pilot, "draft", ["echo delay=30", "echo delay=0"])
        comparison = screen.comparison
        assert comparison is not None
        await wait_for(
            pilot,
            lambda: (
                comparison.runs[1].results.get("draft") is not None
                and comparison.runs[1].results["draft"].status is PromptStatus.RUNNING
            ),
            what="column 2 streaming",
        )
        await pilot.press("right", "x")
        await finished(pilot, screen)
        statuses = [m.status for m in comparison.all_metrics()]
        assert statuses == [PromptStatus.DONE, PromptStatus.CANCELLED, PromptStatus.DONE]
        # re-run the cancelled column alone: r
        comparison.columns[1] = comparison.columns[2]
        await pilot.press("r")
        await finished(pilot, screen)
        assert [m.status for m in comparison.all_metrics()] == [PromptStatus.DONE] * 3
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), what="back")
        assert not app.session.dirty


async def test_chain_mode_shows_each_step_and_totals(write_config: Any) -> None:
    path = write_config(talk())
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        screen = await start_compare(pilot, "draft", ['mock response="Owls!"'], chain_mode=True)
        await finished(pilot, screen)
        assert texts(screen) == [
            "Title for Draft: Owls hunt at night and fly silently.",
            "Title for Owls!",
        ]
        metrics = str(screen.query_one("#column-1 .metrics").render())
        assert "draft" in metrics and "title" in metrics and "totals" in metrics
        assert app.config.prompt("title").output_text is None


async def test_reopen_a_past_comparison_from_the_palette(write_config: Any) -> None:
    path = write_config(talk())
    app = make_app(path, history=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        screen = await start_compare(pilot, "draft", ['mock response="Hoot."'])
        await finished(pilot, screen)
        group = screen.comparison.group_id if screen.comparison else ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), what="back")
        main_screen(app).action_past_comparisons()
        await wait_for(pilot, lambda: isinstance(app.screen, PastComparisonsScreen), what="list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="reopened")
        reopened = app.screen
        assert reopened.past is not None and reopened.past.group_id == group
        await pilot.pause(0.1)
        assert texts(reopened) == ["Draft: Owls hunt at night and fly silently.", "Hoot."]


async def test_the_palette_offers_compare(write_config: Any) -> None:
    from tui_app.ui.commands import ACTIONS

    assert tuple(a for _, a, _ in ACTIONS if a in ("compare", "past_comparisons")) == (
        "compare",
        "past_comparisons",
    )


# --- SVG snapshots ----------------------------------------------------------------------------


def _freeze(screen: CompareScreen) -> None:
    """Fixed timings and group id: the snapshot must not depend on the machine."""
    comparison = screen.comparison
    assert comparison is not None
    comparison.group_id = "0123456789ab"
    for index, run in enumerate(comparison.runs):
        for result in run.results.values():
            result.ttft, result.latency = 0.012 * (index + 1), 0.25 * (index + 1)
    screen.refresh_title()
    screen.redraw()


@pytest.mark.parametrize("chain_mode", [False, True], ids=["prompt", "chain"])
def test_compare_screen_snapshot(
    snap_compare: Any, monkeypatch: pytest.MonkeyPatch, chain_mode: bool
) -> None:
    monkeypatch.chdir(FIXTURES)
    app = make_app("snapshot.aiconfig.json", history=False)

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        screen = await start_compare(
            pilot,
            "itinerary",
            [
                'mock response="Day one: Alfama and a long lunch. Day two: Belem."',
                'mock response="Day one: Alfama and a market. Day two: Sintra."',
            ],
            chain_mode=chain_mode,
        )
        await finished(pilot, screen)
        await pilot.press("d")
        _freeze(screen)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(160, 40), run_before=run_before)


async def test_two_json_answers_are_compared_by_path_not_by_words(write_config: Any) -> None:
    """Columns whose answers are JSON are diffed structurally: the changed field is named by its
    path, and an unchanged field is not highlighted (a word diff would flag the reordered keys)."""
    path = write_config(chain([{"name": "extract", "input": "where?", "metadata": NO_CONTEXT}]))
    app = make_app(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        screen = await start_compare(
            pilot,
            "extract",
            [
                """mock response='{"city": "Lisbon", "days": 3}'""",
                """mock response='{"days": 3, "city": "Porto"}'""",
            ],
        )
        await finished(pilot, screen)
        await pilot.press("right", "b")  # column 2 is the base
        assert screen.diff and screen.base == 1
        other = screen.query_one("#column-2", CompareColumn)
        assert other.highlighted == ['~ $.city: "Lisbon" -> "Porto"']
