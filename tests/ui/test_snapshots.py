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


def test_history_view(
    snap_compare: Any, snapshot_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history view (`5`) of a prompt with three earlier runs, one of them failed. The runs
    are written to the real history file first, with fixed times read in UTC."""
    import time

    from tui_app.core.history import History, RunRecord
    from tui_app.core.paths import history_path

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    start = 1_795_000_000.0  # 2026-11-18, a fixed moment
    runs = [
        ("done", "echo", "Day one: Alfama and a long lunch.\nDay two: Belém.", None, 0.41, 12),
        ("failed", "openai/gpt-4o-mini", None, "429 Too Many Requests", 1.9, None),
        ("done", "mock", "Day one: a market. Day two: Sintra by train.", None, 0.05, 9),
    ]
    with History(history_path(create_dir=True)) as history:
        for index, (status, model, text, error, latency, tokens) in enumerate(runs):
            at = start + index * 3600
            history.record(
                RunRecord(
                    run_id=f"r{index}",
                    config_path=str(FIXTURES / "snapshot.aiconfig.json"),
                    prompt="itinerary",
                    status=status,
                    model=model,
                    output_text=text,
                    error=error,
                    latency=latency,
                    tokens_out=tokens,
                    started_at=at,
                    ended_at=at + latency,
                )
            )

    async def run_before(pilot: Any) -> None:
        from textual.widgets import DataTable

        await settled(pilot)
        await pilot.press("down", "down", "5")
        for _ in range(300):
            tables = pilot.app.screen.query("#history-table").results(DataTable)
            if any(table.row_count == 3 for table in tables):
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)

    try:
        assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_keys_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys screen (`k`): one key in the keyring (masked), the rest missing."""
    from tests.support.memory_keyring import MemoryKeyring
    from tui_app.core.keys import KeyStore

    monkeypatch.chdir(FIXTURES)
    store = KeyStore(environ={}, backend=MemoryKeyring())
    store.set("openai", "sk-snapshot-0123456789abcdefWXYZ")
    app = make_app("snapshot.aiconfig.json", keys=store)

    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("k")
        for _ in range(300):
            screen = pilot.app.screen
            if getattr(screen, "keyring_usable", None) is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)
        await finite_workers_done(pilot.app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_compare_setup(snap_compare: Any, snapshot_app: Any) -> None:
    assert snap_compare(
        snapshot_app, terminal_size=(120, 36), run_before=_modal(("c",), "CompareSetupScreen")
    )


def test_new_prompt_dialog(snap_compare: Any, snapshot_app: Any) -> None:
    assert snap_compare(
        snapshot_app, terminal_size=(120, 36), run_before=_modal(("n",), "AskTextScreen")
    )
