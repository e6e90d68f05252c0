"""The history tab's table: earlier runs of the selected prompt with their revision, tags and
rating. `enter` shows the chosen run's diff against the current output, `b` makes that run the
config's baseline, `+` / `-` rate its answer (👍 / 👎). The table owns its keys; the screen does
the work (SQLite in threads) when it gets the messages."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ...core.inert import visible_name
from ..messages import BaselineRequested, RateRequested


class RunHistoryTable(DataTable[str]):
    BINDINGS = [
        Binding("b", "baseline", "Baseline", tooltip="Make this run the config's baseline"),
        Binding("plus", "rate(1)", "👍", tooltip="Rate this run's answer as good"),
        Binding("minus", "rate(0)", "👎", tooltip="Rate this run's answer as bad"),
    ]

    # what tells runs apart first: a narrow pane shows the left columns
    COLUMNS: tuple[str, ...] = (
        *("when", "status", "model", "output"),
        *("revision", "score", "tags"),
        *("latency", "tokens"),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.prompt: str | None = None
        self.add_columns(*self.COLUMNS)

    def _row(self) -> int | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def action_baseline(self) -> None:
        index = self._row()
        if index is not None and self.prompt is not None:
            self.post_message(BaselineRequested(self.prompt, index))

    def action_rate(self, score: float) -> None:
        index = self._row()
        if index is not None and self.prompt is not None:
            self.post_message(RateRequested(self.prompt, index, float(score)))


def label_cells(revision: str, tags: str, score: str) -> tuple[str, str, str]:
    """The run-level cells of a history row (revision, tags, score), inert."""
    return visible_name(revision[:22]), visible_name(tags[:20]), score


def row_cells(base: tuple[str, ...], labels: tuple[str, str, str]) -> tuple[Text, ...]:
    """A history row in :attr:`RunHistoryTable.COLUMNS` order: the record's cells (when,
    status, model, output, latency, tokens) with the run's (revision, tags, score)."""
    revision, tags, score = labels
    # Text cells: a str cell is read as Rich markup (a model's "[/dim]" raised MarkupError)
    return tuple(Text(cell) for cell in (*base[:4], revision, score, tags, *base[4:]))
