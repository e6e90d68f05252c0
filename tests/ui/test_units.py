"""Unit tests for the UI's plain-Python parts: wrapping, values, finding, themes, session."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tui_app.ui.themes import (
    APP_VARIABLES,
    ThemeFileError,
    load_themes,
    theme_dirs,
    theme_from_mapping,
)
from tui_app.ui.values import format_value, parse_parameter, parse_setting
from tui_app.ui.widgets.find_bar import best_match
from tui_app.ui.widgets.stream_view import wrap

REPO = Path(__file__).resolve().parents[2]


def test_wrap_keeps_every_character_and_breaks_at_spaces() -> None:
    assert wrap("hello world foo", 5) == ["hello ", "world ", "foo"]
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap("", 5) == [""]
    assert wrap("héllo wörld", 5) == ["héllo ", "wörld"]
    assert wrap("日本語のテキスト", 4) == ["日本", "語の", "テキ", "スト"]  # 2 cells each


def test_wrap_is_stable_when_text_is_appended() -> None:
    """Streaming re-wraps only the last row: that must equal wrapping the whole text."""
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice("ab  é日") for _ in range(rng.randint(0, 50)))
        width = rng.randint(1, 9)
        cut = rng.randint(0, len(text))
        head = wrap(text[:cut], width)
        assert head[:-1] + wrap(head[-1] + text[cut:], width) == wrap(text, width)
        assert "".join(wrap(text, width)) == text


def test_wrap_is_linear_on_one_huge_line() -> None:
    import time

    text = "w1 w2 " * 100_000  # 600,000 characters, no newline
    start = time.perf_counter()
    rows = wrap(text, 50)
    assert time.perf_counter() - start < 1.0
    assert "".join(rows) == text


@pytest.mark.parametrize(
    ("key", "text", "value", "error"),
    [
        ("temperature", "0.7", 0.7, None),
        ("temperature", "1", 1, None),
        ("temperature", "3", None, "between"),
        ("temperature", "warm", None, "number"),
        ("max_tokens", "300", 300, None),
        ("max_tokens", "0", None, "at least 1"),
        ("max_tokens", "1.5", None, "whole number"),
        ("top_p", "0.9", 0.9, None),
        ("stop", '["\\n", "END"]', ["\n", "END"], None),
        ("stop", "END", "END", None),
        ("stop", "[1, 2]", None, "list of strings"),
        ("response", "42", "42", None),
        ("custom", '{"a": 1}', {"a": 1}, None),
        ("temperature", "", None, None),
    ],
)
def test_parse_setting(key: str, text: str, value: Any, error: str | None) -> None:
    got, problem = parse_setting(key, text)
    assert got == value
    assert (problem is None) if error is None else (error in problem)


def test_parameter_values_keep_their_type() -> None:
    assert parse_parameter("3", 2) == 3
    assert parse_parameter("three", 2) == "three"
    assert parse_parameter("3", "two") == "3"
    assert format_value(["a", 1]) == '["a", 1]'
    assert format_value(None) == ""


def test_best_match_order() -> None:
    names = ["summarize", "sum", "outline", "draft-summary"]
    assert best_match("sum", names) == "sum"
    assert best_match("SUMM", names) == "summarize"
    assert best_match("summary", names) == "draft-summary"
    assert best_match("otl", names) == "outline"
    assert best_match("zzz", names) is None
    assert best_match("  ", names) is None


def test_shipped_themes_load_and_define_the_app_variables() -> None:
    themes, problems = load_themes([REPO / "themes"])
    assert not problems
    names = {t.name for t in themes}
    assert {"prompt-dark", "prompt-light"} <= names
    for theme in themes:
        if theme.name.startswith("prompt-"):
            assert set(APP_VARIABLES) <= set(theme.variables)
    assert REPO / "themes" in theme_dirs()


def test_bad_theme_files_are_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: x\nprimary: [\n")
    (tmp_path / "unknown.yaml").write_text("name: y\nprimary: '#fff'\nsparkle: 1\n")
    themes, problems = load_themes([tmp_path])
    assert len(problems) == 2 and any("sparkle" in p for p in problems)
    assert any(t.name == "prompt-dark" for t in themes)  # the built-in fallback
    with pytest.raises(ThemeFileError):
        theme_from_mapping(["not", "a", "mapping"])


@pytest.mark.parametrize(
    ("width", "shows"),
    [(0, " 5 History "), (48, " 5 History "), (40, " 5 Hist "), (20, " 5 ")],
)
def test_view_tabs_shorten_to_fit_the_pane(width: int, shows: str) -> None:
    """Every view's key stays visible: at 120 columns the full strip lost "5 History"."""
    from textual.markup import to_content

    from tui_app.ui.widgets.output_pane import tab_strip

    plain = to_content(tab_strip("json", width)).plain
    assert shows in plain and " 1 " in plain and " 3 " in plain
    assert width == 0 or len(plain) <= width
