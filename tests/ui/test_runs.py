"""Runs in the TUI: escape cancels the whole run, ctrl+x one prompt, stale reasons as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import REPO
from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, stream_text, wait_for

WORDS = " ".join(f"w{i}" for i in range(1500))


def slow_chain() -> dict[str, Any]:
    """Two slow independent prompts and one that reads both."""
    no_context = {"remember_chat_context": False}
    return chain(
        [
            {"name": "left", "input": WORDS, "metadata": no_context},
            {"name": "right", "input": WORDS, "metadata": no_context},
            {"name": "join", "input": "{{left.output}} {{right.output}}", "metadata": no_context},
        ],
        models={"echo": {"delay": 0.01}},
    )


def note(app: Any) -> str:
    return str(main_screen(app).query_one("#output-note").render())


async def test_escape_cancels_the_whole_run_dependencies_included(write_config: Any) -> None:
    path = write_config(slow_chain())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "join")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "left") == "running", what="left running")
        await pilot.press("escape")  # join is selected: its run is cancelled, upstream too
        await wait_for(pilot, lambda: not app.has_active_run, what="the run to end")
        assert [status(app, n) for n in ("left", "right", "join")] == ["cancelled"] * 3
        tree = main_screen(app).prompt_tree
        assert all("✓" not in str(tree.label_for(n)) for n in ("left", "right", "join"))
        assert app.config.prompt("left").output_text is None


async def test_ctrl_x_cancels_only_the_selected_prompt(write_config: Any) -> None:
    path = write_config(slow_chain())
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "join")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "left") == "running", what="left running")
        await select(pilot, "left")
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: status(app, "left") == "cancelled", what="left cancelled")
        assert status(app, "right") == "running"  # the rest of the run goes on
        await wait_for(pilot, lambda: status(app, "join") == "blocked", what="join blocked")
        await pilot.press("escape")


async def test_a_rerun_cancelled_leaves_no_checkmark(write_config: Any) -> None:
    data = slow_chain()
    good = {"output_type": "execute_result", "data": "the good answer", "metadata": {}}
    data["prompts"][0]["outputs"] = [good]
    path = write_config(data)
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "left")
        assert "✓" in str(main_screen(app).prompt_tree.label_for("left"))
        app.start_run("left", "one", force=True)
        await wait_for(pilot, lambda: len(stream_text(app)) > 20, what="re-run streaming")
        await pilot.press("escape")
        await wait_for(pilot, lambda: status(app, "left") == "cancelled", what="cancelled")
        assert "✓" not in str(main_screen(app).prompt_tree.label_for("left"))
        assert app.config.prompt("left").output_text == "the good answer"  # kept


async def test_stale_reasons_match_the_cli(write_config: Any, tmp_path: Path) -> None:
    path = write_config(
        chain(
            [
                {"name": "a", "input": "about {{topic}}", "metadata": {}},
                {"name": "b", "input": "then {{a.output}}", "metadata": {}},
            ],
            parameters={"topic": "owls"},
        )
    )
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await select(pilot, "b")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "b") == "done", what="b done")
        app.workspace.save()
        # the file now says bats: what the tree, the pane and the CLI say must agree
        data = json.loads(path.read_text())
        data["metadata"]["parameters"]["topic"] = "bats"
        path.write_text(json.dumps(data))
    cli = subprocess.run(
        [sys.executable, "-m", "tui_app.cli", "status", str(path), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = {row["prompt"]: row for row in map(json.loads, cli.stdout.splitlines())}
    assert rows["a"]["reasons"][0]["text"] == "parameter topic changed (owls → bats)"
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: status(app, "a") == "stale", what="a stale")
        await select(pilot, "a")
        assert rows["a"]["reasons"][0]["text"] in note(app)
        await select(pilot, "b")
        assert status(app, "b") == "stale"
        assert rows["b"]["reasons"][0]["text"] in note(app)
        assert "R re-runs it with its dependencies" in note(app)


async def test_a_prompts_setting_never_leaks_into_the_next_selected_prompt(
    write_config: Any, model_server: Any
) -> None:
    """Found by bench/stream.py hanging: after a cached re-run of a prompt with its own
    max_tokens, selecting another prompt wrote that max_tokens into it (a Changed event from
    the first prompt's form, handled after the form was redrawn for the second)."""
    model = {"api_base": model_server.base_url, "max_attempts": 1, "timeout": 120}
    warm_model = {"name": "openai/test-model", "settings": {"max_tokens": 50}}
    path = write_config(
        chain(
            [
                {
                    "name": "warm",
                    "input": "warm up",
                    "metadata": {"model": warm_model, "remember_chat_context": False},
                },
                {"name": "big", "input": "stream", "metadata": {"remember_chat_context": False}},
            ],
            models={"openai/test-model": model},
            default_model="openai/test-model",
        )
    )
    for _ in range(3):  # after the first time, warm is answered from the cache
        app = make_app(path)
        async with app.run_test(size=(120, 36)) as pilot:
            # no extra pause after the engine is ready: the race needs the form's first drawing
            # still in flight when the run starts
            screen: Any = pilot.app.screen
            await wait_for(pilot, lambda: screen.engine_ready, what="engine ready")  # noqa: B023
            screen.run_prompt("warm", "one")
            settled = ("done", "cached")
            await wait_for(pilot, lambda: status(app, "warm") in settled, what="warm")  # noqa: B023
            main_screen(app).select("big")
            await pilot.pause(0.3)
            assert app.config.prompt("big").model_settings == {}
            assert app.workspace.document.prompt("big").metadata.get("model") is None


async def test_the_footer_shows_cancel_while_running_and_is_rebuilt_only_then(
    write_config: Any, monkeypatch: Any
) -> None:
    """ "Cancel" appears when a run starts and goes when it ends; the footer is not rebuilt for
    each prompt's event (each rebuild held the event loop ~20 ms: a re-run after a save waited
    for ten of them before its request went out)."""
    from textual.widgets import Footer

    rebuilds: list[int] = []
    recompose = Footer.recompose

    async def counted(self: Footer) -> None:
        rebuilds.append(1)
        await recompose(self)

    monkeypatch.setattr(Footer, "recompose", counted)
    prompts: list[dict[str, Any]] = [{"name": f"p{n}", "input": f"step {n}"} for n in range(5)]
    slow = {"model": {"name": "mock", "settings": {"response": "late and slow", "delay": 30}}}
    prompts.append({"name": "last", "input": "the slow one", "metadata": slow})
    app = make_app(write_config(chain(prompts)))  # chat context: one after the other
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(pilot)

        def shown() -> list[str]:
            return [str(key.description) for key in app.screen.query("FooterKey")]

        assert "Cancel" not in shown()
        before = len(rebuilds)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "last") == "running", what="five done")
        await wait_for(pilot, lambda: "Cancel" in shown(), what="cancel shown while running")
        await pilot.press("escape")
        await wait_for(pilot, lambda: status(app, "last") == "cancelled", what="cancelled")
        await wait_for(pilot, lambda: "Cancel" not in shown(), what="cancel gone after the run")
        await pilot.pause(0.2)
        assert len(rebuilds) - before <= 2  # cancel shown, cancel gone (was one per event)


async def test_a_long_stale_explanation_is_shown_whole(write_config: Any) -> None:
    """Several changed settings make a note of many lines: all of them are on screen, and the
    key that helps comes first (three lines cut it mid-sentence, the key last and lost)."""
    settings = {f"setting_{n}": n for n in range(6)}
    path = write_config(
        chain(
            [
                {
                    "name": "a",
                    "input": "hello",
                    "metadata": {"model": {"name": "echo", "settings": settings}},
                }
            ]
        )
    )
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="a done")
        for key in settings:
            app.workspace.set_setting("a", key, None)
        main_screen(app).refresh_stale()
        await wait_for(pilot, lambda: status(app, "a") == "stale", what="a stale")
        await pilot.pause(0.2)
        widget = main_screen(app).query_one("#output-note")
        text = note(app)
        assert text.startswith("stale (r re-runs it): ") and "setting_5" in text
        region = widget.content_region
        needed = widget.get_content_height(region.size, region.size, region.width)
        assert needed > 3 and region.height == needed  # every line of it, not three
