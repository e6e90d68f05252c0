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

from . import display
from .runs import PromptResult
from .secrets import scrub_settings, scrub_text

Format = Literal["markdown", "json"]
SUFFIX = {"markdown": ".md", "json": ".json"}


@dataclass
class PromptRecord:
    """What is exported of one prompt: its run's record (None: the output stored in the file)."""

    name: str
    output: str | None
    request: dict[str, Any] | None = None
    result: PromptResult | None = None

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The run's figures for machines (JSON): the record's own, without the output."""
        if self.result is None:
            return None
        data = self.result.to_json()
        data.pop("output", None)
        return data


def record_of(name: str, result: PromptResult | None, stored_output: str | None) -> PromptRecord:
    """A prompt's record from its run result or, without one, the output stored in the file."""
    if result is None:
        return PromptRecord(name, stored_output)
    request = result.request.to_json() if result.request is not None else None
    if request is not None:
        request["settings"] = scrub_settings(request.get("settings") or {})
    return PromptRecord(name, result.text or stored_output, request, result)


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
        if record.result is not None:  # the figures as Info words them (core/display)
            shown = {k: v for k, v in record.result.facts() if v != display.NONE}
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


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"
