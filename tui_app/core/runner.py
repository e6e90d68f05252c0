"""The runner: runs a target (one prompt, a prompt with its dependencies, all prompts) and yields
events. Independent prompts run concurrently (bounded); a failure blocks what depends on it;
an unchanged request reuses its stored answer.

The UI subscribes to these events and the CLI prints them; neither holds execution logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .config import AIConfig
from .errors import MissingReferenceError, PromptTuiError
from .events import (
    Blocked,
    Cached,
    Cancelled,
    Delta,
    Failed,
    Finished,
    Queued,
    Retrying,
    RunDone,
    RunEvent,
    Started,
    Usage,
)
from .graph import DependencyGraph
from .outputs import error_output, result_output
from .request import ResolvedRequest
from .resolve import resolve

RunMode = Literal["one", "with_deps", "all"]
TERMINAL = (Finished, Cached, Failed, Blocked, Cancelled)


@dataclass
class RunRequest:
    prompt: str | None = None
    mode: RunMode = "with_deps"
    params: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    group_id: str | None = None  # ties the runs of one comparison together in the history


@dataclass
class _CachedAnswer:
    text: str
    output: dict[str, Any]
    model: str
    usage: Usage | None
    cost: float | None
    at: float


class Runner:
    def __init__(
        self,
        config: AIConfig,
        *,
        history: Any
        | None = None,  # core.history.History; typed loosely to keep sqlite off imports
        keys: Any | None = None,  # core.keys.KeyStore
        concurrency: int = 4,
        max_attempts: int = 4,
        stream: Callable[..., AsyncIterator[Any]] | None = None,
    ) -> None:
        self.config = config
        self.history = history
        self.keys = keys
        self.concurrency = max(1, concurrency)
        self.max_attempts = max_attempts
        self._stream = stream
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        # cache key of the request that produced each prompt's current output (for 'stale');
        # None: known to have no recorded output
        self._output_keys: dict[str, str | None] = {}
        self._memory_cache: dict[str, _CachedAnswer] = {}

    # --- planning ---------------------------------------------------------------------------
    def plan(self, request: RunRequest, graph: DependencyGraph | None = None) -> list[str]:
        """The prompts a run will execute, dependencies first."""
        graph = graph or DependencyGraph.build(self.config)
        graph.check()
        if request.mode == "all" or request.prompt is None:
            return graph.order()
        self.config.prompt(request.prompt)  # unknown or ambiguous names fail here
        if request.mode == "one":
            return [request.prompt]
        return [*graph.upstream(request.prompt), request.prompt]

    def preflight(self, request: RunRequest, targets: list[str]) -> list[MissingReferenceError]:
        """Parameters missing before anything runs (outputs produced by this run don't count)."""
        running = set(targets)
        problems = []
        for name in targets:
            try:
                resolved = resolve(
                    self.config,
                    name,
                    params=request.params,
                    model=request.model,
                    settings=request.settings,
                    allow_missing=True,
                )
            except PromptTuiError:
                continue  # reported when the prompt runs
            missing = [m for m in resolved.missing if resolved.missing_of.get(m) not in running]
            if missing:
                problems.append(MissingReferenceError(name, missing))
        return problems

    def is_stale(
        self,
        prompt: str,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> bool:
        """True when the prompt's output came from a request that differs from today's."""
        if (
            prompt not in self._output_keys
            and self.history is not None
            and self.config.path is not None
        ):
            # asked once per prompt (misses too): the UI refreshes staleness often
            row = self.history.latest_for(str(self.config.path), prompt)
            ok = row is not None and row.status in ("finished", "cached")
            self._output_keys[prompt] = row.cache_key if ok else None
        produced = self._output_keys.get(prompt)
        if produced is None or self.config.get(prompt) is None:
            return False
        try:
            current = resolve(
                self.config,
                prompt,
                params=params,
                model=model,
                settings=settings,
                allow_missing=True,
            )
        except PromptTuiError:
            return True
        return current.cache_key != produced

    # --- running ----------------------------------------------------------------------------
    def cancel(self, prompt: str | None = None) -> int:
        """Cancel everything in flight, or one prompt; its HTTP stream closes at once."""
        count = 0
        for (_, name), task in list(self._tasks.items()):
            if (prompt is None or name == prompt) and not task.done():
                task.cancel()
                count += 1
        return count

    @property
    def busy(self) -> bool:
        return any(not task.done() for task in self._tasks.values())

    async def run(self, request: RunRequest) -> AsyncIterator[RunEvent]:
        """Run ``request`` and yield its events; raises before the first event when the run is
        refused (unknown prompt, cycle, missing parameters)."""
        graph = DependencyGraph.build(self.config)
        targets = self.plan(request, graph)
        problems = self.preflight(request, targets)
        if problems:
            if len(problems) == 1:
                raise problems[0]
            raise RunRefused(problems)
        run_id = uuid.uuid4().hex[:12]
        queue: asyncio.Queue[RunEvent] = asyncio.Queue()
        deps = graph.deps
        outcome: dict[str, asyncio.Future[RunEvent]] = {
            name: asyncio.get_running_loop().create_future() for name in targets
        }
        semaphore = asyncio.Semaphore(self.concurrency)

        def emit(event: RunEvent) -> None:
            queue.put_nowait(event)
            if isinstance(event, TERMINAL) and not outcome[event.prompt].done():
                outcome[event.prompt].set_result(event)

        for name in targets:
            emit(Queued(run_id=run_id, prompt=name, t=time.time()))
        tasks = []
        for name in targets:
            upstream = [d for d in deps[name] if d in outcome]
            task = asyncio.create_task(
                self._run_one(run_id, name, request, upstream, outcome, semaphore, emit),
                name=f"prompt-tui:{name}",
            )
            self._tasks[(run_id, name)] = task
            tasks.append(task)
        remaining = len(targets)
        counts: dict[str, int] = {}
        try:
            while remaining:
                event = await queue.get()
                if isinstance(event, TERMINAL):
                    remaining -= 1
                    counts[event.kind] = counts.get(event.kind, 0) + 1
                yield event
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*tasks, return_exceptions=True)
            for name in targets:
                self._tasks.pop((run_id, name), None)
        yield RunDone(run_id=run_id, prompt=request.prompt or "", t=time.time(), counts=counts)

    async def _run_one(
        self,
        run_id: str,
        name: str,
        request: RunRequest,
        upstream: list[str],
        outcome: dict[str, asyncio.Future[RunEvent]],
        semaphore: asyncio.Semaphore,
        emit: Callable[[RunEvent], None],
    ) -> None:
        partial: list[str] = []
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
                            run_id=run_id,
                            prompt=name,
                            t=time.time(),
                            by=dep,
                            reason=f"'{dep}' {reason}",
                        )
                    )
                    return
            async with semaphore:
                await self._execute(run_id, name, request, emit, partial)
        except asyncio.CancelledError:
            emit(
                Cancelled(run_id=run_id, prompt=name, t=time.time(), partial_text="".join(partial))
            )
            self._record_cancel(run_id, name, request, "".join(partial))
        except PromptTuiError as exc:
            emit(Failed(run_id=run_id, prompt=name, t=time.time(), error=str(exc)))
        except Exception as exc:  # a bug must not take the app down: report it as a failure
            emit(
                Failed(
                    run_id=run_id,
                    prompt=name,
                    t=time.time(),
                    error=f"internal error: {type(exc).__name__}: {exc}",
                )
            )

    async def _execute(
        self,
        run_id: str,
        name: str,
        request: RunRequest,
        emit: Callable[[RunEvent], None],
        partial: list[str],
    ) -> None:
        resolved = resolve(
            self.config, name, params=request.params, model=request.model, settings=request.settings
        )
        prompt = self.config.prompt(name)
        key = resolved.cache_key
        if not request.force:
            cached = self._cached(key)
            if cached is not None:
                prompt.set_outputs([cached.output])
                self._output_keys[name] = key
                emit(
                    Cached(
                        run_id=run_id,
                        prompt=name,
                        t=time.time(),
                        text=cached.text,
                        output=cached.output,
                        model=cached.model,
                        usage=cached.usage,
                        cost=cached.cost,
                        cached_at=cached.at,
                    )
                )
                self._record(
                    run_id,
                    name,
                    request,
                    resolved,
                    "cached",
                    text=cached.text,
                    output=cached.output,
                    usage=cached.usage,
                    cost=cached.cost,
                    started=time.time(),
                )
                return

        from . import providers  # providers import litellm lazily themselves

        offline = providers.is_offline(resolved.model)
        api_key = self._api_key(resolved) if not offline else None
        started = time.time()
        emit(Started(run_id=run_id, prompt=name, t=started, request=resolved, offline=offline))
        stream = self._stream or providers.stream_chat
        first_token: float | None = None
        end = None
        try:
            attempts_allowed = int(resolved.call_options.get("max_attempts", self.max_attempts))
            async for item in stream(resolved, api_key=api_key, max_attempts=attempts_allowed):
                if isinstance(item, providers.TextChunk):
                    if first_token is None:
                        first_token = time.time()
                    partial.append(item.text)
                    emit(Delta(run_id=run_id, prompt=name, t=time.time(), text=item.text))
                elif isinstance(item, providers.RetryNotice):
                    emit(
                        Retrying(
                            run_id=run_id,
                            prompt=name,
                            t=time.time(),
                            attempt=item.attempt,
                            delay=item.delay,
                            reason=item.reason,
                        )
                    )
                elif isinstance(item, providers.StreamEnd):
                    end = item
        except providers.ProviderError as exc:
            text = "".join(partial)
            prompt.set_outputs([error_output(exc)])
            self._output_keys.pop(name, None)
            emit(
                Failed(
                    run_id=run_id,
                    prompt=name,
                    t=time.time(),
                    error=str(exc),
                    partial_text=text,
                    attempts=exc.attempts,
                    status=exc.status,
                )
            )
            self._record(
                run_id,
                name,
                request,
                resolved,
                "failed",
                text=text,
                error=str(exc),
                attempts=exc.attempts,
                started=started,
                offline=offline,
                secret=api_key,
            )
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
        prompt.set_outputs([output])
        self._output_keys[name] = key
        ttft = (first_token - started) if first_token else None
        self._memory_cache[key] = _CachedAnswer(text, output, resolved.model, usage, cost, done)
        emit(
            Finished(
                run_id=run_id,
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
            )
        )
        self._record(
            run_id,
            name,
            request,
            resolved,
            "finished",
            text=text,
            output=output,
            usage=usage,
            cost=cost,
            ttft=ttft,
            latency=done - started,
            attempts=attempts,
            started=started,
            offline=offline,
            secret=api_key,
        )

    def _api_key(self, resolved: ResolvedRequest) -> str | None:
        from . import providers

        if not providers.needs_key(resolved):
            return None  # the provider layer sends a placeholder to local servers
        provider = providers.provider_of(resolved.model, resolved.call_options)
        env_var = providers.key_env_var(provider)
        if self.keys is None:
            from .keys import KeyStore

            self.keys = KeyStore()
        found = self.keys.lookup(provider, env_var=env_var).value
        if not found:
            hint = (
                f"set {env_var} or run `prompt-tui keys set {provider}`"
                if env_var
                else f"configure {provider}"
            )
            raise PromptTuiError(f"no API key for {provider} (model {resolved.model}): {hint}")
        return found

    def _cached(self, key: str) -> _CachedAnswer | None:
        if key in self._memory_cache:
            return self._memory_cache[key]
        if self.history is None:
            return None
        row = self.history.cached(key)
        if row is None or row.output is None:
            return None
        usage = Usage(
            row.tokens_in,
            row.tokens_out,
            (row.tokens_in or 0) + (row.tokens_out or 0) if row.tokens_in is not None else None,
        )
        answer = _CachedAnswer(
            row.output_text or "", row.output, row.model, usage, row.cost, row.ended_at or 0.0
        )
        self._memory_cache[key] = answer
        return answer

    # --- history ----------------------------------------------------------------------------
    def _record(
        self,
        run_id: str,
        name: str,
        request: RunRequest,
        resolved: ResolvedRequest,
        status: str,
        *,
        text: str = "",
        output: dict[str, Any] | None = None,
        error: str | None = None,
        usage: Usage | None = None,
        cost: float | None = None,
        ttft: float | None = None,
        latency: float | None = None,
        attempts: int = 1,
        started: float,
        offline: bool = False,
        secret: str | None = None,
    ) -> None:
        if self.history is None:
            return
        from .history import RunRecord

        self.history.record(
            RunRecord(
                run_id=run_id,
                group_id=request.group_id,
                config_path=str(self.config.path) if self.config.path else "",
                prompt=name,
                model=resolved.model,
                settings=resolved.settings,
                messages=resolved.messages,
                output_text=text,
                output=output,
                status=status,
                error=error,
                tokens_in=usage.prompt_tokens if usage else None,
                tokens_out=usage.completion_tokens if usage else None,
                cost=cost,
                ttft=ttft,
                latency=latency,
                attempts=attempts,
                started_at=started,
                ended_at=time.time(),
                cache_key=resolved.cache_key,
                offline=offline,
            ),
            secrets=[secret],  # masked wherever it might appear (an error echoing the key)
        )

    def _record_cancel(self, run_id: str, name: str, request: RunRequest, text: str) -> None:
        if self.history is None:
            return
        try:
            resolved = resolve(
                self.config,
                name,
                params=request.params,
                model=request.model,
                settings=request.settings,
                allow_missing=True,
            )
        except PromptTuiError:
            return
        self._record(run_id, name, request, resolved, "cancelled", text=text, started=time.time())


class RunRefused(PromptTuiError):
    """Several prompts of a run miss parameters: nothing was started."""

    def __init__(self, problems: list[MissingReferenceError]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
