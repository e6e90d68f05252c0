"""Time to first painted frame: prompt-tui vs a bare Textual app with the same three empty panes.

Each sample is a fresh process (interpreter start and imports included), timed from just before
the spawn to the app's ``on_ready`` (the first frame is painted), headless. Both apps alternate,
in one run, so the machine's state affects them alike. Prints the medians and their ratio
(target: <= 1.3x) and whether litellm was imported before the first frame (it must not be).

    python bench/startup.py [CONFIG] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "sample_configs" / "travel_chain.aiconfig.json"

BASELINE = r"""
import json, sys, time
from textual.app import App
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

class Bare(App):
    CSS = ".pane { border: round $primary; width: 1fr; height: 1fr; } #top { height: 1; }"
    def compose(self):
        yield Static("bare", id="top")
        with Horizontal():
            yield Vertical(classes="pane")
            yield Vertical(classes="pane")
            yield Vertical(classes="pane")
        yield Footer()
    def on_ready(self):
        print(json.dumps({"ready": time.time(), "litellm": "litellm" in sys.modules}), flush=True)
        self.exit()

Bare().run(headless=True, size=(120, 36))
"""

PROMPT_TUI = r"""
import json, sys, time
from tui_app.ui.app import PromptTuiApp

class Timed(PromptTuiApp):
    def on_ready(self):  # Textual also calls PromptTuiApp.on_ready (handlers run per class)
        print(json.dumps({"ready": time.time(), "litellm": "litellm" in sys.modules}), flush=True)
        self.exit()

Timed(sys.argv[1]).run(headless=True, size=(120, 36))
"""


def sample(code: str, *args: str, env: dict[str, str]) -> tuple[float, bool]:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            return data["ready"] - start, bool(data["litellm"])
    raise SystemExit(f"no timing from the child:\n{out.stdout}\n{out.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG))
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    env = dict(os.environ)
    # The warm-up below must leave .pyc files, as any install or earlier run does: with
    # PYTHONDONTWRITEBYTECODE set (some shells and CI images), every sample of prompt-tui compiled
    # its own modules from source (~60-100 ms) while Textual's came precompiled from site-packages.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PROMPT_TUI_HOME"] = tempfile.mkdtemp(prefix="prompt-tui-bench-")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    sample(BASELINE, env=env)  # warm the file cache (and .pyc files) for both
    sample(PROMPT_TUI, args.config, env=env)
    bare, ours, litellm_early = [], [], False
    for _ in range(args.rounds):
        bare.append(sample(BASELINE, env=env)[0])
        seconds, early = sample(PROMPT_TUI, args.config, env=env)
        ours.append(seconds)
        litellm_early |= early
    b, o = statistics.median(bare), statistics.median(ours)
    pairs = statistics.median(x / y for x, y in zip(ours, bare, strict=True))
    print(f"config: {args.config}")
    print(
        f"bare Textual app (3 empty panes): median {b * 1000:.0f} ms  "
        f"(min {min(bare) * 1000:.0f}, max {max(bare) * 1000:.0f}, n={len(bare)})"
    )
    print(
        f"prompt-tui:                       median {o * 1000:.0f} ms  "
        f"(min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f}, n={len(ours)})"
    )
    # Samples alternate, so the ratio within each pair cancels slow changes in machine load.
    print(
        f"ratio (median of paired ratios): {pairs:.2f}x   ratio of medians: {o / b:.2f}x   "
        f"ratio of minimums: {min(ours) / min(bare):.2f}x"
    )
    print(f"target <= 1.3x: {'OK' if pairs <= 1.3 else 'OVER TARGET'}")
    print(f"litellm imported before the first frame: {'YES (bad)' if litellm_early else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
