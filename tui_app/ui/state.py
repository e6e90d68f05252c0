"""What the UI draws from: the engine's verdicts (status, stale reasons) and the live streams.

Plain Python (no Textual). Statuses, staleness, parameters, plans and dirtiness all belong to the
engine (:class:`~tui_app.core.workspace.Workspace`); this keeps only what drawing needs on top:
each prompt's stream as chunks (cheap to append), its last request, its run facts, a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.graph import DependencyGraph
from ..core.runs import PromptResult, PromptState, PromptStatus, Run

if TYPE_CHECKING:
    from ..core.config import AIConfig
    from ..core.events import RunEvent
    from ..core.request import ResolvedRequest
    from ..core.resolve import ParamInfo
    from ..core.workspace import Workspace


@dataclass
class PromptView:
    """What drawing needs about one prompt on top of the engine's record: the stream as chunks
    (cheap to append, drawn in batches) and the engine's verdict. What happened in a run is
    ``result``, the run's own :class:`~tui_app.core.runs.PromptResult` (never copied here)."""

    status: PromptStatus = PromptStatus.IDLE
    chunks: list[str] = field(default_factory=list)
    streaming: bool = False  # the chunks are a live (or just ended) stream of this session
    result: PromptResult | None = None  # the latest run's record of this prompt
    verdict: PromptState | None = None  # the engine's last word on it (reasons, error)
    stale_note: str = ""
    document_has_output: bool = False  # the file still holds a good output (after a failure)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def request(self) -> ResolvedRequest | None:
        return self.result.request if self.result is not None else None

    @property
    def note(self) -> str:
        """One line above the output: why it failed, was blocked, is stale, is cached..."""
        if self.status is PromptStatus.STALE:
            return self.stale_note
        result = self.result
        verdict = self.verdict
        if result is None and verdict is not None and verdict.status is self.status:
            # its last run was before this session (the history's): the words `status` prints
            return f"{self.status.value}: {verdict.detail}" if verdict.detail else ""
        if result is None or result.status is not self.status:
            return ""
        note = result.note()
        if result.status is PromptStatus.FAILED and self.document_has_output:
            note += " (the file keeps its last good output)"
        return note


class Session:
    """The UI's view of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.prompts: dict[str, PromptView] = {}
        # prompts whose stream grew since the screen last drew it (the screen's timer drains it)
        self.stream_dirty: set[str] = set()
        self._preview: tuple[int, DependencyGraph] | None = None  # see preview_graph
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

    def ensure_graph(self) -> DependencyGraph:
        return self.workspace.graph

    @property
    def graph(self) -> DependencyGraph | None:
        return self.workspace.graph if self.workspace.graph_ready else None

    @property
    def graph_ready(self) -> bool:
        return self.workspace.graph_ready

    def preview_graph(self, first: int) -> None:
        """The first ``first`` prompts' edges, before the whole graph (built in a thread) is
        ready: what the first frame shows of a long file is right (its ▶ marks) at the cost of
        those prompts' templates only (compiled once: the whole graph reuses them)."""
        self._preview = (self.workspace.revision, DependencyGraph.build(self.config, first=first))

    def _graph_for(self, name: str) -> DependencyGraph | None:
        """The graph that knows ``name``'s edges: the whole one, else the preview's."""
        if self.workspace.graph_ready:
            return self.workspace.graph
        if self._preview is not None:
            revision, preview = self._preview
            if revision == self.workspace.revision and name in preview.reads:
                return preview
        return None

    def knows_deps(self, name: str) -> bool:
        return self._graph_for(name) is not None

    def _initial(self, name: str) -> PromptView:
        prompt = self.config.get(name)
        has_output = prompt is not None and prompt.output_text is not None
        return PromptView(status=PromptStatus.DONE if has_output else PromptStatus.IDLE)

    def state(self, name: str) -> PromptView:
        if name not in self.prompts:
            self.prompts[name] = self._initial(name)
        return self.prompts[name]

    def deps(self, name: str) -> tuple[str, ...]:
        graph = self._graph_for(name)
        return tuple(graph.deps.get(name, ())) if graph else ()

    def reads(self, name: str) -> tuple[str, ...]:
        graph = self._graph_for(name)
        return tuple(graph.reads.get(name, ())) if graph else ()

    def with_downstream(self, names: list[str]) -> list[str]:
        graph = self.workspace.graph
        out = list(dict.fromkeys(names))
        for name in names:
            if name in graph.deps:
                out += [n for n in graph.downstream(name) if n not in out]
        return out

    def parameter_rows(self, name: str) -> list[ParamInfo]:
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
            view.stale_note = stale_note(verdict) if verdict.status is PromptStatus.STALE else ""
            if (view.status, verdict.detail) != before:
                changed.append(name)
        return changed

    # --- runs ---------------------------------------------------------------------------------
    def apply(self, event: RunEvent, run: Run) -> PromptView | None:
        """Follow a runner event for drawing (the run's record is already up to date): keep
        the stream's chunks and point at the run's result. Returns the prompt's view (None
        for run-level events)."""
        from ..core.events import (  # loaded with the first run, not before the first frame
            Blocked,
            Cached,
            Cancelled,
            Delta,
            Failed,
            Finished,
            Refused,
            Retrying,
            RunDone,
            Started,
        )

        if isinstance(event, RunDone | Refused):
            return None
        view = self.state(event.prompt)
        result = run.results.get(event.prompt)
        if isinstance(event, Delta):
            view.chunks.append(event.text)
            self.stream_dirty.add(event.prompt)
            return view
        view.result = result
        if result is None:
            return view
        view.status = result.status
        match event:
            case Started():
                view.chunks, view.streaming = [], True
            case Retrying():
                view.chunks = []
            case Finished() | Cached():
                view.chunks, view.streaming = [result.text], False
            case Failed() | Cancelled():
                view.streaming = False
                view.chunks = [result.text] if result.text else []
                prompt = self.config.get(event.prompt)
                view.document_has_output = prompt is not None and prompt.output_text is not None
            case Blocked():
                view.streaming = False
        return view

    def show_result(self, name: str, result: PromptResult) -> None:
        """Draw ``result`` (an adopted comparison column's) as the prompt's latest: its answer,
        not the stream an earlier run of this session left behind."""
        view = self.state(name)
        view.result, view.status = result, result.status
        view.chunks, view.streaming = [result.text], False

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
