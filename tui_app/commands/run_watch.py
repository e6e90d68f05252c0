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
    saves: int = 0  # file events that reached the reload
    reloaded: int = 0
    invalid: int = 0
    missing: int = 0
    runs: int = 0
    sent: int = 0  # requests that went to a model
    cached: int = 0  # answers from the cache
    failed: int = 0
    reran: list[list[str]] = field(default_factory=list)  # per run: the prompts sent

    def line(self) -> str:
        return (
            f"prompt-tui: watched {plural(self.saves, 'save')}: {self.reloaded} reloaded, "
            f"{self.invalid} invalid, {self.missing} missing; {plural(self.runs, 'run')}, "
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
        self.shown: dict[str, str] = {}  # the output printed last for each prompt
        self._broken = False  # the last version seen was invalid or missing

    def say(self, text: str) -> None:
        if not self.as_json:
            print(f"prompt-tui: {text}", file=self.err, flush=True)

    def emit_json(self, data: dict[str, Any]) -> None:
        print(json_text(data, default=str), file=self.out, flush=True)

    # --- runs ---------------------------------------------------------------------------------
    def start_run(self, run: Run) -> Run:
        self.current = run
        self.summary.runs += 1
        first = self.summary.runs == 1
        task = asyncio.create_task(self._drive(run, first), name=f"prompt-tui:watch-run:{run.id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return run

    async def _drive(self, run: Run, first: bool) -> None:
        printer = TextPrinter(self.out)
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
        sent = self._count(run)
        self.summary.reran.append(sent)

    def _count(self, run: Run) -> list[str]:
        """Add the run's outcome to the session's counts, from the run's own record; returns
        the prompts whose request went to a model."""
        results = run.results
        sent = [n for n, r in results.items() if r.started_at is not None]
        self.summary.sent += len(sent)
        self.summary.cached += sum(r.status is PromptStatus.CACHED for r in results.values())
        self.summary.failed += sum(r.status is PromptStatus.FAILED for r in results.values())
        return sent

    def _run_line(self, run: Run, first: bool) -> None:
        results = run.results
        sent = [n for n, r in results.items() if r.started_at is not None]
        cached = [n for n, r in results.items() if r.status is PromptStatus.CACHED]
        verb = "ran" if first else "re-ran"
        parts = [f"{verb} {', '.join(sent)}" if sent else f"nothing {verb}"]
        if cached:
            parts.append(f"from the cache: {', '.join(cached)}")
        self.say(" · ".join(parts))

    # --- saves --------------------------------------------------------------------------------
    def on_file_event(self, event: FileEvent) -> ReloadResult | None:
        self.summary.saves += 1
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
