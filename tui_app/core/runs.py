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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: the event classes are not needed to draw the first frame
    from .events import Usage
    from .history import RunOrigin
    from .request import ResolvedRequest
    from .staleness import Provenance, StaleReason

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
    def label(self) -> str:
        """Words for people (``prompt-tui status``)."""
        return _LABELS.get(self, self.value)

    @property
    def active(self) -> bool:
        return self in (PromptStatus.QUEUED, PromptStatus.RUNNING)

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_LABELS = {PromptStatus.IDLE: "never run", PromptStatus.DONE: "fresh"}
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
    """One prompt's outcome inside one run."""

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
    reason: str | None = None  # why it was blocked
    finish_reason: str | None = None
    offline: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    provenance: Provenance | None = None  # what its request was built from

    @property
    def succeeded(self) -> bool:
        return self.status in (PromptStatus.DONE, PromptStatus.CACHED)


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
    reasons: tuple[StaleReason, ...] = ()
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
            "label": self.status.label,
            "reasons": [r.to_json() for r in self.reasons],
            "error": self.error,
            "has_output": self.has_output,
        }
