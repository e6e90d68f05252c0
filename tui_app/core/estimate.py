"""What a run would send and cost, before it starts: requests, cache hits, tokens and money.

The estimate walks the plan the runner would execute (``Runner.plan``), in its order, resolving
each step as the runner would (``Runner.resolve_step``) with the outputs the run would have by
then:

- a step whose request the cache holds (``Runner.cached_output``, keyed like the runner's cache)
  is answered without sending: $0, and its stored answer feeds the steps after it exactly;
- a step that will be sent produces an answer nobody knows yet: the steps reading it (a
  ``{{step.output}}`` or chat context) are resolved with a marker in its place, counted without
  it, and their input grows by the upstream's output range (``depends_on`` names it);
- input tokens come from :mod:`.tokenize` (exact for OpenAI's families, else ≈ chars/4, said so);
- output tokens range from 0 to the step's ``max_tokens`` (or ``max_completion_tokens``, else the
  model's max output from the price table); the likely figure is the median of this prompt's
  earlier answers in the history (else the length of its stored answer);
- money comes from :mod:`.providers.pricing` (litellm's table, overridden by the model's
  ``input_cost_per_token`` / ``output_cost_per_token`` settings). A model without a price is
  "price unknown" — never $0 — and the totals say how many steps they leave out.

:class:`Budget` holds a run to a limit in USD: refused before anything is sent when the high
estimate exceeds it (a runner preflight check), and stopped before a step that would cross it
(a runner send check, counting actual spend from the usage of the steps done).
"""

from __future__ import annotations

import json
import re
import statistics
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import display
from .errors import PromptTuiError
from .events import Usage
from .model_settings import PRICE_SETTINGS
from .providers import pricing
from .providers.routing import is_offline, provider_of
from .request import ResolvedRequest
from .resolve import batch
from .runs import PromptStatus, Run
from .tokenize import counter_for

# Settings sent with a request that count as input tokens besides the messages.
EXTRA_INPUT_SETTINGS = ("tools", "functions", "response_format")

if TYPE_CHECKING:
    from .compare import Comparison
    from .graph import DependencyGraph
    from .runner import Runner

__all__ = [
    "Budget",
    "Estimate",
    "StepEstimate",
    "estimate_comparison",
    "estimate_request",
    "estimate_run",
]

_MARK = "\ue000{}\ue001"  # private-use characters: no template filter changes them
_MARKS = re.compile("\ue000(\\d+)\ue001")


@dataclass
class StepEstimate:
    """One step of a run, before it runs."""

    prompt: str
    model: str = ""
    cached: bool = False  # answered from the cache: nothing sent, $0
    offline: bool = False
    input_tokens: int = 0  # the request as known now (without upstream answers not produced)
    input_exact: bool = False
    input_method: str = ""  # the encoding, or "≈ chars/4"
    input_low: int = 0  # with upstream answers of 0 tokens ...
    input_likely: int | None = None  # ... of their likely length ...
    input_high: int | None = None  # ... of their maximum length (None: unbounded)
    output_likely: int | None = None
    output_high: int | None = None  # None: no max_tokens and no max output known
    output_limit: str = ""  # where output_high comes from
    likely_from: str = ""  # where output_likely comes from
    depends_on: tuple[str, ...] = ()  # upstream steps whose answers it reads, not produced yet
    price_source: str | None = None  # "price table", "model settings", "offline"; None: unknown
    cost_low: float | None = None
    cost_likely: float | None = None
    cost_high: float | None = None
    error: str | None = None  # cannot be resolved (it will fail when run)

    @property
    def sent(self) -> bool:
        return not self.cached and self.error is None

    @property
    def priced(self) -> bool:
        return self.cached or self.offline or self.price_source is not None

    @property
    def output_low(self) -> int:
        return 0

    def cost_text(self) -> str:
        if self.cached:
            return "$0 (cached)"
        if self.error is not None:
            return display.NONE
        if not self.priced:
            return "price unknown"
        return _range(self.cost_low, self.cost_likely, self.cost_high)

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "model": self.model,
            "cached": self.cached,
            "offline": self.offline,
            "error": self.error,
            "input_tokens": {
                "low": self.input_low,
                "likely": self.input_likely,
                "high": self.input_high,
                "exact": self.input_exact and not self.depends_on,
                "method": self.input_method,
            },
            "output_tokens": {
                "low": self.output_low,
                "likely": self.output_likely,
                "high": self.output_high,
                "limit": self.output_limit,
                "likely_from": self.likely_from,
            },
            "depends_on": list(self.depends_on),
            "price": self.price_source if self.priced else None,
            "cost": None
            if not self.priced
            else {"low": self.cost_low, "likely": self.cost_likely, "high": self.cost_high},
        }


def _range(low: float | None, likely: float | None, high: float | None) -> str:
    if high is not None and low == high:
        return display.cost(high)
    likely_text = f"≈ {display.cost(likely)} " if likely is not None else ""
    high_text = f"≤ {display.cost(high)}" if high is not None else "no upper bound"
    if likely_text:
        return f"{likely_text}({high_text})"
    if high is None:
        return f"≥ {display.cost(low)}, no upper bound"
    return f"{display.cost(low)}–{display.cost(high)}"


@dataclass
class Estimate:
    """A run's estimate: one row per step and the totals."""

    steps: list[StepEstimate] = field(default_factory=list)
    label: str = ""  # a comparison column's name
    problem: str | None = None  # the run cannot be planned (a cycle, an unknown prompt)
    # what the run leaves for runs after it (a comparison's upstream -> its columns): outputs
    # by prompt (cached answers, or markers of answers not produced yet) and those steps
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    pending: dict[int, StepEstimate] = field(default_factory=dict, repr=False)

    @property
    def requests(self) -> int:
        return sum(1 for s in self.steps if s.sent)

    @property
    def cached(self) -> int:
        return sum(1 for s in self.steps if s.cached)

    @property
    def unpriced(self) -> list[str]:
        return [s.prompt for s in self.steps if s.sent and not s.priced]

    @property
    def unbounded(self) -> list[str]:
        """Priced steps with no output limit: their high cost has no bound."""
        return [s.prompt for s in self.steps if s.sent and s.priced and s.cost_high is None]

    def _total(self, attr: str) -> float | None:
        priced = [s for s in self.steps if s.priced and s.error is None]
        if not priced:
            return None
        values = [0.0 if s.cached else getattr(s, attr) for s in priced]
        if any(v is None for v in values):
            return None
        return float(sum(values))

    @property
    def cost_low(self) -> float | None:
        return self._total("cost_low")

    @property
    def cost_likely(self) -> float | None:
        return self._total("cost_likely")

    @property
    def cost_high(self) -> float | None:
        return self._total("cost_high")

    def money(self) -> str:
        """``"≈ $0.004 (≤ $0.011)"``, with what the figure leaves out."""
        if self.problem is not None:
            return self.problem
        if self.requests == 0:
            return "$0"
        if self.cost_low is None:
            return "price unknown"
        text = _range(self.cost_low, self.cost_likely, self.cost_high)
        unpriced = self.unpriced
        if unpriced:
            text += f" + {display.plural(len(unpriced), 'step')} without a price"
        return text

    def summary(self) -> str:
        """One line: ``"3 requests, 2 cached · ≈ $0.004 (≤ $0.011)"``."""
        if self.problem is not None:
            return self.problem
        head = display.plural(self.requests, "request")
        if self.cached:
            head += f", {self.cached} cached"
        failing = sum(1 for s in self.steps if s.error is not None)
        if failing:
            head += f", {failing} cannot resolve"
        return f"{head} · {self.money()}"

    def to_json(self) -> dict[str, Any]:
        low = self.cost_low
        return {
            "label": self.label or None,
            "problem": self.problem,
            "requests": self.requests,
            "cached": self.cached,
            "cost": None
            if low is None
            else {"low": low, "likely": self.cost_likely, "high": self.cost_high},
            "currency": "USD",
            "unpriced": self.unpriced,
            "unbounded": self.unbounded,
            "input_tokens": {
                "low": sum(s.input_low for s in self.steps if s.sent),
                "high": _sum_or_none([s.input_high for s in self.steps if s.sent]),
            },
            "output_tokens": {
                "low": 0,
                "high": _sum_or_none([s.output_high for s in self.steps if s.sent]),
            },
            "steps": [s.to_json() for s in self.steps],
        }

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """Rows for people: step, model, input tokens, output tokens, cost."""
        rows = []
        for s in self.steps:
            if s.error is not None:
                rows.append((s.prompt, s.model, display.NONE, display.NONE, s.error))
                continue
            if s.cached:
                rows.append((s.prompt, s.model, display.NONE, "cached", s.cost_text()))
                continue
            rows.append((s.prompt, s.model, input_text(s), output_text(s), s.cost_text()))
        return rows


def _sum_or_none(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def input_text(step: StepEstimate) -> str:
    if step.cached:
        return "cached"
    mark = "" if step.input_exact else "≈ "
    if step.input_high != step.input_low:
        after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
        if step.input_high is None and not step.input_low:  # "0–unknown" said nothing
            return f"{display.UNKNOWN}{after}"
        high = display.count(step.input_high) if step.input_high is not None else display.UNKNOWN
        return f"{mark}{step.input_low:,}–{high}{after}"
    return f"{mark}{step.input_low:,}"


def output_text(step: StepEstimate) -> str:
    if step.cached:
        return "cached"
    high = f"≤ {step.output_high:,}" if step.output_high is not None else "no limit"
    likely = f"≈ {step.output_likely:,}, " if step.output_likely is not None else ""
    return f"{likely}{high}"


# --- one request ----------------------------------------------------------------------------


def _median(values: list[int]) -> int | None:
    return int(statistics.median(values)) if values else None


def _output_limit(request: ResolvedRequest, provider: str, offline: bool) -> tuple[int | None, str]:
    for key in ("max_completion_tokens", "max_tokens"):
        value = request.settings.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, key
    # A built-in offline model has no row in litellm's table: reading the table (megabytes,
    # kept for the process's life) for it would only make an offline file's header cost memory.
    entry = None if offline else pricing.entry_of(request.model, provider)
    for key in ("max_output_tokens", "max_tokens"):
        value = entry.get(key) if entry else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, "the model's max output"
    return None, "no max_tokens and no known max output"


def estimate_request(
    request: ResolvedRequest,
    *,
    likely: list[int] | None = None,
    stored_output: Mapping[str, Any] | None = None,
) -> StepEstimate:
    """A step whose request is known (no upstream answer pending): what sending it costs.
    ``likely``: output tokens of its earlier answers (newest first)."""
    step = StepEstimate(prompt=request.prompt, model=request.model)
    _fill(step, request, {}, {}, likely, stored_output)
    return step


def _fill(
    step: StepEstimate,
    request: ResolvedRequest,
    pending: dict[int, StepEstimate],
    names: dict[int, str],
    likely: list[int] | None,
    stored_output: Mapping[str, Any] | None,
) -> None:
    provider = provider_of(request.model, request.call_options)
    step.offline = is_offline(request.model)
    counter = counter_for(request.model, provider)
    # upstream answers not produced yet: count without their markers, add their ranges
    uses: dict[int, int] = {}
    messages = request.messages
    if pending:
        cleaned = []
        for message in messages:
            content = message.get("content")
            if isinstance(content, str) and "\ue000" in content:
                for found in _MARKS.findall(content):
                    uses[int(found)] = uses.get(int(found), 0) + 1
                message = {**message, "content": _MARKS.sub("", content)}
            cleaned.append(message)
        messages = cleaned
    base, exact = counter.messages(messages)
    # Tool definitions and a response schema are sent too, in a form of the provider's own: at
    # most their JSON text (the high side), at least nothing (the low side), never exact.
    extra = sum(
        counter.text(json.dumps(request.settings[key], separators=(",", ":"), default=str))
        for key in EXTRA_INPUT_SETTINGS
        if request.settings.get(key)
    )
    method = counter.method + (" + tools/schema as JSON" if extra else "")
    step.input_tokens, step.input_exact, step.input_method = (
        base + extra,
        exact and not extra,
        method,
    )
    step.depends_on = tuple(names[i] for i in uses)
    low, mid, high = base, base + extra, base + extra
    mid_known, high_known = True, True
    for index, times in uses.items():
        up = pending[index]
        if up.output_likely is None:
            mid_known = False
        else:
            mid += times * up.output_likely
        if up.output_high is None:
            high_known = False
        else:
            high += times * up.output_high
    step.input_low = low
    step.input_likely = mid if mid_known else None
    step.input_high = high if high_known else None

    limit, source = _output_limit(request, provider, step.offline)
    step.output_high, step.output_limit = limit, source
    earlier = _median(likely or [])
    if earlier is not None:
        step.likely_from = f"median of {display.plural(len(likely or []), 'earlier answer')}"
    else:
        usage = (stored_output or {}).get("metadata", {})
        usage = usage.get("usage") if isinstance(usage, dict) else None
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if isinstance(tokens, int):
            earlier, step.likely_from = tokens, "its stored answer"
    if earlier is not None and limit is not None:
        earlier = min(earlier, limit)
    step.output_likely = earlier

    if step.offline:
        step.price_source = "offline"
        step.cost_low = step.cost_likely = step.cost_high = 0.0
        return
    # the model's own price settings win over the table (as for the cost after the run)
    rates = {k: v for k, v in request.call_options.items() if k in PRICE_SETTINGS}
    stated = any(isinstance(v, int | float) and not isinstance(v, bool) for v in rates.values())
    entry = pricing.entry_of(request.model, provider)
    in_table = entry is not None and any(
        isinstance(entry.get(k), int | float) for k in PRICE_SETTINGS
    )
    if not (stated or in_table):
        return
    step.price_source = "model settings" if stated else "price table"

    def cost(tokens_in: int | None, tokens_out: int | None) -> float | None:
        if tokens_in is None or tokens_out is None:
            return None
        return pricing.cost_of(request.model, Usage(tokens_in, tokens_out), provider, rates)

    step.cost_low = cost(step.input_low, 0)
    step.cost_likely = cost(step.input_likely, step.output_likely)
    step.cost_high = cost(step.input_high, step.output_high)


# --- a run ----------------------------------------------------------------------------------


def _pending_output(index: int) -> dict[str, Any]:
    return {
        "output_type": "execute_result",
        "execution_count": 0,
        "data": _MARK.format(index),
        "metadata": {"role": "assistant"},
    }


def estimate_run(
    runner: Runner,
    run: Run,
    graph: DependencyGraph | None = None,
    *,
    answers: Mapping[str, list[int]] | None = None,
    after: Estimate | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Estimate:
    """The estimate of ``run`` (not started) against the runner's document, cache and history.
    Reads SQLite and tokenizes: call it off the UI loop. ``answers``: earlier answer lengths
    by prompt (read from the history when None). ``after``: the estimate of a run this one
    waits for and reads (a comparison's upstream). ``cancelled``: asked before each step; True
    stops the estimate early (a newer one supersedes it; its figures are then incomplete)."""
    estimate = Estimate(label=run.label)
    try:
        targets = runner.plan(run, graph)
    except Exception as exc:  # a cycle or an unknown prompt: the run would be refused
        estimate.problem = str(exc)
        return estimate
    config = runner.config
    if answers is None:
        answers = {}
        if runner.history is not None and config.path is not None:
            try:
                answers = runner.history.answer_lengths(str(config.path))
            except Exception:  # a broken history only costs the likely figure
                answers = {}
    overlay: dict[str, dict[str, Any]] = dict(run.output_overlay())
    pending: dict[int, StepEstimate] = {}
    if after is not None:
        overlay.update(after.outputs)
        pending.update(after.pending)
    names = {index: step.prompt for index, step in pending.items()}
    estimate.outputs, estimate.pending = overlay, pending
    session = batch(config, run.overrides.params, overlay)  # one session: linear in the plan
    for name in targets:
        if cancelled is not None and cancelled():
            estimate.problem = "superseded"
            break
        step = StepEstimate(prompt=name)
        estimate.steps.append(step)
        try:
            request = runner.resolve_step(run, name, overlay, session)
        except Exception as exc:  # reported as a failure when the run gets there
            step.error = str(exc)
            overlay[name] = _pending_output(len(pending))
            continue
        step.model = request.model
        uses_pending = "\ue000" in _texts(request)
        stored = None
        if not (run.force or uses_pending):
            try:
                stored = runner.cached_output(request.cache_key)
            except PromptTuiError:  # an unreadable history: estimate it as sent
                stored = None
        if stored is not None:
            step.cached = True
            step.price_source = "cached"
            step.cost_low = step.cost_likely = step.cost_high = 0.0
            overlay[name] = stored
            continue
        prompt = config.prompt(name)
        _fill(step, request, pending, names, answers.get(name), prompt.latest_output)
        index = len(pending)
        pending[index], names[index] = step, name
        overlay[name] = _pending_output(index)
    return estimate


def estimate_comparison(comparison: Comparison) -> list[Estimate]:
    """Each column's estimate (after the shared upstream's, first when there is one: it runs
    once for every column). Call it off the UI loop."""
    upstream = comparison.upstream
    workspace = comparison.workspace
    first = estimate_run(workspace.runner, upstream, workspace.graph) if upstream else None
    if first is not None:
        first.label = "upstream"
    found = []
    for index, run in enumerate(comparison.runs):  # a column may be the file at a revision
        source = comparison.workspace_of(index)
        found.append(estimate_run(source.runner, run, source.graph, after=first))
    return [first, *found] if first is not None else found


def _texts(request: ResolvedRequest) -> str:
    return "".join(m["content"] for m in request.messages if isinstance(m.get("content"), str))


# --- budgets --------------------------------------------------------------------------------


class Budget:
    """A limit in USD over every run of a runner it is installed on (a command's runs: the
    columns of a comparison, the re-runs of a watch). Install with :meth:`install`.

    Before a run: refused when the spend so far plus its high estimate exceeds the limit, when a
    step has no price (its cost could not be tracked) or no output limit (no bound). During a
    run: before each request goes out, the spend so far (actual costs of the steps done, from
    their usage; the high estimates of those on the wire) plus this step's high estimate must
    stay within the limit; the first step that would cross it stops its run (it and every later
    step of that run fail unsent)."""

    def __init__(self, limit: float, *, hint: str = "--max-cost") -> None:
        self.limit = float(limit)
        self.hint = hint  # how the user raises the limit, for messages
        self._lock = threading.Lock()
        self._reserved: dict[tuple[str, str], float] = {}
        self._runs: dict[str, Run] = {}
        self._stopped: set[str] = set()
        self._runner: Runner | None = None

    def install(self, runner: Runner) -> None:
        self._runner = runner
        runner.preflight_checks.append(self.preflight)
        runner.send_checks.append(self.before_send)

    def uninstall(self, runner: Runner) -> None:
        if self.preflight in runner.preflight_checks:
            runner.preflight_checks.remove(self.preflight)
        if self.before_send in runner.send_checks:
            runner.send_checks.remove(self.before_send)

    def _raise(self) -> str:
        return f"raise it with {self.hint} (now {display.cost(self.limit)})"

    def refusal(self, estimate: Estimate, spent: float = 0.0) -> str | None:
        """Why ``estimate`` does not fit the budget after ``spent``, or None."""
        if estimate.problem is not None or estimate.requests == 0:
            return None
        unpriced = estimate.unpriced
        if unpriced:
            return (
                f"budget: {display.plural(len(unpriced), 'step')} without a price "
                f"({', '.join(unpriced)}) cannot be held to {display.cost(self.limit)}: state "
                "input_cost_per_token / output_cost_per_token in the model's settings, or run "
                f"without {self.hint}"
            )
        unbounded = estimate.unbounded
        if unbounded:
            return (
                f"budget: {', '.join(unbounded)} has no max_tokens and no known max output, so "
                "its cost has no bound: set max_tokens"
            )
        high = estimate.cost_high
        if high is not None and spent + high > self.limit:
            so_far = f"{display.cost(spent)} spent so far, " if spent else ""
            return (
                f"budget: {so_far}this run could cost up to {display.cost(high)} "
                f"({estimate.summary()}), over the limit of {display.cost(self.limit)}: "
                f"{self._raise()}, or set max_tokens lower"
            )
        return None

    def preflight(self, run: Run, _requests: list[ResolvedRequest]) -> list[str]:
        if self._runner is None:
            return []
        problem = self.refusal(estimate_run(self._runner, run), self.spent())
        return [problem] if problem else []

    def spent(self) -> float:
        """Actual spend so far plus what the steps on the wire may still cost (USD)."""
        total = 0.0
        with self._lock:
            for (run_id, name), reserved in self._reserved.items():
                result = self._runs[run_id].results.get(name)
                status = result.status if result is not None else PromptStatus.QUEUED
                if status is PromptStatus.DONE and result is not None and result.cost is not None:
                    total += result.cost  # the actual cost, from the usage
                elif status is PromptStatus.CACHED:
                    continue
                else:  # on the wire, failed after sending, or done without a known cost
                    total += reserved
        return total

    def before_send(self, run: Run, name: str, request: ResolvedRequest) -> str | None:
        if run.id in self._stopped:
            return f"not sent: the budget of {display.cost(self.limit)} stopped the run"
        step = estimate_request(request)
        high = 0.0 if step.offline else step.cost_high
        spent = self.spent()
        if high is None or spent + high > self.limit:
            with self._lock:
                self._stopped.add(run.id)
            could = display.cost(high) if high is not None else "an unknown amount"
            return (
                f"not sent: {display.cost(spent)} spent so far and this step could cost up "
                f"to {could}, over the budget of {display.cost(self.limit)}: {self._raise()}"
            )
        with self._lock:
            self._runs[run.id] = run
            self._reserved[(run.id, name)] = high
        return None
