"""Model comparison against the real local OpenAI-compatible server (it answers with the model's
name, so columns can be told apart): concurrency, isolation, cancel, adopt, chain mode, history
groups and the `prompt-tui compare` CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core.compare import (
    Column,
    ColumnSpecError,
    new_comparison,
    word_diff,
)
from tui_app.core.compare_history import load_comparison
from tui_app.core.errors import PromptTuiError
from tui_app.core.history import History
from tui_app.core.runs import PromptStatus
from tui_app.core.workspace import Workspace

MODELS = ("alpha", "beta", "gamma")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def p(name: str, template: str, **metadata: object) -> dict:
    metadata.setdefault("remember_chat_context", False)
    return {"name": name, "input": template, "metadata": metadata}


def served_chain(server: OpenAIServer, tmp_path: Path) -> Path:
    """plan (upstream) -> draft (compared) -> polish -> title (downstream), all on the server."""
    server.per_model = True
    models = {
        name: {"model": f"openai/{name}", "api_base": server.base_url, "max_attempts": 1}
        for name in (*MODELS, "base")
    }
    data = chain(
        [
            p("plan", "Plan a talk about {{topic}}"),
            p("draft", "Draft from: {{plan.output}}"),
            p("polish", "Polish: {{draft.output}}"),
            p("title", "Title for: {{polish.output}}"),
        ],
        models=models,
        default_model="base",
        parameters={"topic": "owls"},
    )
    return write_config(tmp_path / "talk.aiconfig.json", data)


def columns(*names: str) -> list[Column]:
    return [Column(name) for name in names]


def by_prompt(server: OpenAIServer, needle: str) -> list:
    """The chat requests whose last message starts with ``needle``."""
    return [
        r for r in server.chat_requests if str(r.body["messages"][-1]["content"]).startswith(needle)
    ]


async def run_all(comparison) -> list:
    return [item async for item in comparison.execute()]


async def test_columns_overlap_and_each_gets_its_own_models_text(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    model_server.delay_per_request = 0.3  # long enough that sequential columns could not overlap
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(workspace, "draft", columns(*MODELS))
    await run_all(comparison)
    metrics = comparison.all_metrics()
    assert [m.status for m in metrics] == [PromptStatus.DONE] * 3
    for name, m in zip(MODELS, metrics, strict=True):
        assert m.text.startswith(f"{name} says: Draft from: base says: Plan a talk about owls")
        assert m.tokens_out and m.latency is not None and m.ttft is not None
    model_server.settle()  # the client can hold a whole stream before the server marks it ended
    drafts = by_prompt(model_server, "Draft from")
    assert sorted(r.body["model"] for r in drafts) == sorted(MODELS)
    # every column's request arrived before any of them ended: they ran at the same time
    assert max(r.arrived for r in drafts) < min(r.ended or 0 for r in drafts)


async def test_a_comparison_changes_nothing_in_the_document_or_the_file(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    before = path.read_bytes()
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(workspace, "draft", columns(*MODELS), chain=True)
    await run_all(comparison)
    assert all(m.status is PromptStatus.DONE for m in comparison.all_metrics())
    assert not workspace.dirty
    assert [q.outputs for q in workspace.document.prompts] == [[], [], [], []]
    # what other prompts read is untouched, and the tree shows nothing ran
    assert workspace.state("draft").status is PromptStatus.IDLE
    assert workspace.state("plan").status is PromptStatus.IDLE
    workspace.save()
    assert path.read_bytes() == before


async def test_cancelling_one_column_leaves_the_others_running(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    model_server.model_delays = {"beta": 30.0}  # beta would hang for the whole test
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(workspace, "draft", columns(*MODELS))

    async def cancel_beta_when_sent() -> None:
        while not any(r.body["model"] == "beta" for r in by_prompt(model_server, "Draft")):
            await asyncio.sleep(0.01)
        assert comparison.cancel(1) == 1

    canceller = asyncio.create_task(cancel_beta_when_sent())
    await run_all(comparison)
    await canceller
    statuses = [m.status for m in comparison.all_metrics()]
    assert statuses == [PromptStatus.DONE, PromptStatus.CANCELLED, PromptStatus.DONE]
    beta = next(r for r in model_server.settle() if r.body.get("model") == "beta")
    assert beta.disconnected  # the HTTP stream was closed, not left to finish


async def test_adopt_writes_the_columns_model_and_answer_into_the_file(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(
        workspace, "draft", [Column("alpha"), Column("gamma", {"temperature": 0.2})]
    )
    await run_all(comparison)
    comparison.adopt(1)
    workspace.save()
    saved = json.loads(path.read_text())
    draft = next(q for q in saved["prompts"] if q["name"] == "draft")
    assert draft["metadata"]["model"] == {"name": "gamma", "settings": {"temperature": 0.2}}
    assert draft["outputs"][0]["data"].startswith("gamma says: Draft from: base says:")
    plan = next(q for q in saved["prompts"] if q["name"] == "plan")
    assert plan["outputs"][0]["data"].startswith("base says: Plan")  # what the column read
    assert workspace.state("draft").status is PromptStatus.DONE  # adopted, not stale


async def test_chain_mode_sends_upstream_once_and_downstream_once_per_column(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(workspace, "draft", columns(*MODELS), chain=True)
    assert comparison.steps == ["draft", "polish", "title"]
    await run_all(comparison)
    assert len(by_prompt(model_server, "Plan a talk")) == 1
    assert len(by_prompt(model_server, "Draft from")) == 3
    polish = by_prompt(model_server, "Polish")
    titles = by_prompt(model_server, "Title for")
    assert len(polish) == 3 and len(titles) == 3
    # downstream keeps its own model and reads its column's answer
    assert {r.body["model"] for r in polish} == {"base"}
    assert sorted(str(r.body["messages"][-1]["content"]).split()[1] for r in polish) == sorted(
        f"{m}" for m in MODELS
    )
    for name, m in zip(MODELS, comparison.all_metrics(), strict=True):
        assert list(m.steps) == ["draft", "polish", "title"]
        assert m.text.startswith(f"base says: Title for: base says: Polish: {name} says:")
        assert m.tokens_out == sum(s.tokens_out or 0 for s in m.steps.values())
        assert m.latency == pytest.approx(sum(s.latency or 0 for s in m.steps.values()))
    # a second comparison: the unchanged upstream comes from the cache, nothing re-sent
    again = new_comparison(workspace, "draft", columns("alpha", "beta"), chain=True)
    await run_all(again)
    assert len(by_prompt(model_server, "Plan a talk")) == 1


async def test_adopting_a_chain_column_makes_the_downstream_fresh(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    workspace = Workspace.open(path, history=False)
    comparison = new_comparison(workspace, "draft", columns("alpha", "beta"), chain=True)
    await run_all(comparison)
    comparison.adopt(1)
    doc = workspace.document
    assert doc.prompt("draft").model_name == "beta"
    assert doc.prompt("polish").model_name is None  # the downstream keeps its model
    assert "beta says" in (doc.prompt("title").output_text or "")
    states = workspace.states()
    assert {n: s.status for n, s in states.items()} == {
        "plan": PromptStatus.DONE,
        "draft": PromptStatus.DONE,
        "polish": PromptStatus.DONE,
        "title": PromptStatus.DONE,
    }


async def test_the_comparison_is_one_group_in_the_history(
    model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    history = History(tmp_path / "h.sqlite")
    workspace = Workspace.open(path, history=history)
    comparison = new_comparison(
        workspace, "draft", [Column("alpha"), Column("alpha", {"temperature": 1.5})], chain=True
    )
    await run_all(comparison)
    rows = history.runs(group_id=comparison.group_id, limit=None)
    assert len(rows) == 1 + 2 * 3  # the upstream once, three steps per column
    past = load_comparison(history, comparison.group_id, workspace.document)
    assert past.prompt == "draft" and past.steps == ["draft", "polish", "title"]
    assert [c.label for c in past.columns] == ["alpha", "alpha temperature=1.5"]
    assert [m.text for m in past.all_metrics()] == [m.text for m in comparison.all_metrics()]
    with pytest.raises(PromptTuiError, match="no comparison"):
        load_comparison(history, "nope")


def test_column_specs():
    assert Column.parse("gpt-4o-mini temperature=0.9 max_tokens=200") == Column(
        "gpt-4o-mini", {"temperature": 0.9, "max_tokens": 200}
    )
    assert Column.parse('mock response="two words"').settings == {"response": "two words"}
    assert Column.parse("echo delay=0").label == "echo delay=0"
    for bad in ("", "delay=0", "echo delay", 'mock response="open'):
        with pytest.raises(ColumnSpecError):
            Column.parse(bad)


def test_word_diff_marks_only_the_changed_words():
    pieces = word_diff("the quick brown fox", "the slow brown fox jumps")
    assert pieces == [("the ", False), ("slow ", True), ("brown fox ", False), ("jumps", True)]
    assert "".join(t for t, _ in pieces) == "the slow brown fox jumps"
    assert word_diff("same text", "same text") == [("same text", False)]


def test_too_few_or_many_columns_are_refused(tmp_path: Path):
    path = write_config(tmp_path / "c.json", chain([p("a", "hi")]))
    workspace = Workspace.open(path, history=False)
    with pytest.raises(PromptTuiError, match="2 to 6 columns"):
        new_comparison(workspace, "a", columns("echo"))
    with pytest.raises(PromptTuiError, match="2 to 6 columns"):
        new_comparison(workspace, "a", columns(*["echo"] * 7))


# --- the CLI ----------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_compare_prints_columns_side_by_side(
    capsys, model_server: OpenAIServer, tmp_path: Path
):
    path = served_chain(model_server, tmp_path)
    before = path.read_bytes()
    code, out, err = run_cli(
        capsys, "compare", str(path), "draft", "-m", "alpha", "-m", "beta",
        "--col-set", "temperature=0.5", "-p", "topic=bats", "--width", "100",
    )  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("alpha") and "│ beta temperature=0.5" in lines[0]
    assert "alpha says: Draft from: base" in lines[2] and "│ beta says: Draft from:" in lines[2]
    assert any("bats" in line for line in lines)
    assert any(line.startswith("latency") for line in lines)
    assert "history --group" in lines[-1]
    beta = next(r for r in model_server.chat_requests if r.body["model"] == "beta")
    assert beta.body["temperature"] == 0.5
    assert path.read_bytes() == before


def test_cli_compare_json_chain_and_exit_code(capsys, model_server: OpenAIServer, tmp_path: Path):
    path = served_chain(model_server, tmp_path)
    code, out, err = run_cli(
        capsys, "compare", str(path), "draft", "--chain", "-m", "alpha", "-m",
        "gamma max_tokens=3", "--json",
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["model"] for r in rows] == ["alpha", "gamma"]
    assert rows[1]["settings"] == {"max_tokens": 3}
    assert [s["prompt"] for s in rows[0]["steps"]] == ["draft", "polish", "title"]
    assert rows[0]["steps"][0]["output"].startswith("alpha says:")
    assert rows[1]["steps"][0]["output"].strip() == "gamma says: Draft"  # 3 tokens
    assert rows[0]["group_id"] == rows[1]["group_id"]
    assert {"ttft", "latency", "tokens_in", "tokens_out", "tokens_per_s", "cost"} <= set(rows[0])
    # a failing column: exit 1, the other column still answers
    code, out, err = run_cli(
        capsys, "compare", str(path), "draft", "-m", "alpha", "-m", "mock", "--json"
    )
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == ["done", "failed"]
    assert "settings.response" in rows[1]["error"]


def test_cli_compare_history_group(capsys, model_server: OpenAIServer, tmp_path: Path):
    path = served_chain(model_server, tmp_path)
    code, out, _ = run_cli(capsys, "compare", str(path), "draft", "-m", "alpha", "-m", "beta")
    group = out.splitlines()[-1].split()[1].rstrip(":")
    code, out, err = run_cli(capsys, "history", "--group", group, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["group_id"] for r in rows} == {group}
    assert [r["prompt"] for r in rows] == ["plan", "draft", "draft"]  # oldest first
    code, out, _ = run_cli(capsys, "history", "--groups")
    header, first = out.splitlines()[:2]  # issue 19: a header over the columns
    assert header.split()[0] == "group" and first.startswith(group) and "draft" in first


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "echo"], "2 to 6 columns"),
        (["--col-set", "delay=0", "-m", "echo", "-m", "echo"], "after the -m MODEL"),
        (["-m", "echo", "-m", "echo", "--col-set", "delay"], "KEY=VALUE"),
        (["-m", "echo", "-m", "nope"], None),
    ],
)
def test_cli_compare_usage_errors(capsys, tmp_path: Path, args: list[str], message: str | None):
    path = write_config(tmp_path / "c.json", chain([p("a", "hi")]))
    if message is None:  # an unknown prompt
        code, _, err = run_cli(capsys, "compare", str(path), "zzz", *args)
        assert code == 2 and "zzz" in err
        return
    code, _, err = run_cli(capsys, "compare", str(path), "a", *args)
    assert code == 2 and message in err and "Traceback" not in err
