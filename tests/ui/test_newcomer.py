"""Issue 19 (tried as a new user), the TUI side: each test fails without its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Input

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tests.ui.test_compare import finished, start_compare

NO_CONTEXT = {"remember_chat_context": False}


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
            assert prompt["metrics"]["latency_s"] is not None  # the answer's own timings
        assert data["prompts"][0]["request"]["messages"][-1]["content"] == "Hello World"
