"""The main screen: prompt tree | parameter form | output, with the run and authoring keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from ...core.config import AIConfig
from ...core.display import plural
from ...core.errors import CycleError, PromptTuiError
from ...core.runs import PromptStatus, Run, RunMode
from .. import layout
from .. import messages as msg
from ..markup import plain
from ..recent import recent_for, remember_run
from ..state import Session
from ..view_models import form_data, offline_models, request_preview, run_state, tree_deps
from ..widgets.find_bar import FindBar
from ..widgets.header import AppHeader
from ..widgets.output_pane import OutputPane
from ..widgets.param_form import ParamForm
from ..widgets.prompt_tree import PromptTree
from ..widgets.run_estimate import EstimatesReady, RunEstimates
from ..write_only import write_only
from . import revision_actions
from .main_bindings import MAIN_BINDINGS
from .reload_controller import LiveReload

if TYPE_CHECKING:
    from ...core.reload import ReloadResult
    from ...core.workspace import Workspace
    from ..app import PromptTuiApp

FLUSH_INTERVAL = 0.05  # seconds between draws of streamed text (batches deltas)
# The spinner turns every SPIN_EVERY ticks, half a tick after a stream draw. Textual composites
# the bounding box of everything dirty in a frame: a spinner (left) and the stream (right) in the
# same frame repaint the whole screen, which slowed streaming and key presses (bench/stream.py).
SPIN_EVERY = 3
# More characters than this in one 50 ms batch (~16,000 tokens/s) is a torrent, not a model.
TORRENT_CHARS = 4_000


EXPORT_CHOICES = [
    ("output-markdown", "Output → Markdown", "primary"),
    ("output-json", "Output → JSON", "default"),
    ("run-markdown", "Run → Markdown", "default"),
    ("run-json", "Run → JSON", "default"),
    ("copy", "Copy output", "default"),
]


class MainScreen(Screen[None]):
    HELP = """\
### Main screen

`r` runs the selected prompt, `R` runs it with everything it depends on, `a` runs all prompts.
`escape` cancels the run the selected prompt is part of, dependencies included (or every run when
it is in none); `ctrl+x` cancels just the selected prompt.
`c` compares models side by side on it (or on its whole downstream chain).
`m` changes its model, `e` edits its template, `n` adds a prompt, `d` deletes it, `/` finds one.
`x` exports the output or the whole run (Markdown or JSON) or copies the output.
`ctrl+s` saves outputs, parameters and edits to the file. `t` switches theme, `?` lists every key.
Saving the file in an editor reloads it here; with auto-run on (`w` toggles it) the last run
target runs again, and only prompts whose request changed are sent.
"""

    BINDINGS = MAIN_BINDINGS

    def __init__(self, session: Session, path: str) -> None:
        super().__init__(id="main", classes=layout.breakpoint_classes(self.app))
        self.session = session
        self.path = path
        self.selected: str | None = None
        self._drawn = 0  # chunks of the selected prompt's stream already in the view
        self._stale_timer: Timer | None = None
        self._history_prompt: str | None = None
        self._live_shown: str | None = None  # the prompt whose live stream the output pane shows
        self._cancel_shown = False  # what check_action last told the footer about "cancel"
        self.form_ready = True  # kept for the benchmark's probe: the form is drawn at compose
        self.live_reload = LiveReload(self)
        self.engine_ready = False  # the graph is built too: dependencies, staleness, runs
        self.estimates = RunEstimates(self)  # what the next r / R / a would send and cost
        self._run_events: list[Any] = []  # RunUpdate events not drawn yet (drawn as one batch)

    @property
    def tui(self) -> PromptTuiApp:
        """The app that shows this screen, typed: its run and save actions are called here."""
        return cast("PromptTuiApp", self.app)

    # --- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader(id="header")
        with Horizontal(id="body"):
            with Vertical(id="tree-pane", classes="pane") as tree_pane:
                tree_pane.border_title = "Prompts"
                tree = self._build_tree()
                # the panes' widths are known now: the first frame is drawn in its final shape
                screen_width = self.tui.size.width
                tree_width = layout.tree_pane_width(tree.widest_label, screen_width)
                tree_pane.styles.width = tree_width
                tree.fit_labels(layout.label_cells(tree_width))
                yield tree  # the find bar is mounted above it on first use
            with Container(id="work"):
                # The first prompt's form is part of the first frame: a placeholder first
                # and the form a moment later is not a usable screen (issue 13).
                names = self.config.prompt_names
                first = form_data(self.session, names[0]) if names else None
                form = ParamForm(
                    id="form",
                    classes="pane",
                    data=first,
                    width=layout.form_width(screen_width, tree_width),
                )
                yield form
                output = OutputPane(
                    id="output",
                    classes="pane",
                    width=layout.output_width(screen_width, tree_width),
                )
                output.border_title = "Output"
                yield output
        yield Footer(compact=True)

    def _build_tree(self) -> PromptTree:
        """The tree with its prompts, built before it is mounted: a node added to a mounted tree
        schedules a layout per node (bench/scale.py)."""
        tree = PromptTree(id="tree")
        # the rows the first frame shows get their ▶ now (the whole graph comes in a thread)
        self.session.preview_graph(first=self.tui.size.height)
        tree.configure(
            status=lambda name: self.session.state(name).status,
            model=lambda name: layout.model_label(self.config, name),
            deps=lambda name: tree_deps(self.session, name),
        )
        tree.rebuild(self.config.prompt_names)
        return tree

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
    def config(self) -> AIConfig:
        return self.session.config

    def on_mount(self) -> None:
        names = self.config.prompt_names
        self.refresh_header()
        if names:
            self.select(names[0])
        else:
            self.form.show(None)
            self.output.show_output(
                "", "", live=False, note="This config has no prompts: n adds one."
            )
        self.prompt_tree.focus()
        self.tui.theme_changed_signal.subscribe(self, self._theme_changed)
        self._ticks = 0
        self._torrent = False
        self.set_interval(FLUSH_INTERVAL, self._tick, name="stream-and-spinner")
        if self.tui.ready_at is not None:  # a reload: the app's first frame is long gone
            self.call_after_refresh(self.after_first_frame)

    def after_first_frame(self) -> None:
        """The rest of the engine, after the first frame (the app calls this), never in its way:
        the selected prompt's form at once, then the dependency graph of every template in a
        thread (a 1,000-prompt file keeps answering keys meanwhile), then staleness."""
        self.output.markdown_allowed = True
        if self.selected is not None:
            self.show_selected_output()  # rendered Markdown is allowed now
        self.say_file_warnings()
        self._build_graph()

    def say_file_warnings(self) -> None:
        """What loaded but deserves a look (a key written twice: the last one wins), in one
        notification with each place: `prompt-tui validate` lists them too."""
        warnings = [str(w) for w in self.config.warnings]
        if warnings:
            more = (
                f"\n… and {len(warnings) - 3} more (prompt-tui validate)"
                if len(warnings) > 3
                else ""
            )
            title = "File warning" if len(warnings) == 1 else "File warnings"
            self.notify("\n".join(warnings[:3]) + more, title=title, severity="warning", timeout=10)

    @work(thread=True, exclusive=True, group="graph", description="build the dependency graph")
    def _build_graph(self) -> None:
        self.session.ensure_graph()
        # Markdown: the output pane renders finished outputs with it. Loaded here, off the
        # event loop, or the first output shown (often the redraw after a save) imports it on
        # the loop (bench/reload.py).
        from textual.widgets import Markdown  # noqa: F401

        # loaded in this thread: the first run or estimate does not pay for it on the loop
        from ...core import providers  # noqa: F401

        self.tui.call_from_thread(self._graph_built)

    def _graph_built(self) -> None:
        if not self.is_attached:  # the app quit (or the screen went) while the graph was built
            return
        self.prompt_tree.refresh_expandable()  # prompts with dependencies get their arrow
        # Redraw the form for what it could not know before: graph errors (a cycle, an unknown
        # reference).
        self._redraw_form()
        self.engine_ready = True
        self._load_baselines()
        self.tui.engine_loaded()  # the providers' preparation may start now
        self.live_reload.start()

    @work(thread=True, group="baselines", description="read where outputs came from")
    def _load_baselines(self) -> None:
        """The history lookup behind staleness touches SQLite: never on the event loop."""
        self.session.workspace.ensure_baselines()
        self.tui.call_from_thread(self.refresh_stale)
        revision_actions.refresh_marks_now(self)

    def refresh_header(self) -> None:
        self.query_one(AppHeader).show(
            name=self.config.name,
            path=self.path,
            dirty=self.session.dirty,
            state=run_state(self.session),
            watch=self.live_reload.state,
        )

    def fit_tree_width(self) -> None:
        """The tree pane as wide as its labels (see layout.tree_pane_width)."""
        widest = self.prompt_tree.widest_label  # measured when the tree is built, not per resize
        width = layout.tree_pane_width(widest, self.tui.size.width)
        self.query_one("#tree-pane").styles.width = width
        self.prompt_tree.fit_labels(layout.label_cells(width))

    def on_resize(self) -> None:
        self.fit_tree_width()

    def _theme_changed(self, _theme: object) -> None:
        self.prompt_tree.refresh_all()

    @on(msg.AppReady)
    def _app_ready(self, message: msg.AppReady) -> None:
        message.stop()
        self.after_first_frame()

    @on(msg.FileSaved)
    def _file_saved(self, message: msg.FileSaved) -> None:
        message.stop()
        self.refresh_header()

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
        drawn = self.form.data
        if force or drawn is None or drawn.prompt != name:
            self.form.show(form_data(self.session, name))
        self.show_selected_output()
        self._refresh_side_tabs()
        self.schedule_estimate()

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
        note = state.note or (
            "" if text else layout.waiting_note(state.status, self.session.workspace, name)
        )
        # A stream that just ended stays as it was drawn (raw): rendering it as Markdown now
        # would reflow the text under the reader's eyes. `v` or the next selection renders it.
        keep_raw = not live and self._live_shown == name
        self._live_shown = name if live else None
        self._drawn = len(state.chunks)
        self.output.show_output(
            name, text, live=live, note=note, severity=severity, keep_raw=keep_raw
        )
        self.output.border_title = plain(f"Output · {name}" + (" (live)" if live else ""))

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
                self._preview_request(name)
        elif tab == "info":
            form = self.form.data
            attachments = form.attachments if form is not None and form.prompt == name else []
            self.output.show_info(state.result, attachments)
            self._show_estimate_info()
        elif tab == "history":
            self._show_history(name)

    @work(thread=True, exclusive=True, group="request-preview", description="render a request")
    def _preview_request(self, name: str) -> None:
        """Rendering runs the prompt's templates: off the event loop, so a heavy template never
        freezes the screen (its work budget ends it; quitting stops it at once)."""
        request, error = request_preview(self.session, name)
        self.app.call_from_thread(self._show_preview, name, request, error)

    def _show_preview(self, name: str, request: Any, error: str | None) -> None:
        if name == self.selected:  # the selection may have moved on while it rendered
            self.output.show_request(request, error)

    @work(thread=True, exclusive=True, group="history-view", description="read the history")
    def _show_history(self, name: str) -> None:
        """Read a prompt's earlier runs in a thread (SQLite), then draw them on the loop."""
        revision_actions.load_history(self, name)

    @on(msg.HistoryRunChosen)
    def _history_chosen(self, message: msg.HistoryRunChosen) -> None:
        revision_actions.show_diff(self, message.prompt, message.index)

    @on(msg.HistoryDiffClosed)
    def _history_diff_closed(self, message: msg.HistoryDiffClosed) -> None:
        message.stop()
        self.show_selected_output()
        self.output.show_tab(message.tab)
        if message.tab == "history":
            self.output.focus_history()

    @on(msg.BaselineRequested)
    def _baseline_requested(self, message: msg.BaselineRequested) -> None:
        revision_actions.set_baseline(self, message.prompt, message.index)

    @on(msg.RateRequested)
    def _rate_requested(self, message: msg.RateRequested) -> None:
        revision_actions.rate_history_row(self, message.prompt, message.index, message.score)

    def action_rate(self, score: float) -> None:
        revision_actions.rate_output(self, float(score))

    def action_rate_dialog(self) -> None:
        revision_actions.rate_output(self, None, ask=True)

    def shown_text(self, name: str) -> str:
        """The text the output view shows for a prompt (its stream, else its stored output)."""
        return self._shown_text(name)[0]

    # --- streaming ----------------------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        self.live_reload.tick()
        if self._run_events:
            self._draw_run_updates()
        # A torrent (more text per tick than any provider sends: a local server, a replay) is
        # drawn every other tick: each frame costs the same whatever it carries.
        if not (self._torrent and self._ticks % 2):
            self._flush_stream()
        if self._ticks % SPIN_EVERY == 0 and any(
            s.status is PromptStatus.RUNNING for s in self.session.prompts.values()
        ):
            self.set_timer(FLUSH_INTERVAL / 2, self._spin)

    def _flush_stream(self) -> None:
        if not self.session.stream_dirty:
            return
        dirty, self.session.stream_dirty = self.session.stream_dirty, set()
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
            if self._drawn == 0 and not state.note:
                self.output.set_note("")  # the first words: "waiting for the first words" goes
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
        """Collect the event; the views are drawn once per frame (``_tick``) for every event
        that arrived since the last draw, and at the run's end: a 1,000-prompt run redrew the
        tree row, the header and the form once per event (bench/run_all_tui.py)."""
        from ...core import events as ev  # loaded with the first run, not before the first frame

        event = message.event
        if not isinstance(event, ev.Queued):  # a re-run after a save: its request is out
            self.live_reload.run_event(event.run_id)
        if isinstance(event, ev.Failed):
            self.notify(event.error, title=f"{event.prompt} failed", severity="error", timeout=8)
        self._run_events.append(event)
        if getattr(event, "prompt", None) == self.selected and not isinstance(event, ev.Queued):
            # What the user looks at is drawn at once, the rest per frame. "Queued" waits for
            # the tick too: its frame (tree, header, the footer's cancel key: a layout) came
            # between the run's start and its first request (bench/stream.py).
            self._draw_run_updates()

    def _draw_run_updates(self) -> None:
        from ...core import events as ev

        events, self._run_events = self._run_events, []
        if not events:
            return
        touched: dict[str, None] = {}
        produced: set[str] = set()
        sync = show = False
        for event in events:
            if isinstance(event, ev.RunDone | ev.Refused):
                sync = True
                continue
            name = event.prompt
            touched[name] = None
            settled = isinstance(
                event, ev.Finished | ev.Cached | ev.Failed | ev.Blocked | ev.Cancelled
            )
            sync = sync or settled or isinstance(event, ev.Queued)
            if isinstance(event, ev.Finished | ev.Cached | ev.Failed):
                produced.add(name)
            if name == self.selected and (
                settled or isinstance(event, ev.Queued | ev.Started | ev.Retrying)
            ):
                show = True  # queued, waiting for the first words: say so
        for name in touched:
            self.prompt_tree.refresh_prompt(name)
        self.refresh_header()
        if sync:
            self._sync_cancel_key()
        if produced and self._reads_any(produced):
            self._redraw_form()  # an output it reads changed
        if show:
            self.show_selected_output()
            self._refresh_side_tabs()

    def _reads_any(self, names: set[str]) -> bool:
        """Is the selected prompt one of ``names`` or downstream of one of them?"""
        selected = self.selected
        if selected is None:
            return False
        if selected in names:
            return True
        graph = self.session.workspace.graph
        if selected not in graph.deps:
            return False
        try:
            return not names.isdisjoint(graph.upstream(selected))
        except PromptTuiError:  # a cycle: no order, but still edges
            return selected in self.session.with_downstream(sorted(names))

    @on(msg.RunFinished)
    def _run_finished(self, message: msg.RunFinished) -> None:
        self.live_reload.run_event(message.run.id)
        self._draw_run_updates()  # the events of the run's last frame
        remember_run(message.run)
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
        revision_actions.refresh_marks(self)

    def _redraw_form(self) -> None:
        """Redraw the form's values, unless the user is typing in it."""
        if self.selected is None or self.form.has_focus_within or not self.form_ready:
            return
        self.form.show(form_data(self.session, self.selected))

    def refresh_stale(self) -> None:
        changed = self.session.refresh_states()
        for name in changed:
            self.prompt_tree.refresh_prompt(name)
        if self.selected in changed:
            self.show_selected_output()
        self.refresh_header()
        self.schedule_estimate()

    # --- estimates (widgets/run_estimate.py) ----------------------------------------------------
    def schedule_estimate(self) -> None:
        """Something that moves the next run's cost changed: estimate again, off the loop."""
        if self.engine_ready:
            self.estimates.schedule(self.session.workspace, self.selected)

    @on(EstimatesReady)
    def _estimates_ready(self, message: EstimatesReady) -> None:
        message.stop()
        if self.estimates.accept(message):
            header = self.query_one(AppHeader)
            header.show_estimate(self.estimates.header_text(header.size.width or 80))
            if self.output.active_tab == "info":
                self._show_estimate_info()

    def _show_estimate_info(self) -> None:
        name = self.selected
        self.output.show_estimate(
            self.estimates.info_text(name, self.estimates.last_run(name) if name else None)
        )

    def _start_run(self, target: str | None, mode: RunMode, force: bool) -> None:
        """Start the run, first asking when its estimate is above the user's threshold
        (``confirm_cost_above`` in the settings file); ``max_cost`` there is its budget."""
        from ...core.settings import load as load_settings

        settings = load_settings()
        self.estimates.hold_to(settings.max_cost, self.session.workspace.runner)
        found = self.estimates.for_run(target, mode)
        question = self.estimates.confirmation(found, settings.confirm_cost_above, force=force)
        if question is None:
            self.estimates.run_started(self.tui.start_run(target, mode, force=force))
            return
        from .confirm import ConfirmScreen

        def answered(answer: str | None) -> None:
            if answer == "run":
                self.estimates.run_started(self.tui.start_run(target, mode, force=force))

        answers = [("run", "Run", "warning"), ("cancel", "Cancel", "default")]
        self.app.push_screen(ConfirmScreen("Run this?", question, answers), answered)

    def _schedule_stale(self) -> None:
        self.schedule_estimate()  # at once: an estimate under way is superseded by the edit
        if self._stale_timer is not None:
            self._stale_timer.stop()
        self._stale_timer = self.set_timer(0.2, self.refresh_stale)

    # --- run actions --------------------------------------------------------------------------
    def action_run(self, mode: RunMode, force: bool = False) -> None:
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
        invalid = self.form.invalid_settings(plan)
        if invalid:  # a run would send the old value: the user typed another one
            self.notify("\n".join(invalid), title="Not run: fix the form first", severity="error")
            return
        self._start_run(target, mode, force)

    def action_answer_tool(self) -> None:
        """Answer the selected prompt's tool call, then run it again (its conversation goes on)."""
        from functools import partial

        from .tool_answer import ask_tool_results

        run_again = partial(self.action_run, "one")
        ask_tool_results(self.app, self.session.workspace, self.selected, run_again)

    def action_keys(self) -> None:
        from .keys import open_keys_screen

        open_keys_screen(self.app)

    def run_prompt(self, name: str, mode: RunMode) -> None:
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
            count = self.tui.cancel_runs(run.id)
            self.notify(f"Cancelled run {run.describe()} ({plural(count, 'prompt')})", timeout=2)
        else:
            count = self.tui.cancel_runs()
            self.notify(f"Cancelled all runs ({plural(count, 'prompt')})", timeout=2)

    def action_cancel_prompt(self) -> None:
        """Cancel only the selected prompt; the rest of its run goes on."""
        name = self.selected
        if name is None or not self.session.state(name).status.active:
            self.notify("The selected prompt is not running.", timeout=2)
            return
        self.tui.cancel_runs(prompt=name)
        self.notify(f"Cancelled {name}", timeout=2)

    def action_compare(self) -> None:
        from .compare import open_compare

        open_compare(self)

    def action_batch(self) -> None:
        from .matrix import open_matrix

        open_matrix(self)

    def action_past_comparisons(self) -> None:
        from .compare import open_past

        open_past(self)

    def adopted(self, name: str) -> None:
        """A comparison column was adopted: the prompt's model and outputs changed."""
        self._structure_changed(select=name)

    def action_cancel_all(self) -> None:
        count = self.tui.cancel_runs()
        self.notify(f"Cancelled all runs ({plural(count, 'prompt')})", timeout=2)

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
        workspace, value = self.session.workspace, row.value
        write_only(  # this parameter only: a pending delete or unsaved outputs stay unsaved
            self.tui,
            self.config,
            write=lambda: workspace.write_parameter_only(scope, name, value),
            keep=lambda: workspace.write_parameter(scope, name, value),
            done=f"{name} as a {message.scope} parameter",
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
        self.prompt_tree.rebuild_keeping(self.config.prompt_names)  # what the user opened stays
        self.fit_tree_width()
        if select is not None:
            self.select(select, force=True)
        else:
            self.selected = None
            self.form.show(None)
            self.output.border_title = "Output"
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
        if name == "history":
            self.output.focus_history()

    def action_toggle_rendered(self) -> None:
        name = self.selected
        if name is None:
            return
        text, live = self._shown_text(name)
        self.output.toggle_rendered(text, live)
        self.notify("Rendered Markdown" if self.output.rendered_wanted else "Raw text", timeout=1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel", "cancel_prompt"):
            # Shown only while something runs: the footer keeps its room for keys that work.
            return bool(self.session.active())
        return True

    def _sync_cancel_key(self) -> None:
        """Refresh the bindings only when "cancel" appears or goes: each refresh recomposes the
        footer, and a re-run after a save sent ten in a row, which held the re-run's request
        back (bench/reload.py)."""
        shown = bool(self.session.active())
        if shown != self._cancel_shown:
            self._cancel_shown = shown
            self.refresh_bindings()

    # --- live reload (the controller does the work; the screen redraws) -----------------------
    @on(msg.FileChanged)
    def _file_changed(self, message: msg.FileChanged) -> None:
        message.stop()
        self.live_reload.file_changed()

    def action_reload_from_disk(self) -> None:
        self.live_reload.apply(None)

    def action_toggle_autorun(self) -> None:
        self.live_reload.toggle_auto_run()

    def redraw_after_reload(self, result: ReloadResult) -> None:
        """A new version of the file is the document: tree, form and notes follow it, keeping
        selection, expansion and scroll."""
        names = self.session.config.prompt_names
        selected = self.selected if self.selected in names else (names[0] if names else None)
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

    # --- authoring: model, template, new and deleted prompts ----------------------------------
    def action_model(self) -> None:
        from .model_picker import ModelPickerScreen

        name = self.selected
        if name is None:
            return
        prompt = self.config.prompt(name)
        current = self.config.model_name_of(prompt)

        def chosen(model: str | None) -> None:
            if model and " " in model.strip():  # "openai/ID api_base=http://host:port/v1"
                self._set_model_spec(name, model)
            elif model == "mock" and not self._has_mock_response(name):
                self.ask_mock_response(name)
            elif model:
                self.set_model(name, model)

        self.tui.push_screen(
            ModelPickerScreen(
                name,
                current,
                config_models=list(self.config.models),
                recent=recent_for(self.config),
                offline=offline_models(),
            ),
            chosen,
        )

    def set_model(self, name: str, model: str, settings: dict[str, Any] | None = None) -> None:
        # "recent" remembers a model once a run with it succeeds (the app does), not when picked:
        # a mistyped id must not come back as a suggestion.
        if not self.session.workspace.set_model(name, model, settings):
            return
        self._structure_changed(select=name)
        just_asked = {"response"} if model == "mock" else set()  # typed a moment ago
        kept = [k for k in self.config.prompt(name).model_settings if k not in just_asked]
        more = f" (its settings kept: {', '.join(kept)})" if kept else ""
        self.notify(f"{name} now uses {model}{more}", timeout=3)

    def _set_model_spec(self, name: str, spec: str) -> None:
        """A model typed with settings, as a comparison column is (``MODEL KEY=VALUE...``):
        a custom ``openai/<id>`` needs its ``api_base`` or it goes to api.openai.com."""
        from ...core.compare import Column  # comparisons load when first used, not at start

        try:
            column = Column.parse(spec)
        except PromptTuiError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        own = dict(self.config.prompt(name).model_settings)
        self.set_model(name, column.model, {**own, **column.settings})

    def _has_mock_response(self, name: str) -> bool:
        prompt = self.config.prompt(name)
        own = prompt.model_settings if prompt.model_name == "mock" else {}
        merged = {**self.config.models.get("mock", {}), **own}
        return isinstance(merged.get("response"), str)

    def ask_mock_response(self, name: str) -> None:
        """The mock model answers with its ``response`` setting: ask for it when it has none."""
        from .ask_text import AskTextScreen

        def answered(text: str | None) -> None:
            if text is None:
                return
            own = dict(self.config.prompt(name).model_settings)  # kept, as for any model
            self.set_model(name, "mock", {**own, "response": text})

        self.tui.push_screen(
            AskTextScreen(
                "The mock model answers with a fixed text: what should it say?",
                placeholder="e.g. Three sunny days, pack light.",
                value="A fixed answer from the mock model.",
            ),
            answered,
        )

    def action_edit(self) -> None:
        from .template_editor import TemplateEditorScreen

        name = self.selected
        if name is None:
            return
        prompt = self.config.prompt(name)
        if prompt.template is None:
            self.notify(
                "This prompt's input is not text (attachments): edit it in the file.",
                severity="warning",
            )
            return

        def saved(text: str | None) -> None:
            if text is None or text == prompt.template:
                return
            self.write_template(name, text)

        self.tui.push_screen(
            TemplateEditorScreen(name, prompt.template, self.config.prompt_names), saved
        )

    def write_template(self, name: str, text: str) -> None:
        """The editor's ctrl+s: this template goes into the file, nothing else of the session."""
        workspace = self.session.workspace
        if self.config.changed_on_disk():
            workspace.set_template(name, text)
            self._structure_changed(select=name)
            self.notify(
                "The file changed on disk: the template is kept in this session "
                "(ctrl+s asks how to save it).",
                severity="warning",
            )
            return
        try:
            written = workspace.save_template(name, text)
        except (PromptTuiError, OSError) as exc:
            self._structure_changed(select=name)
            self.notify(str(exc), title="Save failed", severity="error")
            return
        self._structure_changed(select=name)
        self.notify(f"Template of {name} written to {written}", title="Saved", timeout=3)
        self._warn_cycle(name)

    def _warn_cycle(self, name: str) -> None:
        """A template that closes a loop of outputs saves (the file is the user's), never
        silently: no prompt of the loop can run until it is broken."""
        cycle = self.session.workspace.graph.cycle
        if cycle and name in cycle:
            self.notify(
                f"{CycleError(cycle)}: these prompts cannot run until a template breaks it",
                title="Dependency cycle",
                severity="warning",
                timeout=8,
                markup=False,
            )

    def action_new(self) -> None:
        from .ask_text import AskTextScreen

        names = set(self.config.prompt_names)

        def check(value: str) -> str | None:
            if not value:
                return "a prompt needs a name"
            if value in names:
                return f"a prompt named '{value}' already exists"
            return None

        def created(value: str | None) -> None:
            if not value:
                return
            try:
                note = self.session.workspace.add_prompt(value, "", after=self.selected)
            except PromptTuiError as exc:
                self.notify(str(exc), severity="error")
                return
            if note:
                self.notify(note, title="New prompt", timeout=6, markup=False)
            self._structure_changed(select=value)
            self.action_edit()

        self.tui.push_screen(
            AskTextScreen("New prompt: its name", placeholder="e.g. summarize", check=check),
            created,
        )

    def action_delete(self) -> None:
        from .confirm import ConfirmScreen

        name = self.selected
        if name is None:
            return
        if self.session.state(name).status.active:
            self.notify(f"{name} is running: cancel it first (escape).", severity="warning")
            return
        extra = _what_depends_on(self.session, name)

        def answered(answer: str | None) -> None:
            if answer != "delete":
                return
            names = self.config.prompt_names
            index = names.index(name)
            self.session.workspace.delete_prompt(name)
            remaining = self.config.prompt_names
            after = remaining[min(index, len(remaining) - 1)] if remaining else None
            self.selected = None
            self._structure_changed(select=after)
            self.notify(f"Deleted {name} (u brings it back; ctrl+s writes the file)", timeout=4)

        self.tui.push_screen(
            ConfirmScreen(
                "Delete prompt",
                f"Delete '{name}'?{extra}",
                [("delete", "Delete", "error"), ("cancel", "Cancel", "default")],
            ),
            answered,
        )

    def action_undo_delete(self) -> None:
        """u: the newest delete since the last save is undone (the file never had it)."""
        name = self.session.workspace.undo_delete()
        if name is None:
            pending = self.session.workspace.deleted
            why = f"a prompt named '{pending[-1]}' exists again" if pending else "no unsaved delete"
            self.notify(f"Nothing to undo: {why}.", severity="warning", markup=False)
            return
        self._structure_changed(select=name)
        self.notify(f"{name} is back", timeout=3, markup=False)

    # --- export -------------------------------------------------------------------------------
    def action_export(self, choice: str = "") -> None:
        if self.selected is None:
            self.notify("Select a prompt first.", severity="warning")
            return
        if choice:
            self.export(choice)
            return
        from .confirm import ConfirmScreen

        def answered(answer: str | None) -> None:
            if answer:
                self.export(answer)

        self.tui.push_screen(
            ConfirmScreen(
                "Export",
                f"Export the output of '{self.selected}', or the whole run it was part of "
                "(every prompt's request, output and metrics), beside the config file.",
                EXPORT_CHOICES + [("cancel", "Cancel", "default")],
            ),
            answered,
        )

    def export(self, choice: str) -> Path | None:
        name = self.selected
        if name is None or choice == "cancel":
            return None
        if choice == "copy":
            text, _ = self._shown_text(name)
            if not text:
                self.notify("Nothing to copy: this prompt has no output yet.", severity="warning")
                return None
            self.tui.copy_to_clipboard(text)
            self.notify(
                f"Copied {len(text):,} characters (OSC 52: needs a terminal that allows it)",
                timeout=3,
            )
            return None
        from ...core import export

        what, fmt_name = choice.split("-", 1)
        fmt: export.Format = "json" if fmt_name == "json" else "markdown"
        workspace = self.session.workspace
        run: Run | None = None
        if what == "output":
            names, title = [name], f"{self.config.name or 'prompt-tui'}: {name}"
        else:
            run = newest_run_with(workspace, name)
            if run is None:
                self.notify("No run in this session yet: r, R or a runs prompts.", timeout=3)
                return None
            names = [n for n in self.config.prompt_names if n in run.results]
            title = f"{self.config.name or 'prompt-tui'}: run of {run.describe()}"
        records = []
        for prompt in names:
            stored = self.config.get(prompt)
            result = workspace.last_result(prompt) if run is None else run.results.get(prompt)
            made_by = run or newest_run_with(workspace, prompt)
            records.append(
                export.record_of(
                    prompt,
                    result,
                    stored.output_text if stored else None,
                    **export.run_labels(workspace.history, made_by, prompt),
                )
            )
        if not any(record.output for record in records):  # an empty file helps nobody
            self.notify(f"Nothing to export: {name} has no output yet.", severity="warning")
            return None
        target = export.export_path(Path(self.path), name if what == "output" else "run", fmt)
        try:
            export.write_export(target, export.render(fmt, title, records))
        except (OSError, PromptTuiError) as exc:
            self.notify(f"Cannot write {target}: {exc}", title="Export failed", severity="error")
            return None
        self.notify(f"Exported to {target}", title="Export", timeout=5)
        return target


def _what_depends_on(session: Session, name: str) -> str:
    """The delete dialog's line on what would miss a prompt: the prompts that read its output,
    and apart from them the ones that depend on it only through others (or the chat history)."""
    dependents = session.with_downstream([name])[1:]
    if not dependents:
        return ""
    direct = [n for n in dependents if name in session.reads(n)]
    further = [n for n in dependents if n not in direct]
    parts = []
    if direct:
        parts.append(f"{', '.join(direct)} read{'s' if len(direct) == 1 else ''} its output")
    if further:
        how = "through them" if direct else "through the chat history"
        verb = "depends" if len(further) == 1 else "depend"
        parts.append(f"{', '.join(further)} {verb} on it {how}")
    return "\n" + "; ".join(parts) + "."


def newest_run_with(workspace: Workspace, prompt: str) -> Run | None:
    """The newest run of this session that reached ``prompt`` (else the newest run)."""
    runs = list(workspace.runs.values())
    for run in reversed(runs):
        if prompt in run.results:
            return run
    return runs[-1] if runs else None
