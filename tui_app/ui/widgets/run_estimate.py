"""What the next ``r`` / ``R`` / ``a`` would send and cost for the selected prompt.

:class:`RunEstimates` belongs to the main screen. Every change that can move the figure (the
selection, a parameter or setting typed, a model changed, a run finished, a reload) calls
:meth:`RunEstimates.schedule`; after a short pause (typing coalesces) a thread worker computes the
three estimates with the engine (:func:`~...core.estimate.estimate_run`) and posts
:class:`EstimatesReady`. A newer request supersedes the older one: its worker is cancelled
(``exclusive``) and the engine stops at its next step. The UI loop never tokenizes, resolves
or reads SQLite for it, so typing never waits for an estimate.

The estimate of a run made just before it started is kept, so Info can show estimate vs actual
per step once it is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from ...core import display
from ...core.runs import Overrides, PromptResult, PromptStatus, Run

if TYPE_CHECKING:
    from ...core.estimate import Budget, Estimate
    from ...core.graph import DependencyGraph
    from ...core.runner import Runner
    from ...core.workspace import Workspace

MODES = {"one": "r", "with_deps": "R", "all": "a"}
DELAY = 0.15  # seconds of quiet before estimating: a burst of keys makes one estimate
WORK_SLICE = 0.0005  # seconds the estimate computes before it steps aside ...
PAUSE = 0.0005  # ... for this long, leaving the interpreter to the UI loop


@dataclass
class EstimatesReady(Message):
    """The estimates of r / R / a for ``prompt`` (by run mode), computed off the UI loop."""

    prompt: str | None
    estimates: dict[str, Estimate]
    generation: int


class RunEstimates:
    """Keeps the estimates of the selected prompt's runs fresh (see the module docstring)."""

    def __init__(self, owner: Widget) -> None:
        self.owner = owner
        self.prompt: str | None = None
        self.current: dict[str, Estimate] = {}
        self.before_run: dict[str, Estimate] = {}  # run id -> its estimate when it started
        self._runs: dict[str, Run] = {}  # prompt -> the newest estimated run that includes it
        self._budget: Budget | None = None
        self._generation = 0
        self._timer: Timer | None = None  # the pause before estimating (one at a time)
        self._due = 0.0  # time.monotonic() when the pause ends
        self._wanted: tuple[Workspace, str | None] | None = None  # what to estimate then
        self.started = 0  # estimates computed so far (one per pause, however many requests)

    # --- computing ----------------------------------------------------------------------------
    def schedule(self, workspace: Workspace, prompt: str | None) -> None:
        """Estimate again after a short pause; any estimate under way is superseded.

        Called on every selection and every key typed in the form: it only notes the request
        and when the pause ends. One timer waits for the pause (a timer is an asyncio task:
        making and cancelling one per key press cost every selection its share)."""
        self._generation += 1
        self._wanted = (workspace, prompt)
        self._due = time.monotonic() + DELAY
        if self._timer is None:
            self._timer = self.owner.set_timer(DELAY, self._pause_over)

    @property
    def waiting(self) -> bool:
        """An estimate is asked for and its pause has not ended yet."""
        return self._timer is not None

    def _pause_over(self) -> None:
        self._timer = None
        left = self._due - time.monotonic()
        if left > 0.005:  # asked again since the timer was set: the pause starts over
            self._timer = self.owner.set_timer(left, self._pause_over)
            return
        if self._wanted is not None:
            workspace, prompt = self._wanted
            self._start(workspace, prompt, self._generation)

    def _start(self, workspace: Workspace, prompt: str | None, generation: int) -> None:
        if generation != self._generation or not workspace.graph_ready:
            return
        self.started += 1
        params = dict(workspace.params)  # copied on the loop: the form may change it meanwhile
        runs = {
            mode: Run(None if mode == "all" else prompt, mode, overrides=Overrides(params=params))  # type: ignore[arg-type]
            for mode in MODES
            if prompt is not None or mode == "all"
        }
        runner, graph = workspace.runner, workspace.graph
        self.owner.run_worker(
            partial(self._compute, runner, runs, graph, prompt, generation),
            thread=True,
            exclusive=True,
            group="estimate",
            description="estimate the next run",
            exit_on_error=False,
        )

    def _compute(
        self,
        runner: Runner,
        runs: dict[str, Run],
        graph: DependencyGraph,
        prompt: str | None,
        generation: int,
    ) -> None:
        from ...core.estimate import estimate_run

        worker = get_current_worker()

        last_pause = time.perf_counter()

        def superseded() -> bool:
            # Asked between steps. The worker is pure Python and shares the interpreter with
            # the UI loop: it steps aside briefly every few milliseconds, and it stops as soon
            # as an edit supersedes it (every key typed in the form does), so a key never
            # waits for more than one step (bench/estimate.py).
            nonlocal last_pause
            if time.perf_counter() - last_pause > WORK_SLICE:
                time.sleep(PAUSE)
                last_pause = time.perf_counter()
            return worker.is_cancelled or generation != self._generation

        found: dict[str, Estimate] = {}
        answers = None
        # R first (the header's figure), then r, then a (the whole file: the longest); each is
        # posted as soon as it is known
        for mode in sorted(runs, key=("with_deps", "one", "all").index):
            if superseded():
                return
            try:
                if answers is None and runner.history is not None and runner.config.path:
                    answers = runner.history.answer_lengths(str(runner.config.path))
                found[mode] = estimate_run(
                    runner, runs[mode], graph, answers=answers or {}, cancelled=superseded
                )
            except Exception:  # the document changed under it: the next schedule says it
                return
            if superseded():
                return
            self.owner.post_message(EstimatesReady(prompt, dict(found), generation))

    def accept(self, message: EstimatesReady) -> bool:
        """Keep the estimates a worker posted, unless a newer one was asked for since."""
        if message.generation != self._generation:
            return False
        self.prompt, self.current = message.prompt, message.estimates
        return True

    # --- runs ---------------------------------------------------------------------------------
    def for_run(self, target: str | None, mode: str) -> Estimate | None:
        """The current estimate of the run ``r`` / ``R`` / ``a`` would start (None: not known
        yet, or made for another prompt)."""
        if mode != "all" and target != self.prompt:
            return None
        return self.current.get(mode)

    def run_started(self, run: Run) -> None:
        found = self.for_run(run.target, run.mode)
        if found is not None:
            self.before_run[run.id] = found
            for step in found.steps:
                self._runs[step.prompt] = run

    def last_run(self, prompt: str) -> Run | None:
        """The newest run started with an estimate that included ``prompt``."""
        return self._runs.get(prompt)

    def confirmation(
        self, found: Estimate | None, threshold: float | None, *, force: bool = False
    ) -> str | None:
        """The question to ask before a run whose estimate is above ``threshold`` (USD), or
        None: run at once (no threshold, nothing sent, or within it). A forced run sends its
        cached steps too: with any, the figure is too low, and the question says so."""
        if threshold is None or found is None:
            return None
        forced = force and found.cached > 0
        if found.requests == 0 and not forced:
            return None
        high = found.cost_high
        if high is not None and high <= threshold and not found.unpriced and not forced:
            return None
        could = f"up to {display.cost(high)}" if high is not None else "an amount nobody knows"
        if forced:
            could = f"more than {display.cost(high)}: forced, its {found.cached} cached steps are sent too"
        return (
            f"{found.summary()}\n\nThis run could cost {could}, above the "
            f"{display.cost(threshold)} you asked to confirm (confirm_cost_above in the "
            "settings file)."
        )

    def hold_to(self, limit: float | None, runner: Runner) -> None:
        """Hold every run to ``limit`` USD (``max_cost`` in the settings file; None: no limit),
        a budget over the session like ``--max-cost`` over a command."""
        from ...core.estimate import Budget

        if self._budget is not None and (limit is None or self._budget.limit != limit):
            self._budget.uninstall(runner)
            self._budget = None
        if limit is not None and self._budget is None:
            self._budget = Budget(limit, hint="max_cost in the settings file")
            self._budget.install(runner)

    # --- words --------------------------------------------------------------------------------
    def header_text(self, width: int) -> str:
        """The header's figure for the selected prompt: what R would send (what it needs), with
        what r and a would cost beside it where there is room; money only on narrow ones."""
        one = self.current.get("one")
        with_deps = self.current.get("with_deps")
        every = self.current.get("all")
        if with_deps is None:
            return ""
        if width < 100:
            return f"R {with_deps.money()}"
        text = f"R: {with_deps.summary()}"
        if width >= 140:
            if one is not None:
                text = f"r {one.money()} │ {text}"
            if every is not None:
                text += f" │ a {every.money() if width < 170 else every.summary()}"
        return text

    def info_text(self, prompt: str | None, finished: Run | None) -> str:
        """Info's part: estimate vs actual of the last run (when it was estimated), then what
        r / R / a would send now, with R's steps."""
        lines: list[str] = []
        before = self.before_run.get(finished.id) if finished is not None else None
        if finished is not None and before is not None:
            lines += ["Last run: estimate vs actual", *_versus(before, finished), ""]
        if prompt is not None and prompt == self.prompt and self.current:
            lines.append("Next run (estimate)")
            for mode, key in MODES.items():
                found = self.current.get(mode)
                if found is not None:
                    lines.append(f"  {key}  {found.summary()}")
            with_deps = self.current.get("with_deps")
            if with_deps is not None and with_deps.steps:
                lines.append("")
                lines += _table(with_deps)
        return "\n".join(lines)


def _table(found: Estimate) -> list[str]:
    """Two lines a step (Info is a narrow pane): tokens, then cost."""
    width = max(len(s.prompt) for s in found.steps)
    lines = []
    for step, (_name, _model, tokens_in, tokens_out, cost) in zip(
        found.steps, found.table(), strict=True
    ):
        lines.append(f"  {step.prompt:<{width}}  in {tokens_in} · out {tokens_out}")
        lines.append(f"  {'':<{width}}  {cost}")
    return lines


def _actual_cost(result: PromptResult | None) -> str:
    if result is None or not result.succeeded:
        return display.NONE
    if result.status is PromptStatus.CACHED:
        return "$0 (cached)"
    return display.cost(result.cost, offline=result.offline)


def _versus(before: Estimate, run: Run) -> list[str]:
    """Per step, estimate → actual: input and output tokens, then cost."""
    from ...core.estimate import input_text, output_text

    width = max(len(s.prompt) for s in before.steps)
    lines = []
    for step in before.steps:
        result = run.results.get(step.prompt)
        if step.cached and result is not None and result.status is PromptStatus.CACHED:
            lines.append(f"  {step.prompt:<{width}}  cached, as estimated: nothing sent, $0")
            continue
        usage = result.usage if result is not None else None
        tokens_in = display.count(usage.prompt_tokens) if usage else display.NONE
        tokens_out = display.count(usage.completion_tokens) if usage else display.NONE
        lines.append(
            f"  {step.prompt:<{width}}  in {input_text(step)} → {tokens_in}"
            f" · out {output_text(step)} → {tokens_out}"
        )
        lines.append(f"  {'':<{width}}  {step.cost_text()} → {_actual_cost(result)}")
    return lines
