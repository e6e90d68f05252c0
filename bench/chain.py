"""Chain benchmark: prompt-tui vs a raw httpx client sending the same requests, same server.

Two chains, each with AIConfig's default chat context (``remember_chat_context`` on: every
same-model prompt's request holds the earlier ones, so they run one after another) and with it
off on every prompt:

  fan-out   4 independent prompts + 1 joining prompt
  serial    10 prompts, each reading the one before

Every request takes DELAY seconds at the local OpenAI-compatible server (tests/support, paced
stream). The baseline is a raw httpx client (bench/_raw_client.py) replaying the exact request
bodies prompt-tui sent, on the ideal schedule (independent requests at once, the rest in
order): the measured critical path. Both sides are measured the same way, N runs each,
alternating:

  in-process, warm   a second run in a process that has run the chain before (imports done,
                     connections pooled): a Workspace (history DB on) vs one pooled httpx client
  fresh process      spawn to exit (interpreter, imports, first connection): the Python API
                     (``Workspace.open`` + run), the real CLI (``prompt-tui run --force``, history
                     DB included), the raw client as its own script; the AIConfig SDK too when
                     ``import aiconfig`` works (or ``--sdk-python`` names a Python that has it)

Targets: fan-out <= 1.15x the critical path warm and <= 1.1x in a fresh process (issue 25);
serial <= 1.05x the raw client.
Run: python bench/chain.py [--runs N] [--delay S] [--quick] [--json] [--sdk-python PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from _common import (  # noqa: E402
    Row,
    Samples,
    alternate,
    alternate_async,
    emit_json,
    format_table,
    runs_for,
)
from _raw_client import raw_stages  # noqa: E402

from tests.support.openai_server import OpenAIServer  # noqa: E402

FAN_TARGET = "<= 1.15x"
FAN_FRESH_TARGET = "<= 1.1x"  # issue 25: a fresh process (API / CLI) vs the raw script
SERIAL_TARGET = "<= 1.05x"

FAN = [
    ("a", "alpha"),
    ("b", "beta"),
    ("c", "gamma"),
    ("d", "delta"),
    ("join", "{{a.output}} {{b.output}} {{c.output}} {{d.output}}"),
]
SERIAL = [("s0", "start")] + [(f"s{i}", f"next {{{{s{i - 1}.output}}}}") for i in range(1, 10)]


@dataclass(frozen=True)
class Scenario:
    name: str  # "fan-out 4+join" / "serial 10"
    prompts: list[tuple[str, str]]
    target: str  # the prompt to run (with its dependencies)
    chat_context: bool
    goal: str  # the row target

    @property
    def label(self) -> str:
        return f"{self.name}, context {'on' if self.chat_context else 'off'}"

    def stage_sizes(self) -> list[int]:
        """The ideal schedule: how many requests can be in flight at each step."""
        if self.chat_context or self.prompts is SERIAL:
            return [1] * len(self.prompts)  # each request holds the earlier ones
        return [len(self.prompts) - 1, 1]


def config_doc(base_url: str, scenario: Scenario) -> dict[str, Any]:
    # "gpt-4" is a model the AIConfig SDK has a parser for; prompt-tui sends it to api_base, the
    # SDK to OPENAI_BASE_URL: both reach the same local server with the same requests.
    meta: dict[str, Any] = {} if scenario.chat_context else {"remember_chat_context": False}
    return {
        "name": "bench",
        "schema_version": "latest",
        "metadata": {
            "models": {"gpt-4": {"model": "gpt-4", "api_base": base_url}},
            "default_model": "gpt-4",
        },
        "prompts": [{"name": n, "input": t, "metadata": dict(meta)} for n, t in scenario.prompts],
    }


# --- in-process ----------------------------------------------------------------------------------


async def ours_once(workspace: Any, target: str) -> float:
    start = time.perf_counter()
    async for event in workspace.execute(workspace.new_run(target, force=True)):
        if event.kind == "failed":
            raise SystemExit(f"benchmark run failed: {event.error}")
    return time.perf_counter() - start


async def record_stages(
    server: OpenAIServer, path: Path, scenario: Scenario
) -> list[list[dict[str, Any]]]:
    """Run the chain once through prompt-tui and cut the requests it sent into the ideal stages."""
    from tui_app.core.workspace import Workspace

    delay = server.delay_per_request
    server.reset()  # forgets the records, and the knobs too
    server.delay_per_request = delay
    workspace = Workspace.open(path, history=False)
    await ours_once(workspace, scenario.target)
    workspace.close()
    bodies = [record.body for record in server.chat_requests]
    sizes = scenario.stage_sizes()
    if len(bodies) != sum(sizes):
        raise SystemExit(f"{scenario.label}: expected {sum(sizes)} requests, saw {len(bodies)}")
    stages, at = [], 0
    for size in sizes:
        stages.append(bodies[at : at + size])
        at += size
    return stages


async def warm_pair(
    path: Path, base_url: str, scenario: Scenario, stages: list[list[dict[str, Any]]], runs: int
) -> dict[str, Samples]:
    import httpx

    from tui_app.core.workspace import Workspace

    workspace = Workspace.open(path)  # the API's defaults: history DB on
    async with httpx.AsyncClient(timeout=120) as client:
        await ours_once(workspace, scenario.target)  # warm both: imports, pooled connections
        await raw_stages(client, base_url, stages)

        async def ours() -> float:
            return await ours_once(workspace, scenario.target)

        async def raw() -> float:
            return await raw_stages(client, base_url, stages)

        samples = await alternate_async({"ours": ours, "raw": raw}, runs)
    workspace.close()
    return samples


# --- fresh processes ------------------------------------------------------------------------------

FRESH_API = """
import asyncio, sys
from tui_app.core.workspace import Workspace
async def main():
    workspace = Workspace.open(sys.argv[1])
    workspace.track_staleness = False
    try:
        async for event in workspace.execute(workspace.new_run(sys.argv[2], force=True)):
            if event.kind == "failed":
                raise SystemExit(f"failed: {event.error}")
    finally:
        workspace.close()
asyncio.run(main())
"""

SDK_RUN = """
import asyncio, sys, warnings
warnings.simplefilter("ignore")
from aiconfig import AIConfigRuntime, InferenceOptions
async def main():
    config = AIConfigRuntime.load(sys.argv[1])
    await config.run(sys.argv[2], options=InferenceOptions(stream=True), run_with_dependencies=True)
asyncio.run(main())
"""


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "prompt-tui"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tui_app.cli import main; sys.exit(main())"]


def spawn_seconds(command: list[str], env: dict[str, str]) -> float:
    """Spawn to exit; the child's output goes nowhere (the CLI prints the text to a pipe)."""
    start = time.perf_counter()
    result = subprocess.run(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({result.returncode}):\n{result.stderr[-2000:]!r}")
    return elapsed


def sdk_python(explicit: str | None) -> str | None:
    """A Python that can ``import aiconfig``, or None (then the SDK row says so)."""
    candidates = [explicit] if explicit else [sys.executable]
    for python in candidates:
        if python is None:
            continue
        probe = subprocess.run(
            [python, "-c", "import aiconfig"], capture_output=True, cwd=tempfile.gettempdir()
        )
        if probe.returncode == 0:
            return python
    return None


def cold_cases(
    path: Path,
    base_url: str,
    scenario: Scenario,
    stages_file: Path,
    env: dict[str, str],
    sdk: str | None,
    with_api: bool,
) -> dict[str, list[str]]:
    cases = {
        "cli": [*cli_command(), "run", str(path), scenario.target, "--force"],
        "raw": [sys.executable, str(BENCH / "_raw_client.py"), base_url, str(stages_file)],
    }
    if with_api:
        cases["api"] = [sys.executable, "-c", FRESH_API, str(path), scenario.target]
    if sdk is not None and scenario.prompts is FAN:
        cases["sdk"] = [sdk, "-c", SDK_RUN, str(path), scenario.target]
    return cases


def cold_samples(
    cases: dict[str, list[str]], env: dict[str, str], runs: int, warm_up: bool
) -> dict[str, Samples]:
    if warm_up:  # once each: .pyc files, the OS file cache, the history DB (a user's 2nd run)
        for command in cases.values():
            spawn_seconds(command, env)
    return alternate({name: (lambda c=c: spawn_seconds(c, env)) for name, c in cases.items()}, runs)


# --- rows -----------------------------------------------------------------------------------------


def spread(name: str, samples: Samples) -> str:
    return f"{name} {samples.low:.2f}-{samples.high:.2f}"


def row(figure: str, ours: Samples, base: Samples, target: str | None, note: str) -> Row:
    extra = f"n={ours.n}, {spread('ours', ours)}, {spread('baseline', base)} s"
    return Row(
        figure,
        ours.median,
        base.median,
        "s",
        target,
        f"{extra}; {note}" if note else extra,
    )


def scenario_rows(
    scenario: Scenario,
    warm: dict[str, Samples],
    cold: dict[str, Samples],
    delay: float,
    sdk_reason: str | None,
) -> list[Row]:
    stages = len(scenario.stage_sizes())
    critical = f"ideal schedule: {stages} x {delay:g} s = {stages * delay:.2f} s"
    rows = [
        row(
            f"{scenario.label}: warm, in-process",
            warm["ours"],
            warm["raw"],
            scenario.goal,
            f"baseline: raw httpx, same bodies ({critical})",
        ),
    ]
    fresh_goal = FAN_FRESH_TARGET if scenario.prompts is FAN else scenario.goal
    if "api" in cold:
        rows.append(
            row(
                f"{scenario.label}: fresh process (API)",
                cold["api"],
                cold["raw"],
                fresh_goal,
                "spawn to exit, both sides; baseline: raw httpx script",
            )
        )
    rows.append(
        row(
            f"{scenario.label}: fresh process (CLI)",
            cold["cli"],
            cold["raw"],
            fresh_goal,
            "`prompt-tui run --force`, history DB on, spawn to exit; baseline: raw httpx script",
        )
    )
    if scenario.prompts is FAN:
        figure = f"{scenario.label}: vs AIConfig SDK (fresh process)"
        if "sdk" in cold:
            # --quick spawns the API's fresh process for the first scenario only: the CLI (the
            # same engine plus the history DB) stands in for it then, and the note says so
            side = "api" if "api" in cold else "cli"
            what = "Python API" if side == "api" else "CLI (`prompt-tui run --force`)"
            rows.append(
                row(figure, cold[side], cold["sdk"], None, f"{what} vs the SDK, spawn to exit")
            )
        else:
            rows.append(Row(figure, None, None, "s", None, f"baseline unavailable: {sdk_reason}"))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    runs, delay = args.runs, args.delay
    sdk = None if args.skip_sdk else sdk_python(args.sdk_python)
    sdk_reason = (
        "skipped (--skip-sdk)"
        if args.skip_sdk
        else "`import aiconfig` fails here (python-aiconfig is not installed; "
        "--sdk-python PATH names a Python that has it)"
    )
    scenarios = [
        Scenario("fan-out 4+join", FAN, "join", ctx, FAN_TARGET) for ctx in (False, True)
    ] + [Scenario("serial 10", SERIAL, "s9", ctx, SERIAL_TARGET) for ctx in (False, True)]
    rows: list[Row] = []
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server.delay_per_request = delay
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides get their .pyc files
        env["PROMPT_TUI_HOME"] = str(tmp / "home")  # settings + history DB, made by the warm-up
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env["OPENAI_API_KEY"] = "sk-bench"  # the SDK's client wants one
        env["OPENAI_BASE_URL"] = server.base_url
        os.environ["PROMPT_TUI_HOME"] = env["PROMPT_TUI_HOME"]
        for i, scenario in enumerate(scenarios):
            path = tmp / f"chain{i}.aiconfig.json"
            path.write_text(json.dumps(config_doc(server.base_url, scenario), indent=2))
            stages = asyncio.run(record_stages(server, path, scenario))
            stages_file = tmp / f"stages{i}.json"
            stages_file.write_text(json.dumps(stages))
            warm = asyncio.run(warm_pair(path, server.base_url, scenario, stages, runs))
            with_api = not args.quick or i == 0  # quick: the API's fresh process only once
            cases = cold_cases(path, server.base_url, scenario, stages_file, env, sdk, with_api)
            cold = cold_samples(cases, env, runs, warm_up=i == 0)
            rows += scenario_rows(scenario, warm, cold, delay, sdk_reason)
            if not args.json:
                print(f"(done: {scenario.label})", file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per side (5; quick 3)")
    parser.add_argument("--delay", type=float, default=None, help="seconds per request")
    parser.add_argument(
        "--quick", action="store_true", help="0.1 s requests; the API's fresh process only once"
    )
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    parser.add_argument("--sdk-python", help="a Python with python-aiconfig installed")
    parser.add_argument("--skip-sdk", action="store_true")
    args = parser.parse_args()
    args.runs = runs_for(args.runs, args.quick)
    if args.delay is None:
        args.delay = 0.1 if args.quick else 0.5
    rows = run(args)
    if args.json:
        emit_json(rows)
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
