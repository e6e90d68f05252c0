"""Batches: every row of a dataset (x every model) runs the chain, and checks judge each answer.

A **cell** is one row x one column (a model override, or the prompts' own models). It is one
:class:`~.runs.Run` executed by the workspace's runner like any run: dependencies in order,
through the request-keyed cache (so a batch run again sends only what did not finish: the rest
comes back ``cached``), each prompt's result a :class:`~.runs.PromptResult` written to the history
under the batch's id (``group_id``). The cell keeps those results (without the request) and the
check results; whoever drives the batch gets each cell as it completes and may drop it, so a
batch's memory does not grow with its rows.

Concurrency is per provider: every request goes through a :class:`ProviderLimiter` gate for its
provider (and server), at most ``concurrency`` at once. A transient failure (429 with
Retry-After, a 5xx) pauses that gate for the wait the server asked and halves its limit, which
grows back one success at a time: a rate-limited provider slows down, the others do not. Each
column reads the rows on its own, so a slow column never holds back a fast one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import display
from .checks import Check, CheckResult, Verdict, all_checks, evaluate_all, graders, problems, reads
from .datasets import Dataset, DatasetError, Fit, Row, Selection, check_fit
from .errors import PromptTuiError
from .graph import prompt_references
from .param_sources import ParamSource
from .resolve import parameter_table
from .runs import Overrides, PromptResult, PromptStatus, Run
from .schema import format_path

if TYPE_CHECKING:
    from .config import AIConfig
    from .history import History
    from .keys import KeyStore
    from .preflight import Surface
    from .request import ResolvedRequest
    from .workspace import Workspace

OWN_MODELS = "own models"  # the column of a batch without --model


@dataclass(frozen=True)
class ChainOverrides(Overrides):
    """A batch column's overrides: the model applies to every prompt of the chain except the
    graders of judge checks, which keep their own model (a judge grades the model under test;
    it is not the model under test)."""

    keep: frozenset[str] = frozenset()

    def for_prompt(self, name: str) -> tuple[str | None, dict[str, Any]]:
        if name in self.keep:
            return None, {}
        return super().for_prompt(name)


# --- per-provider concurrency -----------------------------------------------------------------


class _Gate:
    """At most ``limit`` requests at once to one provider; paused after a transient failure."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = self.limit = max(1, ceiling)
        self.in_flight = 0
        self.pause_until = 0.0
        self.successes = 0
        self.throttled = 0  # transient failures seen (429 / 5xx)
        self._changed: asyncio.Condition | None = None

    @property
    def changed(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def acquire(self) -> None:
        async with self.changed:
            while True:
                wait = self.pause_until - time.monotonic()
                if wait <= 0 and self.in_flight < self.limit:
                    break
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.changed.wait(), wait)
                else:
                    await self.changed.wait()
            self.in_flight += 1

    async def release(self, *, ok: bool) -> None:
        async with self.changed:
            self.in_flight -= 1
            if ok:
                self.successes += 1
                if self.limit < self.ceiling and self.successes >= self.limit:
                    self.limit += 1
                    self.successes = 0
            self.changed.notify_all()

    async def slow_down(self, delay: float) -> None:
        async with self.changed:
            self.throttled += 1
            self.pause_until = max(self.pause_until, time.monotonic() + delay)
            self.limit = max(1, self.limit // 2)
            self.successes = 0
            self.changed.notify_all()


class ProviderLimiter:
    """Wraps a provider stream function (``providers.stream_chat``) with one gate per provider
    and server: the runner calls the wrapped function exactly as it calls the plain one."""

    def __init__(self, concurrency: int, inner: Callable[..., AsyncIterator[Any]] | None = None):
        self.concurrency = max(1, concurrency)
        self._inner = inner
        self.gates: dict[str, _Gate] = {}

    def gate_for(self, request: ResolvedRequest) -> _Gate:
        from .providers import provider_of

        key = provider_of(request.model, request.call_options)
        base = request.call_options.get("api_base")
        if base:
            key += f" @ {base}"
        gate = self.gates.get(key)
        if gate is None:
            gate = self.gates[key] = _Gate(self.concurrency)
        return gate

    async def stream(self, request: ResolvedRequest, **kwargs: Any) -> AsyncGenerator[Any, None]:
        from . import providers

        inner_fn = self._inner or providers.stream_chat
        gate = self.gate_for(request)
        await gate.acquire()
        ok = False
        inner = inner_fn(request, **kwargs)
        assert isinstance(inner, AsyncGenerator)
        try:
            async for item in inner:
                if isinstance(item, providers.RetryNotice):
                    await gate.slow_down(item.delay)
                yield item
            ok = True
        finally:
            with contextlib.suppress(Exception):
                await inner.aclose()
            await asyncio.shield(gate.release(ok=ok))


def batch_workspace(
    document: AIConfig,
    *,
    concurrency: int,
    history: bool | History = True,
    keys: KeyStore | None = None,
    stream: Callable[..., AsyncIterator[Any]] | None = None,
    on_warning: Callable[[str], None] | None = None,
    surface: Surface = "cli",
) -> tuple[Workspace, ProviderLimiter]:
    """A workspace whose runner sends through a :class:`ProviderLimiter` (the TUI makes one
    beside its own, over the same document, history and keys)."""
    from .workspace import Workspace

    limiter = ProviderLimiter(concurrency, stream)
    workspace = Workspace.for_document(
        document,
        history=history,
        keys=keys,
        concurrency=concurrency,
        stream=limiter.stream,
        on_warning=on_warning,
        surface=surface,
        track_staleness=False,  # batch runs are experiments: no document status to keep
    )
    return workspace, limiter


# --- cells ------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One row x one column: the chain's results (each a PromptResult, kept without its request)
    and the check results."""

    row: Row
    column: str
    run_id: str
    results: dict[str, PromptResult]
    checks: list[CheckResult]
    refusal: str | None = None

    @property
    def verdict(self) -> Verdict:
        if self.refusal is not None or any(not r.succeeded for r in self.results.values()):
            return "error"
        if any(c.verdict == "error" for c in self.checks):
            return "error"
        return "fail" if any(c.verdict == "fail" for c in self.checks) else "pass"

    def prompt_verdict(self, prompt: str) -> Verdict:
        result = self.results.get(prompt)
        if self.refusal is not None or result is None or not result.succeeded:
            return "error"
        mine = [c for c in self.checks if c.prompt == prompt]
        if any(c.verdict == "error" for c in mine):
            return "error"
        return "fail" if any(c.verdict == "fail" for c in mine) else "pass"

    @property
    def cost(self) -> float | None:
        """Money this cell spent (cached answers cost nothing again); None: some unknown."""
        total = 0.0
        for r in self.results.values():
            if r.status is PromptStatus.CACHED or r.offline:
                continue
            if r.status is PromptStatus.DONE:
                if r.cost is None:
                    return None
                total += r.cost
        return total

    @property
    def offline(self) -> bool:
        return bool(self.results) and all(r.offline for r in self.results.values())

    @property
    def latency(self) -> float | None:
        """Seconds from the first prompt's request to the last answer of the chain."""
        starts = [r.started_at for r in self.results.values() if r.started_at is not None]
        ends = [r.ended_at for r in self.results.values() if r.ended_at is not None]
        if not starts or not ends:
            return None
        return max(0.0, max(ends) - min(starts))

    @property
    def cached(self) -> bool:
        return bool(self.results) and all(
            r.status is PromptStatus.CACHED for r in self.results.values()
        )

    def error_text(self) -> str:
        if self.refusal:
            return self.refusal
        for name, r in self.results.items():
            if r.status is PromptStatus.FAILED:
                return f"{name}: {r.error}"
        for name, r in self.results.items():
            if not r.succeeded:
                return f"{name}: {r.status.value}" + (f" ({r.reason})" if r.reason else "")
        for c in self.checks:
            if c.verdict == "error":
                return str(c)
        return ""

    def to_json(self) -> dict[str, Any]:
        """The cell as data (reports, ``--json``): every prompt's result and every check."""
        prompts = {
            name: {**r.to_json(), "verdict": self.prompt_verdict(name)}
            for name, r in self.results.items()
        }
        return {
            "row": self.row.number,
            "line": self.row.line,
            "column": self.column,
            "run_id": self.run_id,
            "verdict": self.verdict,
            "cost": self.cost,
            "offline": self.offline,
            "latency": self.latency,
            "params": self.row.values,
            "error": self.error_text() or None,
            "prompts": prompts,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class ColumnStats:
    """Running figures of one column: verdict counts, spend, latency."""

    cells: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    cost: float = 0.0
    cost_unknown: bool = False
    offline: bool = True
    latency_total: float = 0.0
    latency_n: int = 0

    def add(self, cell: Cell) -> None:
        self.cells += 1
        verdict = cell.verdict
        if verdict == "pass":
            self.passed += 1
        elif verdict == "fail":
            self.failed += 1
        else:
            self.errors += 1
        self.offline = self.offline and cell.offline
        cost = cell.cost
        if cost is None:
            self.cost_unknown = True
        else:
            self.cost += cost
        if cell.latency is not None and not cell.cached:
            self.latency_total += cell.latency
            self.latency_n += 1

    def remove(self, cell: Cell) -> None:
        """Take a cell out again (it is being re-run)."""
        self.cells -= 1
        verdict = cell.verdict
        if verdict == "pass":
            self.passed -= 1
        elif verdict == "fail":
            self.failed -= 1
        else:
            self.errors -= 1
        if cell.cost is not None:
            self.cost -= cell.cost
        if cell.latency is not None and not cell.cached:
            self.latency_total -= cell.latency
            self.latency_n -= 1

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.cells if self.cells else None

    @property
    def mean_latency(self) -> float | None:
        return self.latency_total / self.latency_n if self.latency_n else None

    def cost_text(self) -> str:
        if self.cells and self.offline:
            return display.cost(0.0, offline=True)
        return display.UNKNOWN if self.cost_unknown else display.cost(self.cost)

    def rate_text(self) -> str:
        rate = self.pass_rate
        return display.NONE if rate is None else f"{rate * 100:.0f}%"

    def to_json(self) -> dict[str, Any]:
        return {
            "cells": self.cells,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "pass_rate": self.pass_rate,
            "cost": None if self.cost_unknown else self.cost,
            "cost_text": self.cost_text(),
            "mean_latency": self.mean_latency,
            "latency_text": display.seconds(self.mean_latency),
        }


@dataclass
class Progress:
    total_cells: int
    columns: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    passed: int = 0
    spend: float = 0.0
    spend_unknown: bool = False
    offline: bool = True

    def add(self, cell: Cell) -> None:
        self.done += 1
        self.passed += cell.verdict == "pass"
        self.offline = self.offline and cell.offline
        cost = cell.cost
        if cost is None:
            self.spend_unknown = True
        else:
            self.spend += cost

    @property
    def rows_done(self) -> int:
        return self.done // max(1, self.columns)

    @property
    def total_rows(self) -> int:
        return self.total_cells // max(1, self.columns)

    def eta(self) -> float | None:
        if not self.done or self.done >= self.total_cells:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total_cells - self.done)

    def line(self) -> str:
        rate = f"{self.passed / self.done * 100:.0f}%" if self.done else display.NONE
        if self.done and self.offline:
            spend = display.cost(0.0, offline=True)
        else:
            spend = display.UNKNOWN if self.spend_unknown else display.cost(self.spend)
        eta = self.eta()
        return f"{self.rows_done:,}/{self.total_rows:,} rows · pass {rate} · spent {spend}" + (
            f" · ETA {display.seconds(eta)}" if eta is not None else ""
        )


# --- the batch --------------------------------------------------------------------------------


class Batch:
    """Rows x columns of one chain. ``prepare()`` checks everything before anything is sent;
    ``run(on_cell)`` runs every cell; ``run_cell`` (re-)runs one."""

    def __init__(
        self,
        workspace: Workspace,
        dataset: Dataset,
        *,
        selection: Selection | None = None,
        target: str | None = None,
        models: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        concurrency: int = 4,
        force: bool = False,
        batch_id: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.dataset = dataset
        self.selection = selection or Selection()
        self.target = target
        self.columns: list[str] = list(dict.fromkeys(models)) or [OWN_MODELS]
        self.params = dict(params or {})
        self.concurrency = max(1, concurrency)
        self.force = force
        self.id = batch_id or f"batch-{uuid.uuid4().hex[:10]}"
        self.steps: list[str] = []
        self.checks: dict[str, list[Check]] = {}
        self.graders: frozenset[str] = frozenset()
        self.total_rows = 0
        self.stats: dict[str, ColumnStats] = {c: ColumnStats() for c in self.columns}
        self.progress = Progress(0, len(self.columns))

    @property
    def config(self) -> AIConfig:
        return self.workspace.document

    def prepare(self) -> None:
        """Plan the chain and check the checks and the rows (raises PromptTuiError naming every
        problem with its file and line). Streams the dataset once (twice for a sample)."""
        config = self.config
        bad = [
            f"{config.source}: {format_path(where)}: prompt '{prompt}': {message}"
            for prompt, where, message in problems(config)
        ]
        if bad:
            raise PromptTuiError("\n".join(bad))
        graph = self.workspace.graph
        graph.check()
        base = self.workspace.plan(self.target, "with_deps")
        checks = all_checks(config, base)
        wanted = set(base)
        for grader in graders(checks):
            wanted.update(graph.upstream(grader))
            wanted.add(grader)
        self.steps = graph.order(sorted(wanted))
        self.checks = all_checks(config, self.steps)
        self.graders = frozenset(graders(self.checks))
        fit = Fit(reads=reads(config, self.checks))
        for name in self.steps:
            prompt = config.prompt(name)
            fit.reads.update(ref.root for ref in prompt_references(prompt, config))
            for info in parameter_table(config, name):
                # `typo.output` (a dot) is the config's error, not the rows'
                missing = info.source is ParamSource.MISSING and "." not in info.name
                if missing and info.name not in fit.needed:
                    fit.needed[info.name] = name
        check_fit(self.dataset, self.selection.rows(self.dataset), fit, given=self.params)
        self.total_rows = self.selection.count(self.dataset)
        if not self.total_rows:
            what = self.selection.describe()
            raise DatasetError(f"no rows to run ({what})", path=str(self.dataset.path))
        self.progress = Progress(self.total_rows * len(self.columns), len(self.columns))

    def new_run(self, row: Row, column: str, *, force: bool | None = None) -> Run:
        overrides = ChainOverrides(
            params={**self.params, **row.values},
            model=None if column == OWN_MODELS else column,
            keep=self.graders,
        )
        return Run(
            target=self.target,
            mode="all" if self.target is None else "with_deps",
            overrides=overrides,
            force=self.force if force is None else force,
            group_id=self.id,
            label=f"row {row.number} · {column}",
            steps=list(self.steps),
            isolated=True,
            revision=self.workspace.revision,
        )

    async def run_cell(self, row: Row, column: str, *, force: bool | None = None) -> Cell:
        run = self.new_run(row, column, force=force)
        async with contextlib.aclosing(self.workspace.execute(run)) as events:
            async for _ in events:
                pass
        results = {
            name: dataclasses.replace(run.results[name], request=None, provenance=None)
            for name in run.plan
            if name in run.results
        }
        checks = evaluate_all(self.config, self.checks, results, run.overrides.params)
        return Cell(row, column, run.id, results, checks, run.refusal)

    def record(self, cell: Cell) -> None:
        self.stats[cell.column].add(cell)
        self.progress.add(cell)

    async def run(self, on_cell: Callable[[Cell], None], rows: Sequence[Row] | None = None) -> None:
        """Every selected row (or ``rows``) x every column; ``on_cell`` gets each cell as it
        completes. Each column reads the rows on its own: a slow column holds back no other."""
        queues = [
            _cells_of(iter(rows) if rows is not None else self.selection.rows(self.dataset), column)
            for column in self.columns
        ]
        await self._pool(queues, on_cell, None)

    async def rerun(
        self,
        cells: Sequence[tuple[Row, str]],
        on_cell: Callable[[Cell], None],
        *,
        force: bool | None = None,
    ) -> None:
        """(Re-)run the given cells (one, a row, the failures, every cell after an edit)."""
        await self._pool([iter(cells)], on_cell, force)

    async def _pool(
        self,
        queues: list[Iterator[tuple[Row, str]]],
        on_cell: Callable[[Cell], None],
        force: bool | None,
    ) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for queue in queues:
                    # Twice the concurrency in cells: while one cell resolves its next prompt
                    # or writes the history, another's request keeps the provider busy.
                    for _ in range(self.concurrency * 2):
                        group.create_task(self._worker(queue, on_cell, force))
        except ExceptionGroup as group_error:  # e.g. the dataset became unreadable mid-way
            first = group_error.exceptions[0]
            if isinstance(first, PromptTuiError):
                raise first from None
            raise

    async def _worker(
        self,
        queue: Iterator[tuple[Row, str]],
        on_cell: Callable[[Cell], None],
        force: bool | None,
    ) -> None:
        while True:
            item = next(queue, None)  # one reader per queue, shared by its workers
            if item is None:
                return
            cell = await self.run_cell(*item, force=force)
            self.record(cell)
            on_cell(cell)


def _cells_of(rows: Iterator[Row], column: str) -> Iterator[tuple[Row, str]]:
    for row in rows:
        yield row, column
