"""What protects the first frame: the imports a start pays for, and the one shortcut the app takes
at startup with Textual's own theme machinery (pinned here against the Textual in use)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

SAMPLE = "sample_configs/travel_chain.aiconfig.json"


def _modules_after(code: str, home: Path, *, print_modules: bool = True) -> set[str]:
    env = {"PROMPT_TUI_HOME": str(home), "PATH": "/usr/bin:/bin"}
    tail = "\nimport sys; print(' '.join(sorted(sys.modules)))" if print_modules else ""
    result = subprocess.run(
        [sys.executable, "-c", code + tail],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_opening_an_offline_file_in_the_tui_imports_no_provider_machinery(tmp_path: Path):
    """Building the app and its first screen for a file of offline models loads neither litellm
    (seconds and ~230 MiB) nor the HTTP client, SQLite or the keyring backends."""
    code = (
        "import asyncio, sys\n"
        "from tui_app.ui.app import PromptTuiApp\n"
        "class Probe(PromptTuiApp):\n"
        "    def on_ready(self):\n"
        "        self.seen = set(sys.modules)\n"
        "        super().on_ready()\n"
        "async def go():\n"
        f"    app = Probe({SAMPLE!r}, preload=False)\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "    assert type(app.main_screen).__name__ == 'MainScreen'\n"
        "    print(' '.join(sorted(app.seen)))\n"
        "asyncio.run(go())\n"
    )
    loaded = _modules_after(code, tmp_path, print_modules=False)
    assert {"textual", "tui_app.ui.screens.main"} <= loaded  # it did see the first frame
    for heavy in ("litellm", "httpx", "sqlite3", "keyring", "tiktoken"):
        assert heavy not in loaded, f"{heavy} is imported before the first frame"


def test_a_headless_run_of_an_offline_file_never_imports_litellm_or_textual(tmp_path: Path):
    code = (
        "from tui_app.cli import main\n"
        f"code = main(['run', {SAMPLE!r}, '--force'])\n"
        "assert code == 0, code\n"
    )
    loaded = _modules_after(code, tmp_path)
    assert "litellm" not in loaded and "textual" not in loaded


async def test_the_startup_theme_shortcut_matches_what_textual_does(tmp_path: Path, monkeypatch):
    """The app sets a same-darkness theme before the first frame without Textual's watcher
    (classes and CSS variables by hand). Whatever Textual version is installed, the result must
    be what assigning ``App.theme`` gives."""
    from tui_app.ui.app import PromptTuiApp

    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path))
    (tmp_path / "settings.json").write_text(json.dumps({"theme": "prompt-amber"}))
    shortcut = PromptTuiApp(REPO / SAMPLE, preload=False, history=False)
    async with shortcut.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        took = (shortcut.theme, set(shortcut.classes), shortcut.get_css_variables())
    (tmp_path / "settings.json").write_text(json.dumps({}))
    plain = PromptTuiApp(REPO / SAMPLE, preload=False, history=False)
    async with plain.run_test(size=(100, 30)) as pilot:
        plain.theme = "prompt-amber"
        await pilot.pause()
        assert (plain.theme, set(plain.classes), plain.get_css_variables()) == took
