"""`run --watch` says what it knows (issue 19, cosmetic): a prompt's first run in the session
"ran", a later one "re-ran"; the summary counts reloads (a burst of saves is coalesced into one,
so their number is unknown) and only the runs that sent something."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

from tests.helpers import chain, write_config
from tui_app.commands.run_watch import WatchSession
from tui_app.core.workspace import Workspace

NO_CONTEXT = {"remember_chat_context": False}


def trip() -> dict[str, Any]:
    return chain(
        [
            {"name": "a", "input": "Three spots in {{city}}", "metadata": NO_CONTEXT},
            {"name": "b", "input": "A day around: {{a.output}}", "metadata": NO_CONTEXT},
        ],
        parameters={"city": "Lisbon"},
        models={"echo": {"delay": 0}},
    )


async def _until(predicate: Any, what: str) -> None:
    for _ in range(1000):  # a 20 s budget against hanging; never a timing assertion
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


def edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")  # sed -i: in place


def set_city(city: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        data["metadata"]["parameters"]["city"] = city

    return change


def add_extra_and_retemplate(data: dict[str, Any]) -> None:
    data["prompts"].append({"name": "extra", "input": "Anything else?", "metadata": NO_CONTEXT})
    data["prompts"][0]["input"] = "Two spots in {{city}}"


def template_back(data: dict[str, Any]) -> None:
    data["prompts"][0]["input"] = "Three spots in {{city}}"


async def test_ran_the_first_time_re_ran_later_and_the_summary_counts_what_it_knows(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path / "w6.aiconfig.json", trip())
    workspace = Workspace.open(path, history=False)
    err = io.StringIO()
    session = WatchSession(workspace, workspace.new_run(None, "all"), out=io.StringIO(), err=err)
    stop = asyncio.Event()
    loop = asyncio.create_task(session.run(stop))
    steps = [
        set_city("Rome"),  # a and b re-run
        add_extra_and_retemplate,  # extra runs for the first time, a and b again
        template_back,  # a's request is one the cache answered before: nothing is sent
    ]
    await _until(lambda: len(session.summary.reran) == 1, "the first run")
    for n, step in enumerate(steps, 2):
        await asyncio.sleep(0.2)  # the watcher's directory watch is in place
        edit(path, step)
        await _until(lambda n=n: len(session.summary.reran) == n, f"run {n}")
    stop.set()
    summary = await loop
    said = [line.removeprefix("prompt-tui: ") for line in err.getvalue().splitlines()]
    runs = [line for line in said if "ran" in line]
    assert runs == [
        "ran a, b",
        "re-ran a, b",
        "ran extra; re-ran a, b",
        "nothing re-ran · from the cache: a, b",
    ], said
    assert any("prompt extra added" in line for line in said), said
    line = summary.line()
    # three reloads; the last run sent nothing, so it is no run: 3 runs, 7 requests
    assert line == (
        "prompt-tui: watched: 3 reloads; 3 runs, 7 requests sent, "
        "2 answered from the cache, 0 failed"
    ), line
    assert "save" not in line  # a burst of saves is one event: their number is unknown
    workspace.close()


async def test_a_burst_of_saves_is_counted_as_the_reloads_it_made(tmp_path: Path) -> None:
    """Ten writes 50 ms apart are coalesced by the watcher: the summary says how many reloads
    they made, never that there were that many "saves"."""
    path = write_config(tmp_path / "w6.aiconfig.json", trip())
    workspace = Workspace.open(path, history=False)
    err = io.StringIO()
    session = WatchSession(workspace, workspace.new_run(None, "all"), out=io.StringIO(), err=err)
    stop = asyncio.Event()
    loop = asyncio.create_task(session.run(stop))
    await _until(lambda: len(session.summary.reran) == 1, "the first run")
    await asyncio.sleep(0.2)
    for n in range(10):
        edit(path, set_city(f"City {n}"))
        await asyncio.sleep(0.05)
    await _until(
        lambda: (
            workspace.document.prompt("a").output_text == "Three spots in City 9"
            and not workspace.active_runs()
        ),
        "the last version's run",
    )
    stop.set()
    summary = await loop
    said = err.getvalue().splitlines()
    # every run counted printed its line, but those a newer version took over (it says so)
    printed = [x for x in said if x.startswith(("prompt-tui: ran", "prompt-tui: re-ran"))]
    assert len(printed) == summary.runs - summary.superseded, said
    line = summary.line()
    if summary.superseded:
        assert f"({summary.superseded} cut short by a newer version)" in line, line
    reloads = summary.reloaded
    assert 1 <= reloads < 10
    assert f"watched: {reloads} reload" in line and "save" not in line, line
    workspace.close()


async def test_a_run_cut_mid_line_does_not_run_into_the_next_line(tmp_path: Path) -> None:
    """A slow answer cut short by a save stopped mid-line, and the reload's line (stderr, the
    same terminal) went on after it: "…worth a day each for a prompt-tui: reloaded: …"."""
    path = write_config(tmp_path / "w7.aiconfig.json", trip())
    edit(path, lambda d: d["metadata"]["models"]["echo"].update({"delay": 0.2}))
    workspace = Workspace.open(path, history=False)
    terminal = io.StringIO()  # stdout and stderr on one terminal
    session = WatchSession(workspace, workspace.new_run("a", "one"), out=terminal, err=terminal)
    stop = asyncio.Event()
    loop = asyncio.create_task(session.run(stop))
    await _until(lambda: "Three spots" in terminal.getvalue(), "the answer streaming")
    edit(path, set_city("Porto"))
    await _until(lambda: "reloaded" in terminal.getvalue(), "the reload")
    await _until(lambda: not workspace.active_runs(), "the re-run")
    stop.set()
    await loop
    lines = terminal.getvalue().splitlines()
    assert [x for x in lines if "prompt-tui:" in x and not x.startswith("prompt-tui:")] == []
    workspace.close()
