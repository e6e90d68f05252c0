"""A run's events are drawn per frame, not per event: `a` on a big file spent its time redrawing
the header, the tree row and the form once for every queued/started/finished event (issue 25)."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, status, wait_for

PROMPTS = 60


async def test_run_all_draws_per_frame_and_ends_with_every_row_drawn(write_config: Any) -> None:
    prompts = [
        {"name": f"p{i}", "input": f"hello {i}", "metadata": {"remember_chat_context": False}}
        for i in range(PROMPTS)
    ]
    prompts.append({"name": "last", "input": "after {{p0.output}}"})
    app = make_app(write_config(chain(prompts)))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        screen = main_screen(app)
        drawn: list[int] = []
        draw_header = screen.refresh_header

        def counting_header() -> None:
            drawn.append(1)
            draw_header()

        screen.refresh_header = counting_header
        await pilot.press("a")
        await wait_for(pilot, lambda: not app.has_active_run and status(app, "last") == "done")
        await pilot.pause()
        # three events a prompt at least (queued, started, finished): drawn far fewer times
        assert len(drawn) < PROMPTS
        tree = screen.prompt_tree
        assert all("✓" in str(tree.label_for(f"p{i}")) for i in range(PROMPTS))
        assert "✓" in str(tree.label_for("last"))
        assert str(PROMPTS + 1) in str(screen.query_one("#header").render())
