"""Runs as objects: what a run is asked to do, and what it produced, apart from the document.

A :class:`Run` has an id, a target (one prompt, a prompt with its dependencies, or all prompts),
its overrides (parameters, model, settings) and its own per-prompt results. Resolution inside a
run reads the run's results first, then the document's outputs (see ``Run.output_overlay``).
Whether results reach the document is the workspace's decision (``Workspace.apply``), never the
runner's: a failed or cancelled prompt keeps the last good output, and a run with a model or
settings override (a comparison column) changes nothing until the user adopts it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from . import display

if TYPE_CHECKING:  # annotations only
    from .changes import Change
    from .events import RunEvent, Usage
    from .history import RunOrigin
    from .request import ResolvedRequest
    from .staleness import Provenance
    from .structured import StructuredAnswer

# An answer that stopped at max_tokens is a success, but the reader must know it may be cut.
CUT_AT_MAX_TOKENS = "cut at max_tokens: the answer is complete up to the token limit"

RunMode = Literal["one", "with_deps", "all"]


class PromptStatus(enum.StrEnum):
    """The one status vocabulary: the engine reports it, the tree, the CLI and JSON show it."""

    IDLE = "idle"  # no output yet
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # an output made by the request the prompt would send now
    CACHED = "cached"  # done, answered from the cache by this session's run
    STALE = "stale"  # an output exists, but the request would differ now (see Staleness)
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (PromptStatus.QUEUED, PromptStatus.RUNNING)

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        PromptStatus.DONE,
        PromptStatus.CACHED,
        PromptStatus.FAILED,
        PromptStatus.BLOCKED,
        PromptStatus.CANCELLED,
    }
)


class RunState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"  # every prompt reached a terminal status
    REFUSED = "refused"  # nothing was sent (missing parameters or keys, a cycle, a bad setting)
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Overrides:
    """What a run changes for itself only. Parameters are run-time values (the TUI's form, ``-p``);
    a model or settings override makes the run an experiment whose outputs stay in the run."""

    params: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    # the one prompt the model and settings apply to (a chain comparison: the compared step;
    # its downstream keeps its own models); None: every prompt of the run
    scope: str | None = None

    @property
    def changes_model(self) -> bool:
        return self.model is not None or bool(self.settings)

    def for_prompt(self, name: str) -> tuple[str | None, dict[str, Any]]:
        """The (model, settings) override that applies to prompt ``name``."""
        if self.scope is not None and name != self.scope:
            return None, {}
        return self.model, self.settings


@dataclass
class PromptResult:
    """One prompt's outcome inside one run: the one record of what happened to it.

    Only :meth:`Run.apply` writes it. Every surface reads it: the tree, Info and the output
    pane's note, the CLI summary and ``--json``, history rows, comparison columns, export.
    """

    status: PromptStatus = PromptStatus.QUEUED
    text: str = ""  # streamed so far; the whole answer once done; partial on failure/cancel
    output: dict[str, Any] | None = None  # the AIConfig execute_result (done/cached only)
    request: ResolvedRequest | None = None
    model: str = ""
    usage: Usage | None = None
    cost: float | None = None
    ttft: float | None = None
    latency: float | None = None
    attempts: int = 1
    error: str | None = None
    http_status: int | None = None  # the provider's HTTP status when it answered with one
    reason: str | None = None  # why it was blocked
    blocked_by: str | None = None
    finish_reason: str | None = None
    offline: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    cached_at: float | None = None  # cached: when the answer it reuses was produced
    retry: str | None = None  # while retrying: what failed and when the next attempt goes
    provenance: Provenance | None = None  # what its request was built from
    # the answer read as data (JSON or a tool call) with its schema verdict; None: plain text
    structured: StructuredAnswer | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in (PromptStatus.DONE, PromptStatus.CACHED)

    @property
    def started(self) -> bool:
        """A request was resolved and sent (or answered from the cache)."""
        return self.started_at is not None or self.status is PromptStatus.CACHED

    @property
    def cut(self) -> bool:
        return self.succeeded and self.finish_reason == "length"

    @property
    def tokens_in(self) -> int | None:
        return self.usage.prompt_tokens if self.usage else None

    @property
    def tokens_out(self) -> int | None:
        return self.usage.completion_tokens if self.usage else None

    @property
    def tokens_per_s(self) -> float | None:
        return display.tokens_per_s(self.tokens_out, self.latency, self.ttft)

    @property
    def tokens_estimated(self) -> bool:
        """litellm counted the tokens itself: the server sent none."""
        return bool(self.usage and self.usage.estimated)

    def note(self) -> str:
        """One line for people on what happened, or "" when the status says it all."""
        partial = bool(self.text)
        match self.status:
            case PromptStatus.FAILED:
                return f"failed: {self.error}" + (
                    " (the partial answer is kept)" if partial else ""
                )
            case PromptStatus.BLOCKED:
                # the reason names the prompt ("'a' failed"): "blocked by a: 'a' failed" twice
                why = self.reason or f"'{self.blocked_by}' did not finish"
                return f"blocked: {why}, so nothing was sent"
            case PromptStatus.CANCELLED:
                if not self.started:
                    return "cancelled before it started"
                return "cancelled" + (" (the partial answer is kept)" if partial else "")
            case PromptStatus.CACHED:
                return "cached: the same request was answered before; nothing was sent"
            case PromptStatus.RUNNING if self.retry:
                return self.retry
            case PromptStatus.DONE if self.cut:
                return CUT_AT_MAX_TOKENS
        return ""

    def to_json(self) -> dict[str, Any]:
        """The record for machines (``--json``, comparisons, exports): figures as numbers,
        None where unknown."""
        return {
            "status": self.status.value,
            "model": self.model,
            "output": self.text,
            "ttft": self.ttft,
            "latency": self.latency,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            # litellm counted the tokens itself (the server sent none): not the server's figures
            "tokens_estimated": self.tokens_estimated,
            "tokens_per_s": self.tokens_per_s,
            "cost": self.cost,
            "attempts": self.attempts,
            "error": self.error or self.reason,
            "finish_reason": self.finish_reason,
            "offline": self.offline,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }

    def facts(self) -> list[tuple[str, str]]:
        """The run facts of Info and exports, each worded by :mod:`.display`."""
        when = display.when(self.cached_at if self.status is PromptStatus.CACHED else None)
        if when == display.NONE:
            when = display.when(self.started_at)
        started = self.started
        model = self.model or display.NONE
        if self.offline:  # built-in models: say so wherever their output is shown
            model += " (offline, built-in)"
        return [
            ("status", self.status.value),
            ("model", model),
            ("started", when),
            ("ttft", display.seconds(self.ttft)),
            ("latency", display.seconds(self.latency)),
            (
                "tokens in",
                display.count(self.tokens_in, estimated=self.tokens_estimated)
                if started
                else display.NONE,
            ),
            (
                "tokens out",
                display.count(self.tokens_out, estimated=self.tokens_estimated)
                if started
                else display.NONE,
            ),
            ("tokens/s", display.rate(self.tokens_per_s)),
            ("cost", display.cost(self.cost, offline=self.offline) if started else display.NONE),
            ("cached", "yes" if self.status is PromptStatus.CACHED else "no"),
            ("attempts", str(self.attempts)),
            ("finish reason", self.finish_reason or display.NONE),
            ("error", self.error or self.reason or display.NONE),
        ]


@dataclass
class Run:
    target: str | None
    mode: RunMode
    overrides: Overrides = field(default_factory=Overrides)
    force: bool = False
    group_id: str | None = None  # the runs of one comparison share it (history)
    label: str = ""  # a comparison column's name, for people
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    plan: list[str] = field(default_factory=list)
    results: dict[str, PromptResult] = field(default_factory=dict)
    state: RunState = RunState.PENDING
    refusal: str | None = None
    revision: int = 0  # the document revision the run was planned against
    # explicit prompts to run (in dependency order), instead of what target and mode select
    steps: list[str] | None = None
    # outputs handed to the run (a comparison's upstream, resolved once): read before the document
    seed: dict[str, dict[str, Any]] = field(default_factory=dict)
    isolated: bool = False  # an experiment even without a model override (a comparison's upstream)
    # where the config came from (git) and the user's tags/metadata; filled in as the run starts
    origin: RunOrigin | None = None
    # a reload handed this run's outdated prompts to a re-run: their cancellation is not news
    superseded: bool = False

    @property
    def is_plain(self) -> bool:
        """A plain run's successes become the document's outputs; an experiment's do not."""
        return not self.overrides.changes_model and not self.isolated

    @property
    def active(self) -> bool:
        return self.state in (RunState.PENDING, RunState.RUNNING)

    def result(self, prompt: str) -> PromptResult:
        if prompt not in self.results:
            self.results[prompt] = PromptResult()
        return self.results[prompt]

    def apply(self, event: RunEvent) -> PromptResult | None:
        """The one reducer: fold a runner event into this run's record. Returns the prompt's
        result (None for run-level events)."""
        # The event classes load with the first run, not before the first frame (a module of
        # dataclasses is slow to import: bench/startup.py).
        from .events import (
            Blocked,
            Cached,
            Cancelled,
            Delta,
            Failed,
            Finished,
            Queued,
            Refused,
            Retrying,
            RunDone,
            Started,
        )

        if isinstance(event, Refused):
            self.state, self.refusal = RunState.REFUSED, event.message
            return None
        if isinstance(event, RunDone):
            if self.state in (RunState.PENDING, RunState.RUNNING):
                cancelled = any(r.status is PromptStatus.CANCELLED for r in self.results.values())
                self.state = RunState.CANCELLED if cancelled else RunState.DONE
            return None
        if self.state is RunState.PENDING:
            self.state = RunState.RUNNING
        result = self.result(event.prompt)
        match event:
            case Queued():
                result.status = PromptStatus.QUEUED
            case Started():
                result.status, result.request = PromptStatus.RUNNING, event.request
                result.model, result.offline = event.request.model, event.offline
                result.started_at, result.text, result.retry = event.t, "", None
            case Delta():
                result.text += event.text
            case Retrying():
                result.text, result.attempts = "", event.attempt + 1
                result.retry = (
                    f"attempt {event.attempt} failed ({event.reason}); "
                    f"retrying in {display.seconds(event.delay)}"
                )
            case Finished():
                result.status, result.text, result.output = (
                    PromptStatus.DONE,
                    event.text,
                    event.output,
                )
                result.model, result.usage, result.cost = event.model, event.usage, event.cost
                result.ttft, result.latency = event.ttft, event.latency
                result.attempts, result.offline = event.attempts, event.offline
                result.finish_reason, result.ended_at, result.retry = (
                    event.finish_reason,
                    event.t,
                    None,
                )
                result.structured = event.structured
            case Cached():
                result.status, result.text, result.output = (
                    PromptStatus.CACHED,
                    event.text,
                    event.output,
                )
                result.model, result.usage, result.cost = event.model, event.usage, event.cost
                result.offline, result.request = event.offline, event.request or result.request
                result.finish_reason = (event.output.get("metadata") or {}).get("finish_reason")
                result.cached_at, result.ended_at = event.cached_at or None, event.t
                result.ttft, result.latency = event.ttft, event.latency  # the answer's own run
                result.structured = event.structured
            case Failed():
                result.status, result.error = PromptStatus.FAILED, event.error
                result.attempts, result.http_status = event.attempts, event.http_status
                result.text, result.ended_at, result.retry = event.partial_text, event.t, None
                result.structured = event.structured
            case Blocked():
                result.status, result.ended_at = PromptStatus.BLOCKED, event.t
                result.reason, result.blocked_by = event.reason, event.by
            case Cancelled():
                result.status, result.text = PromptStatus.CANCELLED, event.partial_text
                result.ended_at, result.retry = event.t, None
        return result

    def outputs_view(self) -> OutputsView:
        """:meth:`output_overlay` without the copy, for one resolution: each lookup is O(1),
        where building the dict per prompt made a 1,000-prompt run quadratic."""
        return OutputsView(self)

    def output_overlay(self) -> dict[str, dict[str, Any]]:
        """Outputs this run produced (and those it was seeded with): resolution reads them
        before the document's."""
        return {
            **self.seed,
            **{
                name: result.output
                for name, result in self.results.items()
                if result.succeeded and result.output is not None
            },
        }

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.results.values():
            out[result.status.value] = out.get(result.status.value, 0) + 1
        return out

    def describe(self) -> str:
        if self.mode == "all" or self.target is None:
            what = "all prompts"
        elif self.mode == "one":
            what = self.target
        else:
            what = f"{self.target} with dependencies"
        return f"{self.label}: {what}" if self.label else what


@dataclass(frozen=True)
class PromptState:
    """A prompt as the engine sees it now: its status, and why when it is stale, failed or
    blocked. The one answer the tree, the output pane and `prompt-tui status` all show."""

    name: str
    status: PromptStatus
    reasons: tuple[Change, ...] = ()
    error: str | None = None  # failed: the error; blocked: why
    has_output: bool = False

    @property
    def detail(self) -> str:
        if self.reasons:
            return "; ".join(str(r) for r in self.reasons)
        return self.error or ""

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.name,
            "status": self.status.value,
            "reasons": [r.to_json() for r in self.reasons],
            "error": self.error,
            "has_output": self.has_output,
        }


class OutputsView(Mapping[str, dict[str, Any]]):
    """A run's outputs as resolution reads them (its results, then its seed), read live."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def __getitem__(self, name: str) -> dict[str, Any]:
        result = self._run.results.get(name)
        if result is not None and result.succeeded and result.output is not None:
            return result.output
        return self._run.seed[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.output_overlay())

    def __len__(self) -> int:
        return len(self._run.output_overlay())
