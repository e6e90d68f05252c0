"""Streaming throughput and key latency: a 100,000-token stream drained into the output pane.

A local OpenAI-compatible server (tests/support/openai_server.py, in its own process) sends the
tokens as fast as the socket takes them. Measured in one run, alternating:

- raw client: httpx reading the SSE stream and parsing every chunk (no engine, no UI);
- engine: the runner draining the same stream through the provider layer (the direct OpenAI-compatible client), no UI;
- TUI: prompt-tui headless, the same run started from the app, until the whole text is in the
  output pane.

Prints the medians and the ratios (target: TUI <= 1.2x the raw client) and the lag of key
presses made while the stream is running (target: < 100 ms).

    python bench/stream.py [--tokens N] [--rounds N]
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

SERVER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.support.openai_server import OpenAIServer
server = OpenAIServer().start()
server.tokens_per_response = int(sys.argv[2])
print(server.base_url, flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
"""


def start_server(tokens: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(REPO), str(tokens)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def write_config(directory: Path, base_url: str) -> Path:
    model = {"api_base": base_url, "max_attempts": 1, "timeout": 120}
    data = {
        "name": "stream bench",
        "schema_version": "latest",
        "metadata": {"models": {"openai/test-model": model}, "default_model": "openai/test-model"},
        "prompts": [
            {
                "name": "warm",
                "input": "warm up",
                "metadata": {
                    "model": {"name": "openai/test-model", "settings": {"max_tokens": 50}},
                    "remember_chat_context": False,
                },
            },
            {"name": "big", "input": "stream please", "metadata": {"remember_chat_context": False}},
        ],
    }
    path = directory / "stream.aiconfig.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


async def raw_client(base_url: str) -> tuple[float, int]:
    import httpx

    body = {
        "model": "test-model",
        "stream": True,
        "messages": [{"role": "user", "content": "stream please"}],
    }
    chars = 0
    start = time.perf_counter()
    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream("POST", f"{base_url}/chat/completions", json=body) as response,
    ):
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices") or []:
                chars += len((choice.get("delta") or {}).get("content") or "")
    return time.perf_counter() - start, chars


async def engine_only(config_path: Path) -> tuple[float, int]:
    from tui_app.core.config import load
    from tui_app.core.workspace import Workspace

    runner = Workspace.for_document(load(config_path), history=False)
    chars = 0
    start = time.perf_counter()
    async for event in runner.execute(runner.new_run("big", "one", force=True)):
        if event.kind == "delta":
            chars += len(event.text)
    return time.perf_counter() - start, chars


async def tui(config_path: Path, expected: int) -> tuple[float, list[float]]:
    from textual.binding import Binding

    from tui_app.ui.app import PromptTuiApp

    pressed: list[float] = []
    lags: list[float] = []

    class Timed(PromptTuiApp):
        BINDINGS = [Binding("f12", "ping", show=False)]

        def action_ping(self) -> None:
            lags.append(time.perf_counter() - pressed.pop(0))

    app = Timed(str(config_path))  # preloads providers (a no-op here) like a real start
    async with app.run_test(size=(120, 36)) as pilot:
        screen: Any = app.screen
        while not getattr(screen, "engine_ready", False):
            await pilot.pause(0.02)
        screen.run_prompt("warm", "one")  # first call pays the provider layer's lazy imports
        while app.session.state("warm").status in ("idle", "queued", "running"):
            await pilot.pause(0.02)
        screen.select("big")
        await pilot.pause(0.1)

        start = time.perf_counter()
        screen.action_run("one", True)  # force: never answered from the cache
        next_press = start
        while True:
            state = app.session.state("big")
            now = time.perf_counter()
            if state.status == "running" and state.chunks and now >= next_press:
                pressed.append(now)
                app.simulate_key("f12")  # a key pressed mid-stream, every 100 ms
                next_press = now + 0.1
            if (
                state.status not in ("idle", "queued", "running")
                and len(screen.output.stream.text) >= expected
            ):
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        while pressed:  # presses still queued when the stream ended
            await pilot.pause(0.01)
        if state.status != "done":
            raise SystemExit(f"the TUI run ended {state.status}: {state.note}")
    return elapsed, lags


async def main_async(tokens: int, rounds: int) -> int:
    os.environ["PROMPT_TUI_HOME"] = tempfile.mkdtemp(prefix="prompt-tui-bench-")
    from tui_app.core import providers

    providers.preload()  # provider imports are not what this measures
    server, base_url = start_server(tokens)
    try:
        config = write_config(Path(tempfile.mkdtemp()), base_url)
        await raw_client(base_url)  # warm the server's token cache and the client imports
        raw, engine, ui, lags = [], [], [], []
        expected = 0
        for _ in range(rounds):
            seconds, expected = await raw_client(base_url)
            raw.append(seconds)
            seconds, chars = await engine_only(config)
            assert chars == expected, (chars, expected)
            engine.append(seconds)
            seconds, round_lags = await tui(config, expected)
            ui.append(seconds)
            lags += round_lags
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    r, e, u = statistics.median(raw), statistics.median(engine), statistics.median(ui)
    print(f"{tokens:,} tokens ({expected:,} characters), {rounds} rounds, medians:")
    print(f"  raw client (httpx + json):  {r:6.2f} s  ({tokens / r:,.0f} tokens/s)")
    print(f"  engine, no UI:              {e:6.2f} s  ({tokens / e:,.0f} tokens/s)")
    print(f"  TUI, drained into the pane: {u:6.2f} s  ({tokens / u:,.0f} tokens/s)")
    print(
        f"ratio TUI / raw client:  {u / r:.2f}x  (target <= 1.2x)  {'OK' if u / r <= 1.2 else 'OVER TARGET'}"
    )
    print(f"ratio TUI / engine:      {u / e:.2f}x  (what the UI itself adds)")
    if lags:
        lags.sort()
        p95 = lags[min(len(lags) - 1, int(len(lags) * 0.95))]
        print(
            f"key lag mid-stream: median {statistics.median(lags) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms over {len(lags)} presses  "
            f"(target < 100 ms)  {'OK' if max(lags) < 0.1 else 'OVER TARGET'}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    return asyncio.run(main_async(args.tokens, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
