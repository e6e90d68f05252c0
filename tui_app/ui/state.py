"""What the UI remembers about a session: run-time parameters, per-prompt status and streams.

Plain Python (no Textual): the app feeds it runner events and reads it to draw. All execution
logic stays in the engine; this only records what the engine reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine's event and config modules are not needed to start drawing
    from ..core.config import AIConfig
    from ..core.events import RunEvent
    from ..core.request import ResolvedRequest

STATUSES = (
    "idle",
    "queued",
    "running",
    "done",
    "cached",
    "stale",
    "failed",
    "blocked",
    "cancelled",
)
ACTIVE = frozenset({"queued", "running"})
# Statuses that describe an output that exists and may go stale.
SETTLED = frozenset({"done", "cached", "stale"})


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
class PromptState:
    status: str = "idle"
    chunks: list[str] = field(default_factory=list)
    request: ResolvedRequest | None = None
    info: RunInfo | None = None
    note: str = ""  # one line shown above the output: why it failed, was blocked, ...
    streaming: bool = False  # the chunks are a live (or just ended) stream of this session

    @property
    def text(self) -> str:
        return "".join(self.chunks)


class Session:
    """Per-config UI state. ``params`` are the run-time overrides every run receives."""

    def __init__(self, config: AIConfig) -> None:
        self.config = config
        self.params: dict[str, Any] = {}
        self.prompts: dict[str, PromptState] = {}
        self.dirty = False
        self.graph: Any = None  # built by ensure_graph(): it needs the template engine (jinja2)
        # cache key of the request each loaded output is assumed to come from (its request when
        # the session began); used for 'stale' when the runner has no record of that output
        self.baselines: dict[str, str] = {}
        self.rebuild()

    # --- structure ----------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Re-read the config's structure after an edit (prompts added, removed, templates)."""
        names = self.config.prompt_names
        self.prompts = {name: self.prompts.get(name) or self._initial(name) for name in names}
        if self.graph is not None:
            self.graph = None
            self.ensure_graph()

    def ensure_graph(self) -> Any:
        if self.graph is None:
            from ..core.graph import DependencyGraph

            self.graph = DependencyGraph.build(self.config)
        return self.graph

    @property
    def graph_ready(self) -> bool:
        return self.graph is not None

    def _initial(self, name: str) -> PromptState:
        prompt = self.config.get(name)
        has_output = prompt is not None and prompt.output_text is not None
        return PromptState(status="done" if has_output else "idle")

    def state(self, name: str) -> PromptState:
        if name not in self.prompts:
            self.prompts[name] = self._initial(name)
        return self.prompts[name]

    def deps(self, name: str) -> tuple[str, ...]:
        return tuple(self.graph.deps.get(name, ())) if self.graph else ()

    def reads(self, name: str) -> tuple[str, ...]:
        reads = getattr(self.graph, "reads", None)
        return tuple(reads.get(name, ())) if isinstance(reads, dict) else self.deps(name)

    def run_set(self, target: str | None, mode: str) -> list[str]:
        """The prompts a run touches, in run order (the engine's graph decides)."""
        self.ensure_graph()
        if mode == "all" or target is None:
            try:
                return list(self.graph.order())
            except Exception:
                return list(self.config.prompt_names)
        if mode == "with_deps":
            try:
                return [*self.graph.upstream(target), target]
            except Exception:
                return [target]
        return [target]

    def affected_by_param(self, param: str) -> list[str]:
        """Prompts that read ``param`` and everything downstream of them."""
        from ..core.graph import prompt_references

        direct: list[str] = []
        for prompt in self.config.prompts:
            try:
                refs = prompt_references(prompt, self.config)
            except Exception:
                continue
            if any(ref.root == param for ref in refs):
                direct.append(prompt.name)
        return self.with_downstream(direct)

    def with_downstream(self, names: list[str]) -> list[str]:
        self.ensure_graph()
        out = list(dict.fromkeys(names))
        for name in names:
            try:
                out += [n for n in self.graph.downstream(name) if n not in out]
            except Exception:
                continue
        return out

    # --- parameters ---------------------------------------------------------------------------
    def parameter_rows(self, name: str) -> list[Any]:
        from ..core.resolve import parameter_table

        return parameter_table(self.config, name, self.params)

    def missing_for(self, names: list[str]) -> dict[str, list[str]]:
        """Values the prompts of a run would read but nobody provides, prompt -> names.

        An output of a prompt that is part of the same run is not missing: the run produces it.
        """
        produced = set(names)
        missing: dict[str, list[str]] = {}
        for name in names:
            try:
                rows = self.parameter_rows(name)
            except Exception:
                continue  # a template error: the run reports it as that prompt's failure
            for row in rows:
                if row.source != "missing":
                    continue
                root = row.name.split(".", 1)[0]
                if "." in row.name and root in produced:
                    continue
                missing.setdefault(name, []).append(row.name)
        return missing

    # --- staleness ----------------------------------------------------------------------------
    def _key(self, name: str) -> str | None:
        from ..core.errors import PromptTuiError
        from ..core.resolve import resolve

        try:
            return resolve(
                self.config, name, params=dict(self.params), allow_missing=True
            ).cache_key
        except PromptTuiError:
            return None

    def take_baselines(self) -> None:
        for prompt in self.config.prompts:
            if prompt.output_text is not None and prompt.name not in self.baselines:
                key = self._key(prompt.name)
                if key is not None:
                    self.baselines[prompt.name] = key

    def is_stale(self, name: str, runner: Any = None) -> bool:
        """The engine's verdict, or a change since the session began for outputs it never saw."""
        if runner is not None:
            try:
                if runner.is_stale(name, dict(self.params)):
                    return True
            except Exception:
                pass
        base = self.baselines.get(name)
        if base is None:
            return False
        return self._key(name) != base

    def refresh_stale(self, runner: Any = None) -> list[str]:
        """Re-judge every settled prompt; returns the names whose status changed.

        A prompt is stale when its request changed since its output, or when a prompt it reads
        is stale (re-running that one will change this one's request).
        """
        verdicts: dict[str, bool] = {}
        for name, state in self.prompts.items():
            self.settle(name)
            if state.status in ("done", "cached", "stale"):
                verdicts[name] = self.is_stale(name, runner)
        for name in [n for n, stale in verdicts.items() if stale]:
            try:
                below = self.graph.downstream(name) if self.graph is not None else []
            except Exception:
                below = []
            for other in below:
                if other in verdicts:
                    verdicts[other] = True
        return [name for name, stale in verdicts.items() if self.mark_stale(name, stale)]

    # --- runs ---------------------------------------------------------------------------------
    def apply(self, event: RunEvent) -> PromptState | None:
        """Record a runner event; returns the prompt's state (None for RunDone)."""
        kind = event.kind
        if kind == "done":
            return None
        state = self.state(event.prompt)
        if kind == "delta":
            state.chunks.append(event.text)
        elif kind == "queued":
            state.status = "queued"
            state.note = ""
        elif kind == "started":
            state.status = "running"
            state.chunks = []
            state.streaming = True
            state.request = event.request
            state.note = ""
            state.info = RunInfo(
                model=event.request.model,
                status="running",
                offline=event.offline,
                started_at=event.t,
            )
        elif kind == "retrying":
            state.note = (
                f"attempt {event.attempt} failed ({event.reason}); retrying in {event.delay:.1f} s"
            )
            state.chunks = []
            if state.info:
                state.info.attempts = event.attempt + 1
        elif kind == "finished":
            self.baselines.pop(event.prompt, None)  # the runner knows this output's request now
            state.status = "done"
            state.chunks = [event.text]
            state.streaming = False
            state.note = ""
            if event.finish_reason == "length":
                from ..core.providers.base import CUT_AT_MAX_TOKENS

                state.note = CUT_AT_MAX_TOKENS
            info = state.info or RunInfo(started_at=event.t)
            info.model = event.model
            info.status = "done"
            info.ttft, info.latency = event.ttft, event.latency
            info.attempts, info.offline, info.cost = event.attempts, event.offline, event.cost
            if event.usage:
                info.tokens_in = event.usage.prompt_tokens
                info.tokens_out = event.usage.completion_tokens
            state.info = info
            self.dirty = True
        elif kind == "cached":
            self.baselines.pop(event.prompt, None)
            state.status = "cached"
            state.chunks = [event.text]
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
            self.dirty = True
        elif kind == "failed":
            state.status = "failed"
            state.chunks = [event.partial_text] if event.partial_text else []
            state.streaming = False
            state.note = f"failed: {event.error}" + (
                " (partial output below)" if event.partial_text else ""
            )
            info = state.info or RunInfo(started_at=event.t)
            info.status, info.error, info.attempts = "failed", event.error, event.attempts
            state.info = info
        elif kind == "blocked":
            state.status = "blocked"
            state.streaming = False
            state.note = f"blocked by {event.by}: {event.reason}"
        elif kind == "cancelled":
            state.streaming = False
            state.note = "cancelled" + (" (partial output below)" if event.partial_text else "")
            if event.partial_text:
                state.chunks = [event.partial_text]
            state.status = "cancelled"
            if state.info:
                state.info.status = "cancelled"
        return state

    def settle(self, name: str) -> str:
        """The resting status of a prompt that is not running: idle, done/cached or stale."""
        state = self.state(name)
        prompt = self.config.get(name)
        if state.status in ACTIVE:
            return state.status
        if prompt is None or prompt.output_text is None:
            if state.status in SETTLED:
                state.status = "idle"
            return state.status
        if state.status in ("idle", "cancelled"):
            state.status = "done"
        return state.status

    def mark_stale(self, name: str, stale: bool) -> bool:
        """Apply a staleness verdict; True when the status changed."""
        state = self.state(name)
        before = state.status
        if stale and state.status in ("done", "cached"):
            state.status = "stale"
        elif not stale and state.status == "stale":
            state.status = "done"
        return state.status != before

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.prompts.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        return counts

    def active(self) -> list[str]:
        return [name for name, state in self.prompts.items() if state.status in ACTIVE]
