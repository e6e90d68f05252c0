"""What protects a start: a headless run imports neither the TUI nor litellm, and the one shortcut
the app takes at startup with Textual's own theme machinery is pinned against the Textual in use
(the first frame's imports: tests/ui/test_structure.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

SAMPLE = "sample_configs/travel_chain.aiconfig.json"


def _modules_after(code: str, home: Path) -> set[str]:
    env = {"PROMPT_TUI_HOME": str(home), "PATH": "/usr/bin:/bin"}
    tail = "\nimport sys; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code + tail],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_a_headless_run_of_an_offline_file_never_imports_litellm_or_textual(tmp_path: Path):
    code = (
        "from tui_app.cli import main\n"
        f"code = main(['run', {SAMPLE!r}, '--force'])\n"
        "assert code == 0, code\n"
    )
    loaded = _modules_after(code, tmp_path)
    assert "litellm" not in loaded and "textual" not in loaded
    # nor what only --watch, --dry-run or --max-cost need (a fresh run's start: bench/chain.py)
    for name in ("tui_app.core.estimate", "tui_app.commands.run_watch", "tui_app.core.reload"):
        assert name not in loaded, name


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
