"""Batches over datasets (issue 24): memory flat in rows, concurrency kept busy, a responsive matrix.

1. Memory: a 3-prompt chain (offline ``echo``, checks on every prompt) over 1,000 and 10,000 rows,
   each in a fresh process with its own history; the figure is the peak RSS of the large run
   minus the small one's. Flat in rows means the difference stays within a fixed budget (16 MiB)
   however many rows there are. The 10,000-row wall time is reported too.
2. Throughput: a one-prompt chain against the local OpenAI-compatible test server, each request
   taking 200 ms, ``--concurrency 8``: the ideal is concurrency / latency requests per second;
   ours is the time from the first request to the last answer at the server (the command's
   start-up is reported beside it), the baseline the ideal's (rows x latency / concurrency).
   Target <= 1.11x, that is throughput >= 90% of concurrency / latency.
3. The matrix in the TUI with 10,000 rows while the batch runs: key press (down, page down) to
   the frame painted. Target < 100 ms.

    python bench/batch.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from _common import Row, emit_json, format_table  # noqa: E402

MEMORY_BUDGET_MIB = 16
SMALL, LARGE = 1_000, 10_000
QUICK_SMALL, QUICK_LARGE = 1_000, 3_000
LATENCY, CONCURRENCY = 0.2, 8
THROUGHPUT_ROWS, QUICK_THROUGHPUT_ROWS = 160, 64
MATRIX_ROWS = 10_000
PRESSES = 16


def write_chain(directory: Path, rows: int) -> Path:
    checks = [{"contains": "{{topic}}"}, {"max_cost": 0.01}]
    data = {
        "name": "batch bench",
        "schema_version": "latest",
        "metadata": {
            "default_model": "echo",
            "models": {"echo": {"delay": 0}},
            "datasets": {"rows": "rows.csv"},
        },
        "prompts": [
            {
                "name": "outline",
                "input": "Outline {{topic}} for {{audience}}",
                "metadata": {"remember_chat_context": False, "checks": checks},
            },
            {
                "name": "draft",
                "input": "Draft from {{outline.output}}",
                "metadata": {"remember_chat_context": False, "checks": [{"regex": "^Draft"}]},
            },
            {
                "name": "title",
                "input": "Title for {{draft.output}}",
                "metadata": {"remember_chat_context": False, "checks": [{"max_tokens": 500}]},
            },
        ],
    }
    path = directory / "chain.aiconfig.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with (directory / "rows.csv").open("w", encoding="utf-8") as out:
        out.write("topic,audience\n")
        for i in range(rows):
            out.write(f"topic number {i},audience {i % 7}\n")
    return path


# --- 1. memory ----------------------------------------------------------------------------------


def child_memory(rows: int) -> None:
    """Run the batch in this process; print peak RSS (MiB) and wall time as JSON."""
    from tui_app.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PROMPT_TUI_HOME"] = str(Path(tmp) / "home")
        config = write_chain(Path(tmp), rows)
        start = time.perf_counter()
        devnull = open(os.devnull, "w")  # noqa: SIM115 - the process ends right after
        sys.stderr = devnull
        code = main(["batch", str(config)])
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"code": code, "rss": peak, "seconds": seconds}))


def memory(small: int, large: int) -> list[Row]:
    results = {}
    for rows in (small, large):
        done = subprocess.run(
            [sys.executable, __file__, "--child-memory", str(rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[rows] = json.loads(done.stdout.strip().splitlines()[-1])
        if results[rows]["code"] != 0:
            raise SystemExit(f"the {rows}-row batch exited {results[rows]['code']}")
    growth = results[large]["rss"] - results[small]["rss"]
    return [
        Row(
            f"batch memory: peak RSS {large:,} rows minus {small:,} rows (3 prompts, offline)",
            growth,
            unit="MiB",
            target=f"< {MEMORY_BUDGET_MIB} MiB",
            note=f"{results[small]['rss']:.0f} MiB at {small:,} rows, "
            f"{results[large]['rss']:.0f} MiB at {large:,}",
        ),
        Row(
            f"batch wall time: {large:,} rows x 3 prompts, offline echo, checks",
            results[large]["seconds"],
            note=f"{large * 3 / results[large]['seconds']:,.0f} prompts/s",
        ),
    ]


# --- 2. throughput ------------------------------------------------------------------------------


def throughput(rows: int) -> list[Row]:
    from tests.support.openai_server import OpenAIServer
    from tui_app.cli import main

    with tempfile.TemporaryDirectory() as tmp, OpenAIServer() as server:
        os.environ["PROMPT_TUI_HOME"] = str(Path(tmp) / "home")
        server.delay_per_request = LATENCY
        data = {
            "name": "throughput",
            "schema_version": "latest",
            "metadata": {
                "default_model": "local",
                "models": {"local": {"model": "openai/bench", "api_base": server.base_url}},
            },
            "prompts": [
                {
                    "name": "answer",
                    "input": "Q: {{q}}",
                    "metadata": {"remember_chat_context": False, "checks": [{"contains": "Q"}]},
                }
            ],
        }
        config = Path(tmp) / "c.json"
        config.write_text(json.dumps(data), encoding="utf-8")
        dataset = Path(tmp) / "rows.csv"
        dataset.write_text("q\n" + "".join(f"question {i}\n" for i in range(rows)))
        stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115
        try:
            start = time.perf_counter()
            code = main(
                ["batch", str(config), "--data", str(dataset), "--concurrency", str(CONCURRENCY)]
            )
            seconds = time.perf_counter() - start
        finally:
            sys.stderr.close()
            sys.stderr = stderr
        requests = server.chat_requests
    if code != 0 or len(requests) != rows:
        raise SystemExit(f"throughput batch: exit {code}, {len(requests)} requests")
    first = min(r.arrived for r in requests)
    last = max(r.ended or r.arrived for r in requests)
    ideal = rows * LATENCY / CONCURRENCY
    busy = last - first
    return [
        Row(
            f"batch throughput: {rows} rows, concurrency {CONCURRENCY}, {LATENCY * 1000:.0f} ms"
            " per request (local server): first request to last answer vs ideal",
            busy,
            baseline=ideal,
            target="<= 1.11x",
            note=f"{rows / busy:.1f} req/s of an ideal {CONCURRENCY / LATENCY:.0f} "
            f"({rows / busy / (CONCURRENCY / LATENCY) * 100:.0f}%); the command took "
            f"{seconds:.2f} s with start-up",
        )
    ]


# --- 3. the matrix ------------------------------------------------------------------------------


async def matrix_keys(directory: Path) -> list[float]:
    from tui_app.ui.app import PromptTuiApp
    from tui_app.ui.screens.matrix import MatrixScreen
    from tui_app.ui.widgets.matrix_grid import MatrixGrid

    config = write_chain(directory, MATRIX_ROWS)
    app = PromptTuiApp(str(config), preload=False)
    samples: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        screen: Any = app.screen
        while not getattr(screen, "engine_ready", False):
            await pilot.pause(0.02)
        await pilot.press("b")
        while not isinstance(app.screen, MatrixScreen) or not app.screen.rows:
            await pilot.pause(0.05)
        matrix = app.screen
        while sum(len(c) for c in matrix.cells) < 500:  # cells finishing while keys are pressed
            await pilot.pause(0.05)
        grid = matrix.query_one(MatrixGrid)
        for i in range(PRESSES):
            key = "pagedown" if i % 4 == 3 else "down"
            before = grid.cursor_row
            start = time.perf_counter()
            app.simulate_key(key)
            while grid.cursor_row == before:
                await asyncio.sleep(0)
            await matrix.wait_for_refresh()
            samples.append(time.perf_counter() - start)
            await pilot.pause()
        if matrix.visible_rows() != MATRIX_ROWS:
            raise SystemExit(f"the matrix shows {matrix.visible_rows()} rows")
        await pilot.press("escape")
    return samples


def matrix(directory: Path) -> list[Row]:
    os.environ["PROMPT_TUI_HOME"] = str(directory / "home")
    samples = asyncio.run(matrix_keys(directory))
    return [
        Row(
            f"matrix: key to paint, {MATRIX_ROWS:,} rows while the batch runs (median of "
            f"{len(samples)})",
            statistics.median(samples) * 1000,
            unit="ms",
            target="< 100 ms",
            note=f"max {max(samples) * 1000:.0f} ms",
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    parser.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.child_memory)
        return 0
    small, large = (QUICK_SMALL, QUICK_LARGE) if args.quick else (SMALL, LARGE)
    rows = memory(small, large)
    rows += throughput(QUICK_THROUGHPUT_ROWS if args.quick else THROUGHPUT_ROWS)
    with tempfile.TemporaryDirectory() as tmp:
        rows += matrix(Path(tmp))
    if args.json:
        emit_json(rows)
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
