"""Live reload: time from a save of the chain file to the re-run's first request on the wire.

The five-prompt chain (one -> two -> ... -> five, each reading the previous output) runs on the
local OpenAI-compatible server. Two front ends, each a real one:

- ``cli``: ``prompt-tui run CHAIN --all --watch`` in its own process (the headless watch loop);
- ``tui``: the Textual app, headless in this process, after ``a`` ran the chain once.

Each round saves the file with a temp file renamed over it (as most editors do), alternating an
edit of the last prompt (1 request needed) and of the second (4 needed), and measures from just
before the rename to the server's arrival time of the first new request (both time.monotonic(),
one machine). Prints medians with min-max per front end, and requests sent vs needed.
Targets: median <= 150 ms; the TUI's p95 <= 100 ms (issue 25; with a handful of rounds the p95 is
about the slowest save).

    python bench/reload.py [--rounds N] [--only cli|tui]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.chains import five_chain  # noqa: E402
from tests.support.openai_server import OpenAIServer  # noqa: E402

TARGET_MS = 150.0
P95_TARGET_MS = 100.0  # the TUI's (issue 25)


def edits(rounds: int) -> list[tuple[str, int]]:
    """(prompt to edit, requests that must be sent): the last prompt, then the second, ..."""
    return [("five", 1) if n % 2 == 0 else ("two", 4) for n in range(rounds)]


def save(path: Path, prompt: str, n: int) -> float:
    data = json.loads(path.read_text())
    for entry in data["prompts"]:
        if entry["name"] == prompt:
            head, _, tail = entry["input"].partition(" after ")
            words = head.split(" says ")[0]
            entry["input"] = f"{words} says v{n}" + (f" after {tail}" if tail else "")
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n")
    started = time.monotonic()
    os.replace(temp, path)
    return started


def wait(predicate, budget: float = 30.0) -> None:
    deadline = time.monotonic() + budget
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("bench: timed out waiting for the re-run")
        time.sleep(0.005)


def settle(server: OpenAIServer, quiet: float = 0.4) -> None:
    """Wait until no request arrived for ``quiet`` seconds (the re-run is over)."""
    while True:
        count = len(server.requests)
        time.sleep(quiet)
        if len(server.requests) == count:
            return


def bench_cli(server: OpenAIServer, folder: Path, rounds: int) -> tuple[list[float], int, int]:
    path = folder / "cli.json"
    path.write_text(json.dumps(five_chain(server.base_url, {"one": "cli"}), indent=2))
    env = {**os.environ, "PROMPT_TUI_HOME": str(folder / "home-cli")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui_app.cli", "run", str(path), "--all", "--watch"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(lambda: len(server.requests) >= 5)
        settle(server)
        return measure(server, path, rounds)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(server: OpenAIServer, path: Path, rounds: int) -> tuple[list[float], int, int]:
    latencies, sent, needed = [], 0, 0
    for n, (prompt, must) in enumerate(edits(rounds)):
        before = len(server.requests)
        started = save(path, prompt, n)
        wait(lambda before=before: len(server.requests) > before)
        latencies.append((server.requests[before].arrived - started) * 1000)
        wait(lambda before=before, must=must: len(server.requests) >= before + must)
        settle(server)  # anything sent beyond what was needed shows up in `sent`
        sent += len(server.requests) - before
        needed += must
    return latencies, sent, needed


async def bench_tui(
    server: OpenAIServer, folder: Path, rounds: int
) -> tuple[list[float], int, int]:
    os.environ["PROMPT_TUI_HOME"] = str(folder / "home-tui")
    from tui_app.ui.app import PromptTuiApp

    path = folder / "tui.json"
    path.write_text(json.dumps(five_chain(server.base_url, {"one": "tui"}), indent=2))
    app = PromptTuiApp(str(path), preload=False)
    result: tuple[list[float], int, int] = ([], 0, 0)
    async with app.run_test(size=(120, 36)) as pilot:
        while not getattr(app.screen, "engine_ready", False):
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the watcher is in place
        start = len(server.requests)
        await pilot.press("a")
        while len(server.requests) < start + 5:
            await pilot.pause(0.02)
        await asyncio.to_thread(settle, server)
        result = await asyncio.to_thread(measure, server, path, rounds)
    return result


ROWS: list = []  # run_all.py's rows, filled by report()


def report(name: str, latencies: list[float], sent: int, needed: int) -> None:
    median = statistics.median(latencies)
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import Row

    ROWS.append(
        Row(
            f"reload ({name}): save -> first request of the re-run",
            median,
            unit="ms",
            target=f"< {TARGET_MS:.0f} ms",
            note=f"min {min(latencies):.0f} – max {max(latencies):.0f} ms, n={len(latencies)}; "
            f"requests sent {sent} / needed {needed}",
        )
    )
    if name == "tui":
        ranked = sorted(latencies)
        p95 = ranked[min(len(ranked) - 1, max(0, round(0.95 * len(ranked)) - 1))]
        ROWS.append(
            Row(
                "reload (tui): save -> first request of the re-run (p95)",
                p95,
                unit="ms",
                target=f"<= {P95_TARGET_MS:.0f} ms",
                note=f"nearest-rank p95 of {len(latencies)} saves",
            )
        )
    verdict = "ok" if median <= TARGET_MS else "OVER TARGET"
    print(
        f"{name:4}  save -> first request: median {median:6.1f} ms "
        f"(min {min(latencies):.1f} – max {max(latencies):.1f}, n={len(latencies)})  "
        f"requests sent {sent} / needed {needed}  [{verdict}, target <= {TARGET_MS:.0f} ms]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", choices=("cli", "tui"))
    parser.add_argument("--json", action="store_true", help="one JSON line of rows (run_all.py)")
    parser.add_argument("--quick", action="store_true", help="5 rounds (the minimum)")
    args = parser.parse_args()
    rounds = 5 if args.quick else max(5, args.rounds)
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "cli"):
            report("cli", *bench_cli(server, folder, rounds))
        if args.only in (None, "tui"):
            report("tui", *asyncio.run(bench_tui(server, folder, rounds)))
    if args.json:
        from _common import emit_json

        emit_json(ROWS)


if __name__ == "__main__":
    main()
