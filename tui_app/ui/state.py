"""What the UI draws from: the engine's verdicts (status, stale reasons) and the live streams.

Plain Python (no Textual). Statuses, staleness, parameters, plans and dirtiness all belong to the
engine (:class:`~tui_app.core.workspace.Workspace`); this keeps only what drawing needs on top:
each prompt's stream as chunks (cheap to append), its last request, its run facts, a note.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.runs import PromptStatus

if TYPE_CHECKING:  # the engine's event and config modules are not needed to start drawing
    from ..core.config import AIConfig
    from ..core.events import RunEvent
    from ..core.request import ResolvedRequest
    from ..core.workspace import PromptState, Workspace


@dataclass
class RunInfo:
    """Facts about one prompt's latest run, shown in the Info view."""

    model: str = ""
    status: str = ""
    ttft: float | None = None
    latency: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cached: bool = False
    attempts: int = 1
    error: str | None = None
    offline: bool = False
    started_at: float | None = None

    @property
    def tokens_per_s(self) -> float | None:
        if not self.tokens_out or not self.latency:
            return None
        streaming = self.latency - (self.ttft or 0.0)
        return self.tokens_out / streaming if streaming > 0 else None

    def rows(self) -> list[tuple[str, str]]:
        def secs(value: float | None) -> str:
            return (
                "—"
                if value is None
                else f"{value * 1000:.0f} ms"
                if value < 1
                else f"{value:.2f} s"
            )

        def num(value: int | float | None, fmt: str = "{}") -> str:
            return "—" if value is None else fmt.format(value)

        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at))
            if self.started_at
            else "—"
        )
        cost = "unknown" if self.cost is None else f"${self.cost:.6f}"
        model = self.model or "—"
        if self.offline:  # built-in models: say so wherever their output is shown
            cost = "$0 (offline model)"
            model += " (offline, built-in)"
        return [
            ("status", self.status or "—"),
            ("model", model),
            ("started", when),
            ("ttft", secs(self.ttft)),
            ("latency", secs(self.latency)),
            ("tokens in", num(self.tokens_in)),
            ("tokens out", num(self.tokens_out)),
            ("tokens/s", num(self.tokens_per_s, "{:.1f}")),
            ("cost", cost),
            ("cached", "yes" if self.cached else "no"),
            ("attempts", str(self.attempts)),
            ("error", self.error or "—"),
        ]


@dataclass
class PromptView:
    status: PromptStatus = PromptStatus.IDLE
    chunks: list[str] = field(default_factory=list)
    request: ResolvedRequest | None = None
    info: RunInfo | None = None
    note: str = ""  # one line shown above the output: why it failed, was blocked, is stale...
    streaming: bool = False  # the chunks are a live (or just ended) stream of this session
    verdict: PromptState | None = None  # the engine's last word on it (reasons, error)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


class Session:
    """The UI's view of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.prompts: dict[str, PromptView] = {}
        self.rebuild()

    @property
    def config(self) -> AIConfig:
        return self.workspace.document

    @property
    def params(self) -> dict[str, Any]:
        return self.workspace.params

    @property
    def dirty(self) -> bool:
        return self.workspace.dirty

    # --- structure ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Follow the document's prompts after an edit (added, removed, renamed)."""
        names = self.config.prompt_names
        self.prompts = {name: self.prompts.get(name) or self._initial(name) for name in names}

    def ensure_graph(self) -> Any:
        return self.workspace.graph

    @property
    def graph(self) -> Any:
        return self.workspace.graph if self.workspace.graph_ready else None

    @property
    def graph_ready(self) -> bool:
        return self.workspace.graph_ready

    def _initial(self, name: str) -> PromptView:
        prompt = self.config.get(name)
        has_output = prompt is not None and prompt.output_text is not None
        return PromptView(status=PromptStatus.DONE if has_output else PromptStatus.IDLE)

    def state(self, name: str) -> PromptView:
        if name not in self.prompts:
            self.prompts[name] = self._initial(name)
        return self.prompts[name]

    def deps(self, name: str) -> tuple[str, ...]:
        graph = self.graph
        return tuple(graph.deps.get(name, ())) if graph else ()

    def reads(self, name: str) -> tuple[str, ...]:
        graph = self.graph
        return tuple(graph.reads.get(name, ())) if graph else ()

    def with_downstream(self, names: list[str]) -> list[str]:
        graph = self.workspace.graph
        out = list(dict.fromkeys(names))
        for name in names:
            if name in graph.deps:
                out += [n for n in graph.downstream(name) if n not in out]
        return out

    def parameter_rows(self, name: str) -> list[Any]:
        return self.workspace.parameter_rows(name)

    # --- the engine's verdicts ----------------------------------------------------------------
    def refresh_states(self) -> list[str]:
        """Take every prompt's status from the engine; returns the names whose status or
        reasons changed. Prompts in flight keep their live status."""
        changed = []
        for name, verdict in self.workspace.states().items():
            view = self.state(name)
            before = (view.status, view.verdict.detail if view.verdict else "")
            if view.status.active and view.streaming:
                continue
            view.verdict = verdict
            view.status = verdict.status
            if verdict.status is PromptStatus.STALE:
                view.note = stale_note(verdict)
            elif before[0] is PromptStatus.STALE:
                view.note = ""
            if (view.status, verdict.detail) != before:
                changed.append(name)
        return changed

    # --- runs ---------------------------------------------------------------------------------
    def apply(self, event: RunEvent) -> PromptView | None:
        """Record a runner event for drawing; returns the prompt's view (None for run events)."""
        from ..core import events as ev

        if isinstance(event, ev.RunDone | ev.Refused):
            return None
        state = self.state(event.prompt)
        match event:
            case ev.Delta():
                state.chunks.append(event.text)
            case ev.Queued():
                state.status, state.note = PromptStatus.QUEUED, ""
            case ev.Started():
                state.status, state.chunks, state.streaming = PromptStatus.RUNNING, [], True
                state.request, state.note = event.request, ""
                state.info = RunInfo(
                    model=event.request.model,
                    status="running",
                    offline=event.offline,
                    started_at=event.t,
                )
            case ev.Retrying():
                state.note = (
                    f"attempt {event.attempt} failed ({event.reason}); "
                    f"retrying in {event.delay:.1f} s"
                )
                state.chunks = []
                if state.info:
                    state.info.attempts = event.attempt + 1
            case ev.Finished():
                state.status, state.chunks = PromptStatus.DONE, [event.text]
                state.streaming, state.note = False, ""
                if event.finish_reason == "length":
                    from ..core.providers.base import CUT_AT_MAX_TOKENS

                    state.note = CUT_AT_MAX_TOKENS
                info = _this_runs_info(state, event.t)
                info.model, info.status = event.model, "done"
                info.ttft, info.latency = event.ttft, event.latency
                info.attempts, info.offline, info.cost = event.attempts, event.offline, event.cost
                if event.usage:
                    info.tokens_in = event.usage.prompt_tokens
                    info.tokens_out = event.usage.completion_tokens
                state.info = info
            case ev.Cached():
                state.status, state.chunks = PromptStatus.CACHED, [event.text]
                state.streaming = False
                state.note = "cached: the same request was answered before; nothing was sent"
                info = RunInfo(
                    model=event.model,
                    status="cached",
                    cached=True,
                    cost=event.cost,
                    started_at=event.cached_at or event.t,
                )
                if event.usage:
                    info.tokens_in = event.usage.prompt_tokens
                    info.tokens_out = event.usage.completion_tokens
                state.info = info
            case ev.Failed():
                state.status, state.streaming = PromptStatus.FAILED, False
                state.chunks = [event.partial_text] if event.partial_text else []
                state.note = f"failed: {event.error}" + (
                    " (partial output below)" if event.partial_text else ""
                )
                if self.config.get(event.prompt) and self.config.prompt(event.prompt).output_text:
                    state.note += " (the file keeps its last good output)"
                info = _this_runs_info(state, event.t)
                info.status, info.error, info.attempts = "failed", event.error, event.attempts
                state.info = info
            case ev.Blocked():
                state.status, state.streaming = PromptStatus.BLOCKED, False
                state.note = f"blocked by {event.by}: {event.reason}"
            case ev.Cancelled():
                state.status, state.streaming = PromptStatus.CANCELLED, False
                state.note = "cancelled" + (" (partial output below)" if event.partial_text else "")
                if event.partial_text:
                    state.chunks = [event.partial_text]
                info = _this_runs_info(state, event.t)
                info.status = "cancelled" if info.model else "cancelled before it started"
                state.info = info
        return state

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.prompts.values():
            counts[state.status.value] = counts.get(state.status.value, 0) + 1
        return counts

    def active(self) -> list[str]:
        return [name for name, state in self.prompts.items() if state.status.active]


def stale_note(verdict: PromptState) -> str:
    """The output pane's line for a stale prompt: why, and the key that helps."""
    # a stale upstream must run first: r alone would send its stale answer again
    needs_deps = any(r.kind.value == "upstream-stale" for r in verdict.reasons)
    key = "R re-runs it with its dependencies" if needs_deps else "r re-runs it"
    return f"stale ({key}): {verdict.detail}"  # the key first: a long list of changes follows


def _this_runs_info(state: PromptView, t: float) -> RunInfo:
    """The info of the run that just ended for a prompt: the one its start made, or a new one
    when it never started (cancelled or failed while queued). An earlier run's latency and
    tokens never sit beside this run's status."""
    if state.info is not None and state.info.status == "running":
        return state.info
    return RunInfo(started_at=t)
