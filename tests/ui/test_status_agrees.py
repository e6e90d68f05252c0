"""The tree and `prompt-tui status` say the same of every prompt (issue 19, item 8): one function
decides a prompt's status for both, from the file, this session's runs and the history."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.ui.conftest import chain
from tests.ui.helpers import main_screen, make_app, ready, select, status, wait_for
from tests.ui.test_reload import vim_save, watching
from tui_app.core.history import History
from tui_app.core.paths import history_path

NO_CONTEXT = {"remember_chat_context": False}


def trip(*, slow_last: bool = False) -> dict[str, Any]:
    """city -> spots (reads the parameter) -> plan (reads spots' output)."""
    last: dict[str, Any] = dict(NO_CONTEXT)
    if slow_last:  # long enough to be cancelled while it runs
        last["model"] = {"name": "echo", "settings": {"delay": 30}}
    return chain(
        [
            {"name": "spots", "input": "Three spots in {{city}}", "metadata": NO_CONTEXT},
            {"name": "plan", "input": "A day around: {{spots.output}}", "metadata": last},
        ],
        parameters={"city": "Lisbon"},
    )


def cli(*args: str) -> tuple[int, str]:
    """The real command in its own process, as a second terminal runs it (the app's history
    is the same file: PROMPT_TUI_HOME is inherited)."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from tui_app.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout


def verdicts(text: str) -> dict[str, str]:
    """`status`'s lines: prompt -> "word" or "word: detail"."""
    found = {}
    for line in text.splitlines():
        name, _, rest = line.strip().partition("  ")
        if name and rest and not line.startswith(" "):
            found[name] = rest.strip()
    return found


def to_rome(path: Path) -> None:
    vim_save(path, path.read_text(encoding="utf-8").replace('"Lisbon"', '"Rome"'))


async def test_outputs_saved_from_the_cache_go_stale_like_sent_ones(
    write_config: Any,
) -> None:
    """s3 runs the same requests as s2, so every answer comes from the cache; after the same
    edit both files are stale for the same reasons, in `status` and in the tree."""
    s2 = write_config(trip(), "s2.aiconfig.json")
    s3 = write_config(trip(), "s3.aiconfig.json")
    assert cli("run", str(s2), "--all", "--save")[0] == 0
    assert cli("run", str(s3), "--all", "--save")[0] == 0
    with History(history_path()) as history:
        rows = history.runs(config_path=str(s3))
    assert sorted(r.status for r in rows) == ["cached", "cached"]  # nothing was sent for s3
    to_rome(s2)
    to_rome(s3)
    code2, out2 = cli("status", str(s2))
    code3, out3 = cli("status", str(s3))
    expected = {
        "spots": "stale: parameter city changed (Lisbon → Rome)",
        "plan": "stale: upstream spots is stale",
    }
    assert (code2, verdicts(out2)) == (1, expected)
    assert (code3, verdicts(out3)) == (1, expected), out3

    app = make_app(s3)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_for(
            pilot,
            lambda: [status(app, n) for n in ("spots", "plan")] == ["stale", "stale"],
            what="the tree to say stale, as status does",
        )


async def test_a_cancelled_prompt_whose_upstream_changed_reads_the_same_in_both(
    write_config: Any,
) -> None:
    """The TUI cancels `plan` while it runs (its upstream came from the cache) and saves; an
    edit then changes the upstream. The tree and `status` (another process's view: the file and
    the history) give every prompt the same word: spots stale, plan cancelled (it has no output
    to be stale: its last run was cancelled)."""
    warm = write_config(trip(), "warm.aiconfig.json")
    assert cli("run", str(warm), "spots", "--save")[0] == 0  # spots: cached below
    path = write_config(trip(slow_last=True), "t8.aiconfig.json")
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await watching(pilot)
        await pilot.press("w")  # auto-run off: the edit reloads, nothing runs
        await select(pilot, "plan")
        await pilot.press("R")
        await wait_for(pilot, lambda: status(app, "plan") == "running", what="plan running")
        assert status(app, "spots") == "cached"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.has_active_run, what="the run to end")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: json.loads(path.read_text())["prompts"][0].get("outputs"),
            what="the save",
        )
        to_rome(path)
        await wait_for(pilot, lambda: status(app, "spots") == "stale", what="the reload")
        tree = {n: str(status(app, n)) for n in ("spots", "plan")}
        code, out = await asyncio.to_thread(cli, "status", str(path))
    said = verdicts(out)
    assert tree == {"spots": "stale", "plan": "cancelled"}
    assert {n: said[n].split(":")[0] for n in tree} == tree, out
    assert said["spots"] == "stale: parameter city changed (Lisbon → Rome)"
    assert said["plan"].endswith("before it answered (no output in the file)")
    assert code == 1  # plan has no output: something to do

    again = make_app(path)  # a later session knows it from the history, as `status` does
    async with again.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_for(
            pilot,
            lambda: {n: str(status(again, n)) for n in tree} == tree,
            what="a new session's tree to say what status says",
        )
        await select(pilot, "plan")
        note = str(main_screen(again).query_one("#output-note").render())
        assert note == f"cancelled: {said['plan'].removeprefix('cancelled: ')}"


def three_steps(*, first: dict[str, Any]) -> dict[str, Any]:
    """spots -> plan -> pack, each reading the one before."""
    return chain(
        [
            {"name": "spots", "input": "Three spots in {{city}}", "metadata": first},
            {"name": "plan", "input": "A day around: {{spots.output}}", "metadata": NO_CONTEXT},
            {"name": "pack", "input": "Pack for: {{plan.output}}", "metadata": NO_CONTEXT},
        ],
        parameters={"city": "Lisbon"},
    )


async def test_blocked_and_never_started_prompts_read_the_same_in_both(
    write_config: Any,
) -> None:
    """A prompt blocked by a failure, or cancelled while it waited, never sends a request;
    nothing recorded it, so `status` said "never run" where the tree (and the run's own table)
    said blocked or cancelled."""
    refused = {"api_base": "http://127.0.0.1:9/v1", "max_attempts": 1}  # nothing listens there
    failing = {**NO_CONTEXT, "model": {"name": "openai/x", "settings": refused}}
    path = write_config(three_steps(first=failing), "blocked.aiconfig.json")
    code, out = cli("run", str(path), "--all")
    assert code != 0
    code, out = cli("status", str(path))
    said = verdicts(out)
    assert said["spots"].startswith("failed") and code == 1, out
    assert said["plan"].split(":")[0] == "blocked" and said["pack"].split(":")[0] == "blocked"
    assert "'spots' failed" in said["plan"], out
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await wait_for(
            pilot,
            lambda: (
                [status(app, n) for n in ("spots", "plan", "pack")]
                == ["failed", "blocked", "blocked"]
            ),
            what="the tree to say what status says",
        )

    slow = {**NO_CONTEXT, "model": {"name": "echo", "settings": {"delay": 30}}}
    waiting = write_config(three_steps(first=slow), "waiting.aiconfig.json")
    app = make_app(waiting)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "spots") == "running", what="spots running")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.has_active_run, what="the run to end")
        tree = {n: str(status(app, n)) for n in ("spots", "plan", "pack")}
        code, out = await asyncio.to_thread(cli, "status", str(waiting))
    assert tree == {"spots": "cancelled", "plan": "cancelled", "pack": "cancelled"}
    said = verdicts(out)
    assert {n: said[n].split(":")[0] for n in tree} == tree, out
