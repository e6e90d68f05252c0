"""`prompt-tui run CONFIG [PROMPT] --watch`: run, then re-run on every save of the file.

Each valid save reloads the document and re-runs the same target: only prompts whose request
changed are sent, the rest are answered by the cache (one line names them). A run still in flight
when the file changes loses the prompts whose request changed and a new run takes over. An invalid
save prints the error with file:line:col and the last good version stays. Ctrl+C ends it with a
summary (exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..core.display import plural
from ..core.errors import PromptTuiError
from ..core.events import Cached, Finished, Refused, RunDone
from ..core.inert import json_text
from ..core.reload import ReloadOutcome, ReloadResult
from ..core.runs import PromptStatus, Run
from ..core.watch import ConfigWatcher, FileEvent, FileEventKind
from ..core.workspace import Workspace
from .printer import TextPrinter


@dataclass
class WatchSummary:
    # The watcher coalesces a burst of writes into one event, so the number of saves is not
    # known: the summary counts what was done with them (reloads, invalid or missing versions).
    events: int = 0  # file events that reached the reload (a burst of saves is one)
    reloaded: int = 0
    invalid: int = 0
    missing: int = 0
    runs: int = 0  # runs that sent a request (one that re-ran nothing is no run)
    superseded: int = 0  # of those, runs a newer version took over (they print no line)
    sent: int = 0  # requests that went to a model
    cached: int = 0  # answers from the cache
    failed: int = 0
    reran: list[list[str]] = field(default_factory=list)  # per run: the prompts sent

    def line(self) -> str:
        versions = [plural(self.reloaded, "reload")]
        if self.invalid:
            versions.append(f"{plural(self.invalid, 'invalid version')} ignored")
        if self.missing:
            versions.append(f"the file went missing {plural(self.missing, 'time')}")
        runs = plural(self.runs, "run")
        if self.superseded:
            runs += f" ({self.superseded} cut short by a newer version)"
        return (
            f"prompt-tui: watched: {', '.join(versions)}; {runs}, "
            f"{plural(self.sent, 'request')} sent, {self.cached} answered from the cache, "
            f"{self.failed} failed"
        )


class WatchSession:
    """The loop of one `run --watch`: a watcher, the workspace, the current run."""

    def __init__(
        self,
        workspace: Workspace,
        first: Run,
        *,
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
        as_json: bool = False,
        watcher: ConfigWatcher | None = None,
    ) -> None:
        self.workspace = workspace
        self.first: Run | None = first  # started by run(); later runs come from the reload policy
        self.out, self.err, self.as_json = out, err, as_json
        path = workspace.document.path
        assert path is not None
        self.watcher = watcher or ConfigWatcher(
            path, known_digest=lambda: self.workspace.document.disk_digest
        )
        self.summary = WatchSummary()
        self.tasks: set[asyncio.Task[None]] = set()
        self.current: Run | None = None
        self.reloads: list[ReloadResult] = []  # every reload, in order (tests)
        self.printers: list[TextPrinter] = []  # the runs' answers being printed
        self.shown: dict[str, str] = {}  # the output printed last for each prompt
        self.started = 0  # runs started (the first one "ran", later ones may "re-run")
        self.ran: set[str] = set()  # prompts whose request a run of this session sent
        self._broken = False  # the last version seen was invalid or missing

    def say(self, text: str) -> None:
        if not self.as_json:
            for printer in self.printers:  # our line starts a line of its own
                printer.break_line()
            print(f"prompt-tui: {text}", file=self.err, flush=True)

    def emit_json(self, data: dict[str, Any]) -> None:
        print(json_text(data, default=str), file=self.out, flush=True)

    # --- runs ---------------------------------------------------------------------------------
    def start_run(self, run: Run) -> Run:
        self.current = run
        self.started += 1
        first = self.started == 1
        task = asyncio.create_task(self._drive(run, first), name=f"prompt-tui:watch-run:{run.id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return run

    async def _drive(self, run: Run, first: bool) -> None:
        printer = TextPrinter(self.out)
        self.printers.append(printer)
        async for event in self.workspace.execute(run):
            if run.superseded:
                continue  # the re-run that took over tells the story from here
            if self.as_json:
                self.emit_json(event.to_json())
            elif isinstance(event, Refused):
                self.say(f"run refused, nothing sent: {event.message}")
            elif isinstance(event, RunDone):
                self._run_line(run, first)
            elif (
                first or not isinstance(event, Cached) or self.shown.get(event.prompt) != event.text
            ):
                printer.handle(event)  # re-runs: answers already shown are one line at the end
            if isinstance(event, Finished | Cached):
                self.shown[event.prompt] = event.text
        printer.break_line()
        self.printers.remove(printer)
        sent = self._count(run)
        self.ran.update(sent)  # a superseded run's requests were sent too
        self.summary.reran.append(sent)

    def _count(self, run: Run) -> list[str]:
        """Add the run's outcome to the session's counts, from the run's own record; returns
        the prompts whose request went to a model."""
        results = run.results
        sent = _sent(run)
        if sent:  # a run that sent nothing (all from the cache, or refused) ran nothing
            self.summary.runs += 1
            self.summary.superseded += run.superseded
        self.summary.sent += len(sent)
        self.summary.cached += sum(r.status is PromptStatus.CACHED for r in results.values())
        self.summary.failed += sum(r.status is PromptStatus.FAILED for r in results.values())
        return sent

    def _run_line(self, run: Run, first: bool) -> None:
        """What the run sent, per prompt: "ran" the first time this session, "re-ran" after."""
        sent = _sent(run)
        cached = [n for n, r in run.results.items() if r.status is PromptStatus.CACHED]
        again = [n for n in sent if n in self.ran]
        new = [n for n in sent if n not in self.ran]
        parts = []
        if new:
            parts.append(f"ran {', '.join(new)}")
        if again:
            parts.append(f"re-ran {', '.join(again)}")
        line = "; ".join(parts) or ("nothing ran" if first else "nothing re-ran")
        if cached:
            line += f" · from the cache: {', '.join(cached)}"
        self.say(line)

    # --- saves --------------------------------------------------------------------------------
    def on_file_event(self, event: FileEvent) -> ReloadResult | None:
        self.summary.events += 1
        if event.kind is FileEventKind.MISSING:
            self.summary.missing += 1
            self._broken = True
            self.say(event.describe())
            return None
        if event.kind is FileEventKind.UNREADABLE:
            self.summary.invalid += 1
            self._broken = True
            self.say(event.describe())
            return None
        result = self.workspace.reload(event.raw)
        self.reloads.append(result)
        if self.as_json:
            self.emit_json(result.to_json())
        broken, self._broken = self._broken, result.outcome is ReloadOutcome.INVALID
        if result.outcome is ReloadOutcome.INVALID:
            self.summary.invalid += 1
            self.say(f"{result.error} (keeping the last good version; still watching)")
        elif result.outcome is ReloadOutcome.UNCHANGED and broken:
            self.say("the file is valid again, the same as the last good version")
        elif result.applied:
            self.summary.reloaded += 1
            self.say(result.summary())
            for line in result.stale_lines():
                self.say("  " + line)
            self.restart()
        return result

    def restart(self) -> None:
        """The workspace's reload policy: stop what the new version outdates in the run in
        flight, then run the same target again."""
        current = self.current
        was_active = current is not None and current.active
        try:
            run = self.workspace.rerun(current)
        except PromptTuiError as exc:
            self.say(str(exc))
            return
        if was_active:
            self.out.write("\n")
        if run is not None:
            self.start_run(run)

    async def run(self, stop: asyncio.Event) -> WatchSummary:
        """First run, then one reload (and re-run) per save until ``stop`` is set."""
        if self.first is not None:
            self.start_run(self.first)
            self.first = None
        stopper = asyncio.create_task(self._stop_when(stop))
        try:
            async for event in self.watcher.events():
                self.on_file_event(event)
        finally:
            stopper.cancel()
            self.watcher.stop()
            for task in list(self.tasks):
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(stopper, *self.tasks, return_exceptions=True)
        return self.summary

    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.watcher.stop()


def _sent(run: Run) -> list[str]:
    """The prompts whose request a run sent to a model (whatever came back)."""
    return [n for n, r in run.results.items() if r.started_at is not None]


async def watch_main(session: WatchSession) -> WatchSummary:
    """Run a session until Ctrl+C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    path = session.workspace.document.source
    session.say(f"watching {path} (Ctrl+C stops)")
    try:
        return await session.run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
