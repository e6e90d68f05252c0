"""The native clients (Anthropic, Gemini, Ollama) against raw httpx, each against its local fake
server (tests/support/*_server.py), the server in a child process of its own:

  fresh CLI run     ``prompt-tui run CHAIN b --force`` of a 2-prompt chain (b reads a's output),
                    spawn to exit, vs a raw httpx script (bench/_raw_native.py) sending the same
                    two requests (the bodies prompt-tui sent, read back from the server) one
                    after the other and reading every event; the server takes 0.1 s to answer
                    each. Target <= 1.5x. Also (info) the same against a server answering at
                    once: the CLI's fixed start-up (~0.35 s, an offline echo chain takes as
                    long) against a bare interpreter importing httpx (~0.15 s).
  peak RSS          of that CLI run (the child's ru_maxrss). Target < 80 MiB.
  CPU per chunk     this process's CPU time to stream N tokens through stream_chat, per token,
                    vs the OpenAI-compatible client streaming the same N tokens from the OpenAI
                    fake server. Target <= 2x.

    python bench/native_providers.py [--json] [--quick] [--runs N]
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
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from _common import Row, Samples, alternate, emit_json, format_table, runs_for  # noqa: E402

from tui_app.core.providers import TextChunk, stream_chat  # noqa: E402
from tui_app.core.request import ResolvedRequest  # noqa: E402

# Seconds the fake server waits before answering each request (a fast real server's TTFT; the
# issue's figures were taken against servers answering in ~0.1-0.2 s).
SERVER_SECONDS = 0.1

PROTOCOLS = {
    # name: (server module, class, model id)
    "anthropic": ("anthropic_server", "AnthropicServer", "anthropic/claude-bench"),
    "gemini": ("gemini_server", "GeminiServer", "gemini/gemini-bench"),
    "ollama": ("ollama_server", "OllamaServer", "ollama/llama-bench"),
    "openai": ("openai_server", "OpenAIServer", "openai/test-model"),
}

SERVER = """
import json, sys
from tests.support.{module} import {cls}
server = {cls}().start()
server.tokens_per_response = int(sys.argv[1]) or None
server.first_byte_delay = float(sys.argv[2])
print(server.base_url, flush=True)
for line in sys.stdin:  # "bodies": print the request bodies received so far
    print(json.dumps([[r.path, r.body] for r in server.requests]), flush=True)
server.stop()
"""


class Served:
    """A fake server in a child process (its CPU is not this process's)."""

    def __init__(self, protocol: str, tokens: int = 0, delay: float = 0.0) -> None:
        module, cls, _ = PROTOCOLS[protocol]
        code = SERVER.format(module=module, cls=cls)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, str(tokens), str(delay)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.base = self.proc.stdout.readline().strip()

    def bodies(self) -> list[list[Any]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("bodies\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def chain_doc(protocol: str, base: str) -> dict[str, Any]:
    model = PROTOCOLS[protocol][2]
    return {
        "name": "bench",
        "schema_version": "latest",
        "metadata": {
            "parameters": {},
            "models": {"m": {"model": model, "api_base": base, "max_tokens": 200}},
            "default_model": "m",
        },
        "prompts": [
            {"name": "a", "input": "name three tides", "metadata": {"model": "m"}},
            {"name": "b", "input": "summarize: {{a.output}}", "metadata": {"model": "m"}},
        ],
    }


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "prompt-tui"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tui_app.cli import main; sys.exit(main())"]


def spawn(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds from spawn to exit, the child's peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read() if proc.stderr else b""
        raise SystemExit(f"{command[:3]} failed ({proc.returncode}): {err[-1500:]!r}")
    return elapsed, usage.ru_maxrss / 1024


def cli_rows(protocol: str, runs: int, home: Path, delay: float = SERVER_SECONDS) -> list[Row]:
    served = Served(protocol, delay=delay)
    try:
        config = home / f"{protocol}.aiconfig.json"
        config.write_text(json.dumps(chain_doc(protocol, served.base)))
        env = {**os.environ, "PROMPT_TUI_HOME": str(home / "state"), "NO_COLOR": "1"}
        cli = [*cli_command(), "run", str(config), "b", "--force"]
        spawn(cli, env)  # warm-up: .pyc files, the history DB, and the bodies to replay
        sent = [entry for entry in served.bodies() if entry[1]]
        requests = home / f"{protocol}.requests.json"
        requests.write_text(json.dumps(sent[-2:]))
        raw = [sys.executable, str(BENCH / "_raw_native.py"), protocol, served.base, str(requests)]
        spawn(raw, env)
        rss = Samples()

        def ours() -> float:
            seconds, peak = spawn(cli, env)
            rss.add(peak)
            return seconds

        samples = alternate({"cli": ours, "raw": lambda: spawn(raw, env)[0]}, runs)
    finally:
        served.close()
    cli_s, raw_s = samples["cli"], samples["raw"]
    spread = f"cli {cli_s.low:.2f}-{cli_s.high:.2f} s, raw {raw_s.low:.2f}-{raw_s.high:.2f} s"
    if not delay:  # the CLI's fixed start-up against a bare interpreter + httpx: information
        figure = f"fresh CLI run, 2-prompt chain, {protocol}, server answers at once (info)"
        return [Row(figure, cli_s.median, raw_s.median, note=spread)]
    return [
        Row(
            f"fresh CLI run, 2-prompt chain, {protocol} native vs raw httpx",
            cli_s.median,
            raw_s.median,
            target="<= 1.5x",
            note=f"{spread}; the server takes {delay:g} s to answer each request",
        ),
        Row(
            f"peak RSS of that CLI run ({protocol})",
            rss.median,
            unit="MiB",
            target="< 80 MiB",
            note=f"{rss.low:.0f}-{rss.high:.0f} MiB",
        ),
    ]


async def stream_once(protocol: str, base: str, tokens: int) -> int:
    model = PROTOCOLS[protocol][2]
    request = ResolvedRequest(
        prompt="bench",
        model_name=model,
        model=model,
        messages=[{"role": "user", "content": "go"}],
        settings={"max_tokens": tokens},
        call_options={"api_base": base, "timeout": 600},
    )
    size = 0
    async for item in stream_chat(request):
        if isinstance(item, TextChunk):
            size += len(item.text)
    return size


def cpu_rows(runs: int, tokens: int) -> list[Row]:
    servers = {name: Served(name, tokens=tokens) for name in PROTOCOLS}
    per_token: dict[str, Samples] = {name: Samples() for name in PROTOCOLS}
    try:

        async def go() -> None:
            for name, served in servers.items():  # warm: imports, the pooled client
                await stream_once(name, served.base, 100)
            for _ in range(runs):
                for name, served in servers.items():
                    cpu = time.process_time()
                    size = await stream_once(name, served.base, tokens)
                    spent = time.process_time() - cpu
                    assert size > tokens, (name, size)
                    per_token[name].add(spent / tokens * 1e6)  # µs per token

        asyncio.run(go())
    finally:
        for served in servers.values():
            served.close()
    base = per_token["openai"]
    rows = []
    for name in ("anthropic", "gemini", "ollama"):
        ours = per_token[name]
        rows.append(
            Row(
                f"CPU per streamed chunk, {name} native vs OpenAI-compatible ({tokens:,} tokens)",
                ours.median,
                base.median,
                unit="µs",
                target="<= 2x",
                note=f"{name} {ours.low:.2f}-{ours.high:.2f} µs, openai "
                f"{base.low:.2f}-{base.high:.2f} µs",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = runs_for(args.runs, args.quick)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="prompt-tui-native-bench-") as tmp:
        for protocol in ("anthropic", "gemini", "ollama"):
            rows += cli_rows(protocol, runs, Path(tmp))
        rows += cli_rows("anthropic", runs, Path(tmp), delay=0.0)[:1]
    rows += cpu_rows(runs, 5_000 if args.quick else 20_000)
    if args.json:
        emit_json(rows)
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
