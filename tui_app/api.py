"""Python API for scripts and notebooks.

    from tui_app.api import Chain

    chain = Chain.load("sample_configs/travel_chain.aiconfig.json")
    for event in chain.run("itinerary", params={"city": "Porto"}):   # with its dependencies
        if event.kind == "delta":
            print(event.text, end="")
    print(chain.output("itinerary"))
    chain.save()                                   # outputs written back atomically

``run`` yields the same events as the TUI and `prompt-tui run --json` (tui_app.core.events);
``arun`` is its async twin for code that already has an event loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from .core.config import AIConfig, load
from .core.events import RunEvent
from .core.request import ResolvedRequest
from .core.resolve import resolve
from .core.runner import RunMode, Runner, RunRequest

__all__ = ["Chain"]

_END = object()


class Chain:
    def __init__(self, config: AIConfig, *, history: bool = True, concurrency: int = 4) -> None:
        self.config = config
        store = None
        if history:
            from .core import paths
            from .core.history import History

            store = History(paths.history_path())
        self.runner = Runner(config, history=store, concurrency=concurrency)

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Chain:
        return cls(load(path), **kwargs)

    @property
    def prompts(self) -> list[str]:
        return self.config.prompt_names

    def resolve(self, prompt: str, **kwargs: Any) -> ResolvedRequest:
        """The request ``prompt`` would send (params=, model=, settings=, allow_missing=)."""
        return resolve(self.config, prompt, **kwargs)

    def output(self, prompt: str) -> str | None:
        return self.config.prompt(prompt).output_text

    async def arun(
        self,
        prompt: str | None = None,
        *,
        mode: RunMode | None = None,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        force: bool = False,
    ) -> AsyncIterator[RunEvent]:
        request = RunRequest(
            prompt=prompt,
            mode=mode or ("with_deps" if prompt else "all"),
            params=dict(params or {}),
            model=model,
            settings=dict(settings or {}),
            force=force,
        )
        async for event in self.runner.run(request):
            yield event

    def run(self, prompt: str | None = None, **kwargs: Any) -> Iterator[RunEvent]:
        """Run and yield events as they happen (the run lives on a private event loop thread).

        Leaving the loop early cancels the run and closes its connections.
        """
        events: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        async def pump() -> None:
            stream = self.arun(prompt, **kwargs)
            try:
                async for event in stream:
                    events.put(event)
                    if stop.is_set():
                        break
            except BaseException as exc:  # re-raised in the caller's thread
                events.put(exc)
            finally:
                await stream.aclose()
                events.put(_END)

        thread = threading.Thread(
            target=asyncio.run, args=(pump(),), name="prompt-tui-run", daemon=True
        )
        thread.start()
        try:
            while True:
                item = events.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()

    def save(self, path: str | Path | None = None) -> Path:
        return self.config.save(Path(path) if path else None)
