"""Estimates before a run, held against what the local server bills after it.

The server counts usage the way OpenAI does (``tokenizer = "o200k_base"``: the same encoding,
OpenAI's chat framing), so a step whose request is known before the run must be estimated to
the token, and every actual cost must fall inside the estimate's [low, high].
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, write_config
from tests.support.openai_server import OpenAIServer
from tui_app.core.estimate import Budget, Estimate, estimate_run
from tui_app.core.providers import pricing
from tui_app.core.runs import Overrides, PromptStatus, Run
from tui_app.core.workspace import Workspace


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMPT_TUI_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def server() -> Any:
    with OpenAIServer() as srv:
        srv.tokenizer = "o200k_base"
        yield srv


def _doc(base_url: str, prompts: list[dict[str, Any]], **models: dict[str, Any]) -> dict[str, Any]:
    local = {"model": "gpt-4o-mini", "api_base": base_url, "max_tokens": 40, "max_attempts": 1}
    return {
        "name": "est",
        "schema_version": "latest",
        "metadata": {
            "parameters": {"topic": "tide pools"},
            "models": {"local": local, **models},
            "default_model": "local",
        },
        "prompts": prompts,
    }


CHAINS: dict[str, list[dict[str, Any]]] = {
    "one prompt with a system prompt": [
        {
            "name": "solo",
            "input": "Tell me about {{topic}}, briefly — in plain words.",
            "metadata": {"model": {"name": "local", "settings": {"system_prompt": "Be terse."}}},
        }
    ],
    "outputs read downstream": [
        {"name": "a", "input": "Facts on {{topic}}", "metadata": {"remember_chat_context": False}},
        {
            "name": "b",
            "input": "Summarise {{a.output}} twice: {{a.output}}",
            "metadata": {"remember_chat_context": False},
        },
        {
            "name": "c",
            "input": "Title for: {{b.output}}",
            "metadata": {"remember_chat_context": False},
        },
    ],
    "chat context": [
        {"name": "q1", "input": "What lives in {{topic}}?"},
        {"name": "q2", "input": "And at night?"},
        {"name": "q3", "input": "Name one, in one word."},
    ],
}


def _run_and_compare(path: Path, target: str | None) -> tuple[Estimate, Run]:
    ws = Workspace.open(path)
    try:
        mode = "all" if target is None else "with_deps"
        planned = Run(target, mode, overrides=Overrides(params=dict(ws.params)))
        found = estimate_run(ws.runner, planned, ws.graph)
        run = asyncio.run(ws.run(target, mode))
    finally:
        ws.close()
    return found, run


@pytest.mark.parametrize("chain", list(CHAINS))
def test_estimates_hold_against_actual_usage(chain: str, server: OpenAIServer, home: Path) -> None:
    path = write_config(home / "c.json", _doc(server.base_url, CHAINS[chain]))
    found, run = _run_and_compare(path, None)
    assert found.requests == len(CHAINS[chain]) and found.cached == 0
    assert found.unpriced == []
    total = 0.0
    for step in found.steps:
        result = run.results[step.prompt]
        assert result.status is PromptStatus.DONE, result.error
        assert result.usage is not None and result.cost is not None
        actual_in = result.usage.prompt_tokens
        assert actual_in is not None
        if step.depends_on:
            assert step.input_low <= actual_in <= (step.input_high or 0), step
        else:  # the request was known before the run: exact to the token
            assert step.input_exact and (step.input_low, step.input_high) == (actual_in, actual_in)
        assert 0 <= (result.usage.completion_tokens or 0) <= (step.output_high or 0)
        assert step.cost_low is not None and step.cost_high is not None
        assert step.cost_low <= result.cost <= step.cost_high, step.prompt
        total += result.cost
    assert found.cost_low is not None and found.cost_high is not None
    assert found.cost_low <= total <= found.cost_high


def test_a_rerun_is_estimated_as_cached_and_free_and_the_likely_figure_follows_history(
    server: OpenAIServer, home: Path
) -> None:
    path = write_config(home / "c.json", _doc(server.base_url, CHAINS["outputs read downstream"]))
    _run_and_compare(path, "c")
    again, _ = _run_and_compare(path, "c")
    assert (again.requests, again.cached) == (0, 3)
    assert again.cost_low == again.cost_high == 0.0
    assert again.summary() == "0 requests, 3 cached · $0"
    # a changed parameter: 'a' and everything after it must be sent again; each has one
    # earlier answer in the history, the likely output
    ws = Workspace.open(path)
    try:
        run = Run("c", "with_deps", overrides=Overrides(params={"topic": "kelp"}))
        changed = estimate_run(ws.runner, run, ws.graph)
    finally:
        ws.close()
    assert changed.requests == 3 and changed.cached == 0
    assert all(s.output_likely is not None for s in changed.steps)
    assert changed.cost_likely is not None
    assert changed.cost_low <= changed.cost_likely <= (changed.cost_high or 0)  # type: ignore[operator]


def test_price_settings_price_the_run_and_never_reach_the_model(
    server: OpenAIServer, home: Path
) -> None:
    priced = {
        "model": "openai/my-own-model",
        "api_base": server.base_url,
        "max_tokens": 20,
        "input_cost_per_token": 0.001,
        "output_cost_per_token": 0.002,
    }
    prompts = [{"name": "p", "input": "hello there", "metadata": {"model": "mine"}}]
    path = write_config(home / "c.json", _doc(server.base_url, prompts, mine=priced))
    found, run = _run_and_compare(path, "p")
    step = found.steps[0]
    assert step.price_source == "model settings" and not step.input_exact
    assert run.results["p"].status is PromptStatus.DONE, run.results["p"].error
    body = server.chat_requests[-1].body
    assert "input_cost_per_token" not in body and "output_cost_per_token" not in body
    result = run.results["p"]
    assert result.usage is not None
    expected = result.usage.prompt_tokens * 0.001 + result.usage.completion_tokens * 0.002  # type: ignore[operator]
    assert result.cost == pytest.approx(expected)  # the actual cost uses the stated prices too


def test_unknown_price_is_never_zero(home: Path) -> None:
    prompts = [
        {"name": "known", "input": "hi", "metadata": {"model": "gpt-4o-mini"}},
        {"name": "odd", "input": "hi", "metadata": {"model": "nobody/knows-this-model"}},
    ]
    path = write_config(home / "c.json", _doc("http://127.0.0.1:9/v1", prompts))
    ws = Workspace.open(path)
    try:
        found = estimate_run(ws.runner, Run(None, "all"), ws.graph)
        only_odd = estimate_run(ws.runner, Run("odd", "one"), ws.graph)
    finally:
        ws.close()
    odd = next(s for s in found.steps if s.prompt == "odd")
    assert odd.cost_text() == "price unknown" and odd.cost_high is None
    assert found.unpriced == ["odd"]
    assert "1 step without a price" in found.summary()
    assert found.to_json()["unpriced"] == ["odd"]
    assert only_odd.to_json()["cost"] is None and "price unknown" in only_odd.summary()


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMPT_TUI_HOME": str(home / "home")}
    return subprocess.run(
        [sys.executable, "-m", "tui_app.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_cli_estimate_json_dry_run_and_budget_refusal(server: OpenAIServer, home: Path) -> None:
    path = write_config(home / "c.json", _doc(server.base_url, CHAINS["outputs read downstream"]))
    out = _cli("estimate", str(path), "c", "--with-deps", "--json", home=home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["requests"] == 3 and data["cached"] == 0 and data["unpriced"] == []
    assert set(data["cost"]) == {"low", "likely", "high"} and data["cost"]["high"] > 0
    assert [s["prompt"] for s in data["steps"]] == ["a", "b", "c"]
    assert data["steps"][1]["depends_on"] == ["a"]

    dry = _cli("run", str(path), "c", "--dry-run", home=home)
    assert dry.returncode == 0 and "3 requests" in dry.stdout
    assert server.chat_requests == []  # nothing sent

    refused = _cli("run", str(path), "c", "--max-cost", "0.000001", home=home)
    assert refused.returncode == 2
    assert "over the limit of $0.000001" in refused.stderr and "--max-cost" in refused.stderr
    assert server.chat_requests == []

    compare = _cli(
        "compare", str(path), "a", "-m", "gpt-4o-mini", "-m", "gpt-4o", "--dry-run", home=home
    )
    assert compare.returncode == 0, compare.stderr
    assert "gpt-4o-mini: 1 request" in compare.stdout and "all: 2 requests" in compare.stdout
    assert server.chat_requests == []


def test_a_shared_budget_stops_a_run_before_the_step_that_would_cross_it(
    server: OpenAIServer, home: Path
) -> None:
    """Two runs that each fit start together (a comparison's columns): the budget reserves the
    first one's high estimate, and the second is stopped unsent."""
    prompts = [{"name": "p", "input": "hello", "metadata": {"remember_chat_context": False}}]
    path = write_config(home / "c.json", _doc(server.base_url, prompts))
    ws = Workspace.open(path)
    try:
        one = estimate_run(ws.runner, Run("p", "one"), ws.graph)
        high = one.cost_high or 0.0
        budget = Budget(high * 1.5)
        budget.install(ws.runner)
        # both runs pass their preflight (nothing spent or reserved yet) before either sends,
        # as a comparison's columns do when they start together
        both_planned = threading.Barrier(2)
        ws.runner.preflight_checks.append(lambda *_: [] if both_planned.wait(30) >= 0 else [])
        server.first_byte_delay = 0.2  # the first request is still on the wire

        async def both() -> tuple[Run, Run]:
            first = ws.new_run("p", "one", settings={"temperature": 0.1}, force=True)
            second = ws.new_run("p", "one", settings={"temperature": 0.2}, force=True)

            async def go(run: Run) -> Run:
                async for _ in ws.execute(run):
                    pass
                return run

            return await asyncio.gather(go(first), go(second))

        first, second = asyncio.run(both())
    finally:
        ws.close()
    outcomes = sorted([first.results["p"], second.results["p"]], key=lambda r: r.status.value)
    assert [r.status for r in outcomes] == [PromptStatus.DONE, PromptStatus.FAILED]
    assert "not sent" in (outcomes[1].error or "") and "--max-cost" in (outcomes[1].error or "")
    assert len(server.chat_requests) == 1
    assert budget.spent() == pytest.approx(outcomes[0].cost)


def test_o200k_counts_offline_without_a_cache_folder(tmp_path: Path) -> None:
    """The BPE file comes from the installed wheel: no download, whatever tiktoken's cache."""
    code = (
        "from tui_app.core.tokenize import counter_for, shipped_encodings\n"
        "c = counter_for('gpt-4o-mini')\n"
        "print(c.method, c.exact, c.text('hello world'), sorted(shipped_encodings()))\n"
    )
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=True
    )
    assert out.stdout.split()[:3] == ["o200k_base", "True", "2"]
    assert "cl100k_base" in out.stdout
    assert not (tmp_path / "empty").exists()


def test_price_overrides_replace_the_tiered_table_price() -> None:
    from tui_app.core.events import Usage

    usage = Usage(1000, 10)
    assert pricing.cost_of("gpt-4o-mini", usage) is not None
    stated = {"input_cost_per_token": 1e-3, "output_cost_per_token": 2e-3}
    assert pricing.cost_of("no-such-model", usage, rates=stated) == pytest.approx(1.02)


def test_the_tokenizer_stays_off_the_startup_path() -> None:
    """tiktoken loads when a count is first asked for, never when the app or a command starts."""
    code = (
        "import sys\n"
        "import tui_app.cli, tui_app.ui.app, tui_app.core.estimate, tui_app.commands.estimate\n"
        "import tui_app.commands.run, tui_app.commands.compare\n"
        "assert 'tiktoken' not in sys.modules, 'tiktoken imported at startup'\n"
        "assert 'litellm' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_each_watch_rerun_says_its_estimate_before_sending(
    server: OpenAIServer, home: Path
) -> None:
    """``run --watch`` announces every (re-)run's estimate through a preflight check."""
    import io

    from tui_app.commands.estimate import announce_estimates

    path = write_config(home / "c.json", _doc(server.base_url, CHAINS["outputs read downstream"]))
    out = io.StringIO()
    ws = Workspace.open(path)
    try:
        announce_estimates(ws, out)
        asyncio.run(ws.run("c", "with_deps"))
        assert out.getvalue().startswith("prompt-tui: estimate: 3 requests · ")
        asyncio.run(ws.run("c", "with_deps"))  # unchanged: the cache answers every step
        assert out.getvalue().splitlines()[-1] == "prompt-tui: estimate: 0 requests, 3 cached · $0"
    finally:
        ws.close()


def test_the_settings_file_budget_holds_when_no_max_cost_is_given(
    server: OpenAIServer, home: Path
) -> None:
    path = write_config(home / "c.json", _doc(server.base_url, CHAINS["outputs read downstream"]))
    (home / "home").mkdir(parents=True, exist_ok=True)
    (home / "home" / "settings.json").write_text(json.dumps({"max_cost": 0.0000001}))
    refused = _cli("run", str(path), "c", home=home)
    assert refused.returncode == 2, refused.stderr
    assert "max_cost in the settings file" in refused.stderr
    assert server.chat_requests == []
    unknown = _cli("estimate", str(path), "nope", home=home)
    assert unknown.returncode == 2 and "nope" in unknown.stdout


def test_tool_definitions_widen_the_input_estimate_and_make_it_approximate(
    server: OpenAIServer, home: Path
) -> None:
    """Tools (and a response schema) are sent with the request in the provider's own form: the
    estimate counts at most their JSON text, says it is approximate, and the actual input and
    cost stay inside the range."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city on a day, in plain words",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "day": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    prompts = [
        {
            "name": "ask",
            "input": "Weather for {{topic}}?",
            "metadata": {"model": {"name": "local", "settings": {"tools": tools}}},
        }
    ]
    path = write_config(home / "c.json", _doc(server.base_url, prompts))
    found, run = _run_and_compare(path, None)
    (step,) = found.steps
    assert not step.input_exact and "tools" in step.input_method
    assert step.input_high is not None and step.input_high > step.input_low + 20
    result = run.results["ask"]
    assert result.usage is not None and result.cost is not None
    assert step.input_low <= (result.usage.prompt_tokens or 0) <= step.input_high
    assert step.cost_low is not None and step.cost_high is not None
    assert step.cost_low <= result.cost <= step.cost_high


def test_input_figures_say_cached_or_unknown_not_a_meaningless_range() -> None:
    """Info showed "in ≈ 0–unknown → 12" for a step answered from the cache."""
    from tui_app.core.estimate import StepEstimate, input_text

    assert input_text(StepEstimate("a", cached=True, input_low=0)) == "cached"
    unbounded = StepEstimate("b", input_low=0, input_high=None, depends_on=("a",))
    assert input_text(unbounded) == "unknown (after a)"
    ranged = StepEstimate("c", input_low=12, input_high=None, depends_on=("a",))
    assert input_text(ranged) == "≈ 12–unknown (after a)"


def test_an_offline_file_is_estimated_without_the_price_table(tmp_path: Path) -> None:
    """The header estimates an offline file at idle: litellm's price table (megabytes, kept for
    the process's life) is never read for models it cannot list (bench/memory.py)."""
    code = (
        "import sys\n"
        "from tui_app.core.estimate import estimate_run\n"
        "from tui_app.core.providers import pricing\n"
        "from tui_app.core.workspace import Workspace\n"
        "ws = Workspace.open(sys.argv[1], history=False)\n"
        "est = estimate_run(ws.runner, ws.new_run(None, 'all', register=False), ws.graph)\n"
        "assert est.steps and all(s.offline for s in est.steps), est\n"
        "assert not pricing.is_loaded(), 'the price table was read for an offline file'\n"
    )
    config = REPO / "sample_configs" / "travel_chain.aiconfig.json"
    env = {**os.environ, "PROMPT_TUI_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code, str(config)], cwd=REPO, env=env, check=True)
