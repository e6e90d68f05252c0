"""Python API for scripts and notebooks.

    from tui_app.api import Chain

    chain = Chain.load("sample_configs/travel_chain.aiconfig.json")
    for event in chain.run("itinerary", params={"city": "Porto"}):   # with its dependencies
        if event.kind == "delta":
            print(event.text, end="")
    print(chain.output("itinerary"))
    chain.save()                                   # outputs written back atomically

``run`` yields the same events as the TUI and `prompt-tui run --json` (tui_app.core.events);
``arun`` is its async twin for code that already has an event loop. A run refused before anything
was sent (missing parameters or keys) raises ``tui_app.core.errors.RunRefused``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

from .core.config import AIConfig
from .core.errors import RunRefused
from .core.events import Refused, RunEvent
from .core.request import ResolvedRequest
from .core.resolve import resolve
from .core.runs import Run, RunMode
from .core.workspace import PromptState, Workspace

__all__ = ["Chain"]

_END = object()


class Chain:
    """A thin face over :class:`~tui_app.core.workspace.Workspace` (``chain.workspace``)."""

    def __init__(self, config: AIConfig, *, history: bool = True, concurrency: int = 4) -> None:
        self.workspace = Workspace.for_document(config, history=history, concurrency=concurrency)

    @classmethod
    def load(cls, path: str | Path, *, history: bool = True, concurrency: int = 4) -> Chain:
        document = Workspace.open(path, history=False).document
        return cls(document, history=history, concurrency=concurrency)

    @property
    def config(self) -> AIConfig:
        return self.workspace.document

    @property
    def prompts(self) -> list[str]:
        return self.config.prompt_names

    def resolve(self, prompt: str, **kwargs: Any) -> ResolvedRequest:
        """The request ``prompt`` would send (params=, model=, settings=, allow_missing=)."""
        return resolve(self.config, prompt, **kwargs)

    def output(self, prompt: str) -> str | None:
        return self.config.prompt(prompt).output_text

    def status(self) -> dict[str, PromptState]:
        """Each prompt's status (fresh, stale and why, never run, failed)."""
        return self.workspace.states()

    async def arun(
        self,
        prompt: str | None = None,
        *,
        mode: RunMode | None = None,
        params: dict[str, Any] | None = None,
        model: str | None = None,
        settings: dict[str, Any] | None = None,
        force: bool = False,
    ) -> AsyncGenerator[RunEvent, None]:
        run = self.workspace.new_run(
            prompt,
            mode or ("with_deps" if prompt else "all"),
            params=params,
            model=model,
            settings=settings,
            force=force,
        )
        self.last_run: Run | None = run
        async for event in self.workspace.execute(run):
            if isinstance(event, Refused):
                raise RunRefused(event.message)
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
        return self.workspace.save(path)
