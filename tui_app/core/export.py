"""Export a prompt's output or a whole run to Markdown or JSON (the TUI's `x`, the palette).

Plain data in, text out: each prompt's request (model, settings, messages), its output and its
metrics (status, tokens, cost, time to first token, latency, attempts, error). Requests are
exported without call options (no server address, no key), and every text goes through the one
secret scrubber.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .secrets import scrub_settings, scrub_text

Format = Literal["markdown", "json"]
SUFFIX = {"markdown": ".md", "json": ".json"}


@dataclass
class PromptRecord:
    """What is exported of one prompt."""

    name: str
    output: str | None
    request: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


def record_of(name: str, result: Any, stored_output: str | None) -> PromptRecord:
    """A prompt's record from its run result (``core.runs.PromptResult``) or, without one, the
    output stored in the file."""
    if result is None:
        return PromptRecord(name, stored_output)
    usage = getattr(result, "usage", None)
    metrics = {
        "status": str(getattr(result.status, "value", result.status)),
        "model": result.model or None,
        "tokens_in": getattr(usage, "prompt_tokens", None),
        "tokens_out": getattr(usage, "completion_tokens", None),
        "cost_usd": result.cost,
        "ttft_s": result.ttft,
        "latency_s": result.latency,
        "attempts": result.attempts,
        "error": result.error,
        "finish_reason": result.finish_reason,
    }
    request = result.request.to_json() if result.request is not None else None
    if request is not None:
        request["settings"] = scrub_settings(request.get("settings") or {})
    return PromptRecord(name, result.text or stored_output, request, metrics)


def to_json(title: str, records: list[PromptRecord]) -> str:
    data = {
        "title": title,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "prompts": [
            {"name": r.name, "request": r.request, "output": r.output, "metrics": r.metrics}
            for r in records
        ],
    }
    return scrub_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def to_markdown(title: str, records: list[PromptRecord]) -> str:
    lines = [f"# {title}", "", f"Exported {time.strftime('%Y-%m-%d %H:%M:%S')}.", ""]
    for record in records:
        lines += [f"## {record.name}", ""]
        if record.metrics:
            shown = {k: v for k, v in record.metrics.items() if v is not None}
            lines += ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
            lines += ["| " + " | ".join(_cell(v) for v in shown.values()) + " |", ""]
        if record.request:
            lines += ["### Request", "", f"Model: `{record.request.get('model')}`", ""]
            for message in record.request.get("messages") or []:
                content = message.get("content")
                text = content if isinstance(content, str) else json.dumps(content, indent=2)
                lines += [f"**{message.get('role', '?')}**", "", _fenced(text), ""]
        lines += ["### Output", "", _fenced(record.output or "(no output)"), ""]
    return scrub_text("\n".join(lines))


def render(fmt: Format, title: str, records: list[PromptRecord]) -> str:
    return to_json(title, records) if fmt == "json" else to_markdown(title, records)


def export_path(config_path: Path, what: str, fmt: Format) -> Path:
    """``<config stem>.<what>.<stamp>.md|json`` beside the config file."""
    stem = config_path.name.split(".")[0]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in what)[:60] or "export"
    return config_path.with_name(f"{stem}.{safe}.{stamp}{SUFFIX[fmt]}")


def write_export(path: Path, text: str) -> Path:
    from .fileio import atomic_write

    atomic_write(path, text)
    return path


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"
