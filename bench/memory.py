"""Idle memory of the TUI: resident set size once the app has settled, in a fresh process each.

Four kinds of process, each started N times (alternating, headless, 120x36):

  bare            a bare Textual app with the same panes (a tree, a form of inputs, an output
                  text area, a footer): what any Textual app of this shape costs
  bare + litellm  the same app importing litellm after its first frame (what any app that
                  streams through litellm must carry)
  offline file    prompt-tui on a file whose models are all built-in offline ones
                  (sample_configs/travel_chain.aiconfig.json): needs no provider library at all
  litellm file    prompt-tui on a file that names a Mistral model (served through litellm: the
                  Anthropic model this bench used to name is served by a native client now, and
                  that row compared a process without litellm with one that had imported it)

Two samples run at a time (resident memory does not depend on CPU contention).
"Idle": after the first frame, every background worker has finished and the RSS has moved by
less than 0.5 MiB over 0.5 s (at most 30 s). Nothing is garbage-collected by hand.
Targets (this bench's own: the issue names none): offline file <= 1.5x the bare app;
litellm file <= 1.2x the bare app + litellm.

    python bench/memory.py [--runs N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import DEFAULT_RUNS, Row, Samples, emit_json, format_table, order_for_round, runs_for  # noqa: E402

OFFLINE_CONFIG = REPO / "sample_configs" / "travel_chain.aiconfig.json"
LITELLM_MODEL = "mistral/mistral-small-latest"  # a provider with no native client: litellm's

# The child: settle, then print {"rss": MiB, "litellm": bool} on one line and exit.
CHILD = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[1])
from _common import rss_mib

kind = sys.argv[2]

async def settle(app):
    last, since, deadline = rss_mib(), time.monotonic(), time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        busy = [w.description or w.name for w in app.workers if not w.is_finished]
        now = rss_mib()
        if busy or abs(now - last) >= 0.5:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
    else:
        print(f"not settled after 30 s: busy {busy}", file=sys.stderr)
    print(json.dumps({"rss": rss_mib(), "litellm": "litellm" in sys.modules}), flush=True)
    app.exit()

if kind.startswith("bare"):
    from textual import work
    from textual.app import App
    from textual.containers import Horizontal, Vertical
    from textual.widgets import Footer, Input, Static, TextArea, Tree

    class Bare(App):
        CSS = ".pane { border: round $primary; width: 1fr; height: 1fr; } #top { height: 1; }"

        def compose(self):
            yield Static("bare", id="top")
            with Horizontal():
                tree = Tree("prompts", classes="pane")
                for name in ("a", "b", "c"):
                    tree.root.add_leaf(name)
                yield tree
                with Vertical(classes="pane"):
                    yield Input(placeholder="city")
                    yield Input(placeholder="days")
                yield TextArea("", read_only=True, classes="pane")
            yield Footer()

        def on_ready(self):
            if kind == "bare+litellm":
                self.import_litellm()
            self.settler = asyncio.get_running_loop().create_task(settle(self))

        @work(thread=True)
        def import_litellm(self):
            import os
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
            import litellm  # noqa: F401

    Bare().run(headless=True, size=(120, 36))
else:
    from tui_app.ui.app import PromptTuiApp

    class Measured(PromptTuiApp):
        def on_ready(self):  # Textual also calls PromptTuiApp.on_ready (handlers run per class)
            self.settler = asyncio.get_running_loop().create_task(settle(self))

    Measured(sys.argv[3]).run(headless=True, size=(120, 36))
"""


def litellm_config(directory: Path) -> Path:
    path = directory / "needs_litellm.aiconfig.json"
    doc = {
        "name": "needs litellm",
        "schema_version": "latest",
        "metadata": {"default_model": LITELLM_MODEL},
        "prompts": [{"name": "ask", "input": "Name three rivers in {{country}}."}],
    }
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def sample(kind: str, config: Path | None, env: dict[str, str], seen: dict[str, bool]) -> float:
    command = [sys.executable, "-c", CHILD, str(BENCH), kind]
    if config is not None:
        command.append(str(config))
    out = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False
    )
    for line in out.stdout.splitlines():
        if line.startswith('{"rss"'):
            data = json.loads(line)
            seen[kind] = seen.get(kind, False) or bool(data["litellm"])
            return float(data["rss"])
    raise SystemExit(
        f"{kind}: no measurement from the child:\n{out.stdout[-500:]}{out.stderr[-2000:]}"
    )


def measure(runs: int, warm_up: bool) -> tuple[dict[str, Samples], dict[str, bool]]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PROMPT_TUI_HOME"] = tempfile.mkdtemp(prefix="prompt-tui-bench-")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    tmp = Path(tempfile.mkdtemp(prefix="prompt-tui-memory-"))
    configs = {
        "bare": None,
        "bare+litellm": None,
        "offline file": OFFLINE_CONFIG,
        "litellm file": litellm_config(tmp),
    }
    seen: dict[str, bool] = {}
    if warm_up:  # once each: .pyc files and the OS file cache
        for kind, config in configs.items():
            sample(kind, config, env, seen)
    # Resident memory does not depend on how busy the CPU is: two processes at a time halve the
    # wall time (each still alone in its own process, sides in rotating order).
    order = [(k, configs[k]) for i in range(runs) for k in order_for_round(list(configs), i)]
    samples = {kind: Samples() for kind in configs}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: (job[0], sample(job[0], job[1], env, seen)), order)
        for kind, rss in results:
            samples[kind].add(rss)
    return samples, seen


def rows_for(samples: dict[str, Samples], seen: dict[str, bool]) -> list[Row]:
    def spread(name: str) -> str:
        s = samples[name]
        return f"{name} {s.low:.0f}-{s.high:.0f}"

    def imported(name: str) -> str:
        return "litellm imported" if seen.get(name) else "litellm not imported"

    n = samples["bare"].n
    return [
        Row(
            "idle RSS: offline-only file vs bare Textual app",
            samples["offline file"].median,
            samples["bare"].median,
            "MiB",
            "<= 1.4x",  # issue 25
            f"n={n}, {spread('offline file')}, {spread('bare')} MiB; {imported('offline file')}",
        ),
        Row(
            "idle RSS: litellm file vs bare app + litellm",
            # A "litellm file" that never loaded litellm measures nothing this row is about.
            samples["litellm file"].median if seen.get("litellm file") else None,
            samples["bare+litellm"].median,
            "MiB",
            "<= 1.15x",  # issue 25
            f"n={n}, {spread('litellm file')}, {spread('bare+litellm')} MiB; "
            f"{imported('litellm file')}"
            + ("" if seen.get("litellm file") else f" (bad: is {LITELLM_MODEL} served natively?)"),
        ),
        Row(
            "idle RSS: litellm file vs offline-only file",
            samples["litellm file"].median,
            samples["offline file"].median,
            "MiB",
            None,
            "what naming a litellm model costs",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help=f"default {DEFAULT_RUNS} (quick 3)")
    parser.add_argument("--quick", action="store_true", help="3 runs, no warm-up process")
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    args = parser.parse_args()
    runs = runs_for(args.runs, args.quick)
    samples, seen = measure(runs, warm_up=not args.quick)
    rows = rows_for(samples, seen)
    if args.json:
        emit_json(rows)
    else:
        for kind, s in samples.items():
            print(f"{kind:<14} {s.describe(unit='MiB', digits=1)}")
        print()
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
