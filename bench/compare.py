"""Model comparison: do the columns start together, and does the TUI stay responsive while six
stream at once?

(a) Spread of first requests: a 6-column comparison against the local OpenAI-compatible server
    (in this process; arrival times taken by the server). The spread is the time between the
    first and the last column's request arriving. Baseline, measured in the same run: six raw
    httpx streaming requests started together with asyncio.gather. Target: spread <= 150 ms.
(b) Key-press lag with 6 columns streaming (the server in its own process, each column ~600
    tokens paced over 4 s, so ~900 tokens/s in all): a key every 100 ms on the comparison
    screen from 0.5 s after the first text, time from press to the action running. Baseline,
    same run: the same screen with nothing streaming. Targets: median < 100 ms, p95 < 50 ms
    (issue 25).

Rounds alternate (baseline, then ours) and the medians are printed with their ratio.

    python bench/compare.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.openai_server import OpenAIServer  # noqa: E402

COLUMNS = 6
TOKENS = 600
SECONDS = 4.0
SETTLE = 0.5  # seconds after the screen opens (and, streaming, the first text) before pressing

SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.support.openai_server import OpenAIServer
server = OpenAIServer().start()
server.tokens_per_response = int(sys.argv[2])
server.delay_per_request = float(sys.argv[3])
print(server.base_url, flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
"""


def write_config(directory: Path, base_url: str) -> Path:
    models = {
        f"m{i}": {"model": f"openai/m{i}", "api_base": base_url, "max_attempts": 1}
        for i in range(COLUMNS)
    }
    data = {
        "name": "compare bench",
        "schema_version": "latest",
        "metadata": {"models": models, "default_model": "m0"},
        "prompts": [
            {
                "name": "ask",
                "input": "Say something long",
                "metadata": {"remember_chat_context": False},
            }
        ],
    }
    path = directory / "compare.aiconfig.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def columns() -> list[Any]:
    from tui_app.core.compare import Column

    return [Column(f"m{i}") for i in range(COLUMNS)]


# --- (a) spread of first requests -------------------------------------------------------------


def spread(server: OpenAIServer, since: int) -> float:
    records = server.chat_requests[since:]
    assert len(records) == COLUMNS, f"expected {COLUMNS} requests, got {len(records)}"
    arrived = [r.arrived for r in records]
    return max(arrived) - min(arrived)


async def ours_spread(server: OpenAIServer, path: Path) -> float:
    from tui_app.core.compare import new_comparison
    from tui_app.core.workspace import Workspace

    workspace = Workspace.open(path, history=False)
    since = len(server.chat_requests)
    comparison = new_comparison(workspace, "ask", columns())
    async for _ in comparison.execute():
        pass
    return spread(server, since)


async def raw_spread(server: OpenAIServer) -> float:
    import httpx

    since = len(server.chat_requests)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        body = {"model": f"m{i}", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        async with client.stream(
            "POST", f"{server.base_url}/chat/completions", json=body
        ) as response:
            async for _ in response.aiter_lines():
                pass

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one(client, i) for i in range(COLUMNS)))
    return spread(server, since)


# --- (b) key lag while 6 columns stream -------------------------------------------------------


async def key_lags(path: Path, *, streaming: bool) -> list[float]:
    from textual.binding import Binding

    from tui_app.core.compare import new_comparison
    from tui_app.ui.app import PromptTuiApp
    from tui_app.ui.screens.compare import CompareScreen

    pressed: list[float] = []
    lags: list[float] = []

    class Timed(PromptTuiApp):
        BINDINGS = [Binding("f12", "ping", show=False)]

        def action_ping(self) -> None:
            lags.append(time.perf_counter() - pressed.pop(0))

    app = Timed(str(path), history=False)
    async with app.run_test(size=(160, 48)) as pilot:
        while not getattr(app.screen, "engine_ready", False):
            await pilot.pause(0.02)
        comparison = new_comparison(app.workspace, "ask", columns())
        screen = CompareScreen(comparison)
        if not streaming:
            screen.comparison = None  # the same screen, nothing running
            screen.past = _idle_past(comparison)
        await app.push_screen(screen)
        if streaming:
            while not any(r.results.get("ask") and r.results["ask"].text for r in comparison.runs):
                await pilot.pause(0.01)
        await pilot.pause(SETTLE)  # the screen's first layout is not what this measures
        deadline = time.perf_counter() + SECONDS * 0.6
        while time.perf_counter() < deadline:
            pressed.append(time.perf_counter())
            app.simulate_key("f12")
            await asyncio.sleep(0.1)
        while pressed:
            await pilot.pause(0.01)
        if streaming:
            comparison.cancel()
    return lags


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (p95 of 20 presses is the 19th smallest)."""
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, int(round(q * len(ranked))) - 1))]


def _idle_past(comparison: Any) -> Any:
    from tui_app.core.compare_history import PastComparison

    return PastComparison(
        comparison.group_id, "ask", "", 0.0, comparison.columns, ["ask"], [[] for _ in columns()]
    )


# --- main -------------------------------------------------------------------------------------


async def main_async(rounds: int, verbose: bool = False, as_json: bool = False) -> int:
    os.environ["PROMPT_TUI_HOME"] = tempfile.mkdtemp(prefix="prompt-tui-bench-")
    from tui_app.core import providers

    providers.preload()
    directory = Path(tempfile.mkdtemp())

    with OpenAIServer() as server:
        server.tokens_per_response = 50
        path = write_config(directory, server.base_url)
        await raw_spread(server)  # warm-up: imports, connections
        await ours_spread(server, path)
        raw, ours = [], []
        for _ in range(rounds):
            raw.append(await raw_spread(server))
            ours.append(await ours_spread(server, path))
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"(a) spread of the {COLUMNS} columns' first requests, {rounds} rounds, medians:")
    print(f"    raw httpx, gathered: {r * 1000:6.1f} ms")
    print(
        f"    prompt-tui compare:  {o * 1000:6.1f} ms   ratio {o / r:.1f}x   max {max(ours) * 1000:.1f}"
        f" ms  (target <= 150 ms)  {'OK' if max(ours) <= 0.15 else 'OVER TARGET'}"
    )

    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(REPO), str(TOKENS), str(SECONDS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        path = write_config(directory, proc.stdout.readline().strip())
        idle: list[float] = []
        busy: list[float] = []
        for n in range(rounds):
            idle += await key_lags(path, streaming=False)
            round_lags = await key_lags(path, streaming=True)
            busy += round_lags
            if verbose:
                print(f"    round {n + 1}: " + " ".join(f"{x * 1000:.0f}" for x in round_lags))
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    i, b = statistics.median(idle), statistics.median(busy)
    p95, idle_p95 = percentile(busy, 0.95), percentile(idle, 0.95)
    print(f"(b) key-press lag, {rounds} rounds, {len(busy)} presses while streaming, medians:")
    print(f"    nothing streaming:   {i * 1000:6.1f} ms")
    print(
        f"    {COLUMNS} columns streaming: {b * 1000:6.1f} ms   ratio {b / i:.1f}x   "
        f"p95 {p95 * 1000:.0f} ms   max {max(busy) * 1000:.0f} ms  (target: median < 100 ms)  "
        f"{'OK' if b < 0.1 else 'OVER TARGET'}"
    )
    if as_json:  # run_all.py's mode: the same figures as rows
        sys.path.insert(0, str(Path(__file__).parent))
        from _common import Row, emit_json

        emit_json(
            [
                Row(
                    f"compare: spread of {COLUMNS} columns' first requests",
                    o * 1000,
                    r * 1000,
                    unit="ms",
                    target="< 150 ms",
                    note=f"median of {rounds} rounds; max {max(ours) * 1000:.0f} ms",
                ),
                Row(
                    f"compare: key lag with {COLUMNS} columns streaming (median)",
                    b * 1000,
                    i * 1000,
                    unit="ms",
                    target="< 100 ms",
                    note=f"p95 {p95 * 1000:.0f} ms, max {max(busy) * 1000:.0f} ms",
                ),
                Row(
                    f"compare: key lag with {COLUMNS} columns streaming (p95)",
                    p95 * 1000,
                    idle_p95 * 1000,
                    unit="ms",
                    target="< 50 ms",
                    note=f"{len(busy)} presses over {rounds} rounds; baseline: the same screen "
                    "with nothing streaming (issue 25)",
                ),
            ]
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="print every key lag (ms)")
    parser.add_argument("--json", action="store_true", help="one JSON line of rows (run_all.py)")
    parser.add_argument("--quick", action="store_true", help="5 rounds (the minimum)")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 5
    if args.rounds < 5:
        print("note: fewer than 5 rounds gives noisy medians", file=sys.stderr)
    return asyncio.run(main_async(args.rounds, args.verbose, args.json))


if __name__ == "__main__":
    sys.exit(main())
