"""The runner: runs a target (one prompt, a prompt with its dependencies, all prompts) and yields
events. Independent prompts run concurrently (bounded); a failure blocks what depends on it;
an unchanged request reuses its stored answer.

The UI subscribes to these events and the CLI prints them; neither holds execution logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import providers  # litellm is imported by the provider that needs it, never here
from .attachments import AttachmentError
from .config import AIConfig, output_text
from .errors import MissingReferenceError, PromptTuiError
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
    RunEvent,
    Started,
    Usage,
)
from .graph import DependencyGraph
from .model_settings import call_problem
from .outputs import result_output
from .preflight import (
    Surface,
    explain_auth_failure,
    key_for,
    key_need,
    missing_key_message,
    missing_keys,
    offline_route,
    settings_refusals,
)
from .request import ResolvedRequest
from .resolve import ResolveSession, resolve
from .runs import PromptResult, PromptStatus, Run, RunState
from .staleness import provenance
from .structured import answer_of
from .toolcalls import Assembler, ToolCallPiece, keep_exchange, tool_calls_output

if TYPE_CHECKING:
    from .history import History
    from .keys import KeyLookup, KeyStore

TERMINAL = (Finished, Cached, Failed, Blocked, Cancelled)


@dataclass
class _CachedAnswer:
    text: str
    output: dict[str, Any]
    model: str
    usage: Usage | None
    cost: float | None
    at: float
    ttft: float | None = None
    latency: float | None = None


class Runner:
    """Executes :class:`~.runs.Run` objects against a document. It never writes the document:
    results go into the run (``run.results``) and out as events; the workspace decides what the
    document keeps."""

    def __init__(
        self,
        document: Callable[[], AIConfig],
        *,
        keys: KeyStore,
        history: History | None = None,
        concurrency: int = 4,
        max_attempts: int = 4,
        stream: Callable[..., AsyncIterator[Any]] | None = None,
        key_hint: Surface = "cli",
    ) -> None:
        """``document``: the document now (the workspace's, which a reload replaces)."""
        self._document = document
        self.history = history
        self.keys = keys
        self.concurrency = max(1, concurrency)
        self.max_attempts = max_attempts
        self._stream = stream
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._memory_cache: dict[str, _CachedAnswer] = {}
        # Answers kept in memory (oldest dropped first; the history keeps every one): a batch of
        # 10,000 rows must not hold 30,000 answers.
        self.memory_cache_size = 4096
        # Requests on the wire by cache key: an identical request (a re-run after a reload while
        # the first is still streaming) waits for that answer instead of sending again.
        self._in_flight: dict[str, asyncio.Future[_CachedAnswer | None]] = {}
        # Checks run before anything is sent; each returns problems (strings) for the run.
        # The key check names every missing key at once, worded for the front end (key_hint).
        self.key_hint: Surface = key_hint
        # prewarm_check imports litellm (in the preflight's thread) when the plan needs it: off
        # every prompt's clock, and a comparison's columns start together.
        self.preflight_checks: list[Callable[[Run, list[ResolvedRequest]], list[str]]] = [
            settings_refusals,  # what validate refuses, a run refuses (same words)
            self._check_keys,
            providers.prewarm_check,
        ]
        # Checks just before a request goes to the wire (not for cache hits): a problem fails
        # the prompt unsent (a budget stops a run before the step that would cross it).
        self.send_checks: list[Callable[[Run, str, ResolvedRequest], str | None]] = []

    @property
    def config(self) -> AIConfig:
        return self._document()

    # --- planning ---------------------------------------------------------------------------
    def plan(self, run: Run, graph: DependencyGraph | None = None) -> list[str]:
        """The prompts a run will execute, dependencies first."""
        graph = graph or DependencyGraph.build(self.config)
        graph.check()
        if run.steps is not None:
            for name in run.steps:
                self.config.prompt(name)
            return graph.order(list(run.steps))
        if run.mode == "all" or run.target is None:
            return graph.order()
        self.config.prompt(run.target)  # unknown or ambiguous names fail here
        if run.mode == "one":
            return [run.target]
        return [*graph.upstream(run.target), run.target]

    def preflight(self, run: Run, targets: list[str]) -> list[str]:
        """Problems found before anything runs: missing parameters (outputs produced by this run
        don't count), then every registered check (keys...)."""
        running = set(targets)
        problems: list[str] = []
        requests: list[ResolvedRequest] = []
        overlay = run.output_overlay()
        for name in targets:
            try:
                resolved = self._resolve(run, name, overlay, allow_missing=True)
            except AttachmentError as exc:  # nothing may be sent: say so before the run
                problems.append(str(exc))
                continue
            except PromptTuiError:
                continue  # reported when the prompt runs
            requests.append(resolved)
            missing = [m for m in resolved.missing if resolved.missing_of.get(m) not in running]
            if missing:
                reasons = resolved.missing_why  # "no value" goes without saying
                why = {m: reasons[m] for m in missing if reasons.get(m, "no value") != "no value"}
                problems.append(str(MissingReferenceError(name, missing, reasons=why)))
        for check in self.preflight_checks:
            problems += check(run, requests)
        return problems

    def resolve_step(
        self,
        run: Run,
        name: str,
        overlay: dict[str, dict[str, Any]],
        session: ResolveSession | None = None,
    ) -> ResolvedRequest:
        """The request ``name`` would send in ``run`` given the outputs so far, missing values
        rendered as "" (estimates plan with it; ``session``: a ``resolve.batch`` over
        ``overlay`` for many steps in dependency order)."""
        return self._resolve(run, name, overlay, allow_missing=True, session=session)

    def cached_output(self, key: str) -> dict[str, Any] | None:
        """The stored answer a run would reuse for this request key instead of sending (this
        session's, then the history's); None: it would be sent. Reads SQLite: not on the loop."""
        if key in self._memory_cache:
            return self._memory_cache[key].output
        row = self.history.cached(key) if self.history is not None else None
        return row.output if row is not None else None

    def _resolve(
        self,
        run: Run,
        name: str,
        overlay: Mapping[str, dict[str, Any]],
        *,
        allow_missing: bool = False,
        session: ResolveSession | None = None,
    ) -> ResolvedRequest:
        o = run.overrides
        model, settings = o.for_prompt(name)
        return resolve(
            self.config,
            name,
            params=o.params,
            model=model,
            settings=settings,
            outputs=overlay,
            allow_missing=allow_missing,
            _session=session,
        )

    # --- running ----------------------------------------------------------------------------
    def cancel(self, run_id: str | None = None, prompt: str | None = None) -> int:
        """Cancel a whole run, one prompt of it (or of every run), or everything in flight; the
        HTTP streams close at once. Returns how many prompts were cancelled."""
        count = 0
        for (rid, name), task in list(self._tasks.items()):
            if run_id is not None and rid != run_id:
                continue
            if prompt is not None and name != prompt:
                continue
            if not task.done():
                task.cancel()
                count += 1
        return count

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    async def execute(self, run: Run) -> AsyncGenerator[RunEvent, None]:
        """Run ``run`` and yield its events; a refused run yields ``Refused`` then ``RunDone``."""
        graph = DependencyGraph.build(self.config)
        try:
            targets = self.plan(run, graph)
            run.plan = targets
            problems = await asyncio.to_thread(self.preflight, run, targets)
        except PromptTuiError as exc:
            problems = [str(exc)]
        if problems:
            refused = Refused(
                run_id=run.id, prompt=run.target or "", t=time.time(), problems=tuple(problems)
            )
            run.apply(refused)
            yield refused
            yield RunDone(run_id=run.id, prompt=run.target or "", t=time.time(), counts={})
            return
        run.state = RunState.RUNNING
        queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        deps = graph.deps
        outcome: dict[str, asyncio.Future[RunEvent]] = {
            name: asyncio.get_running_loop().create_future() for name in targets
        }
        semaphore = asyncio.Semaphore(self.concurrency)

        def emit(event: RunEvent) -> None:
            if outcome[event.prompt].done():
                return  # e.g. cancelled while recording a finished answer: it stays finished
            run.apply(event)
            queue.put_nowait(event)
            if isinstance(event, TERMINAL) and not outcome[event.prompt].done():
                outcome[event.prompt].set_result(event)

        def settle(name: str, task: asyncio.Task[None]) -> None:
            # A task cancelled before its first step never runs the code that reports it (the
            # run would wait for that report forever): its outcome is told here.
            if task.cancelled() and not outcome[name].done():
                emit(Cancelled(run_id=run.id, prompt=name, t=time.time(), partial_text=""))

        for name in targets:
            emit(Queued(run_id=run.id, prompt=name, t=time.time()))
        tasks = []
        for name in targets:
            upstream = [d for d in deps[name] if d in outcome]
            task = asyncio.create_task(
                self._run_one(run, name, graph, upstream, outcome, semaphore, emit),
                name=f"prompt-tui:{name}",
            )
            task.add_done_callback(functools.partial(settle, name))
            self._tasks[(run.id, name)] = task
            tasks.append(task)
        remaining = len(targets)
        try:
            while remaining:
                event = await queue.get()
                if isinstance(event, TERMINAL):
                    remaining -= 1
                yield event
            # every prompt has its outcome; let them finish writing the history
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)
            for name in targets:
                self._tasks.pop((run.id, name), None)
            # Blocked and cancelled-before-they-started prompts have no request, so nothing
            # recorded them: without a row, `status` in another process said "never run" where
            # the tree said blocked or cancelled. One thread writes them all.
            never_started = [n for n in targets if _never_started(run.results.get(n))]
            if never_started and self.history is not None:
                with contextlib.suppress(BaseException):  # a loop shutting down loses the rows
                    await asyncio.to_thread(self._record_all, run, never_started)
            run.apply(RunDone(run_id=run.id, prompt=run.target or "", t=time.time()))
        yield RunDone(run_id=run.id, prompt=run.target or "", t=time.time(), counts=run.counts())

    async def _run_one(
        self,
        run: Run,
        name: str,
        graph: DependencyGraph,
        upstream: list[str],
        outcome: dict[str, asyncio.Future[RunEvent]],
        semaphore: asyncio.Semaphore,
        emit: Callable[[RunEvent], None],
    ) -> None:
        partial: list[str] = []
        resolved: ResolvedRequest | None = None
        try:
            for dep in upstream:
                result = await asyncio.shield(outcome[dep])
                if not isinstance(result, Finished | Cached):
                    reason = {
                        Failed: "failed",
                        Blocked: "blocked",
                        Cancelled: "cancelled",
                    }.get(type(result), "did not finish")
                    emit(
                        Blocked(
                            run_id=run.id,
                            prompt=name,
                            t=time.time(),
                            by=dep,
                            reason=f"'{dep}' {reason}",
                        )
                    )
                    return
            async with semaphore:
                overlay = run.outputs_view()
                resolved = self._resolve(run, name, overlay)
                o = run.overrides
                model, settings = o.for_prompt(name)
                run.result(name).provenance = provenance(
                    self.config,
                    name,
                    graph,
                    params=o.params,
                    model=model,
                    settings=settings,
                    outputs=overlay,
                    request=resolved,
                )
                await self._execute(run, name, resolved, emit, partial)
        except asyncio.CancelledError:
            text = "".join(partial)
            emit(Cancelled(run_id=run.id, prompt=name, t=time.time(), partial_text=text))
            if run.result(name).request is not None:  # else the run's end records it
                self._record_soon(run, name)
        except PromptTuiError as exc:
            emit(Failed(run_id=run.id, prompt=name, t=time.time(), error=str(exc)))
        except Exception as exc:  # a bug must not take the app down: report it as a failure
            emit(
                Failed(
                    run_id=run.id,
                    prompt=name,
                    t=time.time(),
                    error=f"internal error: {type(exc).__name__}: {exc}",
                )
            )

    async def _execute(
        self,
        run: Run,
        name: str,
        resolved: ResolvedRequest,
        emit: Callable[[RunEvent], None],
        partial: list[str],
    ) -> None:
        key = resolved.cache_key
        if not run.force:
            cached = await self._cached(key)
            while cached is None and key in self._in_flight:
                cached = await asyncio.shield(self._in_flight[key])  # None: it failed
                cached = cached or await self._cached(key)
            if cached is not None:
                emit(
                    Cached(
                        run_id=run.id,
                        prompt=name,
                        t=time.time(),
                        text=cached.text,
                        output=cached.output,
                        model=cached.model,
                        usage=cached.usage,
                        cost=cached.cost,
                        cached_at=cached.at,
                        request=resolved,
                        offline=providers.is_offline(cached.model),
                        structured=answer_of(resolved.settings, cached.output),
                        ttft=cached.ttft,
                        latency=cached.latency,
                    )
                )
                await self._record(run, name)
                return

        bad_option = call_problem(name, resolved.call_options)
        if bad_option:  # e.g. max_attempts: "lots": a clear failure, not a ValueError
            raise PromptTuiError(bad_option)
        for check in self.send_checks:
            problem = check(run, name, resolved)
            if problem:
                raise PromptTuiError(problem)
        if key in self._in_flight:  # a forced run: send anyway, leave the other one be
            await self._send(run, name, resolved, emit, partial)
            return
        in_flight = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            await self._send(run, name, resolved, emit, partial)
        finally:
            del self._in_flight[key]
            in_flight.set_result(self._memory_cache.get(key))

    async def _send(
        self,
        run: Run,
        name: str,
        resolved: ResolvedRequest,
        emit: Callable[[RunEvent], None],
        partial: list[str],
    ) -> None:
        key = resolved.cache_key
        offline = providers.is_offline(resolved.model)
        found = await asyncio.to_thread(self._api_key, resolved) if not offline else None
        api_key = found.value if found is not None else None
        started = time.time()
        emit(Started(run_id=run.id, prompt=name, t=started, request=resolved, offline=offline))
        stream = self._stream or providers.stream_chat
        first_token: float | None = None
        end = None
        calls = Assembler()  # a tool-call answer, assembled from its streamed pieces
        try:
            attempts_allowed = resolved.call_options.get("max_attempts") or self.max_attempts
            async for item in stream(resolved, api_key=api_key, max_attempts=attempts_allowed):
                if isinstance(item, providers.TextChunk):
                    if first_token is None:
                        first_token = time.time()
                    partial.append(item.text)
                    emit(Delta(run_id=run.id, prompt=name, t=time.time(), text=item.text))
                elif isinstance(item, ToolCallPiece):
                    first_token = first_token or time.time()
                    shown = calls.feed(item)  # the function's name, then its arguments
                    if shown:
                        partial.append(shown)
                        emit(Delta(run_id=run.id, prompt=name, t=time.time(), text=shown))
                elif isinstance(item, providers.RetryNotice):
                    emit(
                        Retrying(
                            run_id=run.id,
                            prompt=name,
                            t=time.time(),
                            attempt=item.attempt,
                            delay=item.delay,
                            reason=item.reason,
                        )
                    )
                    partial.clear()
                elif isinstance(item, providers.StreamEnd):
                    end = item
                elif isinstance(item, providers.RequestSent):
                    started = item.t  # TTFT and latency count from the request, not the import
        except providers.ProviderError as exc:
            text = "".join(partial)
            error = explain_auth_failure(str(exc), exc.status, found)  # 401: where the key was
            emit(
                Failed(
                    run_id=run.id,
                    prompt=name,
                    t=time.time(),
                    error=error,
                    partial_text=text,
                    attempts=exc.attempts,
                    http_status=exc.status,
                )
            )
            await self._record(run, name, secret=api_key)
            return
        done = time.time()
        text = "".join(partial)
        usage = end.usage if end else None
        cost = end.cost if end else None
        finish_reason = end.finish_reason if end else None
        attempts = end.attempts if end else 1
        output = result_output(
            text, model=resolved.model, usage=usage, finish_reason=finish_reason, cost=cost
        )
        # Streamed in pieces (OpenAI-compatible, litellm), or whole at the end (native clients)
        made = calls.calls if calls else list(end.tool_calls if end else ())
        if made:  # stored as the AIConfig SDK stores a tool call; its text is that JSON
            output = tool_calls_output(made, legacy=calls.legacy, metadata=output["metadata"])
            text = output_text(output) or ""
        keep_exchange(output, resolved.messages)  # a continued tool conversation
        ttft = (first_token - started) if first_token else None
        answer = answer_of(resolved.settings, output, text)
        if answer is not None and answer.verdict is not None and not answer.verdict.ok:
            # A JSON answer that misses its schema fails (kept and shown; never adopted).
            error = answer.verdict.message
            emit(
                Failed(
                    run_id=run.id,
                    prompt=name,
                    t=time.time(),
                    error=error,
                    partial_text=text,
                    structured=answer,
                )
            )
            await self._record(run, name, secret=api_key)
            return
        self._remember(
            key,
            _CachedAnswer(text, output, resolved.model, usage, cost, done, ttft, done - started),
        )
        emit(
            Finished(
                run_id=run.id,
                prompt=name,
                t=done,
                text=text,
                output=output,
                model=resolved.model,
                usage=usage,
                cost=cost,
                ttft=ttft,
                latency=done - started,
                attempts=attempts,
                offline=offline,
                finish_reason=finish_reason,
                structured=answer,
            )
        )
        await self._record(run, name, secret=api_key)

    def _api_key(self, resolved: ResolvedRequest) -> KeyLookup | None:
        """The key a request is sent with (None: it needs none; the provider layer sends a
        placeholder to local servers). A keyring look-up: call it in a thread."""
        return key_for(resolved, self.keys)

    def _check_keys(self, run: Run, requests: list[ResolvedRequest]) -> list[str]:
        """Preflight: every key the run's requests need and nobody set, all at once (a keyring
        look-up: the runner calls its preflight in a thread)."""
        needing = [r for r in requests if key_need(r) is not None]
        if not needing:
            return []
        store = self.keys
        missing = missing_keys(needing, store)
        if not missing:
            return []
        usable = store.backend_status().usable
        messages = [missing_key_message(m, self.key_hint, usable) for m in missing]
        return [*messages[:-1], f"{messages[-1]}; {offline_route(self.key_hint)}"]

    async def _cached(self, key: str) -> _CachedAnswer | None:
        if key in self._memory_cache:
            return self._memory_cache[key]
        if self.history is None:
            return None
        row = await asyncio.to_thread(self.history.cached, key)
        if row is None or row.output is None:
            return None
        usage = Usage(
            row.tokens_in,
            row.tokens_out,
            (row.tokens_in or 0) + (row.tokens_out or 0) if row.tokens_in is not None else None,
        )
        answer = _CachedAnswer(
            row.output_text or "",
            row.output,
            row.model or "",
            usage,
            row.cost,
            row.ended_at or 0.0,
            row.ttft,
            row.latency,
        )
        self._remember(key, answer)
        return answer

    def _remember(self, key: str, answer: _CachedAnswer) -> None:
        self._memory_cache[key] = answer
        while len(self._memory_cache) > self.memory_cache_size:
            del self._memory_cache[next(iter(self._memory_cache))]

    # --- history ----------------------------------------------------------------------------
    async def _record(self, run: Run, name: str, *, secret: str | None = None) -> None:
        """Write the prompt's history row in a thread: SQLite never runs on the event loop."""
        if self.history is not None:
            await asyncio.to_thread(self._record_now, run, name, secret)

    def _record_soon(self, run: Run, name: str) -> None:
        """Record from a task being cancelled (it cannot await): a thread of its own."""
        if self.history is not None:
            threading.Thread(target=self._record_now, args=(run, name), daemon=True).start()

    def _record_all(self, run: Run, names: list[str]) -> None:
        for name in names:
            self._record_now(run, name)

    def _record_now(self, run: Run, name: str, secret: str | None = None) -> None:
        """The history row is made from the run's record of the prompt, nothing else."""
        if self.history is None:
            return
        from .history import RunRecord

        path = str(self.config.path) if self.config.path else ""
        self.history.record(
            RunRecord.from_result(run, name, run.result(name), config_path=path),
            secrets=[secret],  # masked wherever it might appear (an error echoing the key)
        )


def _never_started(result: PromptResult | None) -> bool:
    """Blocked, or cancelled before its request was made: no row was written for it."""
    return (
        result is not None
        and result.status in (PromptStatus.BLOCKED, PromptStatus.CANCELLED)
        and result.request is None
    )
