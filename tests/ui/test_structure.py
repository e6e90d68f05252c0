"""House rules of the UI package: small files, no litellm before the first frame."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UI = REPO / "tui_app" / "ui"


def test_no_ui_file_over_600_lines() -> None:
    sizes = {
        p.relative_to(REPO).as_posix(): len(p.read_text().splitlines()) for p in UI.rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > 600} == {}


def test_first_frame_without_litellm(tmp_path: Path) -> None:
    """litellm (3 s, 175 MB) must not be imported before the first frame is painted."""
    code = r"""
import json, sys
from tui_app.ui.app import PromptTuiApp

class Probe(PromptTuiApp):
    def on_ready(self):
        print(json.dumps({"litellm": "litellm" in sys.modules,
                          "markdown": "textual.widgets._markdown" in sys.modules}))
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
    assert probe == {"litellm": False, "markdown": False}


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
        main = self._main_screen()
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
