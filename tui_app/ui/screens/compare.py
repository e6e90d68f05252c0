"""The comparison screen: one column per model, streaming live side by side, with metrics, a
word-level diff against a chosen column, cancel / re-run per column, and Adopt.

The engine (:mod:`tui_app.core.compare`) runs the columns; a worker drains its events and a
50 ms timer redraws the columns whose run changed. Nothing reaches the document until Adopt.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...core.compare import Column, ColumnMetrics, Comparison, new_comparison
from ...core.compare_history import PastComparison
from ...core.errors import PromptTuiError
from ..adopted import show_adopted
from ..markup import styled
from ..widgets.compare_column import CompareColumn
from ..write_only import write_only

if TYPE_CHECKING:
    from ...core.workspace import Workspace

REDRAW_INTERVAL = 0.05  # seconds between redraws of streaming columns
# Columns drawn per tick while streaming, in turn. Textual repaints the bounding box of what
# changed in a frame: six columns side by side in one frame repaint the whole screen 20 times a
# second; one column a sixth of it (each column still updates every 300 ms while six stream).
COLUMNS_PER_TICK = 1


class CompareScreen(Screen[None]):
    HELP = """\
### Comparison

Each column is one model (and its settings) answering the same prompt; in chain mode each column
also runs the prompt's downstream with its answer. `←`/`→` move between columns.
`d` highlights the words that differ from the diff base: the config's baseline run when it has
one (`prompt-tui baseline set`), else column 1 (`b` makes the focused column the base).
`+` / `-` rate the focused column's answer 👍 / 👎 (kept in the history). A column `@REV` is the
file as committed at that git revision.
`x` cancels the focused column (the others go on), `X` cancels all; `r` re-runs the focused
column, `R` all. `A` adopts the focused column: its model and settings become the prompt's, its
answers the outputs, and the file is saved. `escape` goes back (running columns are cancelled).
"""

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the prompts (running columns stop)"),
        Binding("left", "move(-1)", "←", show=False, tooltip="Focus the column on the left"),
        Binding("right", "move(1)", "→", show=False, tooltip="Focus the column on the right"),
        Binding(
            "d", "toggle_diff", "Diff", tooltip="Highlight the words that differ from the base"
        ),
        Binding("b", "set_base", "Diff base", tooltip="Make the focused column the diff base"),
        Binding("x", "cancel_column", "Cancel col", tooltip="Cancel the focused column"),
        Binding("X", "cancel_all", "Cancel all", show=False, tooltip="Cancel every column"),
        Binding("r", "rerun", "Re-run col", tooltip="Run the focused column again"),
        Binding("R", "rerun_all", "Re-run all", show=False, tooltip="Run every column again"),
        Binding(
            "A",
            "adopt",
            "Adopt",
            tooltip="Its model, settings and answer become the prompt's (written)",
        ),
        Binding(
            "plus", "rate(1)", "👍", show=False, tooltip="Rate the focused column's answer good"
        ),
        Binding(
            "minus", "rate(0)", "👎", show=False, tooltip="Rate the focused column's answer bad"
        ),
    ]

    def __init__(
        self,
        comparison: Comparison | None = None,
        *,
        past: PastComparison | None = None,
        on_adopted: Any = None,
    ) -> None:
        super().__init__(id="compare")
        assert comparison is not None or past is not None
        self.comparison = comparison
        self.past = past
        self.on_adopted = on_adopted
        self.diff = False
        self.base = 0
        # the baseline run's answer to the compared prompt: the diff base until `b` picks a column
        self.baseline_text: str | None = None
        self.base_is_baseline = False
        self._next = 0  # the column the next streaming redraw starts with

    # --- what is shown ----------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        source = self.comparison or self.past
        assert source is not None
        return [c.label for c in source.columns]

    @property
    def chain(self) -> bool:
        if self.comparison is not None:
            return self.comparison.chain
        return self.past is not None and len(self.past.steps) > 1

    @property
    def prompt(self) -> str:
        source = self.comparison or self.past
        assert source is not None
        return source.prompt

    def metrics(self) -> list[ColumnMetrics]:
        source = self.comparison or self.past
        assert source is not None
        return source.all_metrics()

    def compose(self) -> ComposeResult:
        steps = (self.comparison or self.past).steps  # type: ignore[union-attr]
        yield Static("", id="compare-title")
        with Horizontal(id="compare-columns"):
            for i, label in enumerate(self.labels):
                yield CompareColumn(i, label, chain=self.chain, last_step=steps[-1])
        yield Footer(compact=True)

    DEFAULT_CSS = """
    #compare-title {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    #compare-columns {
        height: 1fr;
    }
    """

    @property
    def columns(self) -> list[CompareColumn]:
        return list(self.query(CompareColumn))

    def on_mount(self) -> None:
        self.columns[0].focus()
        self.refresh_title()
        self.redraw()
        self._load_baseline()
        if self.comparison is not None:
            self.set_interval(REDRAW_INTERVAL, self._tick, name="compare-redraw")
            self._drive("all")

    def refresh_title(self) -> None:
        source = self.comparison or self.past
        assert source is not None
        mode = f"chain: {' → '.join(source.steps)}" if self.chain else "prompt"
        where = "from history, " if self.past is not None else ""
        against = "baseline" if self.base_is_baseline else str(self.base + 1)
        diff = f"  diff vs {against}" if self.diff else ""
        self.query_one("#compare-title", Static).update(
            styled(
                "Compare [b]$prompt[/b] ($mode)  $rest",
                prompt=self.prompt,
                mode=mode,
                rest=f"{where}group {source.group_id}{diff}",
            )
        )

    def redraw(self, *, limit: int | None = None) -> None:
        """Draw the columns whose state changed (while streaming: ``limit`` per call, in turn)."""
        found = self.metrics()
        base_text = found[self.base].text if self.diff else None
        if self.diff and self.base_is_baseline:
            base_text = self.baseline_text
        columns = self.columns
        count = len(columns)
        drawn = 0
        for offset in range(count):
            index = (self._next + offset) % count
            column = columns[index]
            own_base = index == self.base and not self.base_is_baseline
            if column.show(found[index], None if own_base else base_text):
                drawn += 1
                if limit is not None and drawn >= limit:
                    self._next = (index + 1) % count
                    return

    def _tick(self) -> None:
        self.redraw(limit=COLUMNS_PER_TICK)

    @work(thread=True, group="compare-baseline", description="read the baseline")
    def _load_baseline(self) -> None:
        """The config's baseline answer to this prompt (SQLite: in a thread)."""
        from ...core.rundiff import baseline_answer

        app: Any = self.app
        workspace = app.workspace
        path = workspace.document.path
        text = baseline_answer(workspace.history, str(path) if path else "", self.prompt)
        if text is not None:
            app.call_from_thread(self._baseline_loaded, text)

    def _baseline_loaded(self, text: str) -> None:
        self.baseline_text, self.base_is_baseline = text, True
        self.refresh_title()
        self.redraw()

    def action_rate(self, score: float) -> None:
        """Rate the focused column's answer to the compared prompt (its run in the history)."""
        comparison = self.comparison
        if comparison is None:
            self.notify("A comparison from the history: r re-runs it, then rate.", timeout=4)
            return
        index = self.focused_index
        run = comparison.runs[index]
        if not run.results.get(self.prompt) or not run.results[self.prompt].succeeded:
            self.notify("This column has no answer to rate yet.", severity="warning")
            return
        self._rate(run.id, float(score), comparison.columns[index].label)

    @work(thread=True, group="compare-rate", description="store a rating")
    def _rate(self, run_id: str, score: float, label: str) -> None:
        from ...core.history import Rating

        app: Any = self.app
        history = app.workspace.history
        if history is None:
            app.call_from_thread(self.notify, "History is off: nothing to rate.")
            return
        try:
            history.rate(Rating(run_id=run_id, prompt=self.prompt, score=score))
        except PromptTuiError as exc:
            app.call_from_thread(self.notify, str(exc), severity="error")
            return
        thumb = "👍" if score >= 1 else "👎"
        app.call_from_thread(self.notify, f"{label}: {thumb}", title="Rated")

    # --- running ----------------------------------------------------------------------------
    @work(group="compare", exclusive=False, description="compare models")
    async def _drive(self, which: str | int) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        if which == "all":
            events = comparison.execute()
        elif which == "rerun_all":
            events = comparison.rerun_all()
        else:
            events = comparison.rerun(int(which))
        error: str | None = None
        try:
            async for _ in events:
                pass
        except PromptTuiError as exc:
            error = str(exc)
        finally:
            await events.aclose()
        if comparison.refusal is not None:
            error = comparison.refusal
        if not self.is_attached:
            return  # the screen closed (or the app is exiting) while the columns ran
        self.redraw()
        if error:
            self.notify(error, title="Comparison", severity="error", timeout=10)

    @property
    def focused_index(self) -> int:
        focused = self.focused
        return focused.index if isinstance(focused, CompareColumn) else 0

    def action_move(self, step: int) -> None:
        columns = self.columns
        index = max(0, min(len(columns) - 1, self.focused_index + step))
        columns[index].focus()

    def action_toggle_diff(self) -> None:
        self.diff = not self.diff
        for column in self.columns:
            own = column.index == self.base and not self.base_is_baseline
            column.set_title(base=self.diff and own)
        self.refresh_title()
        self.redraw()

    def action_set_base(self) -> None:
        self.base = self.focused_index
        self.base_is_baseline = False
        self.diff = True
        for column in self.columns:
            column.set_title(base=column.index == self.base)
        self.refresh_title()
        self.redraw()

    def action_cancel_column(self) -> None:
        if self.comparison is None or not self.comparison.runs[self.focused_index].active:
            self.notify("This column is not running.", timeout=2)
            return
        self.comparison.cancel(self.focused_index)

    def action_cancel_all(self) -> None:
        if self.comparison is not None:
            self.comparison.cancel()

    def action_rerun(self) -> None:
        comparison = self._live()
        if comparison is None:
            return
        index = self.focused_index
        if comparison.runs[index].active:
            self.notify("This column is still running (x cancels it).", severity="warning")
            return
        self._drive(index)

    def action_rerun_all(self) -> None:
        comparison = self._live()
        if comparison is None:
            return
        if comparison.active:
            self.notify("Still running (X cancels all).", severity="warning")
            return
        self._drive("rerun_all")

    def _live(self) -> Comparison | None:
        """The comparison to (re-)run; a past one becomes a new live one with its columns."""
        if self.comparison is not None:
            return self.comparison
        assert self.past is not None
        app: Any = self.app
        try:
            self.comparison = new_comparison(
                app.workspace,
                self.past.prompt,
                self.past.columns,
                chain=len(self.past.steps) > 1,
            )
        except PromptTuiError as exc:
            self.notify(str(exc), title="Cannot re-run", severity="error")
            return None
        self.past = None
        self.refresh_title()
        self.set_interval(REDRAW_INTERVAL, self._tick, name="compare-redraw")
        self._drive("all")
        return None  # started: nothing more to do

    def action_adopt(self) -> None:
        comparison = self.comparison
        if comparison is None:
            self.notify("A comparison from the history: r re-runs it, then A adopts.", timeout=4)
            return
        index = self.focused_index
        if comparison.runs[index].active:
            self.notify("This column is still running.", severity="warning")
            return
        try:
            adoptions = comparison.adoptions(index)
        except PromptTuiError as exc:
            self.notify(str(exc), title="Cannot adopt", severity="error")
            return
        label = comparison.columns[index].label
        write_only(  # this prompt (chain) only: other unsaved changes stay unsaved
            self.app,
            comparison.workspace.document,
            write=lambda: comparison.adopt_and_write(index),
            keep=lambda: comparison.adopt(index),
            done=f"{self.prompt} now uses {label}",
        )
        app: Any = self.app
        show_adopted(app.session, adoptions)
        if self.on_adopted is not None:
            self.on_adopted(self.prompt)
        self.dismiss()

    def action_back(self) -> None:
        if self.comparison is not None and self.comparison.active:
            self.comparison.cancel()
        self.dismiss()


# --- entry points (the main screen's `c` and the palette) -------------------------------------


def open_compare(main: Any) -> None:
    """Ask for the columns and mode, then show the comparison of the selected prompt."""
    from ..recent import recent_for
    from ..view_models import offline_models
    from .compare_setup import CompareChoice, CompareSetupScreen

    name = main.selected
    if name is None:
        main.notify("Select a prompt first.", severity="warning")
        return
    workspace = main.session.workspace
    config = workspace.document
    try:
        downstream = workspace.graph.downstream(name)
    except PromptTuiError as exc:
        main.notify(str(exc), title="Cannot compare", severity="error")
        return
    prompt = config.prompt(name)
    model = config.model_name_of(prompt)
    current = Column(model, dict(prompt.model_settings)) if model else None

    def chosen(choice: CompareChoice | None) -> None:
        if choice is None:
            return
        try:
            comparison = new_comparison(workspace, name, choice.columns, chain=choice.chain)
        except PromptTuiError as exc:
            main.notify(str(exc), title="Cannot compare", severity="error")
            return
        main.app.push_screen(CompareScreen(comparison, on_adopted=main.adopted))

    main.app.push_screen(
        CompareSetupScreen(
            name,
            current=current,
            downstream=downstream,
            config_models=list(config.models),
            recent=recent_for(config),
            offline=offline_models(),
            estimate=partial(_column_estimates, workspace, name),
        ),
        chosen,
    )


def _column_estimates(
    workspace: Workspace, prompt: str, columns: list[Column], chain: bool
) -> list[str]:
    """A line per column (after one for the shared upstream when it must run first): what it
    would send and cost. Resolves and tokenizes: the setup screen calls it in a thread."""
    from ...core.compare import MIN_COLUMNS
    from ...core.estimate import estimate_comparison

    padded = columns + columns[:1] * max(0, MIN_COLUMNS - len(columns))
    planned = new_comparison(workspace, prompt, padded, chain=chain, register=False)
    found = estimate_comparison(planned)
    lines = [f"upstream first: {found[0].summary()}"] if planned.upstream is not None else []
    return lines + [e.summary() for e in found[len(lines) :]][: len(columns)]


def open_past(main: Any) -> None:
    """List the config's recent comparisons from the history; reopen the chosen one."""
    main.app.run_worker(
        lambda: _read_past(main), thread=True, group="past-comparisons", exclusive=True
    )


def _read_past(main: Any) -> None:
    """SQLite in a thread; then the picker on the event loop."""
    from ...core.compare_history import load_comparison, recent_groups
    from .compare_setup import PastComparisonsScreen

    workspace = main.session.workspace
    history = workspace.history
    app = main.app
    if history is None or workspace.document.path is None:
        app.call_from_thread(main.notify, "History is off: no past comparisons.", timeout=3)
        return
    try:
        groups = recent_groups(history, str(workspace.document.path))
        rows = []
        for group_id, started in groups:
            past = load_comparison(history, group_id, workspace.document)
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
            models = ", ".join(c.label for c in past.columns)
            rows.append((group_id, f"{when}  {past.prompt}  [{models}]"))
    except PromptTuiError as exc:
        app.call_from_thread(main.notify, str(exc), severity="error")
        return
    if not rows:
        app.call_from_thread(main.notify, "No comparisons recorded for this file yet.", timeout=3)
        return

    def chosen(group_id: str | None) -> None:
        if group_id:
            reopen(main, group_id)

    app.call_from_thread(app.push_screen, PastComparisonsScreen(rows), chosen)


def reopen(main: Any, group_id: str) -> None:
    from ...core.compare_history import load_comparison

    history = main.session.workspace.history
    try:
        past = load_comparison(history, group_id, main.session.workspace.document)
    except PromptTuiError as exc:
        main.notify(str(exc), severity="error")
        return
    main.app.push_screen(CompareScreen(past=past, on_adopted=main.adopted))
