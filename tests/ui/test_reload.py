"""Live reload in the TUI: another program saves the file while the app is open."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support.chains import FIVE, five_chain
from tests.support.openai_server import OpenAIServer
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tui_app.ui.commands import ACTIONS
from tui_app.ui.screens.reload_conflict import ReloadConflictScreen
from tui_app.ui.widgets.header import AppHeader


def vim_save(path: Path, text: str) -> None:
    """Write a new file and rename it over the old one, as vim does."""
    fresh = path.with_name("4913")
    fresh.write_text(text)
    os.replace(fresh, path)


def path_prompts(path: Path) -> list[str]:
    return [p["name"] for p in json.loads(path.read_text())["prompts"]]


def header_text(app: Any) -> str:
    return str(app.screen.query_one(AppHeader).render())


async def watching(pilot: Any) -> None:
    await ready(pilot)
    await wait_for(
        pilot,
        lambda: any(w.group == "watch" for w in pilot.app.screen.workers),
        what="the watcher",
    )
    await pilot.pause(0.2)  # its directory watch is in place


async def test_a_save_reruns_only_the_changed_prompts_and_keeps_the_view(
    model_server: OpenAIServer, write_config: Any
) -> None:
    path = write_config(five_chain(model_server.base_url))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await watching(pilot)
        await select(pilot, "four")
        await pilot.press("right")  # expand four: it shows what it reads
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "five") == "done", what="all done")
        assert len(model_server.requests) == 5
        vim_save(path, path.read_text().replace("five says hello", "five says bye"))
        await wait_for(
            pilot, lambda: len(model_server.requests) == 6 and status(app, "five") == "done",
            what="five re-ran",
        )  # fmt: skip
        await pilot.pause(0.3)
        assert len(model_server.requests) == 6
        assert model_server.requests[-1].body["messages"][-1]["content"].startswith("five says bye")
        screen = main_screen(app)
        assert screen.selected == "four"
        tree = screen.prompt_tree
        four = next(n for n in tree.root.children if n.data == "four")
        assert four.is_expanded and [c.data for c in four.children] == ["three"]
        # not re-queued at all (issue 25): they keep the first run's "done", not "cached"
        assert [status(app, n) for n in FIVE[:4]] == ["done"] * 4
        assert "auto-run on" in header_text(app)


async def test_an_invalid_save_shows_a_banner_until_a_valid_one(
    model_server: OpenAIServer, write_config: Any
) -> None:
    path = write_config(five_chain(model_server.base_url))
    good = path.read_text()
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await watching(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "five") == "done", what="all done")
        banner = app.screen.live_reload.banner
        assert not banner.display or not banner.shown
        path.write_text(good.replace('"name": "three"', '"name": three'))
        await wait_for(pilot, lambda: banner.shown, what="the banner")
        line = next(i for i, t in enumerate(good.splitlines(), 1) if '"name": "three"' in t)
        assert f"{path}:{line}:" in banner.message and "invalid JSON" in banner.message
        assert banner.display and banner.region.height >= 1  # on screen, not a fading toast
        await pilot.pause(0.3)
        assert len(model_server.requests) == 5  # nothing sent for the invalid save
        assert app.config.prompt_names == list(FIVE)  # the last good version stays
        path.write_text(good.replace("three says hello", "three says hi"))
        await wait_for(pilot, lambda: not banner.shown, what="the banner cleared")
        await wait_for(
            pilot, lambda: len(model_server.requests) == 8 and status(app, "five") == "done",
            what="three, four and five re-ran",
        )  # fmt: skip


async def test_unsaved_edits_survive_an_external_save(write_config: Any, tmp_path: Path) -> None:
    from tests.ui.conftest import chain

    path = write_config(chain([{"name": "a", "input": "original"}, {"name": "b", "input": "x"}]))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await watching(pilot)
        app.workspace.set_template("a", "my unsaved edit")
        theirs = path.read_text().replace("original", "their edit")
        vim_save(path, theirs)
        await wait_for(
            pilot, lambda: isinstance(app.screen, ReloadConflictScreen), what="the question"
        )
        assert path.read_text() == theirs  # nothing written before an answer
        await pilot.pause()
        await pilot.click("#answer-keep")
        await wait_for(pilot, lambda: not isinstance(app.screen, ReloadConflictScreen))
        assert app.config.prompt("a").template == "my unsaved edit"
        assert path.read_text() == theirs
        # the next external save asks again; this time: save mine as a copy, take theirs
        vim_save(path, theirs.replace("their edit", "their second edit"))
        await wait_for(
            pilot, lambda: isinstance(app.screen, ReloadConflictScreen), what="asked again"
        )
        await pilot.pause()
        await pilot.click("#answer-copy")
        await wait_for(pilot, lambda: app.config.prompt("a").template == "their second edit")
        copies = [p for p in tmp_path.iterdir() if ".mine-" in p.name]
        assert len(copies) == 1
        mine = json.loads(copies[0].read_text())
        assert mine["prompts"][0]["input"] == "my unsaved edit"
        assert "their second edit" in path.read_text()


async def test_w_turns_auto_run_off_and_saves_then_only_reload(
    model_server: OpenAIServer, write_config: Any
) -> None:
    path = write_config(five_chain(model_server.base_url))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await watching(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "five") == "done", what="all done")
        await pilot.press("w")
        assert "auto-run off" in header_text(app)
        path.write_text(path.read_text().replace("five says hello", "five says later"))
        await wait_for(pilot, lambda: status(app, "five") == "stale", what="five stale")
        await pilot.pause(0.3)
        assert len(model_server.requests) == 5
        assert app.config.prompt("five").template.startswith("five says later")
        await select(pilot, "five")
        note = main_screen(app).output.query_one("#output-note")
        assert "template changed" in str(note.render())


def test_the_palette_offers_reload_from_disk_and_auto_run() -> None:
    titles = {title: action for title, action, _ in ACTIONS}
    assert titles["Reload from disk"] == "reload_from_disk"
    assert titles["Toggle auto-run on save"] == "toggle_autorun"


async def test_the_redraw_after_a_save_waits_for_the_reruns_first_request(
    model_server: OpenAIServer, write_config: Any
) -> None:
    """The redraw of a reload (a frame of the whole screen) comes once the re-run has a prompt
    started, so that frame no longer holds its request back (bench/reload.py); with auto-run off
    it comes at once."""
    path = write_config(five_chain(model_server.base_url))
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "five") == "done", what="all done")
        screen = main_screen(app)
        redraw = screen.redraw_after_reload
        seen: list[str] = []  # five's status in the re-run when the screen was redrawn

        def redrawn(result: Any) -> None:
            run = app.workspace.last_plain
            last = run.results.get(path_prompts(path)[-1]) if run else None
            seen.append(last.status.value if last else "?")
            redraw(result)

        screen.redraw_after_reload = redrawn  # type: ignore[method-assign]
        path.write_text(path.read_text().replace("five says hello", "five says bye"))
        screen.live_reload.apply(None)
        assert seen == []  # not before the re-run has started
        await wait_for(pilot, lambda: seen and status(app, "five") == "done", what="re-ran")
        assert seen[0] != "queued"
        assert len(seen) == 1 and len(model_server.requests) == 6

        # a prompt added: the tree must show it at once, before the re-run starts
        data = json.loads(path.read_text())
        data["prompts"].append({**data["prompts"][0], "name": "six", "input": "six says hi"})
        path.write_text(json.dumps(data))
        screen.live_reload.apply(None)
        await wait_for(pilot, lambda: len(seen) == 2, what="the redraw")
        assert seen[1] in ("queued", "?")
        await wait_for(pilot, lambda: status(app, "six") == "done", what="six ran")

        screen.live_reload.auto_run = False
        sent = len(model_server.requests)
        path.write_text(path.read_text().replace("six says hi", "six says ciao"))
        screen.live_reload.apply(None)
        await pilot.pause()
        assert len(seen) == 3 and len(model_server.requests) == sent  # drawn, nothing sent
