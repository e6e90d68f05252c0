"""The raw client baseline: httpx reading a streamed chat completion and parsing every SSE event.

This is what any hand-written client must do to get the text, and nothing more. It imports only
what such a client would (a fresh process runs it as the cold baseline):

    python bench/_raw_client.py BASE_URL STAGES.json

``STAGES.json`` is a list of stages, each a list of request bodies sent at once; a stage starts
when the one before it has finished (the ideal schedule of the chain).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any


async def raw_request(client: Any, url: str, body: dict[str, Any]) -> str:
    """One streamed chat completion, read and parsed event by event; returns the text."""
    parts: list[str] = []
    async with client.stream(
        "POST", url, json=body, headers={"Authorization": "Bearer sk-bench"}
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    parts.append(text)
    return "".join(parts)


async def raw_stages(
    client: Any, base_url: str, stages: Sequence[Sequence[dict[str, Any]]]
) -> float:
    """Send ``stages`` with ``client``; returns the seconds it took."""
    url = f"{base_url}/chat/completions"
    start = time.perf_counter()
    for stage in stages:
        await asyncio.gather(*(raw_request(client, url, body) for body in stage))
    return time.perf_counter() - start


def main(argv: Sequence[str]) -> None:
    import httpx

    base_url, stages_file = argv
    with open(stages_file, encoding="utf-8") as handle:
        stages = json.load(handle)

    async def go() -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            await raw_stages(client, base_url, stages)

    asyncio.run(go())


if __name__ == "__main__":
    main(sys.argv[1:])
