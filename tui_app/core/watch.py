"""Watching a config file for saves by other programs (an editor beside the app).

The watch is on the file's *directory*, never the file: after an atomic save (vim's write-new-and-
rename, a temp file renamed over it) a watch on the file itself goes silent forever. watchfiles
hands over batches that are unordered sets (a batch can hold "deleted" and "added" for the same
path), so a batch is only a hint: what counts is the file as it is after the batch, read again.

What the watcher reports (:class:`FileEvent`):

- ``CHANGED``: the bytes differ from the last ones seen, with the bytes themselves (the reader
  parses exactly what was seen, not a later version). The app's own saves are not reported: the
  owner passes ``known_digest`` (the digest of what it last read or wrote, see
  ``AIConfig.disk_digest``) and a file that matches it while nothing else was reported is quiet.
- ``MISSING``: the file was moved away or deleted (reported once; the owner keeps its last state).
  When it comes back, the next event is ``CHANGED`` with ``returned=True``.
- ``UNREADABLE``: the path exists but cannot be read (permissions, a directory).

An empty file is a transient of truncate-then-write: it is reported only once it has stayed
empty for ``settle`` seconds. A directory that disappears is polled for until it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fileio import read_bytes

# watchfiles groups changes for up to DEBOUNCE ms, yielding once nothing new came for STEP ms:
# measured ~26 ms from a write to the event (DESIGN.md), and a burst of saves is one batch.
DEBOUNCE_MS = 50
STEP_MS = 10
SETTLE_S = 0.25  # an empty file must stay empty this long before it is reported
# A burst of saves (an editor's autosave, a formatter, a script writing in a loop) is reported
# twice: its first save at once (no delay for the common single save), then its last version
# once the file has been quiet for QUIET_S. watchfiles alone hands over a batch every ~50 ms
# during a burst: 200 saves in 2 s were 72 reloads and 73 requests. A burst that never stops is
# reported at least every MAX_HOLD_S so the screen does not freeze on an old version.
# QUIET_S: an editor's save is one to three writes within ~20 ms (measured: vim's write-and-
# rename, VS Code's truncate-and-write); 0.3 s of silence ends a burst without being felt.
QUIET_S = 0.3
MAX_HOLD_S = 2.0
POLL_S = 0.5  # how often a vanished directory is looked for


class FileEventKind(enum.StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class FileEvent:
    kind: FileEventKind
    path: Path
    raw: bytes | None = None  # CHANGED: the bytes read after the batch
    digest: str | None = None  # CHANGED: sha256 of ``raw`` (compare with AIConfig.disk_digest)
    returned: bool = False  # CHANGED: the file is back after a MISSING
    error: str | None = None  # UNREADABLE: why
    seen_at: float = 0.0  # time.monotonic() when the batch that revealed it arrived

    def describe(self) -> str:
        if self.kind is FileEventKind.MISSING:
            return f"{self.path}: moved away or deleted; keeping the last state until it returns"
        if self.kind is FileEventKind.UNREADABLE:
            return f"{self.path}: cannot read: {self.error}"
        return f"{self.path}: " + ("is back" if self.returned else "changed on disk")


def digest_of(raw: bytes) -> str:
    """The digest AIConfig keeps of what it read or wrote (sha256 hex)."""
    return hashlib.sha256(raw).hexdigest()


class ConfigWatcher:
    """Yields :class:`FileEvent` for one file; ``stop()`` ends ``events()`` within a step."""

    def __init__(
        self,
        path: str | Path,
        *,
        known_digest: Callable[[], str | None] = lambda: None,
        debounce_ms: int = DEBOUNCE_MS,
        step_ms: int = STEP_MS,
        settle: float = SETTLE_S,
        quiet: float = QUIET_S,
        max_hold: float = MAX_HOLD_S,
        force_polling: bool | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        self.known_digest = known_digest
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.settle = settle
        self.quiet = quiet
        self.max_hold = max_hold
        self.force_polling = force_polling
        self._stop = asyncio.Event()
        self._dir_stop: asyncio.Event | None = None  # ends the current directory watch
        self._last_seen: str | None = None
        self._clean = True  # nothing reported differs from what the owner knows
        self._missing = False
        self.batches = 0  # watchfiles batches that touched the file (tests, bench)
        self.held = 0  # batches held back as part of a burst (tests, bench)

    def stop(self) -> None:
        self._stop.set()
        if self._dir_stop is not None:
            self._dir_stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # --- the state of the file after a batch --------------------------------------------------
    def check(self, seen_at: float | None = None) -> FileEvent | None:
        """Look at the file now: an event to report, or None (nothing new, or the app's own
        save). ``"empty"`` files are handled by the caller (they may be a transient)."""
        seen_at = time.monotonic() if seen_at is None else seen_at
        if not self.path.exists():
            if self._missing:
                return None
            self._missing, self._clean, self._last_seen = True, False, None
            return FileEvent(FileEventKind.MISSING, self.path, seen_at=seen_at)
        try:
            raw = read_bytes(self.path)
        except FileNotFoundError:  # gone between exists() and the read: the next batch says so
            return None
        except OSError as exc:
            self._clean = False
            return FileEvent(
                FileEventKind.UNREADABLE, self.path, error=exc.strerror or str(exc), seen_at=seen_at
            )
        digest = digest_of(raw)
        returned, self._missing = self._missing, False
        if digest == self._last_seen and not returned:
            return None
        self._last_seen = digest
        if digest == self.known_digest() and self._clean and not returned:
            return None  # the owner's own save (or a save of identical bytes)
        self._clean = digest == self.known_digest()
        return FileEvent(
            FileEventKind.CHANGED,
            self.path,
            raw=raw,
            digest=digest,
            returned=returned,
            seen_at=seen_at,
        )

    def _is_empty(self) -> bool:
        try:
            return self.path.stat().st_size == 0 or not read_bytes(self.path).strip()
        except OSError:
            return False

    # --- the loop -----------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[FileEvent]:
        """Events until ``stop()``; survives the directory vanishing and coming back."""
        self._last_seen = self.known_digest()
        self._missing = not self.path.exists()
        while not self.stopped:
            if not self.path.parent.is_dir():
                if not self._missing:
                    event = self.check()
                    if event is not None:
                        yield event
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), POLL_S)
                continue
            # the directory may have come back with the file in it
            if self._missing and self.path.exists():
                event = self.check()
                if event is not None:
                    yield event
            async for event in self._watch_directory():
                yield event

    async def _watch_directory(self) -> AsyncIterator[FileEvent]:
        from watchfiles import awatch

        target = str(self.path)

        def ours(_change: Any, changed: str) -> bool:
            return changed == target

        self._dir_stop = dir_stop = asyncio.Event()
        if self.stopped:
            return
        batches = awatch(
            self.path.parent,
            watch_filter=ours,
            debounce=self.debounce_ms,
            step=self.step_ms,
            stop_event=dir_stop,
            recursive=False,
            force_polling=self.force_polling,
        )
        iterator = aiter(batches)
        pending: asyncio.Task[Any] | None = None
        waiting_empty = False
        last_batch = -float("inf")  # when the previous batch came (a burst: less than quiet ago)
        hold_since: float | None = None  # a burst's later batches wait for quiet since then
        try:
            while not self.stopped:
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                # Wake up without a batch to settle an empty file, to report a burst once it
                # is quiet, and to notice that the directory itself went away (its watch then
                # goes silent).
                waits = [self.settle] if waiting_empty else [POLL_S] if self._missing else []
                if hold_since is not None:
                    waits.append(max(0.0, last_batch + self.quiet - time.monotonic()))
                timeout = min(waits) if waits else None
                done, _ = await asyncio.wait({pending}, timeout=timeout)
                now = time.monotonic()
                if pending in done:
                    task, pending = pending, None
                    try:
                        task.result()
                    except StopAsyncIteration:
                        return
                    except Exception:  # the directory went away (or the watch broke)
                        await asyncio.sleep(POLL_S)  # events() starts again: never a hot loop
                        return
                    self.batches += 1
                    seen_at = now
                    in_burst = now - last_batch < self.quiet
                    last_batch = now
                    if in_burst or hold_since is not None:
                        hold_since = now if hold_since is None else hold_since
                        if now - hold_since < self.max_hold:
                            self.held += 1
                            continue  # reported when the burst goes quiet (the last version)
                    if self._is_empty():
                        waiting_empty = True  # truncate-then-write: wait for the rest
                        continue
                elif hold_since is not None and now - last_batch >= self.quiet:
                    seen_at = now  # the burst is over: its last version
                    if self._is_empty():
                        hold_since = None
                        waiting_empty = True
                        continue
                elif waiting_empty:
                    seen_at = time.monotonic()  # stayed empty: report it (an invalid file)
                else:
                    if not self.path.parent.is_dir():
                        return
                    if not (self._missing and self.path.exists()):
                        continue
                    seen_at = time.monotonic()  # back before this watch began: no event came
                waiting_empty = False
                hold_since = None
                event = self.check(seen_at)
                if event is not None:
                    yield event
        finally:
            dir_stop.set()  # the watch thread returns within a step
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            with contextlib.suppress(BaseException):
                await batches.aclose()
