"""Live reload on the main screen: the file saved by an editor updates the app and re-runs.

A worker iterates the core watcher (``core.watch``) and posts :class:`~..messages.FileChanged`;
the newest event waits in ``_file_event`` so a burst of saves is handled once, for the last one.
A valid version replaces the document (``Workspace.reload``), the tree and form are redrawn
keeping selection, expansion and scroll, and with auto-run on (``w``) the last run target runs
again: the cache answers what did not change. An invalid version shows a banner with
file:line:col until a valid one arrives. Unsaved edits in the app are never dropped without the
user's choice (``ReloadConflictScreen``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ...core.errors import PromptTuiError
from .. import messages as msg

# The reload machinery (the document diff, the watcher, the banner, the conflict question) is
# needed after the first frame, when the watcher starts: imported then, not before the first
# frame (bench/README.md, "startup").
if TYPE_CHECKING:  # the screen owns the controller; the controller only calls back into it
    from ...core.reload import ReloadResult
    from ...core.watch import FileEvent
    from ..widgets.reload_banner import ReloadBanner
    from .main import MainScreen


class LiveReload:
    """The main screen's live reload, owned by the screen: the watcher, the reload of a new
    version (or its banner, or the question when the app has unsaved edits), the redraw, and
    the re-run the workspace's reload policy makes."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.auto_run = True
        self.results: list[ReloadResult] = []  # every reload of this screen (tests)
        self._file_event: FileEvent | None = None
        self._declined: str | None = None  # digest of a version the user chose not to take
        self._conflict: tuple[bytes | None] | None = None  # the newest version while asking
        # Reloads not drawn yet, and the re-run whose first request goes out before they are:
        # the redraw is a frame of the whole screen (20-30 ms) that held the request back.
        self._undrawn: list[ReloadResult] = []
        self._rerun_id: str | None = None
        self._ticks_undrawn = 0

    @property
    def banner(self) -> ReloadBanner:
        """Mounted under the header the first time a save needs it (a widget fewer to build
        before the first frame)."""
        from ..widgets.reload_banner import ReloadBanner

        found = self.screen.query(ReloadBanner)
        if found:
            return found.first(ReloadBanner)
        banner = ReloadBanner(id="reload-banner")
        self.screen.mount(banner, after="#header")
        return banner

    def _clear_banner(self) -> None:
        from ..widgets.reload_banner import ReloadBanner

        for banner in self.screen.query(ReloadBanner).results(ReloadBanner):
            banner.clear()

    @property
    def state(self) -> str:
        return "auto-run on" if self.auto_run else "auto-run off"

    # --- the watcher --------------------------------------------------------------------------
    def start(self) -> None:
        if self.screen.session.workspace.document.path is not None:
            self.screen.run_worker(
                self._watch(),
                group="watch",
                exclusive=True,
                description="watch the config file for saves",
            )

    async def _watch(self) -> None:
        workspace = self.screen.session.workspace
        path = workspace.document.path
        assert path is not None
        from ...core.watch import ConfigWatcher

        watcher = ConfigWatcher(path, known_digest=lambda: workspace.document.disk_digest)
        try:
            events: AsyncIterator[FileEvent] = watcher.events()
            async for event in events:
                waiting = self._file_event is not None
                self._file_event = event  # a burst of saves is handled once, for the last one
                if not waiting:
                    self.screen.post_message(msg.FileChanged())
        finally:
            watcher.stop()

    def file_changed(self) -> None:
        """The screen got FileChanged: take the newest file event."""
        event, self._file_event = self._file_event, None
        if event is not None:
            self.handle_file_event(event)

    def handle_file_event(self, event: FileEvent) -> None:
        from ...core.watch import FileEventKind

        if event.kind is FileEventKind.MISSING:
            self.banner.show_problem(event.describe(), "warning")
            return
        if event.kind is FileEventKind.UNREADABLE:
            self.banner.show_problem(event.describe(), "error")
            return
        if event.digest is not None and event.digest == self._declined:
            return
        self.apply(event.raw)

    # --- reloading ----------------------------------------------------------------------------
    def apply(self, source: bytes | None, *, discard_edits: bool = False) -> None:
        from ...core.reload import ReloadOutcome

        if self._conflict is not None and not discard_edits:
            self._conflict = (source,)  # the open question is answered for the newest version
            return
        names = self.screen.session.config.prompt_names  # what the tree shows until redrawn
        result = self.screen.session.workspace.reload(source, discard_edits=discard_edits)
        self.results.append(result)
        match result.outcome:
            case ReloadOutcome.INVALID:
                self.banner.show_problem(
                    f"{result.error} — not reloaded: the app shows the last good version", "error"
                )
            case ReloadOutcome.MISSING:
                self.banner.show_problem(
                    f"{result.summary()} (picked up when it returns)", "warning"
                )
            case ReloadOutcome.UNCHANGED:
                self._clear_banner()
            case ReloadOutcome.CONFLICT:
                self._clear_banner()
                self._ask(result, source)
            case ReloadOutcome.APPLIED:
                self._clear_banner()
                self._declined = None
                same = names == self.screen.session.config.prompt_names
                self._reloaded(result, same_prompts=same)

    def _ask(self, result: ReloadResult, source: bytes | None) -> None:
        from .reload_conflict import COPY, TAKE, ReloadConflictScreen

        self._conflict = (source,)
        screen = self.screen

        def answered(answer: str | None) -> None:
            latest = self._conflict[0] if self._conflict is not None else source
            self._conflict = None
            if answer == TAKE:
                self.apply(latest, discard_edits=True)
            elif answer == COPY:
                screen.tui.save_copy(then=lambda: self.apply(latest, discard_edits=True))
            else:  # KEEP or escape: nothing written, the file stays as it is
                self._declined = result.digest
                screen.notify(
                    "Kept this session's version; the file on disk is unchanged "
                    "(ctrl+s asks before overwriting it).",
                    title="Kept yours",
                    timeout=6,
                )

        screen.tui.push_screen(ReloadConflictScreen(result), answered)

    def _reloaded(self, result: ReloadResult, *, same_prompts: bool) -> None:
        self.screen.session.rebuild()
        self._undrawn.append(result)
        run_id = self._rerun() if self.auto_run else None
        if run_id is None or not same_prompts:
            self.screen.call_later(self.draw)  # prompts came or went: the tree must follow now
        else:
            # The views are redrawn once the re-run has its first request on the wire (a prompt
            # started, was answered from the cache or could not run: ``run_event``), else one
            # tick later: the redraw's frame on the event loop held the request back.
            self._rerun_id = run_id

    def _rerun(self) -> str | None:
        """The workspace's reload policy decides what the new version cancels and re-runs;
        returns the id of the run it started."""
        try:
            run = self.screen.session.workspace.rerun()
        except PromptTuiError as exc:
            self.screen.notify(f"{exc}.", timeout=4)
            return None
        if run is None:
            return None
        self.screen.tui.start_run_of(run)
        return run.id

    def run_event(self, run_id: str) -> None:
        """The screen got an event of a run (other than "queued"): the re-run's first one
        draws the reload."""
        if run_id == self._rerun_id:
            self.draw()

    def tick(self) -> None:
        """The screen's tick (every 50 ms): a reload waits for its re-run's first event at most
        one full tick."""
        if self._undrawn:
            self._ticks_undrawn += 1
            if self._ticks_undrawn > 1:
                self.draw()

    def draw(self) -> None:
        """Redraw the screen for the reloads not drawn yet."""
        results, self._undrawn, self._rerun_id = self._undrawn, [], None
        self._ticks_undrawn = 0
        for result in results:
            self.screen.redraw_after_reload(result)

    def toggle_auto_run(self) -> None:
        self.auto_run = not self.auto_run
        self.screen.refresh_header()
        self.screen.notify(
            "Auto-run on: each save re-runs the last run target"
            if self.auto_run
            else "Auto-run off: saves reload the file, nothing runs",
            timeout=2,
        )
