"""Streaming throughput: a 100,000-token answer from the local OpenAI-compatible test server.

Readers, each draining the same stream (one SSE event per token, ~24 MB):
  raw bytes    httpx, reading the body and doing nothing with it: the transport's floor
  raw client   httpx + aiter_lines + json.loads per event + the delta text: what any hand-written
               client must do to get the text (the baseline the 1.2x target is measured against)
  direct       stream_chat() through the direct OpenAI-compatible client (openai_compat.py)
  litellm      stream_chat() forced through litellm (call_options transport="litellm"); it takes
               ~1 ms per chunk, so it is compared at 10,000 tokens, against the raw client and
               the direct client streaming the same 10,000 tokens (nothing is scaled)

Then a realistic answer: 1,000 tokens paced over 2 s (one token per network read), where what
matters is the CPU each answer takes from the event loop.

The server runs in a child process so that its own CPU does not compete with the reader for the
GIL. Every side is warm (it has streamed once in this process) and runs --runs times, the sides
alternating; wall time and this process's CPU time are medians with min-max. litellm is
imported only for the last phase, and every side of that phase runs after the import too.
Run: python bench/provider_stream.py [--tokens N] [--runs N] [--litellm-tokens N] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import Row, Samples, emit_json, format_table, order_for_round, runs_for  # noqa: E402
from _raw_client import raw_request  # noqa: E402

from tui_app.core.providers import StreamEnd, TextChunk, stream_chat  # noqa: E402
from tui_app.core.request import ResolvedRequest  # noqa: E402

SERVER = """
import sys
from tests.support.openai_server import OpenAIServer
server = OpenAIServer().start()
server.tokens_per_response = int(sys.argv[1])
server.delay_per_request = float(sys.argv[2])
print(server.base_url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
server.stop()
"""

MESSAGES = [{"role": "user", "content": "go"}]


def body(max_tokens: int | None = None) -> dict:
    out = {
        "model": "test-model",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens:
        out["max_tokens"] = max_tokens
    return out


_clients: dict = {}


def shared_client():
    """One pooled httpx client for the raw readers, made outside the timings (building one costs
    ~0.1 s of TLS setup; stream_chat keeps one per event loop too)."""
    import httpx

    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = httpx.AsyncClient(timeout=600)
    return _clients[loop]


async def raw_bytes(base: str, tokens: int) -> int:
    size = 0
    client = shared_client()
    async with client.stream("POST", base + "/chat/completions", json=body()) as response:
        async for raw in response.aiter_bytes():
            size += len(raw)
    return size


async def raw_client(base: str, tokens: int, max_tokens: int | None = None) -> int:
    """The hand-written client (bench/_raw_client.py): every event read and parsed."""
    text = await raw_request(shared_client(), base + "/chat/completions", body(max_tokens))
    return len(text)


async def via_stream_chat(base: str, tokens: int, transport: str | None = None) -> int:
    options = {"api_base": base, "timeout": 600}
    settings = {"max_tokens": tokens}  # the server truncates its answer to this
    if transport:
        options["transport"] = transport
    request = ResolvedRequest(
        prompt="bench",
        model_name="openai/test-model",
        model="openai/test-model",
        messages=MESSAGES,
        settings=settings,
        call_options=options,
    )
    parts: list[str] = []
    end = None
    async for item in stream_chat(request):
        if isinstance(item, TextChunk):
            parts.append(item.text)
        elif isinstance(item, StreamEnd):
            end = item
    assert end is not None and end.usage is not None and end.usage.completion_tokens == tokens
    return len("".join(parts))


async def timed(fn: Any, *args: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


@contextlib.contextmanager
def serve(tokens: int, delay_per_request: float = 0.0) -> Iterator[str]:
    """The test server in a child process; yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tokens), str(delay_per_request)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(10)


Case = tuple[str, Any, tuple[Any, ...]]


async def measure(cases: list[Case], runs: int) -> dict[str, tuple[Samples, Samples]]:
    """(wall, cpu) samples per case: ``runs`` rounds, the cases in rotating order each round."""
    walls = {name: Samples() for name, _fn, _args in cases}
    cpus = {name: Samples() for name, _fn, _args in cases}
    by_name = {name: (fn, args) for name, fn, args in cases}
    for i in range(runs):
        for name in order_for_round(list(by_name), i):
            fn, fn_args = by_name[name]
            wall, cpu = await timed(fn, *fn_args)
            walls[name].add(wall)
            cpus[name].add(cpu)
    return {name: (walls[name], cpus[name]) for name in by_name}


def table(title: str, results: dict[str, tuple[Samples, Samples]], tokens: int) -> None:
    print(title)
    print(f"  {'reader':<12}{'wall s (min-max)':>26}{'cpu s (min-max)':>26}{'cpu us/token':>14}")
    for name, (wall, cpu) in results.items():
        print(
            f"  {name:<12}{wall.describe(unit='', digits=3):>26}{cpu.describe(unit='', digits=3):>26}"
            f"{cpu.median / tokens * 1e6:>14.1f}"
        )


async def main(args: argparse.Namespace) -> list[Row]:
    n, small, runs = args.tokens, args.litellm_tokens, args.runs
    paced_n, paced_s = (500, 1.0) if args.quick else (1000, 2.0)
    rows: list[Row] = []
    # Phase 1 without litellm; phase 2 after importing it (its ~175 MB heap makes every later GC
    # pass dearer): within a phase every side runs in the same state, alternating.
    with serve(n) as bulk_base, serve(paced_n, paced_s) as paced_base:
        shared_client()  # warm-up: imports, TLS context, price table, pooled connections
        await raw_client(bulk_base, n)
        await via_stream_chat(bulk_base, n)
        bulk = await measure(
            [
                ("raw bytes", raw_bytes, (bulk_base, n)),
                ("raw client", raw_client, (bulk_base, n)),
                ("direct", via_stream_chat, (bulk_base, n)),
            ],
            runs,
        )
        paced = await measure(
            [
                ("raw client", raw_client, (paced_base, paced_n)),
                ("direct", via_stream_chat, (paced_base, paced_n)),
            ],
            runs,
        )
        assert "litellm" not in sys.modules
        slow: dict[str, tuple[Samples, Samples]] = {}
        if small:
            await via_stream_chat(bulk_base, small, "litellm")  # import + first-call warm-up
            slow = await measure(
                [
                    ("raw client", raw_client, (bulk_base, small, small)),
                    ("direct", via_stream_chat, (bulk_base, small)),
                    ("litellm", via_stream_chat, (bulk_base, small, "litellm")),
                ],
                runs,
            )
        for client in _clients.values():
            await client.aclose()

    quiet = args.json
    if not quiet:
        table(f"{n:,} tokens as fast as the server writes them, medians of {runs}", bulk, n)
        table(
            f"{paced_n:,} tokens paced over {paced_s:g} s (about one token per read)",
            paced,
            paced_n,
        )
        if slow:
            table(f"{small:,} tokens, after importing litellm (all three sides)", slow, small)
    wall, cpu = bulk["direct"]
    base_wall, base_cpu = bulk["raw client"]
    rows.append(
        Row(
            f"provider stream {n // 1000}k tokens: direct client vs raw httpx",
            wall.median,
            base_wall.median,
            "s",
            "<= 1.2x",
            f"n={wall.n}, direct {wall.low:.2f}-{wall.high:.2f}, raw {base_wall.low:.2f}-"
            f"{base_wall.high:.2f} s; CPU {cpu.median / base_cpu.median:.2f}x; warm, alternating",
        )
    )
    p_cpu, p_base = paced["direct"][1], paced["raw client"][1]
    rows.append(
        Row(
            f"CPU per {paced_n:,}-token answer paced over {paced_s:g} s: direct vs raw",
            p_cpu.median * 1000,
            p_base.median * 1000,
            "ms",
            None,
            f"n={p_cpu.n}, direct {p_cpu.low * 1000:.0f}-{p_cpu.high * 1000:.0f}, raw "
            f"{p_base.low * 1000:.0f}-{p_base.high * 1000:.0f} ms",
        )
    )
    if slow:
        l_wall, l_cpu = slow["litellm"]
        r_wall, r_cpu = slow["raw client"]
        rows.append(
            Row(
                f"provider stream {small // 1000}k tokens: litellm vs raw httpx",
                l_wall.median,
                r_wall.median,
                "s",
                None,
                f"n={l_wall.n}, why OpenAI-compatible servers get the direct client; same token count, not scaled; CPU {l_cpu.median / r_cpu.median:.0f}x"
                f" ({l_cpu.median / small * 1e6:.0f} vs {r_cpu.median / small * 1e6:.1f} us/token)",
            )
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=None, help="default 100,000 (quick 20,000)")
    parser.add_argument("--runs", type=int, default=None, help="5 (quick 3)")
    parser.add_argument(
        "--litellm-tokens", type=int, default=None, help="default 10,000 (quick 1,000); 0 skips"
    )
    parser.add_argument("--quick", action="store_true", help="smaller streams, shorter pacing")
    parser.add_argument("--json", action="store_true", help="one final JSON line for run_all")
    args = parser.parse_args()
    args.runs = runs_for(args.runs, args.quick)
    if args.tokens is None:
        args.tokens = 20_000 if args.quick else 100_000
    if args.litellm_tokens is None:
        args.litellm_tokens = 1_000 if args.quick else 10_000
    result = asyncio.run(main(args))
    if args.json:
        emit_json(result)
    else:
        print()
        print(format_table(result))
