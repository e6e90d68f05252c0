"""Hypothesis fuzz of whole workflows on hostile configs: random settings and mutated cookbook
files go through load, validate, the settings schema and resolve; nothing may raise anything but
the project's own errors (which the CLI prints as one line). Bounded example counts keep it fast.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import COOKBOOK
from tui_app.commands.validate import check_file
from tui_app.core.config import loads
from tui_app.core.errors import PromptTuiError
from tui_app.core.fileio import format_of
from tui_app.core.model_settings import SPECS, check_setting, parse_setting, settings_problems
from tui_app.core.resolve import resolve

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
setting_names = st.sampled_from(sorted(SPECS)) | st.text(min_size=1, max_size=10)

COOKBOOK_FILES = (
    sorted(p for p in COOKBOOK.iterdir() if p.suffix in (".json", ".yaml", ".yml"))
    if COOKBOOK.is_dir()
    else []
)


def _exercise(text: str, fmt: str) -> None:
    """Everything a user can do with a file, headless: load, validate, resolve every prompt."""
    try:
        config = loads(text, fmt)
    except PromptTuiError:
        return
    settings_problems(config.data)
    for prompt in config.prompts:
        with contextlib.suppress(PromptTuiError):
            resolve(config, prompt.name, allow_missing=True)


@settings(max_examples=150, deadline=None)
@given(setting_names, json_values)
def test_check_setting_answers_every_value(key: str, value: Any) -> None:
    error = check_setting(key, value)
    assert error is None or (error.startswith(f"{key} must be ") and "\n" not in error)
    spec = SPECS.get(key)
    if error is None and spec is not None and spec.kind == "number" and value is not None:
        assert math.isfinite(value) and spec.low <= value <= spec.high  # type: ignore[operator]


@settings(max_examples=150, deadline=None)
@given(setting_names, st.text(max_size=20))
def test_parse_setting_agrees_with_check_setting(key: str, text: str) -> None:
    value, error = parse_setting(key, text)
    if error is None:
        assert check_setting(key, value) is None  # what the form accepts, validate accepts
    else:
        assert value is None and check_setting(key, value) is None  # None means unset


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(setting_names, json_values, max_size=5), st.text(max_size=40))
def test_random_settings_and_templates(settings_: dict[str, Any], template: str) -> None:
    doc = {
        "name": "fuzz",
        "schema_version": "latest",
        "metadata": {"parameters": {}, "models": {"echo": settings_}, "default_model": "echo"},
        "prompts": [
            {"name": "a", "input": template, "metadata": {"model": {"name": "echo"}}},
            {"name": "b", "input": "{{a.output}} " + template},
        ],
    }
    text = json.dumps(doc, allow_nan=True)
    _exercise(text, "json")


def _mutate(text: str, data: st.DataObject) -> str:
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, max(len(text) - 1, 0)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace", "cut"]))
        chunk = data.draw(
            st.sampled_from(
                ['"', "{", "}", "[", "]", ",", ":", "{{", "}}", "{%", "\x1b", "-1", "null", "\n"]
            )
        )
        if action == "delete":
            text = text[:position] + text[position + 1 :]
        elif action == "insert":
            text = text[:position] + chunk + text[position:]
        elif action == "replace":
            text = text[:position] + chunk + text[position + len(chunk) :]
        else:
            text = text[:position]
    return text


@pytest.mark.skipif(not COOKBOOK_FILES, reason="the AIConfig cookbook is not available")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_cookbook_files(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(COOKBOOK_FILES))
    text = _mutate(source.read_text(encoding="utf-8", errors="replace"), data)
    _exercise(text, format_of(Path(source)))


@pytest.mark.skipif(not COOKBOOK_FILES, reason="the AIConfig cookbook is not available")
def test_validate_every_cookbook_file_without_crashing() -> None:
    for source in COOKBOOK_FILES:
        for problem in check_file(str(source)):
            assert "\n" not in str(problem) and "Traceback" not in str(problem)
