"""One wording for figures on every surface (core/display.py), read from the run's record."""

from __future__ import annotations

from tui_app.core import display
from tui_app.core.events import Usage
from tui_app.core.runs import PromptResult, PromptStatus


def test_figures_have_one_wording():
    assert [display.seconds(v) for v in (None, 0.0123, 1.5, 125)] == [
        "—",
        "12 ms",
        "1.50 s",
        "2 min 05 s",
    ]
    assert display.cost(None) == "unknown" and display.cost(None, offline=True) == "$0"
    assert display.cost(0.000042) == "$0.000042" and display.cost(1.5) == "$1.50"
    assert display.tokens(None, None) == "unknown" and display.tokens(12, None) == "12/unknown"
    assert display.plural(1, "prompt") == "1 prompt" and display.plural(2, "prompt") == "2 prompts"


def test_tokens_per_s_is_one_computation_and_none_without_streaming_time():
    assert display.tokens_per_s(100, 2.0, 1.0) == 100.0
    assert display.tokens_per_s(100, 1.0, 1.0) is None  # every token at once: no rate
    assert display.tokens_per_s(100, 0.0, None) is None
    done = PromptResult(PromptStatus.DONE, usage=Usage(10, 100, 110), latency=2.0, ttft=1.0)
    assert done.tokens_per_s == 100.0 and dict(done.facts())["tokens/s"] == "100.0 tok/s"


def test_counts_litellm_estimated_are_marked_as_estimates():
    usage = Usage(10, 20, 30, estimated=True)
    result = PromptResult(PromptStatus.DONE, usage=usage, started_at=1.0)
    facts = dict(result.facts())
    assert facts["tokens in"] == "≈10" and facts["tokens out"] == "≈20"
    assert result.to_json()["tokens_estimated"] is True
    exact = PromptResult(PromptStatus.DONE, usage=Usage(10, 20, 30), started_at=1.0)
    assert dict(exact.facts())["tokens in"] == "10"
