"""House rules of the UI package: the first frame pays only for what it draws; importing the UI
has no side effects. (Files are split by responsibility, never by length: no line cap.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "tui_app" / "ui"


def test_first_frame_without_litellm(tmp_path: Path) -> None:
    """litellm (seconds, hundreds of MB: DESIGN.md), the HTTP client, SQLite, the keyring and the
    Markdown widget are not imported before the first frame is painted; nor are Jinja2 (the
    form's references come from the quick scan), the history tab's table or the rating dialog."""
    code = r"""
import json, sys
from tui_app.ui.app import PromptTuiApp

class Probe(PromptTuiApp):
    def on_ready(self):
        heavy = ("litellm", "httpx", "sqlite3", "keyring", "textual.widgets._markdown",
                 "tui_app.core.events", "tui_app.core.providers", "tui_app.core.compare",
                 "jinja2", "tui_app.core.templates.engine", "textual.widgets._data_table",
                 "tui_app.ui.widgets.run_history", "tui_app.ui.screens.rate")
        print(json.dumps({name: name in sys.modules for name in heavy}))
        self.exit()

Probe(sys.argv[1], preload=False).run(headless=True, size=(80, 24))
"""
    config = REPO / "sample_configs" / "travel_chain.aiconfig.json"
    env = dict(os.environ, PROMPT_TUI_HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code, str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert not any(probe.values()), probe


def test_importing_the_ui_has_no_side_effects(tmp_path: Path) -> None:
    code = "import tui_app.ui.launch, tui_app.ui.app, tui_app.ui.themes, tui_app.ui.commands"
    env = dict(os.environ, PROMPT_TUI_HOME=str(tmp_path / "home"))
    subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True, timeout=60)
    assert list(tmp_path.iterdir()) == []  # no directories, history or settings created


def test_offline_file_never_imports_litellm_even_after_preload(tmp_path: Path) -> None:
    """The background preload prepares only what the file's models need (issue 13): an offline
    or OpenAI-compatible file idles without litellm (~230 MiB, ~3 s of CPU)."""
    code = r"""
import json, sys
from tui_app.ui.app import PromptTuiApp

class Probe(PromptTuiApp):
    def on_ready(self):
        self.set_interval(0.05, self.check)

    def check(self):
        main = self.main_screen
        busy = [w for w in self.workers if w.group == "preload" and not w.is_finished]
        if main is not None and main.engine_ready and not busy:
            print(json.dumps({"litellm": "litellm" in sys.modules, "ids": self.model_ids()}))
            self.exit()

Probe(sys.argv[1], preload=True).run(headless=True, size=(80, 24))
"""
    config = tmp_path / "mixed.aiconfig.json"
    config.write_text(
        json.dumps(
            {
                "name": "offline and openai-compatible",
                "metadata": {
                    "models": {
                        "local": {"model": "openai/llama3", "api_base": "http://127.0.0.1:9/v1"}
                    },
                    "default_model": "echo",
                },
                "prompts": [
                    {"name": "a", "input": "hi"},
                    {"name": "b", "input": "hi", "metadata": {"model": "local"}},
                    {"name": "c", "input": "hi", "metadata": {"model": "gpt-4o-mini"}},
                ],
            }
        )
    )
    env = dict(os.environ, PROMPT_TUI_HOME=str(tmp_path / "home"))
    out = subprocess.run(
        [sys.executable, "-c", code, str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe == {"litellm": False, "ids": ["echo", "openai/llama3", "gpt-4o-mini"]}
