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
from typing import TYPE_CHECKING, Any, Literal

from . import display
from .errors import PromptTuiError
from .inert import json_text, visible
from .runs import PromptResult, Run
from .secrets import scrub_settings, scrub_text

if TYPE_CHECKING:
    from .history import History

Format = Literal["markdown", "json"]
SUFFIX = {"markdown": ".md", "json": ".json"}


@dataclass
class PromptRecord:
    """What is exported of one prompt: its run's record (None: the output stored in the file)."""

    name: str
    output: str | None
    request: dict[str, Any] | None = None
    result: PromptResult | None = None
    # the run that made it: its id, git revision and tags (history.RunOrigin.to_json()), and
    # the rating given to this answer (history.Rating.to_json())
    run_id: str | None = None
    origin: dict[str, Any] | None = None
    rating: dict[str, Any] | None = None

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The run's figures for machines (JSON): the record's own, without the output."""
        if self.result is None:
            return None
        data = self.result.to_json()
        data.pop("output", None)
        return data


def record_of(
    name: str,
    result: PromptResult | None,
    stored_output: str | None,
    *,
    run_id: str | None = None,
    origin: dict[str, Any] | None = None,
    rating: dict[str, Any] | None = None,
) -> PromptRecord:
    """A prompt's record from its run result or, without one, the output stored in the file;
    ``run_id``/``origin``/``rating``: see :func:`run_labels`."""
    if result is None:
        return PromptRecord(name, stored_output)
    request = result.request.to_json() if result.request is not None else None
    if request is not None:
        request["settings"] = scrub_settings(request.get("settings") or {})
    return PromptRecord(name, result.text or stored_output, request, result, run_id, origin, rating)


def run_labels(history: History | None, run: Run | None, prompt: str) -> dict[str, Any]:
    """``record_of``'s run_id/origin/rating for ``prompt`` in ``run`` (a ``core.runs.Run``, or
    None): the origin is the run's own, the rating one indexed look-up in the history."""
    if run is None or prompt not in run.results:
        return {}
    origin = run.origin.to_json() if run.origin is not None else None
    rating = None
    if history is not None:
        try:
            found = history.ratings([run.id]).get((run.id, prompt))
        except PromptTuiError:  # an unreadable history must not stop an export
            found = None
        rating = found.to_json() if found is not None else None
    return {"run_id": run.id, "origin": origin, "rating": rating}


def to_json(title: str, records: list[PromptRecord]) -> str:
    data = {
        "title": title,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "prompts": [
            {
                "name": r.name,
                "request": r.request,
                "output": r.output,
                "metrics": r.metrics,
                "run_id": r.run_id,
                "origin": r.origin,
                "rating": r.rating,
            }
            for r in records
        ],
    }
    return scrub_text(json_text(data, indent=2)) + "\n"


def to_markdown(title: str, records: list[PromptRecord]) -> str:
    lines = [f"# {title}", "", f"Exported {time.strftime('%Y-%m-%d %H:%M:%S')}.", ""]
    for record in records:
        lines += [f"## {record.name}", ""]
        about = _about(record)
        if about:
            lines += [about, ""]
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
    # a report is read with `cat` and `less -R` too: a model's escape sequences are shown (␛),
    # never executed, as in every view
    return scrub_text(visible("\n".join(lines)))


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


def _about(record: PromptRecord) -> str:
    """Run, revision, tags and rating in one line (Markdown)."""
    parts: list[str] = []
    if record.run_id:
        parts.append(f"Run `{record.run_id}`")
    origin = record.origin or {}
    if origin.get("commit"):
        commit = str(origin["commit"])[:10] + ("+" if origin.get("dirty") else "")
        ref = origin.get("ref")
        parts.append(f"revision `{ref} ({commit})`" if ref else f"revision `{commit}`")
    if origin.get("tags"):
        parts.append("tags " + ", ".join(f"`{t}`" for t in origin["tags"]))
    rating = record.rating or {}
    if rating:
        score = rating.get("score")
        words = (
            "no score"
            if score is None
            else ("👍" if score >= 1 else "👎" if score <= 0 else f"{score:.2f}")
        )
        if rating.get("comment"):
            words += f" “{_cell(str(rating['comment']))}”"
        if rating.get("expected"):
            words += f"; expected: {_cell(str(rating['expected']))}"
        parts.append(f"rated {words}")
    return " · ".join(parts)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"
