"""The dependency graph between prompts.

Two kinds of edge, both real data dependencies:
- a prompt *reads* another's output: ``{{summary.output}}`` anywhere in its template, system
  prompt or settings messages, at any position in the file;
- a prompt inherits *chat context*: with ``remember_chat_context`` on (the default), every earlier
  prompt with the same model name is sent as history, answer included. Running them out of order
  would send a different request than the AIConfig SDK, so they order the run too.

A parameter with a prompt's name shadows the prompt (parameters win in resolution), so such a
reference is a parameter, not an edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from graphlib import CycleError as _GraphlibCycle
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING

from .config import AIConfig, Prompt
from .errors import ConfigError, ConfigErrors, CycleError, PromptTuiError
from .templates import Reference, default_engine, reads

if TYPE_CHECKING:
    from .templates import TemplateEngine


def prompt_sources(prompt: Prompt, config: AIConfig) -> list[str]:
    """Every template text that resolving ``prompt`` renders with the prompt's own parameters."""
    sources: list[str] = []
    if prompt.template is not None:
        sources.append(prompt.template)
    raw = prompt.input
    attachments = raw.get("attachments") if isinstance(raw, dict) else None
    if isinstance(attachments, list):  # an attachment's path may be a parameter ({{photo}})
        for item in attachments:
            data = item.get("data") if isinstance(item, dict) else None
            if isinstance(data, dict):  # the SDK's {kind: "file_uri", value}
                data = data.get("value")
            if isinstance(data, str):
                sources.append(data)
    settings = {
        **config.models.get(config.model_name_of(prompt) or "", {}),
        **prompt.model_settings,
    }
    system = settings.get("system_prompt")
    if isinstance(system, dict):
        system = system.get("content")
    if isinstance(system, str):
        sources.append(system)
    messages = settings.get("messages")
    if isinstance(messages, list):
        sources += [
            m["content"]
            for m in messages
            if isinstance(m, dict) and isinstance(m.get("content"), str)
        ]
    return sources


def prompt_references(
    prompt: Prompt, config: AIConfig, engine: TemplateEngine | None = None
) -> list[Reference]:
    """References read by all of a prompt's templates, unique, in order of appearance (without
    ``engine``: :func:`.templates.reads`, which spares the first frame Jinja2)."""
    names = config.prompt_name_set
    seen: dict[tuple[str, str | None], Reference] = {}
    for source in prompt_sources(prompt, config):
        if engine is None:
            found = reads(source, names, prompt=prompt.name)[0]
        else:
            found = engine.compile(source, names, prompt=prompt.name).references
        for ref in found:
            seen.setdefault((ref.root, ref.attr), ref)
    return list(seen.values())


@dataclass
class DependencyGraph:
    order_in_file: list[str]
    reads: dict[str, tuple[str, ...]]  # prompt -> prompts whose output it reads
    # prompt -> earlier prompts it inherits chat context from (direct edges; see build())
    context: dict[str, tuple[str, ...]]
    unknown: dict[str, list[str]] = field(default_factory=dict)  # prompt -> unknown names it reads
    errors: dict[str, PromptTuiError] = field(default_factory=dict)  # prompt -> template error
    cycle: list[str] | None = None
    # A name used by two prompts makes every edge to it ambiguous: reported instead of a cycle.
    duplicates: list[ConfigError] = field(default_factory=list)

    @classmethod
    def build(
        cls, config: AIConfig, engine: TemplateEngine | None = None, *, first: int | None = None
    ) -> DependencyGraph:
        """Never raises: template errors and a cycle are recorded for the caller to show.

        ``first``: only the first N prompts, for a front end that draws them before the whole
        graph is built. Each of their edges is exact (a prompt's edges come from its own
        templates and the prompts before it); a cycle through a later prompt is not seen. It
        answers with the quick template scan while no engine exists (a first frame's preview
        does not load Jinja2); the whole graph creates the engine."""
        if engine is None and first is None:
            engine = default_engine()
        prompts = config.prompts if first is None else config.prompts[:first]
        names = [p.name for p in prompts]
        name_set = config.prompt_name_set
        global_params = set(config.global_parameters)
        reads: dict[str, tuple[str, ...]] = {}
        context: dict[str, tuple[str, ...]] = {}
        unknown: dict[str, list[str]] = {}
        errors: dict[str, PromptTuiError] = {}
        chain_tail: dict[str | None, list[str]] = {}
        for prompt in prompts:
            shadowed = global_params | set(prompt.parameters)
            try:
                refs = prompt_references(prompt, config, engine)
            except PromptTuiError as exc:
                errors[prompt.name] = exc
                refs = []
            found: list[str] = []
            for ref in refs:
                if ref.root in shadowed:
                    continue
                if ref.root in name_set:
                    if ref.attr == "output" and ref.root != prompt.name and ref.root not in found:
                        found.append(ref.root)
                else:
                    unknown.setdefault(prompt.name, []).append(ref.root)
            # a duplicated name (reported as such) merges its prompts' edges
            reads[prompt.name] = tuple(dict.fromkeys([*reads.get(prompt.name, ()), *found]))
            # Chat context: only edges to the nearest earlier same-model prompt that itself keeps
            # context (it covers everything before it, transitively) and to the context-free
            # prompts after it. Edges to every earlier prompt would be quadratic.
            model = config.model_name_of(prompt)
            tail = chain_tail.setdefault(model, [])
            keeps_context = prompt.remember_chat_context and prompt.template is not None
            own = tuple(t for t in tail if t != prompt.name) if keeps_context else ()
            context[prompt.name] = tuple(dict.fromkeys([*context.get(prompt.name, ()), *own]))
            if keeps_context:
                chain_tail[model] = [prompt.name]
            else:
                tail.append(prompt.name)
        graph = cls(names, reads, context, unknown, errors)
        if first is None and len(name_set) != len(names):
            graph.duplicates = config.duplicate_name_errors()
        graph.cycle = graph._find_cycle()
        return graph

    @cached_property
    def deps(self) -> dict[str, tuple[str, ...]]:
        """All direct dependencies: outputs read, then chat context (a graph never changes)."""
        return {
            name: tuple(dict.fromkeys([*self.reads[name], *self.context[name]]))
            for name in self.order_in_file
        }

    def _find_cycle(self) -> list[str] | None:
        """The first cycle met walking the file in order, or None. Walked with an explicit stack,
        not recursion: a chain of thousands of prompts must not hit Python's recursion limit."""
        deps = self.deps
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        for root in self.order_in_file:
            if root in state:
                continue
            path: list[str] = [root]
            state[root] = 1
            pending: list[Iterator[str]] = [iter(deps.get(root, ()))]
            while pending:
                dep = next(pending[-1], None)
                if dep is None:
                    pending.pop()
                    state[path.pop()] = 2
                    continue
                if state.get(dep) == 1:
                    # report it in the direction a reader follows: A reads B reads C reads A
                    return path[path.index(dep) :]
                if dep not in state:
                    state[dep] = 1
                    path.append(dep)
                    pending.append(iter(deps.get(dep, ())))
        return None

    def check(self) -> None:
        if self.duplicates:
            raise self.duplicates[0] if len(self.duplicates) == 1 else ConfigErrors(self.duplicates)
        if self.cycle:
            raise CycleError(self.cycle)

    @cached_property
    def dependents(self) -> dict[str, tuple[str, ...]]:
        """prompt -> the prompts that depend on it directly (the edges of ``deps`` reversed)."""
        out: dict[str, list[str]] = {n: [] for n in self.order_in_file}
        for node, node_deps in self.deps.items():
            for dep in node_deps:
                out.setdefault(dep, []).append(node)
        return {n: tuple(v) for n, v in out.items()}

    @cached_property
    def _full_order(self) -> tuple[str, ...]:
        return tuple(self._ordered(set(self.order_in_file)))

    def order(self, subset: list[str] | None = None) -> list[str]:
        """Topological order (dependencies first), stable by file position."""
        self.check()
        if subset is None:  # asked once per event by views: computed once per graph
            return list(self._full_order)
        return self._ordered(set(subset))

    def _ordered(self, wanted: set[str]) -> list[str]:
        position = {name: i for i, name in enumerate(self.order_in_file)}
        deps = self.deps
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in wanted:
            sorter.add(name, *(d for d in deps[name] if d in wanted))
        try:
            sorter.prepare()
        except _GraphlibCycle as exc:  # pragma: no cover - check() found it first
            raise CycleError(list(exc.args[1])) from None
        out: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            out += ready
            sorter.done(*ready)
        return out

    def levels(self, subset: list[str] | None = None) -> list[list[str]]:
        """Groups that can run concurrently: level k only needs levels < k."""
        deps = self.deps
        order = self.order(subset)
        wanted = set(order)
        level: dict[str, int] = {}
        for name in order:
            level[name] = 1 + max((level[d] for d in deps[name] if d in wanted), default=-1)
        groups: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
        for name in order:
            groups[level[name]].append(name)
        return groups

    def upstream(self, name: str) -> list[str]:
        """Every prompt ``name`` needs, transitively, in run order (``name`` excluded)."""
        seen = _reachable(name, self.deps)
        return self.order(sorted(seen)) if seen else []

    def downstream(self, name: str) -> list[str]:
        """Every prompt that needs ``name``, transitively, in run order."""
        seen = _reachable(name, self.dependents)
        return [n for n in self.order(None) if n in seen] if not self.cycle else sorted(seen)


def serial_waits(graph: DependencyGraph) -> dict[str, list[str]]:
    """Prompts that wait for earlier same-model prompts only because of chat context
    (``remember_chat_context``, on by default in AIConfig): prompt -> the prompts it waits for."""
    out: dict[str, list[str]] = {}
    for name in graph.order_in_file:
        if not graph.reads[name]:
            # It reads no answer by name: a chat turn ("based on your explanation") that gets
            # the earlier answers through chat context on purpose. Turning it off is no advice.
            continue
        only_context = [d for d in graph.context[name] if d not in graph.reads[name]]
        if only_context:
            out[name] = only_context
    return out


def serial_hint(name: str, waits_for: list[str]) -> str:
    """Why a prompt runs after others it does not read, and how to make it parallel."""
    earlier = ", ".join(f"'{d}'" for d in waits_for)
    return (
        f"runs after {earlier} only for chat context (remember_chat_context is on, the AIConfig "
        f"default): its request includes their answers. Set metadata.remember_chat_context: "
        f"false on '{name}' to run it in parallel"
    )


def _reachable(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reachable from ``start`` along ``edges`` (``start`` itself excluded)."""
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        current = todo.pop()
        if current in seen or current == start:
            continue
        seen.add(current)
        todo += edges[current]
    return seen
