"""The end-of-run summary table (stderr) for `prompt-tui run`."""

from __future__ import annotations

from typing import TextIO

from ..core import display
from ..core.inert import visible_name
from ..core.runs import PromptResult, PromptStatus, Run
from ..core.secrets import scrub_text

HEADER = ("prompt", "model", "status", "ttft", "latency", "tokens in/out", "cost")


def _row(name: str, result: PromptResult, model: str) -> tuple[str, ...]:
    started = result.started
    offline = result.offline
    estimated = result.tokens_estimated
    tokens = (
        display.tokens(result.tokens_in, result.tokens_out, estimated=estimated)
        if started
        else display.NONE
    )
    return (
        visible_name(name),
        visible_name(result.model or model) + (" (offline)" if offline else ""),
        result.status.value,  # "cached" says the cache answered: no column of its own
        display.seconds(result.ttft),
        display.seconds(result.latency),
        tokens,
        display.cost(result.cost, offline=offline) if started else display.NONE,
    )


class Summary:
    """The end-of-run table, read from the run's own record (``run.results``)."""

    def __init__(self, run: Run, models: dict[str, str] | None = None) -> None:
        """``models``: each prompt's model name, shown when the run never resolved its request
        (a prompt blocked or refused before it started)."""
        self.run = run
        self.models = models or {}

    @property
    def failed(self) -> bool:
        return any(
            r.status in (PromptStatus.FAILED, PromptStatus.BLOCKED, PromptStatus.CANCELLED)
            for r in self.run.results.values()
        )

    def print(self, out: TextIO) -> None:
        results = self.run.results
        if not results:
            return
        table = [HEADER] + [
            _row(name, result, self.models.get(name, "")) for name, result in results.items()
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
        out.write("\n")
        for line in table:
            cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            out.write("  ".join(cells).rstrip() + "\n")
        for name, result in results.items():
            note = result.note()
            if note and result.status is not PromptStatus.CACHED:
                # names and messages may hold control characters or a URL with a password
                out.write(f"{visible_name(name)}: {visible_name(scrub_text(note))}\n")


def save_failed_message(path: str, exc: BaseException) -> str:
    """One line for a ``--save`` that failed: the path, the reason, where the outputs are and
    how to save them elsewhere."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (
        f"prompt-tui: cannot save outputs to {visible_name(path)}: {visible_name(reason)}; "
        f"the run's outputs are in the history (`prompt-tui history {visible_name(path)}`); "
        f"copy the file to a writable folder and run it there with --save"
    )
