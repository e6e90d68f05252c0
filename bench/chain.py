"""Chain benchmark against the local OpenAI-compatible server, fixed 0.5 s per request.

(a) 4 independent prompts + 1 joining prompt: wall time vs the critical path (2 x 0.5 s) and vs
    the AIConfig SDK (python-aiconfig in its own virtualenv, made here on first use) on the same file.
(b) a serial chain of 10 prompts vs a raw httpx streaming client sending the same 10 requests.
(c) time to first token of the first run in a fresh process, and of a second run in it.

Targets: (a) <= 1.15x the critical path; (b) <= 1.05x the raw client.
Run: python bench/chain.py [--sdk-python PATH] [--skip-sdk]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.openai_server import OpenAIServer  # noqa: E402
from tui_app.core.config import load  # noqa: E402
from tui_app.core.workspace import Workspace  # noqa: E402

DELAY = 0.5
SDK_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "prompt-tui-bench"
    / "aiconfig-sdk"
)


def config_doc(server: OpenAIServer, prompts: list[dict]) -> dict:
    # Model "gpt-4" is one the SDK has a parser for; our runner sends it to api_base, the SDK to
    # OPENAI_BASE_URL: both reach the same local server with the same requests.
    return {
        "name": "bench",
        "schema_version": "latest",
        "metadata": {
            "models": {"gpt-4": {"model": "gpt-4", "api_base": server.base_url}},
            "default_model": "gpt-4",
        },
        "prompts": [
            {"name": n, "input": t, "metadata": {"remember_chat_context": False}}
            for n, t in prompts
        ],
    }


FAN = [
    ("a", "alpha"),
    ("b", "beta"),
    ("c", "gamma"),
    ("d", "delta"),
    ("join", "{{a.output}} {{b.output}} {{c.output}} {{d.output}}"),
]
SERIAL = [("s0", "start")] + [(f"s{i}", f"next {{{{s{i - 1}.output}}}}") for i in range(1, 10)]


def write(tmp: Path, name: str, doc: dict) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc, indent=2))
    return path


async def ours(path: Path, target: str) -> float:
    config = load(path)
    start = time.perf_counter()
    workspace = Workspace.for_document(config, history=False)
    async for event in workspace.execute(workspace.new_run(target, force=True)):
        if event.kind == "failed":
            raise SystemExit(f"benchmark run failed: {event.error}")
    return time.perf_counter() - start


async def raw_client(server: OpenAIServer, bodies: list[dict]) -> float:
    import httpx

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        for body in bodies:
            async with client.stream(
                "POST",
                f"{server.base_url}/chat/completions",
                json=body,
                headers={"Authorization": "Bearer sk-x"},
            ) as response:
                async for _ in response.aiter_lines():
                    pass
    return time.perf_counter() - start


def ensure_sdk(explicit: str | None) -> str:
    if explicit:
        return explicit
    python = SDK_VENV / "bin" / "python"
    if not python.exists():
        print(
            f"(making the AIConfig SDK virtualenv in {SDK_VENV}: a few minutes, once)", flush=True
        )
        subprocess.run([sys.executable, "-m", "venv", str(SDK_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "python-aiconfig==1.1.34",
                "google-generativeai==0.3.2",
            ],
            check=True,
        )
    return str(python)


SDK_RUN = """
import asyncio, sys, time, warnings
warnings.simplefilter("ignore")
from aiconfig import AIConfigRuntime, InferenceOptions
async def main():
    config = AIConfigRuntime.load(sys.argv[1])
    start = time.perf_counter()
    await config.run(sys.argv[2], options=InferenceOptions(stream=True), run_with_dependencies=True)
    print("\\nSDK_SECONDS", time.perf_counter() - start)
asyncio.run(main())
"""


def sdk_time(sdk_python: str, server: OpenAIServer, path: Path, target: str) -> float:
    env = dict(os.environ, OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=server.base_url)
    result = subprocess.run(
        [sdk_python, "-c", SDK_RUN, str(path), target],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if result.returncode != 0:
        raise SystemExit("the AIConfig SDK run failed:\n" + result.stderr[-2000:])
    # the SDK prints the streamed text to stdout itself: read our marker line
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("SDK_SECONDS ")]
    return float(line.split()[1])


FRESH = """
import asyncio, json, sys, time
t0 = time.perf_counter()
from tui_app.core.config import load
from tui_app.core.workspace import Workspace
async def main():
    runner = Workspace.for_document(load(sys.argv[1]), history=False)
    out = []
    for _ in range(2):
        start = time.perf_counter()
        async for event in runner.execute(runner.new_run("a", "one", force=True)):
            if event.kind == "delta":
                out.append((time.perf_counter() - start, time.perf_counter() - t0))
                break
    print(json.dumps(out))
asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdk-python", help="a python with python-aiconfig installed")
    parser.add_argument("--skip-sdk", action="store_true")
    args = parser.parse_args()
    with OpenAIServer() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server.delay_per_request = DELAY
        fan = write(tmp, "fan.aiconfig.json", config_doc(server, FAN))
        serial = write(tmp, "serial.aiconfig.json", config_doc(server, SERIAL))

        asyncio.run(ours(fan, "a"))  # warm-up: imports, first connection
        wall = asyncio.run(ours(fan, "join"))
        critical = 2 * DELAY
        print(
            f"(a) fan-out 4 + join   ours {wall:.3f}s   critical path {critical:.3f}s   "
            f"ratio {wall / critical:.3f}x (target <= 1.15x)"
        )
        if not args.skip_sdk:
            sdk = sdk_time(ensure_sdk(args.sdk_python), server, fan, "join")
            print(
                f"                        AIConfig SDK {sdk:.3f}s   ours/SDK {wall / sdk:.3f}x "
                f"(SDK runs independent prompts one after another)"
            )

        server.reset()  # forgets records and knobs
        server.delay_per_request = DELAY
        serial_ours = asyncio.run(ours(serial, "s9"))
        bodies = [r.body for r in server.chat_requests]
        assert len(bodies) == 10, f"expected 10 requests, the server saw {len(bodies)}"
        serial_raw = asyncio.run(raw_client(server, bodies))
        print(
            f"(b) serial chain of 10  ours {serial_ours:.3f}s   raw httpx {serial_raw:.3f}s   "
            f"ratio {serial_ours / serial_raw:.3f}x (target <= 1.05x)"
        )

        server.delay_per_request = 0.0
        result = subprocess.run(
            [sys.executable, "-c", FRESH, str(fan)], capture_output=True, text=True, cwd=REPO
        )
        if result.returncode != 0:
            raise SystemExit(result.stderr[-2000:])
        (first, first_abs), (second, _) = json.loads(result.stdout)
        print(
            f"(c) time to first token: first run {first * 1000:.0f} ms ({first_abs * 1000:.0f} ms after "
            f"interpreter start), second run {second * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
