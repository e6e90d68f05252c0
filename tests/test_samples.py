"""The sample chains (issue 13): each runs offline with the built-in models, JSON and YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SAMPLES
from tui_app.cli import main
from tui_app.core.config import load

REAL_PROVIDER = {"openai_chat.aiconfig.json"}
ALL = sorted(p.name for p in SAMPLES.glob("*.aiconfig.*"))


def test_at_least_five_samples_in_both_formats() -> None:
    assert len(ALL) >= 5
    assert any(n.endswith(".json") for n in ALL) and any(n.endswith(".yaml") for n in ALL)
    kinds = {n.split(".")[0] for n in ALL}
    assert {"travel_chain", "research_brief", "code_review", "support_chat"} <= kinds


@pytest.mark.parametrize("name", ALL)
def test_sample_runs_offline(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path))
    args = ["run", str(SAMPLES / name), "--force"]
    if name in REAL_PROVIDER:
        args += ["--model", "echo"]  # the note in its description: try it without a key
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "failed" not in err


def test_research_brief_fans_out_in_parallel() -> None:
    config = load(SAMPLES / "research_brief.aiconfig.yaml")
    angles = ["market", "technology", "risks"]
    assert all(not config.prompt(n).remember_chat_context for n in angles)
    text = (SAMPLES / "research_brief.aiconfig.yaml").read_text()
    assert "# " in text and "at the same time" in text  # the comment says why


def test_support_chat_uses_a_system_prompt_and_chat_context() -> None:
    config = load(SAMPLES / "support_chat.aiconfig.yaml")
    assert "system_prompt" in config.models["echo"]
    assert all(p.remember_chat_context for p in config.prompts)


def test_real_provider_sample_says_how_to_add_a_key() -> None:
    config = load(SAMPLES / "openai_chat.aiconfig.json")
    assert "prompt-tui keys set" in config.description
