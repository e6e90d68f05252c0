"""What made big files slow, as behaviour: a run's outputs do not rebuild the dependency graph,
and a reload re-runs only what the new version outdates (issue 25, bench/run_all_tui.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tui_app.core.runs import PromptStatus
from tui_app.core.workspace import Workspace


def offline_chain(n: int) -> dict[str, Any]:
    """``s0 .. s{n-1}``: each reads the one before, plus one prompt that reads nothing."""
    prompts = [{"name": "s0", "input": "start"}] + [
        {"name": f"s{i}", "input": f"step {i} after {{{{s{i - 1}.output}}}}"} for i in range(1, n)
    ]
    prompts.append({"name": "alone", "input": "on its own"})
    for prompt in prompts:
        prompt["metadata"] = {"remember_chat_context": False}
    return {
        "name": "speed",
        "schema_version": "latest",
        "metadata": {"models": {"echo": {"delay": 0}}, "default_model": "echo"},
        "prompts": prompts,
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


async def drain(workspace: Workspace, run: Any) -> None:
    async for _ in workspace.execute(run):
        pass


async def test_a_runs_outputs_keep_the_dependency_graph_of_the_revision(tmp_path: Path) -> None:
    workspace = Workspace.open(write(tmp_path / "c.json", offline_chain(6)), history=False)
    graph = workspace.graph
    before = workspace.revision
    await drain(workspace, workspace.new_run(None, "all"))
    assert workspace.revision > before  # the outputs are a change of the document...
    assert workspace.graph is graph  # ...that no edge depends on: not rebuilt per prompt
    workspace.document.prompt("s5").set_template("now reads {{s0.output}}")
    workspace.changed()
    assert workspace.graph is not graph  # an edit does rebuild it
    assert workspace.graph.reads["s5"] == ("s0",)


async def test_a_reload_reruns_the_edited_prompt_and_its_dependents_only(tmp_path: Path) -> None:
    data = offline_chain(8)
    path = write(tmp_path / "c.json", data)
    workspace = Workspace.open(path, history=False)
    first = workspace.new_run(None, "all")
    await drain(workspace, first)
    assert all(r.status is PromptStatus.DONE for r in first.results.values())
    data["prompts"][5]["input"] = "step 5, edited, after {{s4.output}}"
    write(path, data)
    assert workspace.reload().applied
    again = workspace.rerun()
    assert again is not None and (again.target, again.mode) == (None, "all")
    assert workspace.runner.plan(again, workspace.graph) == ["s5", "s6", "s7"]
    await drain(workspace, again)
    assert sorted(again.results) == ["s5", "s6", "s7"]
    assert "edited" in workspace.document.prompt("s7").output_text


async def test_a_reload_reruns_what_never_finished_too(tmp_path: Path) -> None:
    """Prompts the last run did not finish (here: never run) are outdated whatever changed."""
    data = offline_chain(4)
    path = write(tmp_path / "c.json", data)
    workspace = Workspace.open(path, history=False)
    await drain(workspace, workspace.new_run("s1", "with_deps"))
    workspace.new_run(None, "all")  # the last plain run: all, not started
    data["prompts"][-1]["input"] = "on its own, edited"
    write(path, data)
    assert workspace.reload().applied
    again = workspace.rerun()
    assert again is not None
    assert sorted(workspace.runner.plan(again, workspace.graph)) == ["alone", "s2", "s3"]


IDLE_APP = r"""
import asyncio, sys
from tui_app.ui.app import PromptTuiApp

async def main():
    app = PromptTuiApp(sys.argv[1], history=False)  # preload on, as a user starts it
    async with app.run_test(size=(100, 30)) as pilot:
        while not getattr(app.screen, "engine_ready", False):
            await pilot.pause(0.02)
        while any(not w.is_finished and w.group != "watch" for w in app.workers):
            await pilot.pause(0.02)
        await pilot.pause()
    print(" ".join(sorted(sys.modules)))

asyncio.run(main())
"""


def test_an_idle_app_on_an_offline_file_loads_no_http_client(tmp_path: Path) -> None:
    """httpx, TLS and h2 were ~10 MiB of an offline-only file's idle memory (bench/memory.py):
    nothing of this file needs them; a model switched to later prepares them on first use."""
    import os
    import subprocess
    import sys

    from tests.helpers import REPO

    env = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path / "home")}
    sample = REPO / "sample_configs" / "travel_chain.aiconfig.json"
    done = subprocess.run(
        [sys.executable, "-c", IDLE_APP, str(sample)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.split())
    assert "tui_app.core.workspace" in loaded  # the app did load the file
    assert not {"httpx", "httpcore", "litellm"} & loaded


def _verdicts(workspace: Workspace) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        n: (s.status.value, tuple(str(r) for r in s.reasons)) for n, s in workspace.states().items()
    }


async def test_staleness_after_a_run_needs_no_resolution_and_says_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a run, a prompt whose inputs did not change since is known fresh without resolving
    it again (bench/run_all_tui.py); whatever changes afterwards is still seen: an edit, a
    parameter, an upstream output, a change made in the document without telling the
    workspace."""
    from tui_app.core import staleness

    workspace = Workspace.open(write(tmp_path / "c.json", offline_chain(6)), history=False)
    await drain(workspace, workspace.new_run(None, "all"))
    resolved: list[str] = []
    original = staleness.safe_provenance

    def counting(config: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        resolved.append(name)
        return original(config, name, *args, **kwargs)

    monkeypatch.setattr(staleness, "safe_provenance", counting)
    fast = _verdicts(workspace)
    assert resolved == []
    assert {status for status, _ in fast.values()} == {"done"}
    with monkeypatch.context() as slow:  # the full comparison agrees
        slow.setattr(Workspace, "_same_request", lambda *_: False)
        assert _verdicts(workspace) == fast

    workspace.set_param("unused", "x")  # a parameter no prompt reads: resolved, still fresh
    resolved.clear()
    assert _verdicts(workspace) == fast and resolved
    workspace.set_param("unused", None)

    workspace.document.prompt("s3").set_template("step 3, edited, after {{s2.output}}")
    workspace.changed()
    after_edit = _verdicts(workspace)
    assert after_edit["s3"][0] == "stale" and after_edit["s4"][0] == "stale"
    assert after_edit["s0"] == fast["s0"]
    await drain(workspace, workspace.new_run("s3", "one"))  # s3's new output: s4 reads it
    again = _verdicts(workspace)
    assert again["s3"][0] == "done" and again["s4"][0] == "stale"
    assert any("s3" in reason for reason in again["s4"][1])
    # a change of the document made without workspace.changed() is seen too
    workspace.document.prompt("s1").set_model("echo", {"temperature": 0.5})
    assert _verdicts(workspace)["s1"][0] == "stale"
