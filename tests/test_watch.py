"""The config watcher on real files: every common save style, moves, deletions, bursts, and the
app's own saves. Waits are budgets for a condition (failure guards), never timing assertions."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tui_app.core.config import load
from tui_app.core.watch import ConfigWatcher, FileEvent, FileEventKind


class Watching:
    def __init__(self, watcher: ConfigWatcher) -> None:
        self.watcher = watcher
        self.events: list[FileEvent] = []
        self.task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.watcher.events():
            self.events.append(event)

    async def until(self, predicate: Callable[[list[FileEvent]], bool], what: str) -> None:
        for _ in range(500):  # a budget of 10 s: a guard against hanging, not a timing check
            if predicate(self.events):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"never saw {what}: {self.events}")

    async def quiet(self, rounds: int = 15) -> None:
        """Let the watcher see whatever is still on its way (a few of its batch windows)."""
        for _ in range(rounds):
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.watcher.stop()
        await self.task


async def started(path: Path, **kw) -> Watching:
    watching = Watching(ConfigWatcher(path, **kw))
    await asyncio.sleep(0.2)  # the directory watch is in place
    return watching


def changed(events: list[FileEvent]) -> list[bytes | None]:
    return [e.raw for e in events if e.kind is FileEventKind.CHANGED]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "chain.json"
    path.write_bytes(b'{"v": 0}\n')
    return path


def write_in_place(path: Path, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()


def write_new_and_rename(path: Path, data: bytes) -> None:
    """vim (backupcopy=no): write a new file, rename it over the old one."""
    fresh = path.with_name("4913")
    fresh.write_bytes(data)
    os.replace(fresh, path)


def backup_and_rename(path: Path, data: bytes) -> None:
    """vim's default on Linux: the old file becomes the backup, a new one is written."""
    backup = path.with_name(path.name + "~")
    os.replace(path, backup)
    path.write_bytes(data)
    backup.unlink()


def temp_and_rename(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temp.write_bytes(data)
    os.replace(temp, path)


@pytest.mark.parametrize(
    "save",
    [write_in_place, write_new_and_rename, backup_and_rename, temp_and_rename, Path.write_bytes],
    ids=["in-place", "write-new-and-rename", "backup-and-rename", "temp-and-rename", "truncate"],
)
async def test_every_save_style_is_seen_with_its_final_bytes(cfg: Path, save) -> None:
    watching = await started(cfg)
    for n in (1, 2):
        save(cfg, b'{"v": %d}\n' % n)
        await watching.until(lambda ev, n=n: changed(ev)[-1:] == [b'{"v": %d}\n' % n], f"v{n}")
    await watching.quiet()
    await watching.stop()
    assert changed(watching.events) == [b'{"v": 1}\n', b'{"v": 2}\n']
    assert all(e.kind is FileEventKind.CHANGED for e in watching.events)


async def test_truncate_then_write_never_reports_the_empty_file(cfg: Path) -> None:
    watching = await started(cfg, settle=0.5)
    cfg.write_bytes(b"")
    await asyncio.sleep(0.1)  # longer than a batch window: the empty file is seen on its own
    cfg.write_bytes(b'{"v": 1}\n')
    await watching.until(lambda ev: changed(ev) == [b'{"v": 1}\n'], "the written file")
    await watching.quiet()
    await watching.stop()
    assert changed(watching.events) == [b'{"v": 1}\n']


async def test_a_file_that_stays_empty_is_reported_once_settled(cfg: Path) -> None:
    watching = await started(cfg, settle=0.1)
    cfg.write_bytes(b"")
    await watching.until(lambda ev: changed(ev) == [b""], "the empty file")
    await watching.stop()


async def test_deleted_then_back_is_missing_then_returned(cfg: Path, tmp_path: Path) -> None:
    watching = await started(cfg)
    moved = tmp_path / "elsewhere.json"
    os.replace(cfg, moved)
    await watching.until(lambda ev: [e.kind for e in ev] == [FileEventKind.MISSING], "missing")
    await watching.quiet()
    assert len(watching.events) == 1  # said once
    moved.write_bytes(b'{"v": 3}\n')
    os.replace(moved, cfg)
    await watching.until(lambda ev: len(ev) == 2, "the file back")
    await watching.stop()
    back = watching.events[1]
    assert back.kind is FileEventKind.CHANGED and back.returned and back.raw == b'{"v": 3}\n'


async def test_delete_and_recreate_with_the_same_bytes_still_says_it_is_back(cfg: Path) -> None:
    watching = await started(cfg)
    cfg.unlink()
    await watching.until(lambda ev: len(ev) == 1, "missing")
    cfg.write_bytes(b'{"v": 0}\n')
    await watching.until(lambda ev: len(ev) == 2, "returned")
    await watching.stop()
    assert watching.events[1].returned


async def test_the_directory_removed_and_recreated_is_picked_up(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "chain.json"
    path.write_bytes(b'{"v": 0}\n')
    watching = await started(path)
    shutil.rmtree(folder)
    await watching.until(lambda ev: ev and ev[0].kind is FileEventKind.MISSING, "missing")
    await asyncio.sleep(0.3)
    folder.mkdir()
    path.write_bytes(b'{"v": 9}\n')
    await watching.until(lambda ev: changed(ev) == [b'{"v": 9}\n'], "the file in the new folder")
    await watching.stop()


async def test_the_apps_own_save_is_not_reported(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "hi"}]))
    config = load(path)
    watching = await started(path, known_digest=lambda: config.disk_digest)
    config.prompt("a").set_template("hello")
    config.save()
    await watching.quiet(25)
    assert watching.events == []
    path.write_text(path.read_text().replace("hello", "bye"))  # someone else: reported
    await watching.until(lambda ev: len(ev) == 1, "the other program's save")
    await watching.stop()
    assert b"bye" in (watching.events[0].raw or b"")


async def test_a_burst_of_200_saves_ends_on_the_last_one_with_no_stray_tasks(cfg: Path) -> None:
    before = asyncio.all_tasks()
    watching = await started(cfg)
    for n in range(200):
        temp_and_rename(cfg, b'{"v": %d}\n' % n) if n % 2 else cfg.write_bytes(b'{"v": %d}\n' % n)
    await watching.until(lambda ev: changed(ev)[-1:] == [b'{"v": 199}\n'], "the last save")
    await watching.quiet()
    await watching.stop()
    assert changed(watching.events)[-1] == b'{"v": 199}\n'
    assert len(watching.events) < 200  # debounced into batches
    assert watching.task.done()
    assert asyncio.all_tasks() == before
