"""The main screen: prompt tree | parameter form | output, with the run and authoring keys."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ...core import events as ev
from ...core.errors import PromptTuiError
from ...core.runs import PromptStatus
from .. import messages as msg
from ..state import Session
from ..view_models import form_data, request_preview, run_state, tree_deps
from ..widgets.find_bar import FindBar
from ..widgets.header import AppHeader
from ..widgets.output_pane import OutputPane, record_text
from ..widgets.param_form import ParamForm
from ..widgets.prompt_tree import PromptTree
from ..widgets.reload_banner import ReloadBanner
from .authoring import AuthoringMixin
from .live_reload import LiveReloadMixin

FLUSH_INTERVAL = 0.05  # seconds between draws of streamed text (batches deltas)
# The spinner turns every SPIN_EVERY ticks, half a tick after a stream draw. Textual composites
# the bounding box of everything dirty in a frame: a spinner (left) and the stream (right) in the
# same frame repaint the whole screen, which measured 2x slower streaming and 100 ms key lag.
SPIN_EVERY = 3
# More characters than this in one 50 ms batch (~16,000 tokens/s) is a torrent, not a model.
TORRENT_CHARS = 4_000


def breakpoint_classes(app: Any) -> str:
    """The horizontal breakpoint class Textual gives a screen of the app's current width.

    Textual sets it when the screen first gets its size, after every widget is styled: a change
    of class then restyles the whole screen (~10 ms before the first frame). Starting with the
    right class makes that a no-op; a wrong guess is corrected by Textual as before.
    """
    try:
        breakpoints = app.HORIZONTAL_BREAKPOINTS or []
        width = app.size.width
    except Exception:  # no running app (a screen built outside one): let Textual decide
        return ""
    for minimum, class_name in sorted(breakpoints, reverse=True):
        if width >= minimum:
            return class_name
    return ""


class MainScreen(LiveReloadMixin, AuthoringMixin, Screen[None]):
    HELP = """\
### prompt-tui

`r` runs the selected prompt, `R` runs it with everything it depends on, `a` runs all prompts.
`escape` cancels the run the selected prompt is part of, dependencies included (or every run when
it is in none); `ctrl+x` cancels just the selected prompt.
`m` changes its model, `e` edits its template, `n` adds a prompt, `d` deletes it, `/` finds one.
`ctrl+s` saves outputs, parameters and edits to the file.
Saving the file in an editor reloads it here; with auto-run on (`w` toggles it) the last run
target runs again, and only prompts whose request changed are sent.
"""

    BINDINGS = [
        Binding("r", "run('one')", "Run", id="main.run", tooltip="Run the selected prompt"),
        Binding(
            "R",
            "run('with_deps')",
            "+deps",
            id="main.run_deps",
            tooltip="Run the selected prompt after everything it depends on",
        ),
        Binding("a", "run('all')", "All", id="main.run_all", tooltip="Run every prompt"),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="main.cancel",
            tooltip="Cancel the whole run the selected prompt is in (or all runs)",
        ),
        Binding(
            "ctrl+x",
            "cancel_prompt",
            "Cancel prompt",
            id="main.cancel_prompt",
            show=False,
            tooltip="Cancel only the selected prompt (its run goes on; dependents are blocked)",
        ),
        Binding(
            "m", "model", "Model", id="main.model", tooltip="Change the selected prompt's model"
        ),
        Binding("e", "edit", "Edit", id="main.edit", tooltip="Edit the selected prompt's template"),
        Binding(
            "n",
            "new",
            "New",
            id="main.new",
            show=False,
            tooltip="Add a prompt after the selected one",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="main.delete",
            show=False,
            tooltip="Delete the selected prompt",
        ),
        Binding(
            "slash", "find", "Find", id="main.find", show=False, tooltip="Find a prompt by name"
        ),
        Binding(
            "p",
            "focus_form",
            "Params",
            id="main.params",
            show=False,
            tooltip="Edit the selected prompt's parameters",
        ),
        Binding(
            "v",
            "toggle_rendered",
            "Raw/MD",
            id="main.rendered",
            show=False,
            tooltip="Toggle raw text / rendered Markdown",
        ),
        Binding(
            "w",
            "toggle_autorun",
            "Auto-run",
            id="main.autorun",
            show=False,
            tooltip="Toggle auto-run: re-run the last run target when the file is saved",
        ),
        Binding("1", "tab('output')", "Output", show=False, id="main.tab_output"),
        Binding("2", "tab('request')", "Request", show=False, id="main.tab_request"),
        Binding("3", "tab('json')", "JSON", show=False, id="main.tab_json"),
        Binding("4", "tab('info')", "Info", show=False, id="main.tab_info"),
        Binding("5", "tab('history')", "History", show=False, id="main.tab_history"),
    ]

    def __init__(self, session: Session, path: str) -> None:
        super().__init__(id="main", classes=breakpoint_classes(self.app))
        self.session = session
        self.path = path
        self.selected: str | None = None
        self.stream_dirty: set[str] = set()
        self._drawn = 0  # chunks of the selected prompt's stream already in the view
        self._stale_timer: Any = None
        self._history_prompt: str | None = None
        self.engine_ready = False  # after_first_frame() has run: graph, form, runner are there

    # --- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader(id="header")
        yield ReloadBanner(id="reload-banner")
        with Horizontal(id="body"):
            with Vertical(id="tree-pane", classes="pane") as tree_pane:
                tree_pane.border_title = "Prompts"
                yield PromptTree(id="tree")  # the find bar is mounted above it on first use
            with Container(id="work"):
                # Composed as the placeholder select() shows until the engine is loaded.
                pending = bool(self.config.prompt_names) and not self.session.graph_ready
                form = ParamForm(id="form", classes="pane", pending=pending)
                form.border_title = "Parameters"
                yield form
                output = OutputPane(id="output", classes="pane")
                output.border_title = "Output"
                yield output
        yield Footer(compact=True)

    @property
    def prompt_tree(self) -> PromptTree:
        return self.query_one(PromptTree)

    @property
    def form(self) -> ParamForm:
        return self.query_one(ParamForm)

    @property
    def output(self) -> OutputPane:
        return self.query_one(OutputPane)

    @property
    def config(self) -> Any:
        return self.session.config

    def on_mount(self) -> None:
        self.prompt_tree.configure(
            status=lambda name: self.session.state(name).status,
            model=lambda name: self._model_label(name),
            deps=lambda name: tree_deps(self.session, name),
        )
        names = self.config.prompt_names
        self.prompt_tree.rebuild(names)
        self.refresh_header()
        if names:
            self.select(names[0])
        else:
            self.form.show(None)
            self.output.show_output(
                "", "", live=False, note="This config has no prompts: n adds one."
            )
        self.prompt_tree.focus()
        self._ticks = 0
        self._torrent = False
        self.set_interval(FLUSH_INTERVAL, self._tick, name="stream-and-spinner")
        if self.app.ready_at is not None:  # a reload: the app's first frame is long gone
            self.call_after_refresh(self.after_first_frame)

    def after_first_frame(self) -> None:
        """The rest of the engine, after the first frame (the app calls this), never in its way:
        the dependency graph (templates), the form, rendered Markdown, the runner, staleness."""
        self.session.ensure_graph()
        self.prompt_tree.rebuild(self.config.prompt_names, select=self.selected)
        self.output.markdown_allowed = True
        if self.selected is not None:
            self.select(self.selected, force=True)
        from ...core import providers  # noqa: F401 - the form can now tell offline models

        self._redraw_form()  # now that the engine is loaded, it knows which models are offline
        self.engine_ready = True
        self._load_baselines()
        self.start_watching()

    @work(thread=True, group="baselines", description="read where outputs came from")
    def _load_baselines(self) -> None:
        """The history lookup behind staleness touches SQLite: never on the event loop."""
        self.session.workspace.ensure_baselines()
        self.app.call_from_thread(self.refresh_stale)

    def _model_label(self, name: str) -> str:
        prompt = self.config.get(name)
        return (self.config.model_name_of(prompt) or "") if prompt is not None else ""

    def refresh_header(self) -> None:
        header = self.query_one(AppHeader)
        header.set_title(self.config.name, self.path, self.session.dirty)
        header.set_state(run_state(self.session))
        header.set_watch(self.watch_state())

    def on_theme_changed(self) -> None:
        self.prompt_tree.refresh_all()

    # --- selection ----------------------------------------------------------------------------
    @on(msg.PromptSelected)
    def _on_selected(self, message: msg.PromptSelected) -> None:
        message.stop()
        if message.from_tree and message.name != self.prompt_tree.selected_prompt:
            return  # a stale highlight: the cursor has moved on since (fast keys)
        self.select(message.name)

    def select(self, name: str, *, force: bool = False) -> None:
        if name == self.selected and not force:
            return
        self.selected = name
        if self.prompt_tree.selected_prompt != name:
            self.prompt_tree.select_prompt(name)
        if self.session.graph_ready:
            self.form.show(form_data(self.session, name))
        else:
            self.form.show_pending()
        self.form.border_title = f"Parameters · {name}"
        self.show_selected_output()
        self._refresh_side_tabs()

    def _shown_text(self, name: str) -> tuple[str, bool]:
        """(text, live) for a prompt: its stream while it runs or ran this session, else the
        output stored in the file."""
        state = self.session.state(name)
        live = state.streaming and state.status == "running"
        if state.chunks or live:
            return state.text, live
        prompt = self.config.get(name)
        return (prompt.output_text if prompt is not None else None) or "", live

    def show_selected_output(self) -> None:
        name = self.selected
        if name is None:
            return
        state = self.session.state(name)
        text, live = self._shown_text(name)
        severity = (
            "error"
            if state.status == "failed"
            else "warning"
            if state.status in ("blocked", "cancelled", "stale")
            else ""
        )
        note = state.note
        self._drawn = len(state.chunks)
        self.output.show_output(name, text, live=live, note=note, severity=severity)
        self.output.border_title = f"Output · {name}" + (" (live)" if live else "")

    def _refresh_side_tabs(self) -> None:
        tab = self.output.active_tab
        name = self.selected
        if name is None:
            return
        state = self.session.state(name)
        if tab in ("request", "json"):
            if state.status == "running" and state.request is not None:
                self.output.show_request(state.request)
            else:
                request, error = request_preview(self.session, name)
                self.output.show_request(request, error)
        elif tab == "info":
            self.output.show_info(state.info)
        elif tab == "history":
            self._show_history(name)

    @work(thread=True, exclusive=True, group="history-view", description="read the history")
    def _show_history(self, name: str) -> None:
        """Read a prompt's earlier runs in a thread (SQLite), then draw them on the loop."""
        history = self.session.workspace.history
        if history is None:
            self.app.call_from_thread(self.output.show_history, name, [], "History is off.")
            return
        path = str(self.config.path) if self.config.path else self.path
        try:
            records = history.runs(config_path=path, prompt=name, limit=100)
        except Exception as exc:
            message = f"Cannot read the history: {exc}"
            self.app.call_from_thread(self.output.show_history, name, [], message)
            return
        self.app.call_from_thread(self.output.show_history, name, records)

    @on(msg.HistoryRunChosen)
    def _history_chosen(self, message: msg.HistoryRunChosen) -> None:
        record = self.output.history_record(message.index)
        if record is None:
            return
        import time

        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started_at or 0))
        note = f"history: {record.status} run of {when} with {record.model}"
        if record.error:
            note += f": {record.error}"
        self.output.show_tab("output")
        self.output.show_output(message.prompt, record_text(record) or "", live=False, note=note)

    # --- streaming ----------------------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        # A torrent (more text per tick than any provider sends: a local server, a replay) is
        # drawn every other tick: each frame costs the same whatever it carries.
        if not (self._torrent and self._ticks % 2):
            self._flush_stream()
        if self._ticks % SPIN_EVERY == 0 and any(
            s.status is PromptStatus.RUNNING for s in self.session.prompts.values()
        ):
            self.set_timer(FLUSH_INTERVAL / 2, self._spin)

    def _flush_stream(self) -> None:
        if not self.stream_dirty:
            return
        dirty, self.stream_dirty = self.stream_dirty, set()
        name = self.selected
        if name is None or name not in dirty:
            return
        state = self.session.state(name)
        if not state.streaming:
            return
        chunks = state.chunks
        if self._drawn > len(chunks):  # a retry restarted the stream
            self.show_selected_output()
            return
        if len(chunks) > self._drawn:
            text = "".join(chunks[self._drawn :])
            self._drawn = len(chunks)
            self._torrent = len(text) > TORRENT_CHARS
            self.output.append(text)

    def _spin(self) -> None:
        running = [n for n, s in self.session.prompts.items() if s.status is PromptStatus.RUNNING]
        if running:
            self.prompt_tree.tick(running)

    @on(msg.RunUpdate)
    def _run_update(self, message: msg.RunUpdate) -> None:
        event = message.event
        if isinstance(event, ev.RunDone | ev.Refused):
            self.refresh_header()
            return
        name = event.prompt
        self.prompt_tree.refresh_prompt(name)
        self.refresh_header()
        settled = isinstance(event, ev.Finished | ev.Cached | ev.Failed | ev.Blocked | ev.Cancelled)
        if settled or isinstance(event, ev.Queued):
            self.refresh_bindings()
        if isinstance(event, ev.Failed):
            self.notify(event.error, title=f"{name} failed", severity="error", timeout=8)
        if isinstance(
            event, ev.Finished | ev.Cached | ev.Failed
        ) and self.selected in self.session.with_downstream([name]):
            self._redraw_form()  # an output it reads changed
        if name != self.selected:
            return
        if settled or isinstance(event, ev.Started | ev.Retrying):
            self.show_selected_output()
            self._refresh_side_tabs()

    @on(msg.RunFinished)
    def _run_finished(self, message: msg.RunFinished) -> None:
        if message.error:
            self.notify(
                message.error,
                title="Run refused: nothing was sent" if message.refused else "Run failed",
                severity="error",
                timeout=10,
            )
            if self.selected is not None:
                self.output.set_note(message.error, "error")
        self.refresh_stale()
        self.prompt_tree.refresh_all()
        self.refresh_header()
        if self.selected is not None and self.output.active_tab == "history":
            self._show_history(self.selected)

    def _redraw_form(self) -> None:
        """Redraw the form's values, unless the user is typing in it."""
        if self.selected is None or self.form.has_focus_within or not self.session.graph_ready:
            return
        self.form.show(form_data(self.session, self.selected))

    def refresh_stale(self) -> None:
        changed = self.session.refresh_states()
        for name in changed:
            self.prompt_tree.refresh_prompt(name)
        if self.selected in changed:
            self.show_selected_output()
        self.refresh_header()

    def _schedule_stale(self) -> None:
        if self._stale_timer is not None:
            self._stale_timer.stop()
        self._stale_timer = self.set_timer(0.2, self.refresh_stale)

    # --- run actions --------------------------------------------------------------------------
    def action_run(self, mode: str, force: bool = False) -> None:
        name = self.selected
        if mode != "all" and name is None:
            self.notify("Select a prompt first.", severity="warning")
            return
        target = name if mode != "all" else None
        try:
            plan = self.session.workspace.plan(target, mode)
        except PromptTuiError as exc:
            self.notify(str(exc), title="Cannot run", severity="error")
            return
        busy = [n for n in plan if self.session.state(n).status.active]
        if busy:
            self.notify(f"Already running: {', '.join(busy)} (escape cancels)", severity="warning")
            return
        self.app.start_run(target, mode, force=force)

    def run_prompt(self, name: str, mode: str) -> None:
        self.select(name)
        self.action_run(mode)

    def action_cancel(self) -> None:
        """Cancel the whole run the selected prompt belongs to (or every run)."""
        workspace = self.session.workspace
        if not workspace.active_runs():
            self.notify("Nothing is running.", timeout=2)
            return
        run = workspace.run_of(self.selected) if self.selected else None
        if run is not None:
            count = self.app.cancel_runs(run.id)
            self.notify(f"Cancelled run {run.describe()} ({count} prompts)", timeout=2)
        else:
            count = self.app.cancel_runs()
            self.notify(f"Cancelled all runs ({count} prompts)", timeout=2)

    def action_cancel_prompt(self) -> None:
        """Cancel only the selected prompt; the rest of its run goes on."""
        name = self.selected
        if name is None or not self.session.state(name).status.active:
            self.notify("The selected prompt is not running.", timeout=2)
            return
        self.app.cancel_runs(prompt=name)
        self.notify(f"Cancelled {name}", timeout=2)

    def action_cancel_all(self) -> None:
        count = self.app.cancel_runs()
        self.notify(f"Cancelled all runs ({count} prompts)", timeout=2)

    # --- parameters and model -----------------------------------------------------------------
    @on(msg.ParameterEdited)
    def _parameter_edited(self, message: msg.ParameterEdited) -> None:
        message.stop()
        self.session.workspace.set_param(message.name, message.value)
        if message.value is None and self.selected:
            self.form.show(form_data(self.session, self.selected), focus=message.name)
        self._schedule_stale()

    @on(msg.ParameterWriteRequested)
    def _parameter_write(self, message: msg.ParameterWriteRequested) -> None:
        message.stop()
        name, prompt_name = message.name, self.selected
        if prompt_name is None:
            return
        row = next((r for r in form_data(self.session, prompt_name).params if r.name == name), None)
        if row is None or row.value is None:
            self.notify(f"'{name}' has no value to write.", severity="warning")
            return
        scope = None if message.scope == "global" else prompt_name
        self.session.workspace.write_parameter(scope, name, row.value)
        self.app.save_config(
            then=lambda: self.notify(f"{name} written as a {message.scope} parameter")
        )
        self.form.show(form_data(self.session, prompt_name), focus=name)
        self.refresh_header()
        self._schedule_stale()

    @on(msg.SettingEdited)
    def _setting_edited(self, message: msg.SettingEdited) -> None:
        message.stop()
        try:
            self.session.workspace.set_setting(message.prompt, message.key, message.value)
        except PromptTuiError as exc:
            self.notify(f"{exc} (m)", severity="warning")
            return
        self.refresh_header()
        self._schedule_stale()

    def _structure_changed(self, select: str | None) -> None:
        """Prompts, templates or models changed: rebuild the graph, tree and form."""
        self.session.rebuild()
        self.prompt_tree.rebuild(self.config.prompt_names)
        if select is not None:
            self.select(select, force=True)
        else:
            self.form.show(None)
            self.output.show_output(
                "", "", live=False, note="This config has no prompts: n adds one."
            )
        self.refresh_header()
        self._schedule_stale()

    # --- navigation ---------------------------------------------------------------------------
    def action_find(self) -> None:
        found = self.query(FindBar)
        if found:
            bar = found.first()
        else:
            bar = FindBar(id="find")
            self.query_one("#tree-pane").mount(bar, before=self.prompt_tree)
        bar.open(self.config.prompt_names, self.selected)

    def action_focus_tree(self) -> None:
        self.prompt_tree.focus()

    def action_focus_form(self) -> None:
        self.form.request_focus()

    def action_tab(self, name: str) -> None:
        self.output.show_tab(name)
        self._refresh_side_tabs()

    def action_toggle_rendered(self) -> None:
        name = self.selected
        if name is None:
            return
        text, live = self._shown_text(name)
        self.output.toggle_rendered(text, live)
        self.notify("Rendered Markdown" if self.output.rendered_wanted else "Raw text", timeout=1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel", "cancel_prompt"):
            return True if self.session.active() else None
        return True
