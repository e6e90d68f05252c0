from typing import Any

from tests.ui.conftest import chain
from tests.ui.helpers import make_app, ready, select, status, wait_for
from tui_app.core.runs import PromptResult, PromptStatus


def test_offline_runs_are_labelled_in_run_info():
    done = PromptStatus.DONE
    rows = dict(PromptResult(done, model="echo", cost=0.0, offline=True, started_at=1.0).facts())
    assert rows["model"] == "echo (offline, built-in)" and rows["cost"] == "$0"
    rows = dict(PromptResult(done, model="gpt-4o-mini", cost=None, started_at=1.0).facts())
    assert rows["model"] == "gpt-4o-mini" and rows["cost"] == "unknown"


async def test_a_prompt_cancelled_while_queued_shows_no_numbers_of_an_earlier_run(
    write_config: Any,
) -> None:
    """Info after a cancel while queued: that status, and none of the latency and tokens of the
    run before it (they sat side by side)."""
    slow = {"model": {"name": "mock", "settings": {"response": "slow words here", "delay": 5}}}
    prompts = [
        {"name": "first", "input": "go", "metadata": slow},
        {"name": "second", "input": "after {{first.output}}"},
    ]
    path = write_config(chain(prompts))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "second")
        app.config.prompt("first").set_model("mock", {"response": "quick"})
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "second") == "done", what="a first run")
        assert app.session.state("second").result.latency is not None
        app.config.prompt("first").set_model("mock", {"response": "slow words here", "delay": 5})
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "second") == "queued", what="queued")
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: (
                not app.has_active_run
                and app.session.state("second").result is not None
                and app.session.state("second").result.status is not PromptStatus.QUEUED
            ),
            what="cancelled",
        )
        # issue 19 (8): a cancel changed nothing; its upstream did, so it is stale, as `status`
        # says from the file
        await wait_for(pilot, lambda: status(app, "second") == "stale", what="stale")
        result = app.session.state("second").result
        assert result.status is PromptStatus.CANCELLED and not result.started
        assert result.note() == "cancelled before it started"
        assert result.latency is None and result.tokens_out is None and result.model == ""
        assert dict(result.facts())["latency"] == "—"
