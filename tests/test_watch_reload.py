"""Reload and re-run against the real local server: exactly the changed prompts are sent.

The five-prompt chain is one -> two -> three -> four -> five, each reading the previous output,
chat context off (so outputs are the only dependencies). The headless loop (`run --watch`) is
driven in-process through its WatchSession with real files and a real watcher.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

from tests.helpers import chain, write_config
from tests.support.chains import FIVE, five_chain
from tests.support.openai_server import OpenAIServer
from tui_app.commands.run_watch import WatchSession
from tui_app.core.changes import ChangeKind
from tui_app.core.reload import ReloadOutcome, diff
from tui_app.core.runs import PromptStatus
from tui_app.core.workspace import Workspace


def sent_prompts(server: OpenAIServer, since: int) -> list[str]:
    """Which prompts the requests after ``since`` were for (by their text)."""
    out = []
    for record in server.requests[since:]:
        text = record.body["messages"][-1]["content"]
        out.append(next(name for name in FIVE if text.startswith(f"{name} says")))
    return out


def save_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    os.replace(temp, path)


async def five_ran(server: OpenAIServer, tmp_path: Path) -> tuple[Workspace, Path]:
    path = write_config(tmp_path / "five.json", five_chain(server.base_url))
    workspace = Workspace.open(path, history=False)
    await workspace.run(None, "all")
    assert len(server.requests) == 5
    return workspace, path


async def test_one_word_in_the_last_prompt_sends_exactly_one_request(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    workspace, path = await five_ran(model_server, tmp_path)
    path.write_text(path.read_text().replace("five says hello", "five says goodbye"))
    result = workspace.reload()
    assert result.outcome is ReloadOutcome.APPLIED
    assert [(c.kind, c.prompt) for c in result.changes] == [(ChangeKind.TEMPLATE, "five")]
    assert list(result.stale) == ["five"] and "template" in str(result.stale["five"][0])
    run = await workspace.run(None, "all")
    assert sent_prompts(model_server, 5) == ["five"]
    assert [run.results[n].status for n in FIVE[:4]] == [PromptStatus.CACHED] * 4


async def test_an_edit_in_the_second_prompt_sends_it_and_its_three_dependents(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    workspace, path = await five_ran(model_server, tmp_path)
    save_atomically(path, path.read_text().replace("two says hello", "two says hi"))
    result = workspace.reload()
    assert [(c.kind, c.prompt) for c in result.changes] == [(ChangeKind.TEMPLATE, "two")]
    assert list(result.stale) == ["two", "three", "four", "five"]
    assert "upstream two is stale" in str(result.stale["three"][0])
    await workspace.run(None, "all")
    assert sent_prompts(model_server, 5) == ["two", "three", "four", "five"]


async def test_an_invalid_version_keeps_the_last_good_one_and_says_where(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    workspace, path = await five_ran(model_server, tmp_path)
    good = workspace.document
    path.write_text(path.read_text().replace('"input": "three', '"input": three', 1))
    result = workspace.reload()
    assert result.outcome is ReloadOutcome.INVALID
    line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if '"input": three' in text
    )
    assert result.location == f"{path}:{line}:16"
    assert workspace.document is good
    await workspace.run(None, "all")
    assert len(model_server.requests) == 5  # still the good version: all from the cache


async def test_run_time_parameters_and_unsaved_outputs_survive_a_reload(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    data = five_chain(model_server.base_url)
    data["prompts"][0]["input"] = "one says {{greeting}}"
    path = write_config(tmp_path / "five.json", data)
    workspace = Workspace.open(path, history=False)
    workspace.set_param("greeting", "howdy")
    await workspace.run("one", "one")
    path.write_text(path.read_text().replace("five says hello", "five says bye"))
    result = workspace.reload()
    assert result.applied and result.kept_outputs == ("one",)
    assert workspace.params == {"greeting": "howdy"}
    assert workspace.document.prompt("one").output_text == "echo: one says howdy"
    assert workspace.dirty  # the kept output is still not in the file
    assert not workspace.unsaved_edits


async def test_unsaved_edits_are_never_replaced_without_the_users_choice(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "mine?"}]))
    workspace = Workspace.open(path, history=False)
    workspace.set_template("a", "my edit")
    path.write_text(path.read_text().replace("mine?", "theirs"))
    result = workspace.reload()
    assert result.outcome is ReloadOutcome.CONFLICT
    assert [str(c) for c in result.changes] == ["a: template changed"]
    assert workspace.document.prompt("a").template == "my edit"
    assert "theirs" in path.read_text()  # nothing written either
    taken = workspace.reload(discard_edits=True)
    assert taken.applied and workspace.document.prompt("a").template == "theirs"
    assert not workspace.dirty


def test_diff_names_each_kind_of_change_and_hides_secrets(tmp_path: Path) -> None:
    before = chain(
        [
            {"name": "a", "input": "x", "metadata": {"parameters": {"p": 1}}},
            {"name": "b", "input": "y", "metadata": {"model": "m1"}},
        ],
        parameters={"g": "old"},
        models={"m1": {"temperature": 0.1, "api_key": "sk-secret-1234"}},
    )
    after = json.loads(json.dumps(before))
    after["metadata"]["parameters"]["g"] = "new"
    after["metadata"]["models"]["m1"] = {"temperature": 0.5, "api_key": "sk-other-9999"}
    after["prompts"][0]["metadata"]["parameters"]["p"] = 2
    after["prompts"][1]["metadata"]["model"] = {"name": "m2", "settings": {"top_p": 0.9}}
    after["prompts"].append({"name": "c", "input": "z"})
    del after["prompts"][0]
    old = Workspace.open(write_config(tmp_path / "a.json", before), history=False).document
    new = Workspace.open(write_config(tmp_path / "b.json", after), history=False).document
    text = [str(c) for c in diff(old, new)]
    assert "global parameter g changed (old → new)" in text
    assert "model setting m1.temperature changed (0.1 → 0.5)" in text
    assert "model setting m1.api_key changed (••• → •••)" in text
    assert "prompt a removed" in text and "prompt c added" in text
    assert "b: model changed (m1 → m2)" in text
    assert "b: setting top_p changed (unset → 0.9)" in text
    assert not any("sk-" in line for line in text)


async def test_a_run_in_flight_keeps_the_unchanged_stream_and_resends_only_the_change(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    data = five_chain(model_server.base_url)
    for prompt in data["prompts"]:  # two independent prompts: a (slow) and b
        prompt["input"] = prompt["input"].split(" after ")[0]
    path = write_config(tmp_path / "five.json", data)
    workspace = Workspace.open(path, history=False, concurrency=5)
    model_server.delay_per_request = 0.6
    first = workspace.new_run(None, "all")
    task = asyncio.create_task(_drain(workspace, first))
    for _ in range(200):
        if len(model_server.requests) == 5:
            break
        await asyncio.sleep(0.02)
    save_atomically(path, path.read_text().replace("five says hello", "five says bye"))
    assert workspace.reload().applied
    cancelled = workspace.supersede(workspace.active_runs())
    assert cancelled == [f"{first.id}:five"]
    second = await workspace.run(None, "all")
    await task
    # five concurrent requests arrive in any order; one..four were never re-sent
    assert sorted(sent_prompts(model_server, 0)) == sorted([*FIVE, "five"])
    assert second.results["five"].status is PromptStatus.DONE
    assert [second.results[n].status for n in FIVE[:4]] == [PromptStatus.CACHED] * 4
    assert workspace.document.prompt("five").output_text == "echo: five says bye"


async def _drain(workspace: Workspace, run) -> None:
    async for _ in workspace.execute(run):
        pass


async def _until(predicate, what: str) -> None:
    for _ in range(1000):  # a 20 s budget against hanging; never a timing assertion
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def test_watch_loop_reruns_what_changed_and_skips_invalid_saves(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "five.json", five_chain(model_server.base_url))
    workspace = Workspace.open(path, history=False)
    out, err = io.StringIO(), io.StringIO()
    session = WatchSession(workspace, workspace.new_run(None, "all"), out=out, err=err)
    stop = asyncio.Event()
    loop = asyncio.create_task(session.run(stop))
    await _until(lambda: len(session.summary.reran) == 1, "the first run")
    await asyncio.sleep(0.2)
    path.write_text(path.read_text().replace("five says hello", "five says ciao"))  # sed -i
    await _until(lambda: len(session.summary.reran) == 2, "the re-run")
    assert session.summary.reran[-1] == ["five"]
    good = path.read_text()
    path.write_text(good.replace('"name": "four"', '"name": four'))
    await _until(lambda: session.summary.invalid == 1, "the invalid save")
    assert len(model_server.requests) == 6  # the invalid save sent nothing
    assert f"{path}:" in err.getvalue() and "invalid JSON" in err.getvalue()
    save_atomically(path, good.replace("one says hello", "one says hey"))
    await _until(lambda: len(session.summary.reran) == 3, "the re-run after the fix")
    assert session.summary.reran[-1] == list(FIVE)
    stop.set()
    summary = await loop
    assert summary.sent == 11 and summary.invalid == 1 and summary.reloaded == 2
    assert "echo: five says ciao" in out.getvalue()


async def test_200_rapid_saves_end_in_the_final_state_with_no_stray_tasks(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "five.json", five_chain(model_server.base_url))
    workspace = Workspace.open(path, history=False)
    before = asyncio.all_tasks()
    session = WatchSession(
        workspace, workspace.new_run(None, "all"), out=io.StringIO(), err=io.StringIO()
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(session.run(stop))
    await _until(lambda: len(session.summary.reran) == 1, "the first run")
    text = path.read_text()
    for n in range(200):
        new = text.replace("five says hello", f"five says v{n}")
        save_atomically(path, new) if n % 2 else path.write_text(new)
    final = "echo: five says v199 after"
    await _until(
        lambda: (
            (workspace.document.prompt("five").output_text or "").startswith(final)
            and not workspace.active_runs()
        ),
        "the final state",
    )
    stop.set()
    summary = await loop
    assert workspace.document.prompt("five").template.startswith("five says v199")
    assert summary.reloaded < 200
    # every request after the first run was for `five`: nothing upstream re-sent
    assert set(sent_prompts(model_server, 5)) == {"five"}
    assert asyncio.all_tasks() == before  # the watcher, runs and streams are all gone
    assert not workspace.runner._in_flight


async def test_the_reload_policy_cancels_an_experiment_whole_and_reruns_it_with_its_override(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    """One policy for the TUI and `run --watch` (Workspace.rerun): a run with a settings
    override in flight is cancelled whole (its requests were made for the old file) and the
    re-run keeps the override; the superseded run is marked so front ends stay quiet about it."""
    path = write_config(tmp_path / "five.json", five_chain(model_server.base_url))
    workspace = Workspace.open(path, history=False)
    model_server.delay_per_request = 0.5
    first = workspace.new_run(None, "all", settings={"temperature": 0.3})
    task = asyncio.create_task(_drain(workspace, first))
    await _until(lambda: len(model_server.requests) >= 1, "the first request")
    save_atomically(path, path.read_text().replace("five says hello", "five says bye"))
    assert workspace.reload().applied
    second = workspace.rerun(first)
    assert second is not None and first.superseded and not second.superseded
    await task
    assert first.results["one"].status is PromptStatus.CANCELLED  # unchanged, still cancelled
    assert second.overrides.settings == {"temperature": 0.3} and not second.is_plain
    async for _ in workspace.execute(second):
        pass
    assert "five says bye" in second.results["five"].text
    assert {r.body.get("temperature") for r in model_server.requests} == {0.3}


async def test_the_reload_policy_reruns_the_last_plain_run_with_the_sessions_parameters(
    model_server: OpenAIServer, tmp_path: Path
) -> None:
    workspace, path = await five_ran(model_server, tmp_path)
    last = workspace.last_plain
    assert last is not None
    workspace.set_param("extra", "x")
    again = workspace.rerun()
    assert again is not None and again is not last
    assert (again.target, again.mode) == (last.target, last.mode)
    assert again.overrides.params.get("extra") == "x"
    workspace.document.delete_prompt("five")
    workspace.new_run("four", "with_deps")
    workspace.document.delete_prompt("four")
    try:
        workspace.rerun()
    except Exception as exc:  # the prompt is gone: said, nothing made
        assert "four" in str(exc) and "gone" in str(exc)
    else:
        raise AssertionError("a re-run of a deleted prompt was made")
