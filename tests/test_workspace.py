"""The workspace: runs as objects, what reaches the document, cancel by run, staleness reasons.

Against the real local OpenAI-compatible server; the CLI through its real entry point.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.core.changes import ChangeKind
from tui_app.core.config import load
from tui_app.core.events import Cancelled, Delta, Refused
from tui_app.core.resolve import ParamSource, resolve
from tui_app.core.runs import PromptStatus, RunState
from tui_app.core.workspace import Workspace

GOOD = {
    "output_type": "execute_result",
    "data": "the good answer",
    "metadata": {"role": "assistant"},
}


def p(name: str, template: str, outputs: list | None = None, **metadata) -> dict:
    metadata.setdefault("remember_chat_context", False)
    out = {"name": name, "input": template, "metadata": metadata}
    if outputs is not None:
        out["outputs"] = outputs
    return out


def served(server: OpenAIServer, prompts: list[dict], **meta) -> dict:
    models = {
        "local": {"model": "openai/test-model", "api_base": server.base_url, "max_attempts": 1}
    }
    return chain(prompts, models=models, default_model="local", **meta)


def ws(path: Path) -> Workspace:
    return Workspace.open(path, history=False)


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PROMPT_TUI_HOME": str(home), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui_app.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_failed_run_keeps_the_last_good_output(model_server: OpenAIServer, tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        served(model_server, [p("first", "hi", [GOOD]), p("second", "{{first.output}}")]),
    )
    model_server.enqueue(Fault.status(500))
    workspace = ws(path)
    run = await workspace.run("first", "one", force=True)
    assert run.results["first"].status is PromptStatus.FAILED
    assert workspace.document.prompt("first").output_text == "the good answer"
    assert resolve(workspace.document, "second").messages[-1]["content"] == "the good answer"
    state = workspace.state("first")
    assert state.status is PromptStatus.FAILED and "500" in (state.error or "")
    workspace.save()
    assert json.loads(path.read_text())["prompts"][0]["outputs"] == [GOOD]


def test_cli_failed_override_run_with_save_leaves_the_file(
    model_server: OpenAIServer, tmp_path: Path
):
    """The case from the issue: --model at a 500 server, --force --save."""
    path = write_config(
        tmp_path / "c.json",
        chain([p("first", "hi", [GOOD]), p("second", "{{first.output}}")], default_model="echo"),
    )
    before = path.read_text()
    model_server.enqueue(Fault.status(500))
    model = "openai/x"
    done = cli(
        "run", str(path), "first", "--no-deps", "--model", model, "--set",
        f"api_base={model_server.base_url}", "--set", "max_attempts=1", "--force", "--save",
        home=tmp_path / "home",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert path.read_text() == before
    shown = cli("resolve", str(path), "second", "--json", home=tmp_path / "home")
    assert json.loads(shown.stdout)["messages"][-1]["content"] == "the good answer"


async def test_an_override_run_leaks_nothing_until_adopted(tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [p("first", "hi", [GOOD]), p("second", "{{first.output}}")],
            models={"mock": {"response": "from the mock"}},
            default_model="echo",
        ),
    )
    workspace = ws(path)
    run = await workspace.run("first", "one", model="mock", force=True)
    assert run.results["first"].text == "from the mock"
    assert workspace.document.prompt("first").output_text == "the good answer"
    assert resolve(workspace.document, "second").messages[-1]["content"] == "the good answer"
    assert not workspace.dirty
    # inside the run, its own results come first
    chained = await workspace.run("second", "with_deps", model="mock", force=True)
    assert chained.results["second"].request is not None
    assert chained.results["second"].request.messages[-1]["content"] == "from the mock"
    assert workspace.document.prompt("second").output_text is None
    workspace.adopt(run, "first")
    assert workspace.document.prompt("first").output_text == "from the mock"
    assert workspace.document.prompt("first").model_name == "mock"
    assert workspace.dirty


async def test_a_plain_run_updates_the_document_and_dirty_follows_revisions(tmp_path: Path):
    path = write_config(tmp_path / "c.json", chain([p("a", "say {{x}}")], parameters={"x": "1"}))
    workspace = ws(path)
    assert not workspace.dirty
    await workspace.run("a", "one")
    assert workspace.document.prompt("a").output_text == "say 1"
    assert workspace.dirty
    workspace.save()
    assert not workspace.dirty
    again = await workspace.run("a", "one")  # cached: the same answer, no change
    assert again.results["a"].status is PromptStatus.CACHED
    assert not workspace.dirty


async def test_cancel_by_run_cancels_its_dependencies_too(
    model_server: OpenAIServer, tmp_path: Path
):
    model_server.tokens_per_response = 3000
    model_server.chunk_delay = 0.01
    path = write_config(
        tmp_path / "c.json",
        served(model_server, [p("a", "x"), p("b", "y"), p("c", "{{a.output}} {{b.output}}")]),
    )
    workspace = ws(path)
    other = workspace.new_run("b", "one")  # a second run that must go on
    run = workspace.new_run("c", "with_deps")
    events = []

    async def drive_other() -> None:
        async for _ in workspace.execute(other):
            pass

    other_task = asyncio.create_task(drive_other())
    async for event in workspace.execute(run):
        events.append(event)
        if isinstance(event, Delta) and not any(isinstance(e, Cancelled) for e in events):
            assert workspace.cancel(run.id) >= 1
    await other_task
    cancelled = {e.prompt for e in events if isinstance(e, Cancelled)}
    assert cancelled == {"a", "b", "c"}  # the whole run, the waiting prompt included
    assert run.state is RunState.CANCELLED
    assert other.results["b"].status is PromptStatus.DONE  # the other run was not touched
    assert workspace.document.prompt("a").output_text is None
    assert workspace.state("a").status is PromptStatus.CANCELLED


async def test_a_refused_run_is_an_event_and_sends_nothing(
    model_server: OpenAIServer, tmp_path: Path
):
    path = write_config(tmp_path / "c.json", served(model_server, [p("a", "{{city}}")]))
    workspace = ws(path)
    run = workspace.new_run("a")
    events = [e async for e in workspace.execute(run)]
    assert isinstance(events[0], Refused) and "city" in events[0].message
    assert run.state is RunState.REFUSED
    assert model_server.chat_requests == []


async def test_staleness_says_why(tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [p("a", "about {{topic}}"), p("b", "then {{a.output}}"), p("c", "alone")],
            parameters={"topic": "owls"},
            models={"echo": {"temperature": 0.2}},
        ),
    )
    workspace = ws(path)
    await workspace.run(None)
    assert {n: s.status for n, s in workspace.states().items()} == dict.fromkeys(
        "abc", PromptStatus.DONE
    )
    workspace.set_param("topic", "bats")
    a, b, c = (workspace.states()[n] for n in "abc")
    assert a.status is PromptStatus.STALE and c.status is PromptStatus.DONE
    assert [(r.kind, r.name) for r in a.reasons] == [(ChangeKind.PARAMETER, "topic")]
    assert str(a.reasons[0]) == "parameter topic changed (owls → bats)"
    assert [(r.kind, r.name) for r in b.reasons] == [(ChangeKind.UPSTREAM_STALE, "a")]
    workspace.set_param("topic", None)
    workspace.set_setting("c", "temperature", 0.9)
    (reason,) = workspace.state("c").reasons
    assert str(reason) == "setting temperature changed (0.2 → 0.9)"
    workspace.set_template("a", "all about {{topic}}")
    assert [r.kind for r in workspace.state("a").reasons] == [ChangeKind.TEMPLATE]


def test_status_command_reads_reasons_from_the_history(tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain([p("a", "about {{topic}}"), p("b", "then {{a.output}}")], parameters={"topic": "x"}),
    )
    home = tmp_path / "home"
    never = ["idle:", "never", "run"]
    assert cli("status", str(path), home=home).stdout.split() == ["a", *never, "b", *never]
    assert cli("run", str(path), "--save", "-p", "topic=owls", home=home).returncode == 0
    fresh = cli("status", str(path), "-p", "topic=owls", home=home)
    assert fresh.returncode == 0 and fresh.stdout.split() == ["a", "done", "b", "done"]
    stale = cli("status", str(path), "--json", home=home)
    rows = [json.loads(line) for line in stale.stdout.splitlines()]
    assert stale.returncode == 1
    assert rows[0]["status"] == "stale"
    assert rows[0]["reasons"][0]["text"] == "parameter topic changed (owls → x)"
    assert rows[1]["reasons"][0]["text"] == "upstream a is stale"


def test_chat_context_serialization_is_explained(tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {"name": "a", "input": "one"},
                {"name": "b", "input": "two"},
                {"name": "c", "input": "about {{a.output}}"},
                p("d", "three"),
            ]
        ),
    )
    home = tmp_path / "home"
    checked = cli("validate", str(path), home=home)
    assert checked.returncode == 0
    # c reads a by name and waits for b only for chat context; b reads nothing by name (a
    # chat turn: issue 19, the chat samples were told to turn their chat context off)
    assert "hint: prompt 'c': runs after 'b' only for chat context" in checked.stdout
    assert "remember_chat_context: false on 'c'" in checked.stdout
    assert "prompt 'b'" not in checked.stdout
    status = cli("status", str(path), "--json", home=home)
    serial = {row["prompt"]: row["serial"] for row in map(json.loads, status.stdout.splitlines())}
    assert serial["a"] is None and serial["b"] is None and serial["d"] is None
    assert "'b'" in serial["c"]


def test_parameter_sources_are_typed(tmp_path: Path):
    path = write_config(
        tmp_path / "c.json",
        chain(
            [p("a", "hi", [GOOD]), p("b", "{{a.output}} {{g}} {{own}} {{rt}} {{gone}}", own=1)],
            parameters={"g": "G"},
        ),
    )
    workspace = ws(path)
    workspace.document.prompt("b").set_parameter("own", "O")
    workspace.set_param("rt", "R")
    rows = {row.name: row for row in workspace.parameter_rows("b")}
    assert rows["a.output"].source is ParamSource.OUTPUT and rows["a.output"].of == "a"
    assert rows["g"].source is ParamSource.GLOBAL
    assert rows["own"].source is ParamSource.PROMPT
    assert rows["rt"].source is ParamSource.RUNTIME
    assert rows["gone"].source is ParamSource.MISSING


@pytest.mark.parametrize("history", [True, False])
def test_every_front_end_gets_the_same_engine(tmp_path: Path, history: bool):
    path = write_config(tmp_path / "c.json", chain([p("a", "hi")]))
    workspace = Workspace.open(path, history=history)
    assert workspace.document.prompt_names == load(path).prompt_names
    assert workspace.revision == 0 and not workspace.dirty


@pytest.mark.parametrize("size", [100, 400])
def test_staleness_of_every_prompt_grows_linearly_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Baselines and states resolve every prompt in one pass that shares the same-model index
    (rebuilding it per prompt made a 2,000-prompt file take 19 s after it opened)."""
    from tui_app.core import config as config_module

    sys.path.insert(0, str(REPO / "bench"))
    from scale import generate

    path = tmp_path / "big.aiconfig.json"
    path.write_text(generate(size), encoding="utf-8")
    workspace = Workspace.open(path, history=False)
    assert workspace.graph is not None
    calls = 0
    original = config_module.AIConfig.model_name_of

    def counted(self: config_module.AIConfig, prompt: object) -> str | None:
        nonlocal calls
        calls += 1
        return original(self, prompt)  # type: ignore[arg-type]

    monkeypatch.setattr(config_module.AIConfig, "model_name_of", counted)
    workspace.ensure_baselines()
    states = workspace.states()
    assert len(states) == size
    assert calls < 40 * size, f"{calls} model look-ups for {size} prompts: quadratic"
