"""Side-by-side model comparison: one prompt, or a prompt and its whole downstream chain.

A comparison is N runs (one per :class:`Column`: a model, optionally with its own settings) that
share a ``group_id`` (the history groups them). The compared prompt's upstream is resolved once:
what is fresh is read from the document, the rest runs once in an isolated run (answered from
the request-keyed cache when unchanged) whose outputs seed every column. Then every column runs
the prompt with its override (chain mode: and the prompt's downstream with their own models,
reading the column's answer), all columns at once.

Nothing here writes the document: every run is an experiment. :meth:`Comparison.adopt` makes a
column's model and settings the prompt's and its answers the outputs; the caller saves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import display
from .errors import PromptTuiError
from .runs import PromptResult, PromptStatus, Run, RunState

if TYPE_CHECKING:  # the event classes load with the first run, not before the first frame
    from .events import RunEvent
    from .workspace import Workspace

MIN_COLUMNS, MAX_COLUMNS = 2, 6  # comparisons read back from the history: .compare_history
UPSTREAM = -1  # the column index of the shared upstream run's events


class ColumnSpecError(PromptTuiError):
    """A column written as text could not be read (exit 2 in the CLI)."""


def parse_value(text: str) -> Any:
    """A setting value as typed: JSON scalars ('0.2', 'true', 'null'), anything else a string."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, str | int | float | bool) or parsed is None else text


@dataclass(frozen=True)
class Column:
    """What one column runs: a model, and settings of its own (e.g. the same model at two
    temperatures). ``settings`` update the prompt's settings for this column only."""

    model: str
    settings: dict[str, Any] = field(default_factory=dict)
    # "this file at REV": the prompt as committed there, with its own model ("" model)
    ref: str | None = None

    @property
    def label(self) -> str:
        if self.ref is not None or not self.model:
            where = f"@{self.ref}" if self.ref is not None else "as edited"
            return where + "".join(f" {k}={v}" for k, v in self.settings.items())
        if not self.settings:
            return self.model
        extra = " ".join(
            f"{k}={v if isinstance(v, str) and v.isidentifier() else json.dumps(v)}"
            for k, v in self.settings.items()
        )
        return f"{self.model} {extra}"

    @classmethod
    def parse(cls, spec: str) -> Column:
        """``"MODEL [KEY=VALUE]..."``, e.g. ``"gpt-4o-mini temperature=0.9 max_tokens=200"``
        (values parse as JSON scalars; quote a value with spaces), the one text form the CLI
        and the TUI share."""
        import shlex

        try:
            words = shlex.split(spec)  # quotes keep spaces: mock response="Day one: Alfama"
        except ValueError as exc:
            raise ColumnSpecError(f"column '{spec}': {exc}") from None
        ref = words[0][1:] if words and words[0].startswith("@") and len(words[0]) > 1 else None
        if not words or "=" in words[0]:
            raise ColumnSpecError(
                f"column '{spec}': expected MODEL [KEY=VALUE]..., e.g. 'echo delay=0'"
            )
        settings: dict[str, Any] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise ColumnSpecError(
                    f"column '{spec}': setting '{word}' must be KEY=VALUE (e.g. temperature=0.2)"
                )
            settings[key] = parse_value(value)
        if ref is not None:  # "@REV": the file as committed at REV
            return cls("", settings, ref=ref)
        if words[0] == "@":  # the file as edited, with the prompt's own model
            return cls("", settings)
        return cls(words[0], settings)

    def with_settings(self, settings: dict[str, Any]) -> Column:
        return Column(self.model, {**self.settings, **settings}, self.ref)


def _total(values: list[Any]) -> Any:
    """The sum, or None when any part is unknown (a partial sum would mislead)."""
    if not values or any(v is None for v in values):
        return None
    return sum(values)


@dataclass
class ColumnMetrics:
    """A column as people compare it: the last step's answer, each step, and totals."""

    label: str
    status: PromptStatus
    steps: dict[str, PromptResult]  # each step's record, in step order

    @property
    def _results(self) -> list[PromptResult]:
        return list(self.steps.values())

    @property
    def text(self) -> str:
        results = self._results
        return results[-1].text if results else ""

    @property
    def ttft(self) -> float | None:
        results = self._results
        return results[0].ttft if results else None

    @property
    def latency(self) -> float | None:
        return _total([s.latency for s in self._results])

    @property
    def tokens_in(self) -> int | None:
        return _total([s.tokens_in for s in self._results])

    @property
    def tokens_out(self) -> int | None:
        return _total([s.tokens_out for s in self._results])

    @property
    def cost(self) -> float | None:
        return _total([s.cost for s in self._results])

    @property
    def offline(self) -> bool:
        return bool(self.steps) and all(s.offline for s in self._results)

    @property
    def tokens_per_s(self) -> float | None:
        results = self._results
        if len(results) == 1:
            return results[0].tokens_per_s
        return display.tokens_per_s(self.tokens_out, self.latency, None)

    @property
    def error(self) -> str | None:
        return next((s.error or s.reason for s in self._results if s.error or s.reason), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.label,
            "status": self.status.value,
            "output": self.text,
            "ttft": self.ttft,
            "latency": self.latency,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_per_s": self.tokens_per_s,
            "cost": self.cost,
            "error": self.error,
            "steps": [{"prompt": name, **s.to_json()} for name, s in self.steps.items()],
        }


def column_status(steps: list[PromptResult], run: Run | None = None) -> PromptStatus:
    """One status for a column: failed if any step failed, running while any runs..."""
    statuses = [s.status for s in steps]
    if run is not None and run.state is RunState.REFUSED:
        return PromptStatus.FAILED
    for status in (
        PromptStatus.FAILED,
        PromptStatus.CANCELLED,
        PromptStatus.BLOCKED,
        PromptStatus.RUNNING,
        PromptStatus.QUEUED,
    ):
        if status in statuses:
            return status
    if statuses and all(s is PromptStatus.CACHED for s in statuses):
        return PromptStatus.CACHED
    return PromptStatus.DONE if statuses else PromptStatus.QUEUED


@dataclass(frozen=True)
class ColumnEvent:
    """A run event and the column it belongs to (``UPSTREAM`` for the shared upstream run)."""

    column: int
    event: RunEvent


@dataclass
class Comparison:
    """The runs of one comparison, built by :func:`new_comparison`, driven by :meth:`execute`."""

    workspace: Workspace
    prompt: str
    columns: list[Column]
    chain: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    group_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    steps: list[str] = field(default_factory=list)  # each column runs these, in order
    upstream: Run | None = None  # the shared run of the stale upstream prompts (None: all fresh)
    runs: list[Run] = field(default_factory=list)  # one per column, same order as ``columns``
    refusal: str | None = None  # the upstream failed: no column could run
    # a column of "this file at REV" runs in a workspace of its own on that revision
    sources: dict[int, Workspace] = field(default_factory=dict)

    def workspace_of(self, index: int) -> Workspace:
        return self.sources.get(index, self.workspace)

    # --- building ---------------------------------------------------------------------------
    def _column_run(self, index: int, *, force: bool = True, register: bool = True) -> Run:
        column = self.columns[index]
        run = self.workspace_of(
            index
        ).new_run(
            self.prompt,
            "one",
            params=dict(self.params),
            model=column.model or None,
            settings=dict(column.settings),
            scope=self.prompt,
            force=force,  # a comparison wants fresh answers and timings; the upstream may cache
            group_id=self.group_id,
            label=column.label,
            # the column's place rides in the run id, so a comparison reopened from the
            # history shows its columns in the order they were chosen
            run_id=f"{uuid.uuid4().hex[:10]}-{index}",
            steps=list(self.steps),
            isolated=True,
            register=register,
        )
        return run

    # --- running ----------------------------------------------------------------------------
    async def execute(self) -> AsyncGenerator[ColumnEvent, None]:
        """Resolve the upstream once, then run every column concurrently; yields their events."""
        async for item in self._resolve_upstream():
            yield item
        if self.refusal is not None:
            for run in self.runs:  # nothing was sent for them
                run.state, run.refusal = RunState.REFUSED, self.refusal
            return
        async for item in self._drive(list(range(len(self.columns)))):
            yield item

    async def _resolve_upstream(self) -> AsyncGenerator[ColumnEvent, None]:
        run = self.upstream
        if run is None:
            return
        async with contextlib.aclosing(self.workspace.execute(run)) as events:
            async for event in events:
                yield ColumnEvent(UPSTREAM, event)
        bad = [n for n, r in run.results.items() if not r.succeeded]
        if run.refusal is not None:
            self.refusal = f"upstream refused: {run.refusal}"
        elif bad or run.state is not RunState.DONE:
            why = "; ".join(
                f"'{n}' {run.results[n].status.value}: {run.results[n].error or ''}".rstrip(": ")
                for n in bad
            )
            self.refusal = f"upstream did not finish: {why or run.state.value}"
        if self.refusal is None:
            seed = run.output_overlay()
            for column_run in self.runs:
                column_run.seed = dict(seed)

    async def rerun(self, index: int) -> AsyncGenerator[ColumnEvent, None]:
        """Run one column again (a new run in the same group; the old one is replaced)."""
        seed = self.runs[index].seed
        self.runs[index] = self._column_run(index)
        self.runs[index].seed = dict(seed)
        async for item in self._drive([index]):
            yield item

    async def rerun_all(self) -> AsyncGenerator[ColumnEvent, None]:
        for index in range(len(self.columns)):
            seed = self.runs[index].seed
            self.runs[index] = self._column_run(index)
            self.runs[index].seed = dict(seed)
        async for item in self._drive(list(range(len(self.columns)))):
            yield item

    async def _drive(self, indices: list[int]) -> AsyncGenerator[ColumnEvent, None]:
        """Every column's run at once; their events merged in arrival order."""
        queue: asyncio.Queue[ColumnEvent | None] = asyncio.Queue()

        async def pump(index: int, run: Run) -> None:
            try:
                source = self.workspace_of(index)
                async with contextlib.aclosing(source.execute(run)) as events:
                    async for event in events:
                        queue.put_nowait(ColumnEvent(index, event))
            finally:
                queue.put_nowait(None)

        tasks = [
            asyncio.create_task(pump(i, self.runs[i]), name=f"prompt-tui:compare:{i}")
            for i in indices
        ]
        running = len(tasks)
        try:
            while running:
                item = await queue.get()
                if item is None:
                    running -= 1
                    continue
                yield item
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)

    def cancel(self, index: int | None = None) -> int:
        """Cancel one column (the others go on), or every column and the upstream."""
        indices = range(len(self.runs)) if index is None else [index]
        done = sum(self.workspace_of(i).cancel(self.runs[i].id) for i in indices)
        if index is None and self.upstream is not None:
            done += self.workspace.cancel(self.upstream.id)
        return done

    # --- results ----------------------------------------------------------------------------
    def metrics(self, index: int) -> ColumnMetrics:
        run = self.runs[index]
        steps = {name: run.results.get(name) or PromptResult() for name in self.steps}
        if run.state is RunState.REFUSED:  # nothing was sent: each step says why
            steps = {n: PromptResult(PromptStatus.FAILED, error=run.refusal) for n in steps}
        elif self.refusal is not None:
            steps = {n: PromptResult(PromptStatus.BLOCKED, reason=self.refusal) for n in steps}
        label = self.columns[index].label
        return ColumnMetrics(label, column_status(list(steps.values()), run), steps)

    def all_metrics(self) -> list[ColumnMetrics]:
        return [self.metrics(i) for i in range(len(self.columns))]

    @property
    def active(self) -> bool:
        return any(run.active for run in self.runs) or (
            self.upstream is not None and self.upstream.active
        )

    def adoptions(self, index: int) -> list[tuple[Run, str]]:
        """What adopting column ``index`` takes: the column's answers (in chain mode the
        downstream's too) and the upstream answers the column read, so nothing goes stale."""
        run = self.runs[index]
        if self.columns[index].ref is not None:
            raise PromptTuiError(
                f"column {self.columns[index].label} is the file as committed: nothing to adopt "
                f"(`git checkout {self.columns[index].ref} -- FILE` brings that version back)"
            )
        missing = [n for n in self.steps if not run.results.get(n, PromptResult()).succeeded]
        if missing:
            raise PromptTuiError(
                f"column {self.columns[index].label} has no answer for "
                f"{', '.join(repr(n) for n in missing)}: nothing adopted"
            )
        taken: list[tuple[Run, str]] = []
        if self.upstream is not None:  # what the column was built on, so it is not stale
            for name in self.upstream.plan:
                if self.upstream.results.get(name, PromptResult()).succeeded:
                    taken.append((self.upstream, name))
        taken += [(run, name) for name in self.steps]
        return taken

    def adopt(self, index: int) -> None:
        """Make the column's model and settings the prompt's and its answers the outputs, in
        the session only (the caller saves, or see :meth:`adopt_and_write`)."""
        for run, name in self.adoptions(index):
            self.workspace.adopt(run, name)

    def adopt_and_write(self, index: int) -> Path:
        """Adopt column ``index`` and write only what it changes into the file."""
        return self.workspace.adopt_and_write(self.adoptions(index))


def new_comparison(
    workspace: Workspace,
    prompt: str,
    columns: list[Column],
    *,
    chain: bool = False,
    params: dict[str, Any] | None = None,
    register: bool = True,
) -> Comparison:
    """Plan a comparison of ``prompt`` across ``columns`` (2-6). Raises PromptTuiError for an
    unknown prompt, a wrong number of columns or a cycle. ``register=False``: a plan only (an
    estimate), its runs not added to the workspace."""
    if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
        raise PromptTuiError(
            f"a comparison has {MIN_COLUMNS} to {MAX_COLUMNS} columns, got {len(columns)}"
        )
    workspace.document.prompt(prompt)
    graph = workspace.graph
    graph.check()
    comparison = Comparison(
        workspace, prompt, list(columns), chain=chain, params={**workspace.params, **(params or {})}
    )
    comparison.steps = [prompt, *graph.downstream(prompt)] if chain else [prompt]
    upstream = graph.upstream(prompt)
    if upstream:
        states = workspace.states(upstream)
        stale = [n for n in upstream if states[n].status not in _FRESH]
        if stale:
            run = workspace.new_run(
                prompt,
                "one",
                params=dict(comparison.params),
                group_id=comparison.group_id,
                label="upstream",
                steps=stale,
                isolated=True,
                register=register,
            )
            comparison.upstream = run
    for index, column in enumerate(columns):
        if column.ref is not None:
            comparison.sources[index] = _at_revision(workspace, column.ref, comparison.steps)
    comparison.runs = [comparison._column_run(i, register=register) for i in range(len(columns))]
    return comparison


def _at_revision(workspace: Workspace, ref: str, steps: list[str]) -> Workspace:
    """A workspace on the file as committed at ``ref`` sharing the history (its cache) and the
    key store, for a "this file at REV" column. Raises PromptTuiError (bad ref, prompt absent)."""
    path = workspace.document.path
    if path is None:
        raise PromptTuiError(f"column @{ref}: this config has no file in git to read from")
    source = type(workspace).open_at(
        path,
        ref,
        history=workspace.history or False,
        keys=workspace.keys,
        concurrency=workspace.concurrency,
        stream=workspace.stream,
        on_warning=workspace.on_warning,
    )
    missing = [name for name in steps if source.document.get(name) is None]
    if missing:
        raise PromptTuiError(
            f"column @{ref}: {', '.join(repr(n) for n in missing)} did not exist at {ref}"
        )
    return source


_FRESH = (PromptStatus.DONE, PromptStatus.CACHED)


# --- word diff ------------------------------------------------------------------------------


def word_diff(base: str, other: str) -> list[tuple[str, bool]]:
    """``other`` cut into (text, differs-from-base) pieces, compared word by word (the
    whitespace after a word belongs to it), for highlighting against a chosen column. The one
    bounded word diff (:mod:`.textdiff`): a long answer that differs everywhere stays fast."""
    from .textdiff import pieces_of_other

    return pieces_of_other(base, other)
