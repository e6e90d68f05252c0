from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import chain, write_config
from tui_app.api import Chain
from tui_app.core.errors import RunRefused


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    echo = {"name": "echo", "settings": {"delay": 0}}
    return write_config(
        tmp_path / "c.json",
        chain(
            [
                {
                    "name": "a",
                    "input": "about {{topic}}",
                    "metadata": {"model": echo, "remember_chat_context": False},
                },
                {
                    "name": "b",
                    "input": "{{a.output}}!",
                    "metadata": {"model": echo, "remember_chat_context": False},
                },
            ],
            parameters={"topic": "tides"},
        ),
    )


def test_run_with_dependencies_and_iterate_events(path: Path):
    chain_ = Chain.load(path)
    events = list(chain_.run("b", params={"topic": "moons"}))
    assert [e.kind for e in events if e.kind not in ("delta",)] == [
        "enqueue",
        "enqueue",
        "start",
        "finish",
        "start",
        "finish",
        "run_end",
    ]
    assert (
        "".join(e.text for e in events if e.kind == "delta" and e.prompt == "b") == "about moons!"
    )
    assert chain_.output("b") == "about moons!"
    chain_.save()
    assert json.loads(path.read_text())["prompts"][1]["outputs"][0]["data"] == "about moons!"


def test_second_run_is_cached_and_resolve_shows_the_request(path: Path):
    list(Chain.load(path).run("b"))
    again = Chain.load(path)
    assert {e.kind for e in again.run("b") if e.prompt} >= {"cache_hit"}
    assert again.resolve("b").messages == [{"content": "about tides!", "role": "user"}]


def test_errors_surface_in_the_caller(path: Path):
    chain_ = Chain.load(path, history=False)
    del chain_.config.global_parameters["topic"]
    with pytest.raises(RunRefused, match="topic"):
        list(chain_.run("a"))


def test_breaking_out_early_cancels(path: Path):
    chain_ = Chain.load(path, history=False)
    for event in chain_.run("b", settings={"delay": 0.05}):
        if event.kind == "delta":
            break
    assert not chain_.workspace.runner.busy
