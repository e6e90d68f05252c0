"""Issue 19 (tried as a new user), the engine side: each test fails without its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import Fault, OpenAIServer
from tui_app.core.events import Started
from tui_app.core.runs import PromptStatus
from tui_app.core.workspace import Workspace

NO_CONTEXT = {"remember_chat_context": False}


def answered(text: str) -> list[dict[str, Any]]:
    return [{"output_type": "execute_result", "data": text, "metadata": {"role": "assistant"}}]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("how", ["cancelled", "blocked"])
async def test_tree_and_status_agree_on_an_interrupted_prompt_whose_upstream_changed(
    tmp_path: Path, how: str, request: pytest.FixtureRequest
) -> None:
    """The tree reads the session's workspace, `status` a fresh one of the file: a prompt whose
    run was cancelled (or blocked) and whose upstream then changed is stale in both."""
    path = write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "topic",
                    "metadata": NO_CONTEXT,
                    "outputs": answered("x y z w"),
                },
                {"name": "b", "input": "{{a.output}}!", "metadata": NO_CONTEXT},
            ],
            models={"echo": {"delay": 0}},
        ),
    )
    session = Workspace.open(path)
    await session.run("b", "one")  # b gets an output from a's
    session.save()
    if how == "cancelled":
        session.document.models["echo"]["delay"] = 30  # slow enough to cancel mid-answer
        run = session.new_run("b", "one", force=True)
        async for event in session.execute(run):
            if isinstance(event, Started):
                session.cancel(run.id)
        session.document.models["echo"]["delay"] = 0
    else:  # a fails (its server answers 400), b is blocked
        model_server: OpenAIServer = request.getfixturevalue("model_server")
        model_server.enqueue(Fault.status(400))
        session.document.prompt("a").set_model("openai/x", {"api_base": model_server.base_url})
        session.changed()
        run = session.new_run("b", "with_deps", force=True)
        async for _ in session.execute(run):
            pass
        session.document.prompt("a").set_model("echo")
    assert run.results["b"].status.value == how
    session.document.prompt("a").set_outputs(answered("y"))  # the upstream changed
    session.document.prompt("a").set_template("topic")
    session.changed()
    session.save()
    fresh = Workspace.open(path)
    assert fresh.state("b").status is PromptStatus.STALE
    assert session.state("b").status is PromptStatus.STALE
    assert session.states()["b"].status is PromptStatus.STALE
    session.close()
    fresh.close()


def test_a_removed_prompt_setting_shows_the_value_that_applies_now(tmp_path: Path) -> None:
    from tui_app.core.config import loads
    from tui_app.core.reload import diff

    def doc(own: dict[str, Any]) -> Any:
        return loads(
            json.dumps(
                chain(
                    [
                        {
                            "name": "a",
                            "input": "hi",
                            "metadata": {"model": {"name": "echo", "settings": own}},
                        }
                    ],
                    models={"echo": {"temperature": 0.3}},
                )
            )
        )

    changes = [str(c) for c in diff(doc({"temperature": 0.8}), doc({}))]
    assert changes == ["a: setting temperature changed (0.8 → 0.3 from echo)"], changes
    changes = [str(c) for c in diff(doc({}), doc({"temperature": 0.9}))]
    assert changes == ["a: setting temperature changed (0.3 from echo → 0.9)"], changes


def test_long_values_that_differ_late_show_where_they_differ() -> None:
    from tui_app.core.changes import Change, ChangeKind

    before = "Day one: Alfama and a long lunch by the river. Day two: Belém"
    after = "Day one: Alfama and a long lunch by the river. Day two: Sintra"
    text = str(Change(ChangeKind.PARAMETER, "plan", before, after))
    shown_before, shown_after = text.split("(", 1)[1].rstrip(")").split(" → ")
    assert shown_before != shown_after
    assert "Belém" in shown_before and "Sintra" in shown_after


async def test_watch_says_ran_for_the_first_run_and_re_ran_after(tmp_path: Path) -> None:
    import asyncio
    import io

    from tui_app.commands.run_watch import WatchSession

    path = write_config(
        tmp_path / "c.json",
        chain(
            [{"name": "a", "input": "one", "metadata": NO_CONTEXT}], models={"echo": {"delay": 0}}
        ),
    )
    workspace = Workspace.open(path)
    out, err = io.StringIO(), io.StringIO()
    session = WatchSession(workspace, workspace.new_run(None, "all"), out=out, err=err)
    for _ in range(2):
        session.start_run(workspace.new_run(None, "all", force=True))
        await asyncio.gather(*session.tasks)
    lines = [line for line in err.getvalue().splitlines() if "ran" in line]
    assert lines == ["prompt-tui: ran a", "prompt-tui: re-ran a"], lines
    workspace.close()


def test_the_stale_note_names_R_when_an_upstream_is_stale_too() -> None:
    from tui_app.core.changes import Change, ChangeKind
    from tui_app.core.workspace import PromptState
    from tui_app.ui.state import stale_note

    mixed = (Change(ChangeKind.TEMPLATE), Change(ChangeKind.UPSTREAM_STALE, "a"))
    note = stale_note(PromptState("b", PromptStatus.STALE, mixed, has_output=True))
    assert note.startswith("stale (R re-runs it with its dependencies)")
    alone = (Change(ChangeKind.TEMPLATE),)
    note = stale_note(PromptState("b", PromptStatus.STALE, alone, has_output=True))
    assert note.startswith("stale (r re-runs it)")


@pytest.mark.parametrize("kind", ["changed", "added"])
def test_yaml_block_scalars_are_saved_without_whitespace_only_lines(
    tmp_path: Path, kind: str
) -> None:
    """A template with blank lines written as a `|` block: its blank lines stay empty (no
    trailing whitespace for `git diff --check`), and it reads back the same."""
    import shutil

    from tests.helpers import SAMPLES
    from tui_app.core.config import load

    path = tmp_path / "support.aiconfig.yaml"
    shutil.copy(SAMPLES / "support_reply.aiconfig.yaml", path)
    config = load(path)
    text = "line one\n\nline three\n\n  indented\nend"
    if kind == "changed":
        config.prompt(config.prompt_names[0]).set_template(text)
    else:
        config.add_prompt("extra", text)
    config.save()
    lines = path.read_text().splitlines()
    assert [n for n, line in enumerate(lines, 1) if line and not line.strip()] == []
    name = config.prompt_names[0] if kind == "changed" else "extra"
    assert load(path).prompt(name).template == text
