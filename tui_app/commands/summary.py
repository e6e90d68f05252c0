"""The end-of-run summary table (stderr) for `prompt-tui run`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from ..core.events import Blocked, Cached, Cancelled, Failed, Finished, RunEvent, Started
from ..core.inert import visible_name
from ..core.providers.base import CUT_AT_MAX_TOKENS
from ..core.providers.routing import is_offline
from ..core.secrets import scrub_text


@dataclass
class Row:
    prompt: str
    model: str = ""
    status: str = "queued"
    cached: bool = False
    ttft: float | None = None
    latency: float | None = None
    tokens: str = ""
    cost: float | None = None
    note: str = ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _cost(row: Row) -> str:
    if row.cost is None:
        done = row.status.startswith("done")
        return "unknown" if done and row.note != "offline" else "-"
    return "$0" if row.cost == 0 else f"${row.cost:.6f}"


class Summary:
    def __init__(self, models: dict[str, str] | None = None) -> None:
        """``models``: each prompt's model name, shown until (or unless) a run event says more."""
        self.rows: dict[str, Row] = {}
        self.models = models or {}

    def handle(self, event: RunEvent) -> None:
        row = (
            self.rows.setdefault(
                event.prompt, Row(event.prompt, model=self.models.get(event.prompt, ""))
            )
            if event.prompt
            else None
        )
        if row is None:
            return
        if isinstance(event, Started):
            row.model, row.status = event.request.model, "running"
        elif isinstance(event, Finished):
            row.model, row.status, row.ttft, row.latency, row.cost = (
                event.model,
                "done",
                event.ttft,
                event.latency,
                event.cost,
            )
            if event.usage:
                row.tokens = (
                    f"{event.usage.prompt_tokens or 0}/{event.usage.completion_tokens or 0}"
                )
            if event.offline:
                row.note = "offline"
            if event.finish_reason == "length":
                row.status = "done (cut at max_tokens)"
                row.note = CUT_AT_MAX_TOKENS
        elif isinstance(event, Cached):
            row.model, row.status, row.cached, row.cost = event.model, "done", True, event.cost
            if is_offline(event.model):
                row.note = "offline"
            if event.usage:
                row.tokens = (
                    f"{event.usage.prompt_tokens or 0}/{event.usage.completion_tokens or 0}"
                )
        elif isinstance(event, Failed):
            row.status, row.note = "failed", event.error
            if event.partial_text:
                row.status = "failed (partial)"
                row.note += f" (partial answer kept: {len(event.partial_text)} characters)"
        elif isinstance(event, Blocked):
            row.status, row.note = "blocked", event.reason
        elif isinstance(event, Cancelled):
            row.status = "cancelled"

    @property
    def failed(self) -> bool:
        return any(
            row.status.startswith(("failed", "blocked", "cancelled")) for row in self.rows.values()
        )

    def print(self, out: TextIO) -> None:
        if not self.rows:
            return
        header = ("prompt", "model", "status", "cached", "ttft", "latency", "tokens in/out", "cost")
        table = [header] + [
            (
                visible_name(r.prompt),
                visible_name(r.model) + (" (offline)" if r.note == "offline" else ""),
                r.status,
                "yes" if r.cached else "no",
                _seconds(r.ttft),
                _seconds(r.latency),
                r.tokens or "-",
                _cost(r),
            )
            for r in self.rows.values()
        ]
        widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
        out.write("\n")
        for line in table:
            out.write(
                "  ".join(
                    str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
                + "\n"
            )
        for r in self.rows.values():
            if r.note and r.status != "done":
                # names and messages may hold control characters or a URL with a password
                out.write(f"{visible_name(r.prompt)}: {visible_name(scrub_text(r.note))}\n")


def save_failed_message(path: str, exc: BaseException) -> str:
    """One line for a ``--save`` that failed: the path, the reason, where the outputs are and
    how to save them elsewhere."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (
        f"prompt-tui: cannot save outputs to {visible_name(path)}: {visible_name(reason)}; "
        f"the run's outputs are in the history (`prompt-tui history {visible_name(path)}`); "
        f"copy the file to a writable folder and run it there with --save"
    )
