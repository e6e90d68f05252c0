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

from typing import TYPE_CHECKING, Any

from textual import work

from ...core.errors import PromptTuiError
from .. import messages as msg
from ..widgets.reload_banner import ReloadBanner

if TYPE_CHECKING:
    from ...core.reload import ReloadResult
    from ...core.watch import FileEvent


class LiveReloadMixin:
    """Mixed into MainScreen (which provides session, app, selected, notify, select(),
    prompt_tree, form, refresh_stale(), refresh_header(), say_file_warnings(), query_one(), ...)."""

    session: Any
    app: Any
    call_later: Any
    selected: str | None
    notify: Any
    select: Any
    prompt_tree: Any
    form: Any
    refresh_stale: Any
    refresh_header: Any
    fit_tree_width: Any
    say_file_warnings: Any
    query_one: Any
    query: Any
    mount: Any
    post_message: Any

    auto_run: bool = True
    _file_event: FileEvent | None = None
    _declined: str | None = None  # digest of a version the user chose not to take ("keep mine")
    _conflict: tuple[bytes | None] | None = None  # the newest version while the modal is open
    reload_results: list[ReloadResult]  # every reload of this screen (tests)

    @property
    def banner(self) -> ReloadBanner:
        """Mounted under the header the first time a save needs it (a widget fewer to build
        before the first frame: each costs ~4 ms there)."""
        found = self.query(ReloadBanner)
        if found:
            return found.first(ReloadBanner)
        banner = ReloadBanner(id="reload-banner")
        self.mount(banner, after="#header")
        return banner

    def _clear_banner(self) -> None:
        for banner in self.query(ReloadBanner).results(ReloadBanner):
            banner.clear()

    def watch_state(self) -> str:
        return "auto-run on" if self.auto_run else "auto-run off"

    # --- the watcher --------------------------------------------------------------------------
    def start_watching(self) -> None:
        self.reload_results = []
        if self.session.workspace.document.path is not None:
            self._watch_file()

    @work(group="watch", exclusive=True, description="watch the config file for saves")
    async def _watch_file(self) -> None:
        from ...core.watch import ConfigWatcher

        workspace = self.session.workspace
        watcher = ConfigWatcher(
            workspace.document.path, known_digest=lambda: workspace.document.disk_digest
        )
        try:
            async for event in watcher.events():
                waiting = self._file_event is not None
                self._file_event = event
                if not waiting:
                    self.post_message(msg.FileChanged())
        finally:
            watcher.stop()

    def on_file_changed(self, message: msg.FileChanged) -> None:
        # a plain mixin: Textual finds handlers by name here (@on needs a MessagePump class)
        message.stop()
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
        self.apply_reload(event.raw)

    # --- reloading ----------------------------------------------------------------------------
    def action_reload_from_disk(self) -> None:
        self.apply_reload(None)

    def apply_reload(self, source: bytes | None, *, discard_edits: bool = False) -> None:
        from ...core.reload import ReloadOutcome

        if self._conflict is not None and not discard_edits:
            self._conflict = (source,)  # the open question is answered for the newest version
            return
        result = self.session.workspace.reload(source, discard_edits=discard_edits)
        self.reload_results.append(result)
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
                self._reloaded(result)

    def _ask(self, result: ReloadResult, source: bytes | None) -> None:
        from .reload_conflict import COPY, TAKE, ReloadConflictScreen

        self._conflict = (source,)

        def answered(answer: str | None) -> None:
            latest = self._conflict[0] if self._conflict is not None else source
            self._conflict = None
            if answer == TAKE:
                self.apply_reload(latest, discard_edits=True)
            elif answer == COPY:
                self.app.save_copy(then=lambda: self.apply_reload(latest, discard_edits=True))
            else:  # KEEP or escape: nothing written, the file stays as it is
                self._declined = result.digest
                self.notify(
                    "Kept this session's version; the file on disk is unchanged "
                    "(ctrl+s asks before overwriting it).",
                    title="Kept yours",
                    timeout=6,
                )

        self.app.push_screen(ReloadConflictScreen(result), answered)

    def _reloaded(self, result: ReloadResult) -> None:
        self.session.rebuild()
        if self.auto_run:
            self._rerun()  # first: its request is on its way while the views are redrawn
        self.call_later(self._redraw_after_reload, result)

    def _redraw_after_reload(self, result: ReloadResult) -> None:
        names = self.session.config.prompt_names
        selected = self.selected if self.selected in names else _neighbour(self.selected, names)
        self.prompt_tree.rebuild_keeping(names, select=selected)
        self.fit_tree_width()  # a renamed or added prompt may need a wider pane
        form_scroll = self.form.scroll_y
        if selected is not None:
            self.select(selected, force=True)
            self.form.call_after_refresh(self.form.scroll_to, y=form_scroll, animate=False)
        else:
            self.selected = None
            self.form.show(None)
        lines = [result.summary(), *result.stale_lines()[:6]]
        self.notify("\n".join(lines), title="Reloaded from disk", timeout=6)
        self.say_file_warnings()
        self.refresh_stale()
        self.prompt_tree.refresh_all()
        self.refresh_header()

    def _rerun(self) -> None:
        """The workspace's reload policy decides what the new version cancels and re-runs."""
        try:
            run = self.session.workspace.rerun()
        except PromptTuiError as exc:
            self.notify(f"{exc}.", timeout=4)
            return
        if run is not None:
            self.app.start_run_of(run)

    def action_toggle_autorun(self) -> None:
        self.auto_run = not self.auto_run
        self.refresh_header()
        self.notify(
            "Auto-run on: each save re-runs the last run target"
            if self.auto_run
            else "Auto-run off: saves reload the file, nothing runs",
            timeout=2,
        )


def _neighbour(name: str | None, names: list[str]) -> str | None:
    """A prompt to select when the selected one is gone: the first one, or none."""
    return names[0] if names else None
