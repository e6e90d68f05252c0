"""The raw baseline for the native clients: httpx sending recorded request bodies one after the
other and reading every event (SSE ``data:`` lines, or NDJSON lines) for the text. It imports
only what such a client would (a fresh process runs it as the cold baseline):

    python bench/_raw_native.py PROTOCOL BASE_URL REQUESTS.json

``REQUESTS.json`` is a list of ``[path, body]`` (as the fake server recorded them).
"""

from __future__ import annotations

import json
import sys
from typing import Any

HEADERS = {
    "anthropic": {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01"},
    "gemini": {"x-goog-api-key": "sk-bench"},
    "ollama": {},
}


def text_of(protocol: str, event: dict[str, Any]) -> str:
    if protocol == "anthropic":
        delta = event.get("delta") or {}
        return delta.get("text") or ""
    if protocol == "gemini":
        out = []
        for candidate in event.get("candidates") or []:
            for part in (candidate.get("content") or {}).get("parts") or []:
                out.append(part.get("text") or "")
        return "".join(out)
    return (event.get("message") or {}).get("content") or ""


def main(argv: list[str]) -> None:
    import httpx

    protocol, base, path = argv
    with open(path, encoding="utf-8") as handle:
        requests = json.load(handle)
    with httpx.Client(timeout=120) as client:
        for route, body in requests:
            url = base + route + ("?alt=sse" if protocol == "gemini" else "")
            parts: list[str] = []
            with client.stream("POST", url, json=body, headers=HEADERS[protocol]) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if protocol != "ollama":
                        if not line.startswith("data:"):
                            continue
                        line = line[5:]
                    if line.strip():
                        parts.append(text_of(protocol, json.loads(line)))
            assert "".join(parts)


if __name__ == "__main__":
    main(sys.argv[1:])
