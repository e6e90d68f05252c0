"""`a` on a 1,000-prompt offline file in the TUI vs `prompt-tui run --all --force` in the CLI, and
what an edit of one template plans with auto-run on.

The file is bench/scale.py's generated mix (chains, joins, chat-context threads of 5) with every
model the offline ``mock`` (a fixed answer, no delay) and no outputs, so every prompt runs on both
sides; the history DB is on on both sides (a temporary PROMPT_TUI_HOME).

  TUI   a fresh process: the app headless at 120x36, idle (engine ready, staleness read), then
        the key `a`; timed from the key to the run's end drawn (every prompt done, the screen's
        last message handled: the tree, the header and every prompt's staleness redrawn)
  CLI   `prompt-tui run FILE --all --force`, spawn to exit (interpreter and imports included:
        the CLI's figure is the larger for it)

Then, in the TUI process, one template near the end of the file is edited on disk and the live
reload is applied (auto-run on): the re-run must plan the changed prompt and its dependents only
(target: no more prompts than that), not every prompt of the last run target.

    python bench/run_all_tui.py [--prompts N] [--runs N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from _common import Row, Samples, alternate, emit_json, format_table  # noqa: E402
from scale import generate  # noqa: E402

TARGET = "<= 1.5x"
EDITED = 0.99  # the edited prompt's position in the file (its dependents follow it)

TUI = r"""
import asyncio, json, sys, time
from pathlib import Path
from tui_app.ui.app import PromptTuiApp

async def main(path, edit):
    app = PromptTuiApp(path)
    async with app.run_test(size=(120, 36)) as pilot:
        while not getattr(app.screen, "engine_ready", False):
            await pilot.pause(0.01)
        screen, workspace = app.screen, app.workspace
        # idle, as a user finds it: where the loaded outputs came from is read (staleness)
        while any(w.group == "baselines" and not w.is_finished for w in screen.workers):
            await pilot.pause(0.01)
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press("a")
        while True:
            # asyncio.sleep, not pilot.pause: each pause posts a callback to every widget of
            # the screen and waits for them (30,000 messages over a run, on the loop that runs
            # the prompts: the harness slowed the side it measures)
            await asyncio.sleep(0.005)
            if not app.has_active_run and workspace.last_plain is not None:
                break
        await pilot.pause()  # the RunFinished message: the tree and header redrawn
        elapsed = time.perf_counter() - start
        run = workspace.last_plain
        done = sum(1 for r in run.results.values() if r.status.value in ("done", "cached"))
        planned = expected = None
        if edit:
            text = Path(path).read_text(encoding="utf-8")
            data = json.loads(text)
            prompt = data["prompts"][int(len(data["prompts"]) * float(edit))]
            prompt["input"] += " (edited)"
            Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")
            screen.live_reload.apply(None)  # what the watcher does for a save
            rerun = workspace.last_plain
            planned = len(workspace.runner.plan(rerun, workspace.graph))
            expected = 1 + len(workspace.graph.downstream(prompt["name"]))
            workspace.cancel(rerun.id)
            while app.has_active_run:
                await pilot.pause(0.01)
        print(json.dumps({"seconds": elapsed, "done": done, "of": len(run.results),
                          "planned": planned, "expected": expected}), flush=True)
        app.exit()

asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
"""


def offline_file(prompts: int, directory: Path) -> Path:
    data = json.loads(generate(prompts))
    for i, prompt in enumerate(data["prompts"]):
        settings = prompt["metadata"]["model"]["settings"]
        settings.update({"model": "mock", "response": f"answer {i}", "delay": 0})
        prompt.pop("outputs", None)
    path = directory / f"offline-{prompts}.aiconfig.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "prompt-tui"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tui_app.cli import main; sys.exit(main())"]


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PROMPT_TUI_HOME"] = str(home)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli_seconds(path: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [*cli_command(), "run", str(path), "--all", "--force"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"prompt-tui run failed ({done.returncode}): {done.stderr[-1000:]}")
    return elapsed


def tui_once(path: Path, env: dict[str, str], edit: str = "") -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", TUI, str(path), edit],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result: dict[str, float] = json.loads(line)
            if result["done"] != result["of"]:
                raise SystemExit(f"the TUI's run ended with {result['done']} of {result['of']}")
            return result
    raise SystemExit(f"no figure from the TUI child:\n{done.stderr[-2000:]}")


def run(prompts: int, runs: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="prompt-tui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = env_for(tmp / "home")
        path = offline_file(prompts, tmp)
        cli_seconds(path, env)  # warm: .pyc files, the file cache, the history DB
        samples = alternate(
            {
                "tui": lambda: tui_once(path, env)["seconds"],
                "cli": lambda: cli_seconds(path, env),
            },
            runs,
        )
        (tmp / "edit").mkdir()
        edited = tui_once(offline_file(prompts, tmp / "edit"), env, str(EDITED))
    return rows_of(prompts, samples, edited)


def rows_of(prompts: int, samples: dict[str, Samples], edited: dict[str, float]) -> list[Row]:
    tui, cli = samples["tui"], samples["cli"]
    n = f"{prompts:,}"
    return [
        Row(
            f"`a` on a {n}-prompt offline file: TUI vs `run --all --force`",
            tui.median,
            cli.median,
            "s",
            TARGET,
            f"n={tui.n}; TUI key to drawn {tui.low:.2f}-{tui.high:.2f} s, "
            f"CLI spawn to exit {cli.low:.2f}-{cli.high:.2f} s",
        ),
        Row(
            f"edit one template of the {n}-prompt file, auto-run on: prompts planned",
            edited["planned"],
            None,
            "prompts",
            f"<= {int(edited['expected'])} prompts",
            f"the edited prompt and its dependents: {int(edited['expected'])} "
            f"(of {prompts:,} in the last run)",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=None, help="runs per side (5; quick 3)")
    parser.add_argument("--quick", action="store_true", help="2 runs per side (a 5-minute run_all)")
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    args = parser.parse_args()
    rows = run(args.prompts, args.runs or (2 if args.quick else 5))
    if args.json:
        emit_json(rows)
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
