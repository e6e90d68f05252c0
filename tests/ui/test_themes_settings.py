"""Themes, the settings file and key remapping (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.notifications import Notify

from tests.ui.helpers import main_screen, make_app, ready, status, wait_for
from tui_app.core import settings as user_settings
from tui_app.ui.themes import load_themes

REPO = Path(__file__).resolve().parents[2]


def _luminance(colour: str) -> float:
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_four_shipped_themes_with_readable_status_colours() -> None:
    themes, problems = load_themes([REPO / "themes"])
    assert not problems
    ours = {t.name: t for t in themes if t.name.startswith("prompt-")}
    assert {"prompt-dark", "prompt-light", "prompt-high-contrast", "prompt-amber"} <= set(ours)
    for name, theme in ours.items():
        minimum = 7.0 if "high-contrast" in name else 4.5
        for key, colour in theme.variables.items():
            if key.startswith(("status-", "source-")):
                ratio = contrast(colour, str(theme.background))
                assert ratio >= minimum, f"{name}: {key} {colour} is {ratio:.2f}:1"


def test_settings_file_round_trip_keeps_unknown_keys(ui_home: Path) -> None:
    path = user_settings.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": "prompt-light", "future": {"x": 1}}))
    assert user_settings.remember_theme("prompt-amber") is None
    data = json.loads(path.read_text())
    assert data == {"theme": "prompt-amber", "future": {"x": 1}}
    assert str(path).startswith(str(ui_home))  # PROMPT_TUI_HOME is respected
    path.write_text("{not json")
    loaded = user_settings.load()
    assert loaded.theme is None and loaded.problem and "not valid JSON" in loaded.problem


async def test_theme_choice_is_kept_for_next_time(three_step: Path) -> None:
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        chosen = app.theme
        await wait_for(pilot, lambda: user_settings.load().theme == chosen, what="saved")
    again = make_app(three_step)
    async with again.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        assert again.theme == chosen


async def test_user_theme_folder_and_one_notice_for_broken_ones(
    three_step: Path, ui_home: Path
) -> None:
    folder = ui_home / "themes"
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text("name: my-theme\nprimary: '#AA5500'\ndark: true\n")
    (folder / "broken.yaml").write_text("name: x\nprimary: [\n")
    (folder / "odd.yaml").write_text("name: y\nprimary: '#fff'\nsparkle: 1\n")
    notices: list[Any] = []

    def hook(message: Any) -> None:
        if isinstance(message, Notify):
            notices.append(message.notification)

    app = make_app(three_step)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        assert "my-theme" in app.available_themes
        seen = []
        for _ in range(5):  # `t`: the shipped themes in the README's order, then the user's
            await pilot.press("t")
            seen.append(app.theme)
        assert seen == [
            "prompt-light",
            "prompt-high-contrast",
            "prompt-amber",
            "my-theme",
            "prompt-dark",
        ]
        skipped = [n for n in notices if "skipped" in str(n.title)]
        assert len(skipped) == 1
        assert "broken.yaml" in skipped[0].message and "odd.yaml" in skipped[0].message


@pytest.mark.parametrize("keys", ["f5"])
async def test_keys_are_remapped_from_the_settings_file(three_step: Path, keys: str) -> None:
    user_settings.save(user_settings.Settings(keymap={"main.run": keys}))
    app = make_app(three_step)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press(keys)
        await wait_for(pilot, lambda: status(app, "topic") == "done", what="f5 ran it")
        assert main_screen(app).selected == "topic"


BROKEN_THEMES = {
    # file: (text, the location and problem its notice must name)
    "colour.yaml": ("name: bad\nprimary: notacolor\n", "colour.yaml:2:1: 'primary': 'notacolor'"),
    "variable.yaml": (
        "name: badvar\nprimary: '#fff'\nvariables:\n  status-done: nope\n",
        "variable.yaml:4:3: variable 'status-done': 'nope' is not a colour",
    ),
    "style.yaml": (
        "name: badstyle\nprimary: '#fff'\nvariables:\n  block-cursor-text-style: blod\n",
        "style.yaml:4:3: variable 'block-cursor-text-style': 'blod' is not a text style",
    ),
    "unknown.yaml": ("name: u\nprimary: '#fff'\nsparkle: 1\n", "unknown.yaml:3:1: unknown"),
    "flag.yaml": ("name: f\nprimary: '#fff'\ndark: maybe\n", "flag.yaml:3:1: 'dark' must be"),
    "secondary.yaml": ("name: s\nprimary: '#fff'\nsecondary: 12\n", "secondary.yaml:3:1:"),
    "nameless.yaml": ("primary: '#fff'\n", "nameless.yaml:1:1: a theme needs 'name'"),
}


async def test_a_broken_theme_is_skipped_with_its_place_and_problem(
    three_step: Path, ui_home: Path
) -> None:
    """Issue 19: a bad colour crashed the app when `t` reached it (inside Textual's ColorSystem).
    Every field and variable is checked at load; the app starts, says where, and `t` goes round."""
    folder = ui_home / "themes"
    folder.mkdir(parents=True)
    for name, (text, _) in BROKEN_THEMES.items():
        (folder / name).write_text(text)
    (folder / "good.yaml").write_text(
        "name: good\nprimary: '#AA5500'\nvariables:\n  text: 'auto 80%'\n  status-done: ansi_red\n"
    )
    notices: list[Any] = []

    def hook(message: Any) -> None:
        if isinstance(message, Notify):
            notices.append(message.notification)

    app = make_app(three_step)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await ready(pilot)
        skipped = [n for n in notices if "skipped" in str(n.title)]
        assert len(skipped) == 1
        for _, where in BROKEN_THEMES.values():
            assert where in skipped[0].message
        assert "good" in app.available_themes
        seen = []
        for _ in range(len(app.theme_cycle) + 1):
            await pilot.press("t")
            await pilot.pause()
            seen.append(app.theme)
        assert "good" in seen and seen[-1] == seen[0]
        assert app.is_running
