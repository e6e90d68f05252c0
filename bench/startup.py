"""Time to a *usable* screen: prompt-tui vs a bare Textual app showing the same panes.

Usable means what a user needs before the first key: the prompt tree *and* the selected prompt's
parameters in the form (not a placeholder). The bare app composes a tree with as many leaves as
the file has prompts, a form with as many labelled inputs as prompt-tui's form shows for the first
prompt (its parameters and its model settings), an output pane and a footer, and is usable at its
first frame.

Honest comparison:
- cold vs cold: every sample is a fresh process (interpreter start and imports included), timed
  from just before the spawn;
- the same garbage-collector settings on both sides (prompt-tui freezes the imported objects and
  pauses the collector until its first frame: the bare app does the same);
- samples alternate (bare, prompt-tui, bare, ...), N >= 5 each; medians with min-max and the
  median of the paired ratios.

    python bench/startup.py [CONFIG] [--rounds N]        # a file (default: the travel sample)
    python bench/startup.py --prompts 1000 [--rounds N]  # a generated file of N prompts

Targets: <= 1.2x for a small file (issue 25), <= 1.5x at 1,000 prompts (issue 13). Also reports whether
litellm was imported by the time the screen was usable (it must not be).
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
import gc, json, sys, time
gc.freeze()
from textual.app import App
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Input, Label, Static, Tree

LEAVES, PARAMS = int(sys.argv[1]), int(sys.argv[2])

class Bare(App):
    CSS = ".pane { border: round $primary; width: 1fr; height: 1fr; } #top { height: 1; }"
    def compose(self):
        yield Static("bare", id="top")
        with Horizontal():
            tree = Tree("prompts")
            tree.show_root = False
            for i in range(LEAVES):
                tree.root.add_leaf(f"· step-{i}  echo")
            with Vertical(classes="pane"):
                yield tree
            with VerticalScroll(classes="pane"):
                for i in range(PARAMS):
                    yield Label(f"param-{i}  global")
                    yield Input(f"value {i}", compact=True)
            yield Vertical(classes="pane")
        yield Footer()
    def on_load(self):
        gc.disable()
    def on_ready(self):
        gc.enable()
        print(json.dumps({"usable": time.time(), "litellm": "litellm" in sys.modules}), flush=True)
        self.exit()

Bare().run(headless=True, size=(120, 36))
"""

PROMPT_TUI = r"""
import json, sys, time
from tui_app.ui.app import PromptTuiApp

class Timed(PromptTuiApp):
    def on_ready(self):  # Textual also calls PromptTuiApp.on_ready (handlers run per class)
        self.first_frame = time.time()
        self.check()
        if self.is_running:
            self.set_interval(0.002, self.check)

    def check(self):
        main = self.main_screen
        if main is None or not main.form.drawn:
            return
        if getattr(self, "reported", False):
            return
        self.reported = True
        print(json.dumps({"usable": time.time(), "first_frame": self.first_frame,
                          "litellm": "litellm" in sys.modules}), flush=True)
        self.exit()

Timed(sys.argv[1], history=False).run(headless=True, size=(120, 36))
"""


def sample(code: str, *args: str, env: dict[str, str]) -> tuple[float, bool]:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            return data["usable"] - start, bool(data["litellm"])
    raise SystemExit(f"no timing from the child:\n{out.stdout}\n{out.stderr}")


def _params_of(config: Path) -> tuple[int, int]:
    """(prompts, labelled inputs in the first prompt's form) so the bare app draws as much:
    the form shows the prompt's parameters and its model settings (temperature, max_tokens...),
    each a labelled input."""
    sys.path.insert(0, str(REPO))
    from tui_app.core.workspace import Workspace
    from tui_app.ui.state import Session
    from tui_app.ui.view_models import form_data

    session = Session(Workspace.open(config, history=False))
    names = session.config.prompt_names
    if not names:
        return 0, 0
    form = form_data(session, names[0])
    return len(names), len(form.params) + len(form.settings)


def _ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms "
        f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})"
    )


def measure(config: Path, rounds: int) -> tuple[list[float], list[float], float, bool]:
    """(bare samples, prompt-tui samples, median of paired ratios, litellm imported)."""
    leaves, params = _params_of(config)
    env = dict(os.environ)
    # Both sides start from .pyc files, as any install does (PYTHONDONTWRITEBYTECODE would make
    # prompt-tui compile its modules from source in every sample).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PROMPT_TUI_HOME"] = tempfile.mkdtemp(prefix="prompt-tui-bench-")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    sample(BASELINE, str(leaves), str(params), env=env)  # warm the file cache and .pyc files
    sample(PROMPT_TUI, str(config), env=env)
    bare, ours, litellm = [], [], False
    for _ in range(rounds):
        bare.append(sample(BASELINE, str(leaves), str(params), env=env)[0])
        seconds, imported = sample(PROMPT_TUI, str(config), env=env)
        ours.append(seconds)
        litellm |= imported
    paired = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
    return bare, ours, paired, litellm


def generated(prompts: int) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    from scale import generate

    config = Path(tempfile.mkdtemp(prefix="prompt-tui-bench-")) / "big.aiconfig.json"
    config.write_text(generate(prompts), encoding="utf-8")
    return config


def json_report(rounds: int) -> None:
    """run_all.py's mode: the sample file and a 1,000-prompt file, one row each."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import Row, emit_json

    rows = []
    for label, config, target in (
        ("startup: usable screen (tree + form) vs bare app", DEFAULT_CONFIG, "<= 1.2x"),
        ("scale: 1,000-prompt file usable vs bare app", generated(1000), "<= 1.5x"),
    ):
        bare, ours, paired, litellm = measure(Path(config), rounds)
        note = f"median of {rounds} paired ratios" + ("; litellm imported (bad)" if litellm else "")
        rows.append(
            Row(
                label,
                statistics.median(ours),
                statistics.median(bare),
                target=target,
                ratio=paired,
                note=note,
            )
        )
    emit_json(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=str(DEFAULT_CONFIG))
    parser.add_argument("--prompts", type=int, default=0, help="generate a file of N prompts")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="one JSON line of rows (run_all.py)")
    parser.add_argument("--quick", action="store_true", help="5 rounds (the minimum)")
    args = parser.parse_args()
    rounds = 5 if args.quick else max(5, args.rounds)
    if args.json:
        json_report(rounds)
        return 0
    config = generated(args.prompts) if args.prompts else Path(args.config)
    leaves, params = _params_of(config)
    bare, ours, paired, litellm = measure(config, rounds)
    target = 1.5 if leaves >= 1000 else 1.2
    print(f"config: {config.name} ({leaves} prompts, {params} labelled inputs in the first form)")
    print(f"bare Textual app, same panes: {_ms(bare)}")
    print(f"prompt-tui, usable screen:    {_ms(ours)}")
    print(
        f"ratio: median of paired ratios {paired:.2f}x, of medians "
        f"{statistics.median(ours) / statistics.median(bare):.2f}x, of minimums "
        f"{min(ours) / min(bare):.2f}x"
    )
    print(f"target <= {target}x: {'OK' if paired <= target else 'OVER TARGET'}")
    print(f"litellm imported by then: {'YES (bad)' if litellm else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
