"""The dataset matrix: every row of the config's dataset x every model (or x every prompt), with
pass / fail / error per cell, pass rate, cost and latency per column.

The engine runs the cells (:class:`~...core.batch.Batch`, through the cache, concurrency per
provider); a worker drives it and each finished cell repaints its own line. The grid is a
line-based widget, so 10,000 rows cost what the visible ones cost. The screen follows the
workspace: when the config changes (a save picked up by live reload, an edit in the app), every
cell is run again through the cache — only the requests the edit changed go to the wire, and a
check-only edit sends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...core import display
from ...core.batch import OWN_MODELS, Batch, Cell, ColumnStats, batch_workspace
from ...core.datasets import Dataset, DatasetError, Row, find_dataset, named_datasets
from ...core.errors import PromptTuiError
from ...core.inert import visible
from ..markup import plain, styled
from ..widgets.matrix_grid import MatrixGrid, column_header

if TYPE_CHECKING:
    from ...core.workspace import Workspace

FILTERS = ("all rows", "failures only", "rows where models differ")
FOLLOW_INTERVAL = 0.5  # seconds between looks at the workspace for config edits
HEADER_INTERVAL = 0.25  # seconds between repaints of the figures while cells finish


def _fingerprint(workspace: Workspace) -> str:
    """The document without outputs: what a batch's requests and checks are made from."""
    data = workspace.document.data
    prompts = [{k: v for k, v in p.items() if k != "outputs"} for p in data.get("prompts") or []]
    return json.dumps([data.get("metadata"), prompts], sort_keys=True, default=str)


class MatrixScreen(Screen[None]):
    HELP = """\
### Dataset matrix

Each line is a row of the dataset, each column a model (`v`: the prompts of the cursor's model).
A cell is `✓ pass` when every check of its chain passed, `✗ fail` when a check failed, `! error`
when a prompt failed or a check could not be applied. `enter` (or a double click) shows the
cell's chain: each prompt's answer and every check with what it expected and what it saw.

`f` filters: all rows, failures only, rows where models differ. `r` re-runs the cell, `R` the
row, `F` every failure (sent again, not from the cache). `m` adds a model column. Edits to the
config (saved, or made in the app) re-run the cells through the cache: only changed requests are
sent. `escape` goes back (cells in flight are cancelled; finished answers stay in the history).
"""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f", "cycle_filter", "Filter"),
        Binding("v", "toggle_view", "Models/prompts"),
        Binding("r", "rerun_cell", "Re-run cell"),
        Binding("R", "rerun_row", "Re-run row"),
        Binding("F", "rerun_failures", "Re-run failures"),
        Binding("m", "add_model", "Add model"),
    ]

    DEFAULT_CSS = """
    MatrixScreen { layout: vertical; }
    #matrix-title { height: auto; padding: 0 1; background: $panel; }
    #matrix-figures { height: auto; padding: 0 1; color: $text-muted; }
    #matrix-columns { height: 1; text-style: bold; }
    #matrix-grid { height: 2fr; }
    #matrix-detail { height: 1fr; border-top: solid $primary 50%; padding: 0 1; }
    """

    def __init__(self, workspace: Workspace, dataset: Dataset, models: Sequence[str] = ()) -> None:
        super().__init__(id="matrix")
        self.workspace = workspace
        self.dataset = dataset
        self.models = list(models)
        self.cells_batch: Batch | None = None
        self.rows: list[Row] = []
        self.cells: list[dict[str, Cell]] = []
        self.running: set[tuple[int, str]] = set()
        self.queued: set[tuple[int, str]] = set()
        self.filter = 0
        self.by_prompts = False  # the view: rows x models, or rows x the prompts of one model
        self.prompt_column = 0
        self.shown: list[int] = []  # row indices shown, in order
        self._position: dict[int, int] = {}  # row index -> visible line (filtered views)
        self._fingerprint = ""
        self._document: Any = None
        self._problem: str | None = None
        self._figures_dirty = True
        self._filter_dirty = False
        self._revision = -1
        self.leaving = False  # dismissed: cells still finishing are dropped, not drawn

    # --- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="matrix-title")
        yield Static(id="matrix-figures")
        yield Static(id="matrix-columns")
        yield MatrixGrid(self, id="matrix-grid")
        with VerticalScroll(id="matrix-detail"):
            yield Static("", id="matrix-detail-text")
        yield Footer()

    @property
    def grid(self) -> MatrixGrid:
        return self.query_one(MatrixGrid)

    def on_mount(self) -> None:
        self.query_one("#matrix-title", Static).update(
            styled("[b]Dataset matrix[/b] · $label · preparing…", label=visible(self.dataset.label))
        )
        self._start()
        self.set_interval(HEADER_INTERVAL, self._paint_figures)
        self.set_interval(FOLLOW_INTERVAL, self._follow_workspace)
        self.grid.focus()

    # --- the source the grid draws (MatrixSource) ----------------------------------------------
    def visible_rows(self) -> int:
        return len(self.shown)

    def column_count(self) -> int:
        if self.cells_batch is None:
            return 0
        return len(self.cells_batch.steps) if self.by_prompts else len(self.cells_batch.columns)

    def row_label(self, y: int) -> tuple[str, str]:
        row = self.rows[self.shown[y]]
        return str(row.number), visible(", ".join(f"{k}={v}" for k, v in row.values.items()))

    def _column_of(self, x: int) -> str:
        assert self.cells_batch is not None
        if self.by_prompts:
            return self.cells_batch.columns[self.prompt_column]
        return self.cells_batch.columns[x]

    def cell_state(self, y: int, x: int) -> str:
        index = self.shown[y]
        column = self._column_of(x)
        key = (index, column)
        if key in self.running:
            return "running"
        cell = self.cells[index].get(column)
        if cell is None:
            return "queued" if key in self.queued else ""
        if self.by_prompts:
            assert self.cells_batch is not None
            return cell.prompt_verdict(self.cells_batch.steps[x])
        return cell.verdict

    # --- starting -----------------------------------------------------------------------------
    @work(group="matrix-prepare", exclusive=True, thread=True, description="read the dataset")
    def _start(self) -> None:
        """Plan the chain, check the rows, read them (a thread: it streams the file)."""
        try:
            batch = self._new_batch(self.models)
            rows = list(batch.selection.rows(self.dataset))
        except PromptTuiError as exc:
            self.app.call_from_thread(self._show_problem, str(exc))
            return
        self.app.call_from_thread(self._started, batch, rows)

    def _new_batch(self, models: Sequence[str]) -> Batch:
        ws = self.workspace
        previous = self.cells_batch.workspace if self.cells_batch is not None else None
        if previous is not None and previous.document is ws.document:
            runner_ws = previous  # an edit in the app: the same document, answers still in memory
            runner_ws.changed(edit=False)  # a new revision: its graph is built again
        else:
            runner_ws, _ = batch_workspace(
                ws.document,
                concurrency=ws.concurrency,
                history=ws.history or False,
                keys=ws.keys,
                stream=ws.stream,
                surface="tui",
            )
        batch = Batch(
            runner_ws,
            self.dataset,
            target=None,
            models=models,
            params=dict(ws.params),
            concurrency=ws.concurrency,
        )
        batch.prepare()
        return batch

    def _show_problem(self, problem: str) -> None:
        self._problem = problem
        self.query_one("#matrix-title", Static).update(
            styled("[b]Dataset matrix[/b] · $label", label=visible(self.dataset.label))
        )
        self.query_one("#matrix-detail-text", Static).update(
            styled("[b]Cannot run the dataset[/b]\n$problem", problem=visible(problem))
        )

    def _started(self, batch: Batch, rows: list[Row]) -> None:
        self.cells_batch = batch
        self.rows = rows
        self.cells = [{} for _ in rows]
        self._fingerprint = _fingerprint(self.workspace)
        self._document = self.workspace.document
        self._revision = self.workspace.revision
        self._refilter()
        self._paint_title()
        self._run([(row, column) for row in rows for column in batch.columns], force=None)

    def _paint_title(self) -> None:
        if self.cells_batch is None:
            return
        batch = self.cells_batch
        view = (
            f"prompts of {batch.columns[self.prompt_column]}"
            if self.by_prompts
            else display.plural(len(batch.columns), "model")
        )
        self.query_one("#matrix-title", Static).update(
            styled(
                "[b]Dataset matrix[/b] · $rest",
                rest=f"{visible(self.dataset.label)} · "
                f"{display.plural(len(self.rows), 'row')} x {visible(view)} · "
                f"{visible(', '.join(batch.steps))} · {FILTERS[self.filter]}",
            )
        )
        names = batch.steps if self.by_prompts else batch.columns
        self.query_one("#matrix-columns", Static).update(
            plain(column_header([visible(n) for n in names]))
        )

    # --- running ------------------------------------------------------------------------------
    @work(group="matrix-run", exclusive=False, description="run dataset cells")
    async def _run(self, cells: list[tuple[Row, str]], force: bool | None) -> None:
        batch = self.cells_batch
        if batch is None or not cells:
            return
        index_of = {id(row): i for i, row in enumerate(self.rows)}
        for row, column in cells:
            self.queued.add((index_of[id(row)], column))
            old = self.cells[index_of[id(row)]].get(column)
            if old is not None and force:
                batch.stats[column].remove(old)

        def on_cell(cell: Cell) -> None:
            i = index_of.get(id(cell.row))
            if i is None or self.leaving:
                return
            key = (i, cell.column)
            self.running.discard(key)
            self.queued.discard(key)
            old = self.cells[i].get(cell.column)
            if old is not None and not force:
                batch.stats[cell.column].remove(old)
            self.cells[i][cell.column] = cell
            self._cell_changed(i)

        wrapped = [(row, column) for row, column in cells]
        await batch.rerun(_Marking(wrapped, self, index_of), on_cell, force=force)

    def _cell_changed(self, index: int) -> None:
        self._figures_dirty = True
        if self.filter:
            self._filter_dirty = True
        position = self._position.get(index)
        if position is not None:
            self.grid.refresh_row(position)
        if position == self.grid.cursor_row:
            self._show_detail()

    def mark_running(self, index: int, column: str) -> None:
        if self.leaving:
            return
        key = (index, column)
        self.queued.discard(key)
        self.running.add(key)
        position = self._position.get(index)
        if position is not None:
            self.grid.refresh_row(position)

    # --- figures ------------------------------------------------------------------------------
    def _paint_figures(self) -> None:
        if self.cells_batch is None:
            return
        if self._filter_dirty:
            self._filter_dirty = False
            self._refilter(keep_cursor=True)
        if not self._figures_dirty:
            return
        self._figures_dirty = False
        batch = self.cells_batch
        parts: list[Content] = []
        if self.by_prompts:
            column = batch.columns[self.prompt_column]
            for step in batch.steps:
                parts.append(self._prompt_figures(column, step))
        else:
            for column, stats in batch.stats.items():
                parts.append(self._column_figures(column, stats))
        pending = len(self.running) + len(self.queued)
        done = sum(len(c) for c in self.cells)
        status = f"{done:,} cells done" + (f", {pending:,} to go" if pending else "")
        self.query_one("#matrix-figures", Static).update(
            Content("  │  ").join([*parts, Content(status)])
        )

    def _prompt_figures(self, column: str, step: str) -> Content:
        """Pass rate, spend and mean latency of one prompt of one model, over the rows."""
        cells = [c[column] for c in self.cells if column in c]
        passed = sum(c.prompt_verdict(step) == "pass" for c in cells)
        results = [c.results[step] for c in cells if step in c.results]
        done = [r for r in results if r.status.value == "done"]
        offline = bool(results) and all(r.offline for r in results)
        unknown = any(r.cost is None and not r.offline for r in done)
        spend = sum(r.cost or 0.0 for r in done)
        latencies = [r.latency for r in done if r.latency is not None]
        rate = f"{passed / len(cells) * 100:.0f}%" if cells else display.NONE
        cost = display.UNKNOWN if unknown else display.cost(spend, offline=offline)
        latency = display.seconds(sum(latencies) / len(latencies) if latencies else None)
        return styled(
            "[b]$step[/b] $rest", step=visible(step), rest=f"pass {rate} · {cost} · {latency}"
        )

    @staticmethod
    def _column_figures(column: str, stats: ColumnStats) -> Content:
        rest = (
            f"pass {stats.rate_text()} · {stats.cost_text()} · "
            f"{display.seconds(stats.mean_latency)}"
        )
        return styled("[b]$column[/b] $rest", column=visible(column), rest=rest)

    # --- filters and views --------------------------------------------------------------------
    def _keeps(self, index: int) -> bool:
        cells = self.cells[index]
        if self.filter == 1:
            return any(c.verdict != "pass" for c in cells.values())
        if self.filter == 2:
            if len(cells) < 2:
                return False
            last = self.cells_batch.steps[-1] if self.cells_batch is not None else ""
            verdicts = {c.verdict for c in cells.values()}
            answers = {c.results[last].text if last in c.results else None for c in cells.values()}
            return len(verdicts) > 1 or len(answers) > 1
        return True

    def _refilter(self, *, keep_cursor: bool = False) -> None:
        current = self.shown[self.grid.cursor_row] if keep_cursor and self.shown else None
        self.shown = [i for i in range(len(self.rows)) if self._keeps(i)]
        self._position = {index: y for y, index in enumerate(self.shown)}
        self.grid.reload()
        if current is not None and current in self._position:
            self.grid.cursor_row = self._position[current]

    def action_cycle_filter(self) -> None:
        self.filter = (self.filter + 1) % len(FILTERS)
        self._refilter()
        self._paint_title()
        self.notify(f"Showing {FILTERS[self.filter]} ({len(self.shown):,})", timeout=2)

    def action_toggle_view(self) -> None:
        if self.cells_batch is None:
            return
        if not self.by_prompts:
            self.prompt_column = min(self.grid.cursor_column, len(self.cells_batch.columns) - 1)
        self.by_prompts = not self.by_prompts
        self.grid.cursor_column = 0
        self.grid.reload()
        self._figures_dirty = True
        self._paint_title()

    # --- the chosen cell ----------------------------------------------------------------------
    @on(MatrixGrid.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_detail()

    @on(MatrixGrid.CellChosen)
    def _chosen(self) -> None:
        self._show_detail()
        self.query_one("#matrix-detail", VerticalScroll).scroll_home(animate=False)

    def _cursor_cell(self) -> tuple[Row, str, Cell | None] | None:
        if self.cells_batch is None or not self.shown:
            return None
        index = self.shown[self.grid.cursor_row]
        column = self._column_of(self.grid.cursor_column)
        return self.rows[index], column, self.cells[index].get(column)

    def _show_detail(self) -> None:
        found = self._cursor_cell()
        if found is None:
            return
        row, column, cell = found
        head = styled(
            "[b]Row $number[/b] (line $line) · $column",
            number=row.number,
            line=row.line,
            column=visible(column),
        )
        if cell is not None:
            head += styled(" · [b]$verdict[/b]", verdict=cell.verdict)
        lines = [head, plain(visible(", ".join(f"{k}={v}" for k, v in row.values.items())))]
        if cell is None:
            lines.append(plain("not finished yet"))
        else:
            for name, result in cell.results.items():
                figures = (
                    f"{result.status.value} · {visible(result.model)} · "
                    f"{display.seconds(result.latency)} · "
                    f"{display.cost(result.cost, offline=result.offline)}"
                )
                lines.append(
                    styled("\n[b]$name[/b]  $figures", name=visible(name), figures=figures)
                )
                body = result.text or result.error or result.reason or ""
                lines.append(plain(visible(body[:4000])))
                for check in cell.checks:
                    if check.prompt == name:
                        lines.append(
                            plain(
                                f"  {check.verdict:<5} {visible(check.kind)}: expected "
                                f"{visible(check.expected)}; saw {visible(check.seen)}"
                            )
                        )
            if cell.refusal:
                lines.append(plain(visible(cell.refusal)))
        self.query_one("#matrix-detail-text", Static).update(Content("\n").join(lines))

    # --- re-running ---------------------------------------------------------------------------
    def action_rerun_cell(self) -> None:
        found = self._cursor_cell()
        if found is not None:
            self._run([(found[0], found[1])], force=True)

    def action_rerun_row(self) -> None:
        found = self._cursor_cell()
        if found is not None and self.cells_batch is not None:
            self._run([(found[0], column) for column in self.cells_batch.columns], force=True)

    def action_rerun_failures(self) -> None:
        if self.cells_batch is None:
            return
        failing = [
            (self.rows[i], column)
            for i, cells in enumerate(self.cells)
            for column, cell in cells.items()
            if cell.verdict != "pass"
        ]
        if not failing:
            self.notify("No failures to re-run.", timeout=3)
            return
        self.notify(f"Re-running {display.plural(len(failing), 'cell')}", timeout=3)
        self._run(failing, force=True)

    def action_add_model(self) -> None:
        from ..recent import recent_for
        from ..view_models import offline_models
        from .model_picker import ModelPickerScreen

        if self.cells_batch is None:
            return
        config = self.workspace.document

        def chosen(model: str | None) -> None:
            if not model or self.cells_batch is None or model in self.cells_batch.columns:
                return
            batch = self.cells_batch
            batch.columns.append(model)
            batch.stats[model] = ColumnStats()
            self.models = [c for c in batch.columns if c != OWN_MODELS]
            self.grid.reload()
            self._figures_dirty = True
            self._paint_title()
            self._run([(row, model) for row in self.rows], force=None)

        self.app.push_screen(
            ModelPickerScreen(
                "dataset matrix",
                None,
                config_models=list(config.models),
                recent=recent_for(config),
                offline=offline_models(),
            ),
            chosen,
        )

    # --- following the config -----------------------------------------------------------------
    def _follow_workspace(self) -> None:
        """A config edit (live reload's new document, or an edit in the app) makes every cell
        possibly stale: run them all again through the cache (only changed requests are sent)."""
        if self.cells_batch is None:
            return
        ws = self.workspace
        if ws.document is self._document and ws.revision == self._revision:
            return
        self._revision = ws.revision
        fingerprint = _fingerprint(ws)
        if ws.document is self._document and fingerprint == self._fingerprint:
            return
        self._fingerprint, self._document = fingerprint, ws.document
        columns = list(self.cells_batch.columns)
        try:
            batch = self._new_batch([c for c in columns if c != OWN_MODELS])
        except (PromptTuiError, DatasetError) as exc:
            self.notify(str(exc), title="Matrix not re-run", severity="error", timeout=8)
            return
        self.workers.cancel_group(self, "matrix-run")
        self.running.clear()
        self.queued.clear()
        self.cells_batch = batch
        for cells in self.cells:  # the figures are rebuilt as the cells come back
            for column, cell in cells.items():
                if column in batch.stats:
                    batch.stats[column].add(cell)
        self.notify("Config changed: re-checking every cell (only changed requests are sent)")
        self._run([(row, column) for row in self.rows for column in batch.columns], force=None)

    # --- leaving ------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.leaving = True
        self.workers.cancel_group(self, "matrix-run")
        self.dismiss(None)


class _Marking(Sequence[tuple[Row, str]]):
    """The cells to run, telling the screen when a worker takes one (it shows as running)."""

    def __init__(
        self, cells: list[tuple[Row, str]], screen: MatrixScreen, index_of: dict[int, int]
    ) -> None:
        self._cells = cells
        self._screen = screen
        self._index_of = index_of

    def __len__(self) -> int:
        return len(self._cells)

    def __getitem__(self, i: Any) -> Any:
        return self._cells[i]

    def __iter__(self) -> Any:
        for row, column in self._cells:
            if self._screen.leaving:  # the screen was dismissed: take no more cells
                return
            self._screen.mark_running(self._index_of[id(row)], column)
            yield row, column


class DatasetPickerScreen(ModalScreen[str | None]):
    """Which of the config's datasets the matrix runs (when it names more than one)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, names: list[str]) -> None:
        super().__init__(classes="dialog-screen")
        self.names = names

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Static("Dataset for the matrix", classes="dialog-title")
            yield OptionList(*[Option(plain(visible(n)), id=n) for n in self.names])
            yield Static("enter: choose   escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def open_matrix(main: Any) -> None:
    """Open the matrix of the config's dataset (``metadata.datasets``) from the main screen;
    with several, ask which."""
    workspace = main.session.workspace
    named = named_datasets(workspace.document)
    if len(named) > 1:

        def chosen(name: str | None) -> None:
            if name is not None and name in named:
                main.app.push_screen(MatrixScreen(workspace, Dataset(named[name], name)))

        main.app.push_screen(DatasetPickerScreen(list(named)), chosen)
        return
    try:
        dataset = find_dataset(workspace.document, None)
    except DatasetError as exc:
        main.notify(
            f"{exc}\nName one in the config: metadata.datasets: {{name: rows.csv}}",
            title="No dataset",
            severity="warning",
            timeout=8,
        )
        return
    main.app.push_screen(MatrixScreen(workspace, dataset))
