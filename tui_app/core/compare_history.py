"""Comparisons read back from the history: each comparison is one group of runs (the shared
upstream once, then one run per column), reopened in the TUI and listed by ``prompt-tui
history --groups``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .compare import MAX_COLUMNS, Column, ColumnMetrics, column_status
from .errors import PromptTuiError

if TYPE_CHECKING:
    from .config import AIConfig
    from .history import History, RunRecord


@dataclass
class PastComparison:
    """A comparison read back from the history: its columns' steps as they were recorded."""

    group_id: str
    prompt: str
    config_path: str
    started_at: float
    columns: list[Column]
    steps: list[str]
    records: list[list[RunRecord]]  # per column, in step order

    def metrics(self, index: int) -> ColumnMetrics:
        steps = {rec.prompt: rec.to_result() for rec in self.records[index]}
        label = self.columns[index].label
        return ColumnMetrics(label, column_status(list(steps.values())), steps)

    def all_metrics(self) -> list[ColumnMetrics]:
        return [self.metrics(i) for i in range(len(self.columns))]


def load_comparison(
    history: History, group_id: str, config: AIConfig | None = None
) -> PastComparison:
    """Rebuild a comparison from its history rows (raises PromptTuiError when unknown). The
    history holds the model ids sent; with ``config`` they are named as the config names them
    (``openai/x`` sent for the config's model ``x``), so a re-run resolves the same way."""
    rows = list(reversed(history.runs(group_id=group_id, limit=None)))  # oldest first
    if not rows:
        raise PromptTuiError(f"no comparison with group id '{group_id}' in the history")
    by_run: dict[str, list[RunRecord]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(row)
    runs_of: dict[str, int] = {}
    for group in by_run.values():
        for name in {r.prompt for r in group}:
            runs_of[name] = runs_of.get(name, 0) + 1
    widest = max(runs_of.values())
    # the upstream run is the one whose prompts ran once; a re-run column replaces the earlier
    # run of the same model and settings (the latest wins)
    latest_run: dict[str, list[RunRecord]] = {}
    for group in by_run.values():
        if any(runs_of[r.prompt] == widest for r in group):
            head = min(group, key=lambda r: r.started_at)
            key = json.dumps([head.model, head.settings], sort_keys=True, default=str)
            latest_run.pop(key, None)
            latest_run[key] = group
    column_runs = sorted(latest_run.values(), key=_column_place)
    # the compared prompt starts first in each column; the rest is its downstream
    first = min(column_runs[0], key=lambda r: r.started_at)
    steps: list[str] = []
    for rec in sorted(column_runs[0], key=lambda r: r.started_at):
        if rec.prompt not in steps:
            steps.append(rec.prompt)
    records: list[list[RunRecord]] = []
    columns: list[Column] = []
    for run_records in column_runs:
        latest = {r.prompt: r for r in run_records}  # one row per step (the last written)
        records.append([latest[s] for s in steps if s in latest])
        head = latest.get(first.prompt, run_records[0])
        columns.append(Column(_model_name(head.model or "?", config), {}))
    columns = _label_settings(columns, [rs[0].settings if rs else {} for rs in records])
    return PastComparison(
        group_id, first.prompt, first.config_path, rows[0].started_at, columns, steps, records
    )


def _column_place(records: list[RunRecord]) -> tuple[int, float]:
    """A column's place: the index in its run id (see ``Comparison._column_run``), else when
    it started."""
    _, _, index = records[0].run_id.rpartition("-")
    first = min(r.started_at for r in records)
    return (int(index), first) if index.isdigit() else (MAX_COLUMNS, first)


def _model_name(model_id: str, config: AIConfig | None) -> str:
    if config is None or model_id in config.models:
        return model_id
    names = [n for n, s in config.models.items() if str(s.get("model", n)) == model_id]
    return names[0] if len(names) == 1 else model_id


def _label_settings(columns: list[Column], settings: list[dict[str, Any]]) -> list[Column]:
    """Columns with the settings that tell them apart (the recorded ones are the merged ones)."""
    keys = {k for s in settings for k in s}
    differing = sorted(
        k for k in keys if len({json.dumps(s.get(k), sort_keys=True) for s in settings}) > 1
    )
    differing = [k for k in differing if k != "model"]
    return [
        Column(c.model, {k: s[k] for k in differing if k in s})
        for c, s in zip(columns, settings, strict=True)
    ]


def recent_groups(history: History, config_path: str, limit: int = 20) -> list[tuple[str, float]]:
    """(group id, started at) of the config's latest comparisons, newest first."""
    seen: dict[str, float] = {}
    for rec in history.runs(config_path=config_path, limit=5000):
        if rec.group_id and rec.group_id not in seen:
            seen[rec.group_id] = rec.started_at
            if len(seen) >= limit:
                break
    return list(seen.items())
