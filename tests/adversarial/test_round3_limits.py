"""Round 3, limits and misleading answers: huge numbers and flags get clear messages with a
location; `run` refuses the settings `validate` refuses, in the same words; `timeout: 0` is
refused; `compare --width` is clamped; what prompt-tui writes it can open again (a save over the
load limits is refused before writing); `run --save` with every prompt failed leaves the file
alone and does not say "saved"."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chain, write_config
from tests.support.openai_server import OpenAIServer
from tui_app.cli import main
from tui_app.core import limits
from tui_app.core.config import load
from tui_app.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_huge_history_limit_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["history", "--limit", "99999999999999999999999"])
    _, err = capsys.readouterr()
    assert caught.value.code == 2
    assert "--limit: at most 1,000,000,000" in err and "OverflowError" not in err


@pytest.mark.parametrize(
    ("literal", "digits"),
    [("0x" + "f" * 5000, "6,021"), ("0b" + "1" * 20000, "6,021")],
    ids=["hex", "binary"],
)
def test_huge_hex_and_binary_integers_are_refused_with_their_location(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, literal: str, digits: str
) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(
        "name: t\nschema_version: latest\nmetadata:\n  default_model: echo\n  parameters:\n"
        f"    big: {literal}\nprompts:\n- name: a\n  input: '{{{{big}}}}'\n"
    )
    for command in (["validate", str(path)], ["resolve", str(path), "a"]):
        code, out, err = run_cli(capsys, *command)
        text = out + err
        assert code != 0
        assert f"{path}:6:10" in text and "metadata.parameters.big" in text, text
        assert f"about {digits} digits" in text and "set_int_max_str_digits" not in text


BAD_SETTINGS: dict[str, Any] = {
    "temperature": 9,
    "max_tokens": -3,
    "top_p": "x",
    "delay": 1e9,  # the offline model would sleep for 31 years
    "timeout": 0,  # once silently 600 s
}


@pytest.mark.parametrize(("key", "value"), BAD_SETTINGS.items(), ids=list(BAD_SETTINGS))
def test_run_refuses_what_validate_refuses_in_the_same_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, key: str, value: Any
) -> None:
    prompt = {
        "name": "a",
        "input": "hi",
        "metadata": {"model": {"name": "echo", "settings": {key: value}}},
    }
    path = write_config(tmp_path / "c.json", chain([prompt]))
    code, out, err = run_cli(capsys, "validate", str(path))
    assert code == 1
    reason = (out + err).split(f"{key}: ", 1)[1].splitlines()[0]  # after the location
    assert reason.startswith(key)
    code, out, err = run_cli(capsys, "run", str(path))
    assert code == 2
    assert f"prompt 'a': {reason}" in err
    assert "echo:" not in out  # nothing ran


def test_timeout_zero_says_what_to_write_instead(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prompt = {"name": "a", "input": "hi", "metadata": {"model": {"name": "echo"}}}
    path = write_config(tmp_path / "c.json", chain([prompt], models={"echo": {"timeout": 0}}))
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 1 and "leave it out for the default of 600 s" in out


def test_compare_width_is_clamped(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "hi"}]))
    code, out, err = run_cli(
        capsys, "compare", str(path), "a", "-m", "echo", "-m", "echo", "--width", "99999999"
    )
    assert code == 0, err
    assert out and max(len(line) for line in out.splitlines()) <= 1000


# --- what is written can be read back ----------------------------------------------------------


def test_a_save_over_the_load_limit_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_VALUE_CHARS", 1000)  # the real limit is 8 MiB
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "hi"}]))
    before = path.read_bytes()
    config = load(path)
    config.prompt("a").raw["outputs"] = [
        {"output_type": "execute_result", "execution_count": 0, "data": "z" * 1001}
    ]
    config.invalidate()
    with pytest.raises(ConfigError) as caught:
        config.save()
    assert "not saved" in str(caught.value) and "prompts[0].outputs[0].data" in str(caught.value)
    assert path.read_bytes() == before


def test_run_save_of_an_answer_too_large_to_open_again_refuses_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_server: OpenAIServer
) -> None:
    model_server.reply_with("y" * (limits.MAX_VALUE_CHARS + 1))  # one 8 MiB "word"
    models = {"local": {"model": "openai/test-model", "api_base": model_server.base_url}}
    data = chain([{"name": "a", "input": "hi"}], models=models, default_model="local")
    path = write_config(tmp_path / "c.json", data)
    before = path.read_bytes()
    code, _, err = run_cli(capsys, "run", str(path), "--save")
    assert code == 1
    assert "not saved" in err and "could not open the file again" in err
    assert "saved outputs" not in err
    assert path.read_bytes() == before
    assert run_cli(capsys, "validate", str(path))[0] == 0  # still opens


def test_run_save_with_every_prompt_failed_leaves_the_file_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    models = {"dead": {"model": "openai/m", "api_base": "http://127.0.0.1:9/v1", "max_attempts": 1}}
    data = chain([{"name": "a", "input": "hi"}], models=models, default_model="dead")
    path = write_config(tmp_path / "c.json", data)
    path.write_text(path.read_text() + "\n")  # bytes a rewrite would not keep
    before, mtime = path.read_bytes(), os.stat(path).st_mtime_ns
    code, _, err = run_cli(capsys, "run", str(path), "--save")
    assert code == 1
    assert "saved outputs" not in err and "not rewritten" in err
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime
    assert json.loads(before)["prompts"][0].get("outputs") is None


async def test_ctrl_s_of_an_answer_too_large_to_open_again_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.helpers import make_app, ready, status, wait_for

    monkeypatch.setattr(limits, "MAX_VALUE_CHARS", 1000)  # the real limit is 8 MiB
    path = write_config(tmp_path / "c.json", chain([{"name": "a", "input": "{{ 'z' * 1001 }}"}]))
    before = path.read_bytes()
    app = make_app(path)
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: status(app, "a") == "done", what="the run")
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: any("not saved" in str(n.message) for n in app._notifications),
            what="the refusal",
        )
        assert app.session is not None and app.session.dirty  # the output is still unsaved
    assert path.read_bytes() == before
