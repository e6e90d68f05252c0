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
    # every worker but the file watcher, which lives as long as the screen
    await app.workers.wait_for_complete([w for w in app.workers if w.group != "watch"])
    await pilot.pause()


@pytest.fixture
def snapshot_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(FIXTURES)  # the header shows the path as given: keep it relative
    return make_app("snapshot.aiconfig.json")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare: Any, snapshot_app: Any, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app, terminal_size=size, run_before=settled)


def test_main_screen_expanded_tree(snap_compare: Any, snapshot_app: Any) -> None:
    """The dependency tree expanded on a prompt that reads two outputs."""

    async def run_before(pilot: Any) -> None:
        await settled(pilot)
        await pilot.press("down", "down", "right")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app, terminal_size=(120, 36), run_before=run_before)
