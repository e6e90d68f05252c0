"""The workspace: one headless owner of a loaded document and everything that acts on it.

The TUI, every CLI command and the Python API get their engine from :meth:`Workspace.open`: the
document (with a revision counter: dirty is "revision differs from the saved one"), the
session's run-time parameters, the runs, the runner, the history, the key store, staleness.

Runs are objects (:mod:`.runs`). When a prompt of a *plain* run (no model or settings override)
succeeds, its output becomes the document's latest output; a failed or cancelled prompt never
replaces a good output; an experiment (a comparison column) changes nothing until adopted.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import AIConfig, load
from .display import plural
from .errors import PromptTuiError
from .graph import DependencyGraph
from .keys import KeyStore
from .resolve import ParamInfo, batch, parameter_table, resolve
from .runs import (
    Overrides,
    PromptResult,
    PromptState,
    PromptStatus,
    Run,
    RunMode,
    RunState,
)

if TYPE_CHECKING:
    # Runs, staleness and the runner are imported when first used, after the first frame (their
    # modules define many dataclasses, each costly to create at import).
    from .changes import Change
    from .events import RunEvent
    from .history import History
    from .preflight import Surface
    from .reload import ReloadResult
    from .revisions import GitFacts
    from .runner import Runner
    from .staleness import Provenance


@dataclass
class _Produced:
    """The provenance of a document output the workspace knows, and where it learned it."""

    provenance: Provenance
    text: str | None
    # Set when a run made it and nothing its request reads changed while the run went on: the
    # request epoch, the run-time parameters and the document's inputs (staleness.inputs_digest)
    # then; staleness can skip re-resolving it while they hold
    epoch: int | None = None
    params: dict[str, Any] | None = None
    inputs: str | None = None


@dataclass
class Workspace:
    document: AIConfig
    history_enabled: bool = True
    keys: KeyStore = field(
        default_factory=KeyStore
    )  # the one store: the runner's, the keys screen's
    surface: Surface = "cli"  # who words the messages: "tui" says "press k", the CLI a command
    concurrency: int = 4
    stream: Callable[..., AsyncIterator[Any]] | None = None
    # one error policy: problems that must not stop the app (history unavailable...) land here
    on_warning: Callable[[str], None] | None = None
    # Staleness needs to know, before a run changes outputs, where the loaded ones came from;
    # a one-shot CLI run never asks, and skips that work.
    track_staleness: bool = True
    params: dict[str, Any] = field(default_factory=dict)  # run-time parameters of the session
    runs: dict[str, Run] = field(default_factory=dict)
    revision: int = 0
    saved_revision: int = 0
    _history: History | None = None
    _runner: Runner | None = None
    _graph: DependencyGraph | None = None
    _graph_revision: int = -1
    # bumped by every change a request can read (all but a run's outputs): see _same_request
    _request_epoch: int = 0
    _produced: dict[str, _Produced] = field(default_factory=dict)
    _baselines_taken: bool = False
    # each prompt's last plain run in the history when the baselines were taken: what a prompt
    # did before this session (a run of this session, newer, takes its place)
    _history_last: dict[str, PromptResult] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    warnings: list[str] = field(default_factory=list)
    # live reload: edits of the user (not run outputs) not saved yet, and prompts whose output a
    # run of this session changed since the last save (kept over the file's on reload)
    unsaved_edits: bool = False
    _unsaved_outputs: set[str] = field(default_factory=set)
    last_plain: Run | None = None  # the newest plain run: what a reload runs again
    # the document was read at a git revision (`--ref`), not from the working file
    at_revision: GitFacts | None = None
    # prompts deleted since the last save: (index, raw prompt, provenance), for undo_delete
    _deleted: list[tuple[int, dict[str, Any], _Produced | None]] = field(default_factory=list)
    # every prompt's state as the last reload computed it (revision, states): rerun() reads it
    _reload_states: tuple[int, dict[str, PromptState]] | None = None

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        history: bool | History = True,
        keys: KeyStore | None = None,
        surface: Surface = "cli",
        concurrency: int = 4,
        stream: Callable[..., AsyncIterator[Any]] | None = None,
        on_warning: Callable[[str], None] | None = None,
        track_staleness: bool = True,
    ) -> Workspace:
        """The one constructor every front end uses (raises PromptTuiError for a bad file)."""
        return cls.for_document(
            load(path),
            history=history,
            keys=keys,
            surface=surface,
            concurrency=concurrency,
            stream=stream,
            on_warning=on_warning,
            track_staleness=track_staleness,
        )

    @classmethod
    def open_at(cls, path: str | Path, rev: str, **kwargs: Any) -> Workspace:
        """A workspace on the config as committed at git revision ``rev`` (``git show``; the
        working file is untouched), taking ``open``'s options. Its runs are recorded with that
        revision. Never save it: its path is the working file's, so runs file under one config."""
        from .revisions import load_at  # git and subprocess: only when a revision is asked for

        document, found = load_at(path, rev)
        workspace = cls.for_document(document, **kwargs)
        workspace.at_revision = found
        return workspace

    @classmethod
    def for_document(
        cls,
        document: AIConfig,
        *,
        history: bool | History = True,
        keys: KeyStore | None = None,
        surface: Surface = "cli",
        concurrency: int = 4,
        stream: Callable[..., AsyncIterator[Any]] | None = None,
        on_warning: Callable[[str], None] | None = None,
        track_staleness: bool = True,
    ) -> Workspace:
        ws = cls(
            document,
            history_enabled=bool(history),
            keys=keys if keys is not None else KeyStore(),
            surface=surface,
            concurrency=concurrency,
            stream=stream,
            on_warning=on_warning,
            track_staleness=track_staleness,
        )
        if history is not True and history is not False:
            ws._history = history
        return ws

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    @property
    def history(self) -> History | None:
        """Opened on first use (sqlite3 is not on the startup path); None when unavailable."""
        if self._history is None and self.history_enabled:
            try:
                from .history import History
                from .paths import history_path

                self._history = History(history_path(create_dir=True))
                self._history.on_error = self.warn  # a row that cannot be written is said
            except Exception as exc:  # a read-only home must not stop a run
                self.history_enabled = False
                self.warn(f"history disabled: {exc}")
        return self._history

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            from .runner import Runner

            self._runner = Runner(
                lambda: self.document,
                history=self.history,
                keys=self.keys,
                concurrency=self.concurrency,
                stream=self.stream,
                key_hint=self.surface,
            )
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        if self._history is not None:
            with contextlib.suppress(Exception):
                self._history.close()

    # --- the document -----------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self.revision != self.saved_revision

    def changed(self, *, edit: bool = True, outputs_only: bool = False) -> None:
        """Every change of the document goes through here: a new revision. ``edit``: a change
        by the user (a run's output is not one: reloading keeps it, see ``reload``).
        ``outputs_only``: only outputs changed, which no edge of the graph depends on: the graph
        built for the revision before stays current (a 1,000-prompt run would otherwise rebuild
        it, every template re-read, once per prompt that finished)."""
        with self._lock:
            current = self._graph is not None and self._graph_revision == self.revision
            self.revision += 1
            if not outputs_only:
                self._request_epoch += 1
            self.unsaved_edits = self.unsaved_edits or edit
            if outputs_only and current:
                self._graph_revision = self.revision

    @property
    def graph(self) -> DependencyGraph:
        """The dependency graph of the current revision (built once per revision)."""
        with self._lock:
            if self._graph is None or self._graph_revision != self.revision:
                self._graph = DependencyGraph.build(self.document)
                self._graph_revision = self.revision
            return self._graph

    @property
    def graph_ready(self) -> bool:
        return self._graph is not None

    def set_param(self, name: str, value: Any | None) -> None:
        """A run-time parameter for the next runs (None drops it). Not a document change."""
        if value is None:
            self.params.pop(name, None)
        else:
            self.params[name] = value

    def write_parameter(self, prompt: str | None, name: str, value: Any) -> None:
        """Write a parameter into the file: the prompt's own (``prompt``) or a global one."""
        if prompt is None:
            self.document.set_global_parameter(name, value)
        else:
            self.document.prompt(prompt).set_parameter(name, value)
        self.params.pop(name, None)
        self.changed()

    def set_model(self, prompt: str, model: str, settings: dict[str, Any] | None = None) -> bool:
        target = self.document.prompt(prompt)
        if model == target.model_name and settings is None:
            return False
        target.set_model(model, settings)
        self.changed()
        return True

    def set_setting(self, prompt: str, key: str, value: Any | None) -> None:
        """Set (or with None remove) one of the prompt's own model settings."""
        target = self.document.prompt(prompt)
        model = self.document.model_name_of(target)
        if value is None:
            if key in target.model_settings:
                del target.model_settings[key]
                self.changed()
            return
        if target.model_name is None and not model:
            raise PromptTuiError(f"prompt '{prompt}' has no model: pick one first")
        settings = dict(target.model_settings)
        settings[key] = value
        target.set_model(target.model_name or str(model), settings)
        self.changed()

    def set_template(self, prompt: str, text: str) -> None:
        target = self.document.prompt(prompt)
        if text != target.template:
            target.set_template(text)
            self.changed()

    def save_template(self, prompt: str, text: str) -> Path:
        """Set a prompt's template and write only that change to the file (see write_only)."""
        return self.write_only(lambda doc: doc.prompt(prompt).set_template(text), [prompt])

    def write_parameter_only(self, prompt: str | None, name: str, value: Any) -> Path:
        """ctrl+o / ctrl+g: write one parameter (the prompt's own, or a global one) and nothing
        else of the session into the file."""

        def change(doc: AIConfig) -> None:
            if prompt is None:
                doc.set_global_parameter(name, value)
            else:
                doc.prompt(prompt).set_parameter(name, value)

        path = self.write_only(change, [] if prompt is None else [prompt])
        self.params.pop(name, None)
        return path

    def write_only(self, change: Callable[[AIConfig], object], prompts: Iterable[str]) -> Path:
        """Apply ``change`` to the session's document and write only that change to the file.

        Other unsaved changes of the session (outputs, a deleted prompt, another prompt's model,
        parameters) stay unsaved: the file on disk is read, ``change`` is applied to it (a prompt
        of ``prompts`` that is not in the file yet is added, after its neighbour if there) and
        it is written back. A clean session just saves.
        """
        was_dirty = self.dirty
        change(self.document)
        self.document.invalidate()
        self.changed()
        path = self.document.path
        if not was_dirty or path is None:
            return self.save()
        on_disk = load(path)
        for prompt in prompts:
            if on_disk.get(prompt) is None:  # added in this session: the file gets it as it is
                names = self.document.prompt_names
                index = names.index(prompt)
                before = next((n for n in reversed(names[:index]) if on_disk.get(n)), None)
                position = on_disk.index_of(before) + 1 if before else 0
                on_disk.data.setdefault("prompts", []).insert(
                    position, copy.deepcopy(self.document.prompt(prompt).raw)
                )
                on_disk.invalidate()
        change(on_disk)
        written = on_disk.save()
        self.document.disk_digest = on_disk.disk_digest
        return written

    def add_prompt(self, name: str, template: str = "", *, after: str | None = None) -> str | None:
        """Add a prompt; it takes the file's prevailing chat-context choice (a new prompt with
        chat context on, in a file where most have it off, would silently send every earlier
        exchange). Returns a note saying so, or None."""
        others = list(self.document.prompts)
        self.document.add_prompt(name, template, after=after)
        off = sum(not p.remember_chat_context for p in others)
        note = None
        if others and off * 2 > len(others):
            self.document.prompt(name).raw["metadata"]["remember_chat_context"] = False
            note = (
                f"chat context is off on {name}, as on {off} of the file's "
                f"{plural(len(others), 'prompt')} (remember_chat_context: false)"
            )
        self.changed()
        return note

    def delete_prompt(self, name: str) -> None:
        """Delete a prompt from the session; ``undo_delete`` brings it back until a save."""
        index = self.document.index_of(name)
        raw = self.document.prompt(name).raw
        self.document.delete_prompt(name)
        self._deleted.append((index, raw, self._produced.pop(name, None)))
        self.changed()

    @property
    def deleted(self) -> list[str]:
        """Prompts deleted since the last save, the newest last (what undo_delete restores)."""
        return [str(raw.get("name")) for _, raw, _ in self._deleted]

    def undo_delete(self) -> str | None:
        """Put the newest deleted prompt back where it was; its name, or None (nothing to undo,
        or a prompt of that name was made since)."""
        if not self._deleted:
            return None
        index, raw, produced = self._deleted[-1]
        name = str(raw.get("name"))
        if self.document.get(name) is not None:
            return None
        self._deleted.pop()
        prompts = self.document.data.setdefault("prompts", [])
        prompts.insert(min(index, len(prompts)), raw)
        self.document.invalidate()
        if produced is not None:
            self._produced[name] = produced
        self.changed()
        return name

    def save(self, path: str | Path | None = None) -> Path:
        """Write the document (atomically). Saving elsewhere leaves the document dirty."""
        if self.at_revision is not None and path is None:
            # its path is the working file's: writing the old version over it would lose work
            raise PromptTuiError(
                f"{self.document.path}: this is the file as committed at "
                f"{self.at_revision.ref}; it is never written over the working file"
            )
        revision = self.revision  # a change made while the file is written stays unsaved
        written = self.document.save(Path(path) if path is not None else None)
        if path is None:
            self.saved_revision = revision
            self.unsaved_edits = False
            self._unsaved_outputs.clear()
            self._deleted.clear()  # the file no longer has them: nothing left to undo
        return written

    def reload(
        self, source: str | bytes | Path | None = None, *, discard_edits: bool = False
    ) -> ReloadResult:
        """Take a new version of the file (its bytes, text, or None: read it again) as a new
        revision, keeping run-time parameters and this session's unsaved outputs. An invalid
        version changes nothing; with unsaved edits nothing changes unless ``discard_edits``."""
        from .reload import FileMissing, ReloadOutcome, ReloadResult, diff, read_version

        here = self.document.source
        try:
            new = read_version(self.document, source)
        except FileMissing as exc:
            return ReloadResult(ReloadOutcome.MISSING, here, self.revision, error=exc)
        except PromptTuiError as exc:
            return ReloadResult(ReloadOutcome.INVALID, here, self.revision, error=exc)
        if new.disk_digest == self.document.disk_digest:
            return ReloadResult(
                ReloadOutcome.UNCHANGED, here, self.revision, digest=new.disk_digest
            )
        changes = tuple(diff(self.document, new, session_outputs=self._unsaved_outputs))
        if self.unsaved_edits and not discard_edits:
            return ReloadResult(
                ReloadOutcome.CONFLICT, here, self.revision, changes, digest=new.disk_digest
            )
        kept = self._replace_document(new)
        states = self.states()
        self._reload_states = (self.revision, states)
        stale = {n: s.reasons for n, s in states.items() if s.status is PromptStatus.STALE}
        return ReloadResult(
            ReloadOutcome.APPLIED, here, self.revision, changes, stale, None, kept, new.disk_digest
        )

    def _replace_document(self, new: AIConfig) -> tuple[str, ...]:
        from .staleness import Provenance, safe_provenance

        old, kept = self.document, []
        for name in sorted(self._unsaved_outputs):
            before, after = old.get(name), new.get(name)
            if before is not None and after is not None and before.outputs:
                after.set_outputs(before.outputs)
                kept.append(name)
        for name, produced in list(self._produced.items()):
            prompt = new.get(name)
            if prompt is None or (name not in kept and prompt.output_text != produced.text):
                del self._produced[name]  # an output the file changed: its origin is unknown
        with self._lock:
            self.document = new
            self._unsaved_outputs, self.unsaved_edits = set(kept), False
            self.revision += 1
            self._request_epoch += 1
            if not kept:
                self.saved_revision = self.revision
        graph = self.graph
        shared = batch(new, self.params)
        for prompt in new.prompts:  # outputs of unknown origin: fresh as of now, like at open
            if prompt.output_text is not None and prompt.name not in self._produced:
                now = safe_provenance(new, prompt.name, graph, params=self.params, batch=shared)
                if isinstance(now, Provenance):
                    self._produced[prompt.name] = _Produced(now, prompt.output_text)
        return tuple(kept)

    # --- parameters -------------------------------------------------------------------------
    def parameter_rows(self, prompt: str) -> list[ParamInfo]:
        return parameter_table(self.document, prompt, self.params)

    # --- runs -------------------------------------------------------------------------------
    def new_run(
        self,
        target: str | None,
        mode: RunMode = "with_deps",
        *,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        force: bool = False,
        group_id: str | None = None,
        label: str = "",
        scope: str | None = None,
        steps: list[str] | None = None,
        isolated: bool = False,
        run_id: str | None = None,
        register: bool = True,
    ) -> Run:
        """A run with the session's parameters updated by ``params``; not started yet. Every
        run is made here (a comparison's columns and shared upstream too): ``scope`` limits the
        model and settings override to one prompt, ``steps`` names the prompts to run instead
        of what target and mode select, ``isolated`` keeps its outputs out of the document;
        ``register=False`` makes a plan only (an estimate), not one of the session's runs."""
        if target is None and steps is None:
            mode = "all"
        overrides = Overrides(
            params={**self.params, **(params or {})},
            model=model,
            settings=dict(settings or {}),
            scope=scope,
        )
        run = Run(
            target=target,
            mode=mode,
            overrides=overrides,
            force=force,
            group_id=group_id,
            label=label,
            revision=self.revision,
            steps=list(steps) if steps is not None else None,
            isolated=isolated,
        )
        if run_id is not None:
            run.id = run_id
        if not register:
            return run
        self.runs[run.id] = run
        if run.is_plain:
            self.last_plain = run
        return run

    # --- live reload policy: the TUI and `run --watch` both follow it ----------------------------
    def supersede(self, runs: Iterable[Run]) -> list[str]:
        """A new revision outdates runs in flight. In a plain run, the prompts not yet sent and
        those streaming a request the new document no longer sends are cancelled; a prompt
        streaming an unchanged request goes on (the re-run waits for its answer: the runner
        shares requests in flight). An experiment (model or settings override) is cancelled
        whole. Each run is marked superseded: the re-run tells the story of what it takes over.
        Returns "run:prompt" ids of what was cancelled."""
        cancelled: list[str] = []
        for run in list(runs):
            if not run.active:
                continue
            run.superseded = True
            if not run.is_plain:
                cancelled += [f"{run.id}:{n}" for n, r in run.results.items() if r.status.active]
                self.cancel(run.id)
                continue
            overlay = run.output_overlay()
            for name, result in list(run.results.items()):
                if not result.status.active:
                    continue
                outdated = self.document.get(name) is None or result.status is PromptStatus.QUEUED
                if not outdated:
                    sent = result.request.cache_key if result.request is not None else None
                    try:
                        now = resolve(
                            self.document, name, params=run.overrides.params, outputs=overlay
                        ).cache_key
                    except PromptTuiError:
                        now = None
                    outdated = sent is None or sent != now
                if outdated and self.cancel(run.id, name):
                    cancelled.append(f"{run.id}:{name}")
        return cancelled

    def rerun(self, previous: Run | None = None) -> Run | None:
        """After a reload: supersede what runs in flight (every plain run, and ``previous``) and
        make, not start, the run that takes over: ``previous``'s target, mode, model and
        settings (or the newest plain run's) with the session's parameters now. None when
        nothing ran yet; PromptTuiError when its prompt is gone from the file."""
        template = previous or self.last_plain
        if template is None:
            return None
        if template.target is not None and self.document.get(template.target) is None:
            raise PromptTuiError(f"not re-run: the last run's prompt '{template.target}' is gone")
        steps = self._outdated(template) if template.is_plain else None
        in_flight = [r for r in self.active_runs() if r.is_plain or r is previous]
        self.supersede(in_flight)
        o = template.overrides
        run = self.new_run(
            template.target,
            template.mode,
            model=o.model,
            settings=o.settings,
            steps=steps,
        )
        if template.origin is not None:  # `run --watch --tag`: every re-run keeps the labels
            run.origin = dataclasses.replace(
                template.origin, run_id=run.id, commit=None, dirty=None, ref=None, git_path=None
            )
        return run

    def _outdated(self, template: Run) -> list[str]:
        """The prompts of ``template``'s plan that the new version outdates: every one not
        done or cached (stale, never run, failed, blocked, cancelled, in flight), and what
        depends on them. Planning the whole target and letting the cache answer the rest
        queued every prompt of a 1,000-prompt file for a one-template edit."""
        plan = self.plan(template.target, template.mode)
        revision_states = self._reload_states
        if revision_states is not None and revision_states[0] == self.revision:
            states = revision_states[1]
        else:
            states = self.states(plan)
        fresh = (PromptStatus.DONE, PromptStatus.CACHED)
        outdated = {n for n in plan if n not in states or states[n].status not in fresh}
        dependents = self.graph.dependents
        todo = list(outdated)
        while todo:
            for after in dependents.get(todo.pop(), ()):
                if after not in outdated:
                    outdated.add(after)
                    todo.append(after)
        return [n for n in plan if n in outdated]

    def plan(self, target: str | None, mode: RunMode = "with_deps") -> list[str]:
        """The prompts a run of ``target`` would execute, dependencies first."""
        return self.runner.plan(Run(target, "all" if target is None else mode), self.graph)

    async def execute(self, run: Run) -> AsyncGenerator[RunEvent, None]:
        """Execute ``run``, yielding its events; results reach the document as they finish."""
        from .events import Cached, Finished

        if self.track_staleness and not self._baselines_taken:  # once: no thread hop after
            await asyncio.to_thread(self.ensure_baselines)
        await asyncio.to_thread(self._note_origin, run)
        started = (self._request_epoch, dict(self.params))  # what its requests were made of
        try:
            # aclosing: leaving this generator early must close the runner's at once (its
            # finally cancels the prompts and closes their HTTP streams)
            async with contextlib.aclosing(self.runner.execute(run)) as events:
                async for event in events:
                    if isinstance(event, Finished | Cached):
                        self._adopt_result(run, event.prompt, started)
                    yield event
        finally:
            if run.state in (RunState.PENDING, RunState.RUNNING):
                run.state = RunState.CANCELLED

    def _note_origin(self, run: Run) -> None:
        """The run's git facts and tags, once, before it starts (off the prompts' clocks)."""
        from .revisions import note_origin

        note_origin(self, run)

    async def run(self, target: str | None, mode: RunMode = "with_deps", **kw: Any) -> Run:
        """Run to the end, discarding events; returns the run (its results)."""
        run = self.new_run(target, mode, **kw)
        async for _ in self.execute(run):
            pass
        return run

    def _adopt_result(
        self, run: Run, prompt: str, started: tuple[int, dict[str, Any]] | None = None
    ) -> None:
        """A plain run's success becomes the document's latest output. ``started``: the
        request epoch and parameters when the run started."""
        if not run.is_plain:
            return
        result = run.results.get(prompt)
        target = self.document.get(prompt)
        if result is None or result.output is None or target is None:
            return
        if target.latest_output != result.output:
            target.set_outputs([result.output])
            self._unsaved_outputs.add(prompt)
            self.changed(edit=False, outputs_only=True)
        if result.provenance is not None:
            produced = _Produced(result.provenance, result.text)
            if started is not None and started == (self._request_epoch, self.params):
                from .staleness import inputs_digest

                produced.epoch, produced.params = started[0], dict(started[1])
                produced.inputs = inputs_digest(self.document, prompt, self.graph, {})
            self._produced[prompt] = produced

    def adoption(self, run: Run, prompt: str) -> Callable[[AIConfig], None]:
        """What adopting an experiment's result changes in a document: the prompt's model and
        settings (when the run overrode them) and its output. Raises when there is no answer."""
        result = run.results.get(prompt)
        if result is None or not result.succeeded or result.output is None:
            raise PromptTuiError(f"{run.describe()} has no answer for '{prompt}' to adopt")
        output = result.output
        model_override, settings_override = run.overrides.for_prompt(prompt)

        def change(doc: AIConfig) -> None:
            target = doc.prompt(prompt)
            if model_override is not None or settings_override:
                model = model_override or doc.model_name_of(target)
                if not model:
                    raise PromptTuiError(f"prompt '{prompt}' has no model to adopt settings into")
                settings = dict(target.model_settings) if model == target.model_name else {}
                settings.update(settings_override)
                target.set_model(model, settings or None)
            target.set_outputs([copy.deepcopy(output)])

        return change

    def adopt(self, run: Run, prompt: str) -> None:
        """Make an experiment's result the prompt's: its model and settings, and its output."""
        self.adoption(run, prompt)(self.document)
        self._adopted(run, prompt)
        self.changed()

    def adopt_and_write(self, adoptions: list[tuple[Run, str]]) -> Path:
        """Adopt several results and write only those prompts' changes into the file (unsaved
        edits and outputs of other prompts, a pending delete, stay unsaved)."""
        changes = [self.adoption(run, prompt) for run, prompt in adoptions]
        names = list(dict.fromkeys(prompt for _, prompt in adoptions))

        def change(doc: AIConfig) -> None:
            for one in changes:
                one(doc)

        written = self.write_only(change, names)
        for run, prompt in adoptions:
            self._adopted(run, prompt)
            self._unsaved_outputs.discard(prompt)  # the file holds the adopted answer now
        return written

    def _adopted(self, run: Run, prompt: str) -> None:
        result = run.results.get(prompt)
        if result is None:
            return
        self._unsaved_outputs.add(prompt)
        if result.provenance is not None:
            self._produced[prompt] = _Produced(result.provenance, result.text)

    def cancel(self, run_id: str | None = None, prompt: str | None = None) -> int:
        """Cancel a whole run (dependencies included), one prompt, or everything."""
        if self._runner is None:
            return 0
        return self._runner.cancel(run_id, prompt)

    def active_runs(self) -> list[Run]:
        return [run for run in self.runs.values() if run.active]

    def run_of(self, prompt: str) -> Run | None:
        """The active plain run that includes ``prompt`` (the newest), if any."""
        for run in reversed(list(self.runs.values())):
            if run.active and run.is_plain and prompt in run.plan:
                return run
        return None

    def last_result(self, prompt: str) -> PromptResult | None:
        """The prompt's result in the newest plain run that reached it."""
        for run in reversed(list(self.runs.values())):
            if run.is_plain and prompt in run.results:
                return run.results[prompt]
        return None

    def last_known_result(self, prompt: str) -> PromptResult | None:
        """The prompt's result in its newest plain run: this session's, else the history's
        (read with the baselines). The tree and `status` both judge a prompt by it, so a
        prompt a TUI cancelled is "cancelled" in a `status` run in another terminal too."""
        found = self.last_result(prompt)
        return found if found is not None else self._history_last.get(prompt)

    # --- staleness and status ---------------------------------------------------------------
    def ensure_baselines(self) -> None:
        """Learn where each loaded output came from: the history's record of it when the
        output is the one the history holds, else the request it would send now (assumed
        fresh at open). Touches SQLite: call it from a thread in an app."""
        from .staleness import Provenance, safe_provenance

        with self._lock:
            if self._baselines_taken:
                return
            self._baselines_taken = True
            graph = self.graph
        known = self._history_facts()
        shared = batch(self.document, self.params)
        for prompt in self.document.prompts:
            text = prompt.output_text
            if text is None or prompt.name in self._produced:
                continue
            found = known.get(prompt.name)
            if found is not None and found.text == text:
                self._produced[prompt.name] = found
                continue
            now = safe_provenance(
                self.document, prompt.name, graph, params=self.params, batch=shared
            )
            if isinstance(now, Provenance):
                self._produced[prompt.name] = _Produced(now, text)

    def _history_facts(self) -> dict[str, _Produced]:
        """What the history knows of this file: where each loaded output came from (the
        latest run that got that answer, sent or answered from the cache) and each prompt's
        last plain run (kept in ``_history_last``)."""
        from .staleness import Provenance

        if self.document.path is None or not self.history_enabled:
            return {}
        history = self.history
        if history is None:
            return {}
        path = str(self.document.path)
        out: dict[str, _Produced] = {}
        try:
            last = {name: row.to_result() for name, row in history.last_plain_runs(path).items()}
            for prompt in self.document.prompts:
                text = prompt.output_text
                if text is None:
                    continue
                row = history.produced(path, prompt.name, text)
                found = None if row is None else Provenance.from_json(row.provenance or {})
                if found is not None:
                    out[prompt.name] = _Produced(found, text)
        except PromptTuiError as exc:
            self.warn(str(exc))
            return {}
        with self._lock:
            self._history_last = last
        return out

    def states(self, names: Iterable[str] | None = None) -> dict[str, PromptState]:
        """Every prompt's state (or those named), upstream staleness included."""
        self.ensure_baselines()
        graph = self.graph
        try:
            order = graph.order()
        except PromptTuiError:
            order = list(self.document.prompt_names)
        states: dict[str, PromptState] = {}
        shared = batch(self.document, self.params)
        memo: dict[str, str] = {}
        for name in order:
            states[name] = self._state(name, graph, states, shared, memo)
        if names is None:
            return {n: states[n] for n in self.document.prompt_names if n in states}
        return {n: states[n] for n in names if n in states}

    def state(self, name: str) -> PromptState:
        graph = self.graph
        upstream = {} if graph.cycle else self.states(graph.upstream(name))
        return self._state(name, graph, upstream, batch(self.document, self.params), {})

    def _same_request(
        self, name: str, produced: _Produced, graph: DependencyGraph, memo: dict[str, str]
    ) -> bool:
        """Known without resolving it: the prompt would send the request a run of this session
        made its output with (nothing it reads changed since: no edit, the same parameters and
        document entries, the same upstream outputs). Resolving every prompt again after a
        1,000-prompt run took ~0.2 s on the event loop (bench/run_all_tui.py)."""
        from .staleness import inputs_digest, same_upstream_outputs

        return (
            produced.epoch is not None
            and produced.epoch == self._request_epoch
            and produced.params == self.params
            and produced.inputs == inputs_digest(self.document, name, graph, memo)
            and same_upstream_outputs(produced.provenance, self.document, name, graph)
        )

    def _state(
        self,
        name: str,
        graph: DependencyGraph,
        upstream: dict[str, PromptState],
        shared: Any,
        memo: dict[str, str],
    ) -> PromptState:
        from .changes import Change, ChangeKind
        from .staleness import reasons, safe_provenance

        prompt = self.document.get(name)
        has_output = prompt is not None and prompt.output_text is not None
        active = self.run_of(name)
        if active is not None and name in active.results:
            status = active.results[name].status
            if status.active:
                return PromptState(name, status, has_output=has_output)
        last = self.last_known_result(name)
        # A failure is shown as one. A cancelled or blocked run changed nothing: a prompt that
        # has an output is what its output is (stale when its request changed since); without
        # one, the run's word stands.
        interrupted = last is not None and last.status in (
            PromptStatus.BLOCKED,
            PromptStatus.CANCELLED,
        )
        if last is not None and (
            last.status is PromptStatus.FAILED or (interrupted and not has_output)
        ):
            error = last.error if last.status is PromptStatus.FAILED else last.reason
            if not error and not has_output:  # a plain cancel gives no reason: say when
                error = f"{_when(last)}, before it answered (no output in the file)"
            return PromptState(name, last.status, error=error, has_output=has_output)
        if not has_output:
            if last is not None and last.succeeded:
                # it ran (this session, or the history says so) but the file lacks its answer
                return PromptState(name, PromptStatus.IDLE, error=_not_saved(last))
            return PromptState(name, PromptStatus.IDLE)
        why: list[Change] = []
        produced = self._produced.get(name)
        if produced is not None and not self._same_request(name, produced, graph, memo):
            now = safe_provenance(self.document, name, graph, params=self.params, batch=shared)
            if isinstance(now, Change):
                why.append(now)
            else:
                why += reasons(produced.provenance, now)
        stale_deps = [
            Change(ChangeKind.UPSTREAM_STALE, dep)
            for dep in graph.deps.get(name, ())
            if (found := upstream.get(dep)) is not None and found.status is PromptStatus.STALE
        ]
        if stale_deps and [r.kind for r in why] == [ChangeKind.REQUEST]:
            why = []  # the stale upstream explains it (e.g. its input, sent as chat context)
        why += stale_deps
        if why:
            return PromptState(name, PromptStatus.STALE, tuple(why), has_output=True)
        if interrupted and last is not None:
            return PromptState(name, last.status, error=last.reason, has_output=True)
        cached = last is not None and last.status is PromptStatus.CACHED
        return PromptState(
            name, PromptStatus.CACHED if cached else PromptStatus.DONE, has_output=True
        )


def _when(result: PromptResult) -> str:
    at = result.started_at or result.ended_at
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else "earlier"


def _not_saved(result: PromptResult) -> str:
    """Why an idle prompt is not "never run": a run answered it, the file does not hold it."""
    return f"not in the file: ran {_when(result)} ({result.status.value}), its output was not saved"
