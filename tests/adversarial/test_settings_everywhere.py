"""One settings schema: the parameter form, `--set KEY=VALUE` and `validate` accept and refuse the
same values with the same message and parse them to the same type; a bad call option makes
`run` fail with that message, never "internal error: ValueError"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chain, write_config
from tui_app.cli import main
from tui_app.ui.values import parse_setting as form_parse

# (setting, text typed in the form / given to --set, value in a file, expected message)
REFUSED = [
    ("temperature", "9", 9, "temperature must be a number between 0 and 2"),
    ("top_p", "-1", -1, "top_p must be a number between 0 and 1"),
    ("max_tokens", "0", 0, "max_tokens must be a whole number of at least 1"),
    ("max_attempts", "lots", "lots", "max_attempts must be a whole number between 1 and 100"),
    ("timeout", "soon", "soon", "timeout must be a number between 0 and 3600"),
    ("delay", "-2", -2, "delay must be a number between 0 and 60"),
    ("stop", "[1, 2]", [1, 2], "stop must be a string or a JSON list of strings"),
    ("seed", "1.5", 1.5, "seed must be a whole number"),
    ("response_format", '"json"', "json", "response_format must be a JSON object"),
]

ACCEPTED = [
    ("temperature", "0.2", 0.2),
    ("temperature", "1", 1),
    ("stop", '["a", "b"]', ["a", "b"]),
    ("stop", "END", "END"),
    ("max_tokens", "64", 64),
    ("response_format", '{"type": "json_object"}', {"type": "json_object"}),
    ("logit_bias", '{"50256": -100}', {"50256": -100}),
    ("my_custom", "[1, 2]", [1, 2]),
    ("my_custom", "plain", "plain"),
]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _config(tmp_path: Path, settings: dict[str, Any]) -> Path:
    data = chain(
        [
            {
                "name": "a",
                "input": "hello",
                "metadata": {"model": {"name": "echo", "settings": {"delay": 0, **settings}}},
            }
        ]
    )
    return write_config(tmp_path / "c.aiconfig.json", data)


@pytest.mark.parametrize(("key", "text", "value", "message"), REFUSED)
def test_refused_with_the_same_message_everywhere(
    key: str,
    text: str,
    value: Any,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the form
    parsed, error = form_parse(key, text)
    assert parsed is None and error == message
    # --set
    path = _config(tmp_path, {})
    code = main(["resolve", str(path), "a", "--set", f"{key}={text}"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == f"prompt-tui: --set {key}={text}: {message}"
    # validate, located at the value
    path = _config(tmp_path, {key: value})
    code = main(["validate", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [problem] = report["problems"]
    assert problem["message"] == message
    assert problem["location"] == f"prompts[0].metadata.model.settings.{key}"
    line = path.read_text().splitlines()[problem["line"] - 1]
    assert line[problem["col"] - 1 :].startswith(json.dumps(value)[:1])
    assert f'"{key}"' in line


@pytest.mark.parametrize(("key", "text", "value"), ACCEPTED)
def test_accepted_and_parsed_to_the_same_type(
    key: str, text: str, value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed, error = form_parse(key, text)
    assert error is None and parsed == value and type(parsed) is type(value)
    path = _config(tmp_path, {})
    code = main(["resolve", str(path), "a", "--set", f"{key}={text}", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    sent = json.loads(out)["settings"][key]
    assert sent == value and type(sent) is type(value)
    path = _config(tmp_path, {key: value})
    assert main(["validate", str(path)]) == 0


def test_bad_call_option_fails_the_run_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, {"max_attempts": "lots"})
    code = main(["run", str(path)])
    err = capsys.readouterr().err
    assert code == 2  # refused before anything is sent, as validate refuses it
    assert "max_attempts must be a whole number between 1 and 100" in err
    assert "internal error" not in err and "ValueError" not in err


def test_global_model_settings_are_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = chain(
        [{"name": "a", "input": "hello"}],
        models={"echo": {"timeout": "soon"}},
    )
    path = write_config(tmp_path / "c.aiconfig.json", data)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "metadata.models.echo.timeout: timeout must be a number between 0 and 3600" in out
