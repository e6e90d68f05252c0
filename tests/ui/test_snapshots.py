"""SVG snapshots of the main screen (pytest-textual-snapshot).

Regenerate after an intended visual change: ``pytest tests/ui/test_snapshots.py --snapshot-update``
and review the SVGs. The moment captured has nothing running (no spinner) and no timestamps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.helpers import make_app

FIXTURES = Path(__file__).parent / "fixtures"


async def settled(pilot: Any) -> None:
    """Engine loaded, the selected output rendered as Markdown, nothing left to draw."""
    app = pilot.app
    for _ in range(500):
        screen = app.screen
        if getattr(screen, "engine_ready", False) and screen.output.mode == "rendered":
            break
        await pilot.pause(0.02)
    await pilot.pause(0.2)
    await finite_workers_done(app)
    await pilot.pause()


async def finite_workers_done(app: Any) -> None:
    """Wait for every worker but the file watcher, which lives as long as the screen (an empty
    list means "every worker" to Textual, the watcher included: then wait for none)."""
    finite = [w for w in app.workers if w.group != "watch"]
    if finite:
        await app.workers.wait_for_complete(finite)


@pytest.fixture
def snapshot_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(FIXTURES)  # the header shows the path as given: keep it relative
    return make_app("snapshot.aiconfig.json")


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 36), (160, 48)], ids=["80x24", "120x36", "160x48"]
)
def test_main_screen(snap_compare: Any, snapshot_app: Any, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app, terminal_size=size, run_before=settled)


def test_main_screen_expanded_tree(snap_compare: Any, snapshot_app: Any) -> None:
    """The dependency tree expanded on a prompt that reads two outputs."""

    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("down", "down", "right")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def _modal(keys: tuple[str, ...], screen: str) -> Any:
    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press(*keys)
        for _ in range(200):
            if type(pilot.app.screen).__name__ == screen:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.6)
        await finite_workers_done(pilot.app)
        steady_cursors(pilot.app)
        await pilot.pause()

    return run_before


def steady_cursors(app: Any) -> None:
    """A blinking cursor is drawn or not depending on when the frame is taken (it flipped a
    model-picker snapshot on a loaded CI machine): keep every cursor on the screen drawn. A
    TextArea caches its lines under a key that ignores the cursor once it stops blinking, so the
    line drawn in the blink's "off" phase would stay: notify_style_update empties that cache."""
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
        widget.notify_style_update()
        widget.refresh()


def test_help(snap_compare: Any, snapshot_app: Any) -> None:
    assert snap_compare(
        snapshot_app, terminal_size=(120, 36), run_before=_modal(("f1",), "HelpScreen")
    )


def test_key_map(snap_compare: Any, snapshot_app: Any) -> None:
    run_before = _modal(("question_mark",), "KeyMapScreen")
    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_palette(snap_compare: Any, snapshot_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        from textual.widgets import OptionList

        await _modal(("ctrl+p",), "CommandPalette")(pilot)
        await pilot.press(*"export")
        options = pilot.app.screen.query_one(OptionList)
        counts: list[int] = []
        for _ in range(200):  # the palette searches in the background: wait until it settles
            counts.append(options.option_count)
            if len(counts) > 10 and counts[-1] > 0 and len(set(counts[-10:])) == 1:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_model_picker(snap_compare: Any, snapshot_app: Any) -> None:
    run_before = _modal(("m",), "ModelPickerScreen")
    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_template_editor(snap_compare: Any, snapshot_app: Any) -> None:
    run_before = _modal(("e",), "TemplateEditorScreen")
    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_export_dialog(snap_compare: Any, snapshot_app: Any) -> None:
    run_before = _modal(("x",), "ConfirmScreen")
    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_load_error(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.aiconfig.json").write_text(
        '{\n  "name": "x",\n  "prompts": [\n    {"name": "a", "input": }\n  ]\n}\n'
    )
    assert snap_compare(make_app("broken.aiconfig.json"), terminal_size=(100, 30))


@pytest.mark.parametrize("theme", ["prompt-light", "prompt-high-contrast", "prompt-amber"])
def test_themes(snap_compare: Any, snapshot_app: Any, theme: str) -> None:
    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        pilot.app.theme = theme
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)


def test_run_in_progress(snap_compare: Any, snapshot_app: Any) -> None:
    """A run caught mid-stream: the mock model's first words shown, the rest held back by a long
    delay; the spinner stopped on one frame so the picture is the same every time."""

    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        app = pilot.app
        screen = app.screen
        prompt = app.config.prompt("weather")
        prompt.set_model("mock", {"response": "Mild and sunny, 22 degrees. " * 3, "delay": 30})
        screen.prompt_tree.tick = lambda running: None  # no spinner frames: a fixed picture
        await pilot.press("down")
        await pilot.press("R")
        for _ in range(300):
            state = app.session.state("weather")
            if state.chunks:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)
        screen.prompt_tree.refresh_prompt("weather")
        await pilot.pause()

    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)
